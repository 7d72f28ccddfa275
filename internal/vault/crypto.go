package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"slices"
	"sync"
	"sync/atomic"
)

// MasterKeyLen is the length in bytes of the master key.
const MasterKeyLen = 32

const pairKeyLen = 32

// wrappedKeyLen is the length of a pair key sealed under the wrap key: the 16-byte
// AES-SIV synthetic IV and the 32-byte encrypted key.
const wrappedKeyLen = 16 + pairKeyLen

// legacyWrappedKeyLen is the length of a pair key sealed by earlier versions, with
// AES-256-GCM: a 12-byte random nonce, the encrypted key and the 16-byte tag. Such
// keys still open; new keys are never sealed so.
const legacyWrappedKeyLen = 12 + pairKeyLen + 16

// PairID names a (controller, subject) pair without holding either: the subject's
// SubjectID followed by 8 bytes of a keyed hash of both. Starting with the SubjectID
// lets a store find every key of a subject (Forget under all controllers) with a
// prefix scan, and needs no separate subject index.
type PairID [24]byte

// Subject returns the SubjectID that pair starts with.
func (p PairID) Subject() SubjectID { return SubjectID(p[:len(SubjectID{})]) }

// SubjectID is a keyed hash of a subject alone.
type SubjectID [16]byte

// secrets are the keys derived from the master key, one per purpose, so that no
// derived value can stand in for another.
type secrets struct {
	fingerprint []byte
	pair        []byte
	subject     []byte
	controller  []byte
	// wrap seals pair keys: AES-SIV (RFC 5297) with the key id as associated data, the
	// deterministic authenticated encryption that SIV was designed for as a key wrap.
	// Determinism reveals nothing here, since every plaintext is a fresh random key,
	// and it saves the 12-byte nonce of every stored key.
	wrap *aesSIV
	// legacyWrap opens keys that earlier versions sealed with AES-256-GCM.
	legacyWrap cipher.AEAD
	// hide is the AES-256 key that encrypts the key id, with half the MAC, in tokens
	// of version 2 (see tokenV2).
	hide cipher.Block
}

func deriveSecrets(master []byte) (*secrets, error) {
	if len(master) != MasterKeyLen {
		return nil, fmt.Errorf("master key is %d bytes, want %d", len(master), MasterKeyLen)
	}
	derive := func(info string) ([]byte, error) {
		return hkdf.Key(sha256.New, master, nil, "accord vault v1 "+info, 32)
	}
	var s secrets
	var err error
	if s.fingerprint, err = derive("fingerprint"); err != nil {
		return nil, fmt.Errorf("deriving the master key fingerprint: %w", err)
	}
	if s.pair, err = derive("pair index"); err != nil {
		return nil, fmt.Errorf("deriving the pair index key: %w", err)
	}
	if s.subject, err = derive("subject index"); err != nil {
		return nil, fmt.Errorf("deriving the subject index key: %w", err)
	}
	if s.controller, err = derive("controller ref"); err != nil {
		return nil, fmt.Errorf("deriving the controller reference key: %w", err)
	}
	wrapKey, err := hkdf.Key(sha256.New, master, nil, "accord vault v1 key wrap siv", 64)
	if err != nil {
		return nil, fmt.Errorf("deriving the key wrap key: %w", err)
	}
	if s.wrap, err = newAESSIV(wrapKey); err != nil {
		return nil, err
	}
	legacyKey, err := derive("key wrap")
	if err != nil {
		return nil, fmt.Errorf("deriving the legacy key wrap key: %w", err)
	}
	if s.legacyWrap, err = newGCM(legacyKey); err != nil {
		return nil, err
	}
	hideKey, err := derive("token key id")
	if err != nil {
		return nil, fmt.Errorf("deriving the token key: %w", err)
	}
	if s.hide, err = aes.NewCipher(hideKey); err != nil {
		return nil, fmt.Errorf("creating the token cipher: %w", err)
	}
	return &s, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("creating the AES cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("creating the GCM mode: %w", err)
	}
	return aead, nil
}

// lengthPrefixed feeds each part to h preceded by its length, so that ("ab", "c") and
// ("a", "bc") never hash alike.
func lengthPrefixed(h hash.Hash, parts ...string) {
	var n [binary.MaxVarintLen64]byte
	for _, p := range parts {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(p)))])
		h.Write([]byte(p))
	}
}

func (s *secrets) pairID(controller, subject string) PairID {
	var id PairID
	sid := s.subjectID(subject)
	n := copy(id[:], sid[:])
	h := hmac.New(sha256.New, s.pair)
	lengthPrefixed(h, controller, subject)
	copy(id[n:], h.Sum(nil))
	return id
}

func (s *secrets) subjectID(subject string) SubjectID {
	h := hmac.New(sha256.New, s.subject)
	lengthPrefixed(h, subject)
	var id SubjectID
	copy(id[:], h.Sum(nil))
	return id
}

// controllerRef returns the pseudonym of a controller written to the audit log.
func (s *secrets) controllerRef(controller string) string {
	h := hmac.New(sha256.New, s.controller)
	lengthPrefixed(h, controller)
	return "c_" + tokenEncoding.EncodeToString(h.Sum(nil)[:10])
}

// wrapKey seals a pair key under the wrap key, bound to its key id: SIV || ciphertext.
func (s *secrets) wrapKey(id KeyID, key []byte) ([]byte, error) {
	v, c, err := s.wrap.seal([][]byte{id[:]}, key)
	if err != nil {
		return nil, err
	}
	return append(v[:], c...), nil
}

// ErrWrongMasterKey is returned when a stored key cannot be opened with the master
// key: the vault was created with another master key, or the store was tampered with.
var ErrWrongMasterKey = errors.New("a stored key does not open with this master key (wrong master key, or a tampered store)")

func (s *secrets) unwrapKey(id KeyID, wrapped []byte) ([]byte, error) {
	var key []byte
	var err error
	switch len(wrapped) {
	case wrappedKeyLen:
		key, err = s.wrap.open([][]byte{id[:]}, [16]byte(wrapped[:16]), wrapped[16:])
	case legacyWrappedKeyLen:
		n := s.legacyWrap.NonceSize()
		key, err = s.legacyWrap.Open(nil, wrapped[:n], wrapped[n:], id[:])
	default:
		err = errors.New("wrong length")
	}
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", id, ErrWrongMasterKey)
	}
	return key, nil
}

// pairKey is the usable form of one (controller, subject) key: an AES-SIV key derived
// from the stored random key. The SIV of a value is its token's MAC, the SIV
// ciphertext is what the store keeps. It is safe for concurrent use, and token takes
// no lock.
type pairKey struct {
	id  KeyID
	siv aesSIV
	// hide encrypts the key id into the key's tokens (version 2); nil for a key made
	// before version 2, whose tokens keep carrying its id in clear (version 1).
	hide cipher.Block

	// stored holds the MACs known to be durably stored under this key, with their
	// tokens, so that a value tokenized before costs no store access and no AES block
	// for its token. Bounded by maxStoredPerKey, and nil until the first is stored.
	// The slice is never changed once published: markStored publishes a new one. A
	// slice searched in order rather than a map: a subject has a handful of values,
	// and a map of one entry costs several times the entry (BenchmarkCachedKeyMemory).
	stored atomic.Pointer[[]storedToken]
	mu     sync.Mutex // serialises markStored
}

// storedToken is a MAC known to be stored, with its token.
type storedToken struct {
	mac MAC
	tok Token
}

// maxStoredPerKey bounds the MACs remembered per cached key: a subject has a handful
// of PII values (email, phone, name, address); past the bound, tokenize asks the
// store, which is correct, only slower.
const maxStoredPerKey = 32

func newPairKey(id KeyID, key []byte, hide cipher.Block) (*pairKey, error) {
	sivKey, err := hkdf.Key(sha256.New, key, nil, "accord vault v1 aes-siv", 64)
	if err != nil {
		return nil, fmt.Errorf("deriving the AES-SIV key: %w", err)
	}
	k := &pairKey{id: id, hide: hide}
	if err := k.siv.init(sivKey); err != nil {
		return nil, err
	}
	return k, nil
}

// knownToken returns the token of mac if mac is known to be stored.
func (k *pairKey) knownToken(mac MAC) (Token, bool) {
	if p := k.stored.Load(); p != nil {
		for i := range *p {
			if (*p)[i].mac == mac {
				return (*p)[i].tok, true
			}
		}
	}
	return Token{}, false
}

// mac returns the token MAC of value: its AES-SIV synthetic IV.
func (k *pairKey) mac(value string) MAC {
	return MAC(k.siv.s2v(nil, []byte(value)))
}

// token computes the token of value under k, and its MAC, and says whether its
// mapping is known to be stored already. It is the hot path of a cached tokenize:
// every AES call it makes works in one heap block (see cmacIn).
func (k *pairKey) token(value string) (t Token, mac MAC, stored bool) {
	x := new([aes.BlockSize]byte)
	mac = MAC(k.siv.s2vIn(x, nil, []byte(value)))
	if t, stored = k.knownToken(mac); stored {
		return t, mac, true
	}
	return makeTokenIn(x, k.hide, k.id, mac), mac, false
}

// makeToken returns the token of mac under key id: version 2 when hide is set, the
// key id and the first half of the MAC encrypted as one AES block; version 1 (the id
// in clear) otherwise. One 16-byte block holds 8 bytes of id and 8 of MAC, so the
// token is no longer than version 1, and AES, a permutation, maps the distinct
// (id, MAC) pairs of distinct tokens to distinct blocks that look random without the
// key: no order, no shared id between the tokens of one key.
func makeToken(hide cipher.Block, id KeyID, mac MAC) Token {
	return makeTokenIn(new([aes.BlockSize]byte), hide, id, mac)
}

// makeTokenIn is makeToken working in the block x (see cmacIn).
func makeTokenIn(x *[aes.BlockSize]byte, hide cipher.Block, id KeyID, mac MAC) Token {
	t := Token{Version: tokenV1}
	copy(t.Body[:], id[:])
	copy(t.Body[keyIDLen:], mac[:])
	if hide == nil {
		return t
	}
	t.Version = tokenV2
	copy(x[:], t.Body[:aes.BlockSize])
	hide.Encrypt(x[:], x[:])
	copy(t.Body[:], x[:])
	return t
}

// openToken returns the key id and the MAC that t carries.
func openToken(hide cipher.Block, t Token) (KeyID, MAC) {
	body := t.Body
	if t.Version == tokenV2 {
		hide.Decrypt(body[:aes.BlockSize], body[:aes.BlockSize])
	}
	return KeyID(body[:keyIDLen]), MAC(body[keyIDLen:])
}

// markStored records MACs whose mappings the store now holds.
func (k *pairKey) markStored(macs []MAC) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var old []storedToken
	if p := k.stored.Load(); p != nil {
		old = *p
	}
	next := make([]storedToken, len(old), min(len(old)+len(macs), maxStoredPerKey))
	copy(next, old)
	for _, m := range macs {
		if len(next) >= maxStoredPerKey {
			break
		}
		if !slices.ContainsFunc(next, func(s storedToken) bool { return s.mac == m }) {
			next = append(next, storedToken{mac: m, tok: makeToken(k.hide, k.id, m)})
		}
	}
	k.stored.Store(&next)
}

// seal encrypts value for the store: the AES-SIV ciphertext whose synthetic IV is the
// token's MAC. It is deterministic, as tokens are, and no longer than the value: the
// token carries the IV, which also authenticates the value.
func (k *pairKey) seal(mac MAC, value string) ([]byte, error) {
	return k.siv.ctr(mac, []byte(value))
}

// errValueMismatch means a stored value does not decrypt to a value whose MAC is the
// token's: the store was altered, or (with odds of 2^-64 per pair of values of one
// subject) two values share the 8-byte MAC prefix the embedded store indexes by.
var errValueMismatch = errors.New("the stored value does not match the token")

// open decrypts a stored value and checks that it is the value whose MAC is mac.
func (k *pairKey) open(mac MAC, sealed []byte) (string, error) {
	p, err := k.siv.open(nil, mac, sealed)
	if errors.Is(err, errSIVMismatch) {
		return "", errValueMismatch
	}
	if err != nil {
		return "", err
	}
	return string(p), nil
}

// randomKeyID draws a key id for stores that do not number keys themselves.
func randomKeyID() (KeyID, error) {
	var id KeyID
	if _, err := rand.Read(id[:]); err != nil {
		return id, fmt.Errorf("reading a random key id: %w", err)
	}
	return id, nil
}
