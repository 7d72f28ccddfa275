package vault

import (
	"bytes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
)

func BenchmarkPairKeyMAC(b *testing.B) {
	k, err := newPairKey(KeyID{1}, make([]byte, 32), nil)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		k.mac("alice@example.com")
	}
}

func BenchmarkCryptoHMAC(b *testing.B) {
	h := hmac.New(sha256.New, make([]byte, 32))
	var sum [32]byte
	for b.Loop() {
		h.Reset()
		h.Write([]byte("alice@example.com"))
		h.Sum(sum[:0])
	}
}

func BenchmarkTokenString(b *testing.B) {
	var t Token
	for b.Loop() {
		_ = t.String()
	}
}

// BenchmarkPairKeyToken compares the token computation of a key that issues version 1
// tokens with one that issues version 2 (one AES block more); run with -count to
// interleave them.
func BenchmarkPairKeyToken(b *testing.B) {
	sec, err := deriveSecrets(make([]byte, MasterKeyLen))
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		hide cipher.Block
	}{{"v1", nil}, {"v2", sec.hide}} {
		b.Run(tc.name, func(b *testing.B) {
			k, err := newPairKey(KeyID{1}, make([]byte, 32), tc.hide)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				t, _, _ := k.token("alice@example.com")
				_ = t.String()
			}
		})
	}
}

func BenchmarkCacheGet(b *testing.B) {
	c := newKeyCache(1000)
	k, err := newPairKey(KeyID{1}, make([]byte, 32), nil)
	if err != nil {
		b.Fatal(err)
	}
	s := scope{"shop-a", "alice@example.com"}
	e := &cacheEntry{scope: s, key: k}
	e.expires.Store(1 << 62)
	c.put(e, c.epoch.Load())
	for b.Loop() {
		c.get(s, 1)
	}
}

func TestSealOpen(t *testing.T) {
	k, err := newPairKey(KeyID{1}, make([]byte, 32), nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := newPairKey(KeyID{1}, []byte("another key, another key, anoth!"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, value := range []string{"", "a", "alice@example.com", strings.Repeat("x", 1000)} {
		_, mac, _ := k.token(value)
		sealed, err := k.seal(mac, value)
		if err != nil {
			t.Fatal(err)
		}
		if len(sealed) != len(value) {
			t.Errorf("sealed %d bytes into %d", len(value), len(sealed))
		}
		if len(value) > 4 && strings.Contains(string(sealed), value[:4]) {
			t.Errorf("the sealed value holds the plaintext")
		}
		again, err := k.seal(mac, value)
		if err != nil || string(again) != string(sealed) {
			t.Errorf("sealing is not deterministic")
		}
		if got, err := k.open(mac, sealed); err != nil || got != value {
			t.Errorf("open = %q, %v; want the value", got, err)
		}
		if _, err := other.open(mac, sealed); err != errValueMismatch {
			t.Errorf("open under another key: %v, want errValueMismatch", err)
		}
		if len(sealed) > 0 {
			tampered := []byte(string(sealed))
			tampered[len(tampered)/2] ^= 1
			if _, err := k.open(mac, tampered); err != errValueMismatch {
				t.Errorf("open of a tampered value: %v, want errValueMismatch", err)
			}
		}
		moved := mac
		moved[15] ^= 1
		if _, err := k.open(moved, sealed); err != errValueMismatch && len(value) > 0 {
			t.Errorf("open under another token: %v, want errValueMismatch", err)
		}
	}
}

// TestWrapKey checks the key wrap: 48 bytes, bound to the key id, tamper-evident, and
// keys sealed with the earlier AES-GCM wrap still open.
func TestWrapKey(t *testing.T) {
	sec, err := deriveSecrets(make([]byte, MasterKeyLen))
	if err != nil {
		t.Fatal(err)
	}
	key := []byte("0123456789abcdef0123456789abcdef")
	id := KeyID{1, 2, 3}
	wrapped, err := sec.wrapKey(id, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(wrapped) != 48 {
		t.Errorf("wrapped key is %d bytes, want 48", len(wrapped))
	}
	if bytes.Contains(wrapped, key[:8]) {
		t.Errorf("the wrapped key holds the key in plain text")
	}
	got, err := sec.unwrapKey(id, wrapped)
	if err != nil || !bytes.Equal(got, key) {
		t.Errorf("unwrapKey = %x, %v; want the key", got, err)
	}
	if _, err := sec.unwrapKey(KeyID{9}, wrapped); !errors.Is(err, ErrWrongMasterKey) {
		t.Errorf("unwrapKey under another key id: %v, want ErrWrongMasterKey", err)
	}
	for i := range wrapped {
		bad := bytes.Clone(wrapped)
		bad[i] ^= 1
		if _, err := sec.unwrapKey(id, bad); !errors.Is(err, ErrWrongMasterKey) {
			t.Fatalf("unwrapKey with byte %d flipped: %v, want ErrWrongMasterKey", i, err)
		}
	}
	other, err := deriveSecrets(bytes.Repeat([]byte{1}, MasterKeyLen))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.unwrapKey(id, wrapped); !errors.Is(err, ErrWrongMasterKey) {
		t.Errorf("unwrapKey under another master key: %v, want ErrWrongMasterKey", err)
	}

	nonce := make([]byte, sec.legacyWrap.NonceSize())
	legacy := sec.legacyWrap.Seal(bytes.Clone(nonce), nonce, key, id[:])
	if len(legacy) != legacyWrappedKeyLen {
		t.Fatalf("legacy wrapped key is %d bytes, want %d", len(legacy), legacyWrappedKeyLen)
	}
	if got, err := sec.unwrapKey(id, legacy); err != nil || !bytes.Equal(got, key) {
		t.Errorf("unwrapKey of a legacy GCM-wrapped key = %x, %v; want the key", got, err)
	}
	if _, err := sec.unwrapKey(KeyID{9}, legacy); !errors.Is(err, ErrWrongMasterKey) {
		t.Errorf("unwrapKey of a legacy key under another key id: %v, want ErrWrongMasterKey", err)
	}
	if _, err := sec.unwrapKey(id, wrapped[:47]); !errors.Is(err, ErrWrongMasterKey) {
		t.Errorf("unwrapKey of a truncated key: %v, want ErrWrongMasterKey", err)
	}
}

// TestTokenVersions checks both token layouts: each gives back the key id and MAC it
// was made from; a version 1 token shows its key id and a version 2 token does not,
// neither as a shared part of the tokens of one key nor as an order between keys
// numbered in sequence.
func TestTokenVersions(t *testing.T) {
	sec, err := deriveSecrets(make([]byte, MasterKeyLen))
	if err != nil {
		t.Fatal(err)
	}
	id := KeyID{0, 0, 0, 0, 0, 0, 0, 7}
	macA, macB := MAC{1, 2, 3}, MAC{4, 5, 6}
	for _, tc := range []struct {
		name    string
		hide    bool
		version byte
	}{{"v1", false, tokenV1}, {"v2", true, tokenV2}} {
		t.Run(tc.name, func(t *testing.T) {
			hide := sec.hide
			if !tc.hide {
				hide = nil
			}
			a, b := makeToken(hide, id, macA), makeToken(hide, id, macB)
			if a.Version != tc.version {
				t.Errorf("version %d, want %d", a.Version, tc.version)
			}
			for _, tok := range []Token{a, b} {
				parsed, err := ParseToken(tok.String())
				if err != nil || parsed != tok {
					t.Fatalf("ParseToken(String()) = %+v, %v; want %+v", parsed, err, tok)
				}
			}
			if gotID, gotMAC := openToken(sec.hide, a); gotID != id || gotMAC != macA {
				t.Errorf("openToken = %s, %x; want %s, %x", gotID, gotMAC, id, macA)
			}
			shared := bytes.Equal(a.Body[:keyIDLen], b.Body[:keyIDLen])
			if shared == tc.hide {
				t.Errorf("two tokens of one key share their first %d bytes: %v, want %v", keyIDLen, shared, !tc.hide)
			}
			if showsID := bytes.Contains(a.Body[:], id[:]); showsID == tc.hide {
				t.Errorf("the token shows its key id: %v, want %v", showsID, !tc.hide)
			}
		})
	}
	// Tokens of keys numbered 1, 2, 3, ... under one MAC: in version 2 their bodies
	// are not in the order of the numbers.
	var prev Token
	ascending := 0
	for n := range 64 {
		var id KeyID
		id[7] = byte(n + 1)
		tok := makeToken(sec.hide, id, macA)
		if n > 0 && bytes.Compare(prev.Body[:], tok.Body[:]) < 0 {
			ascending++
		}
		prev = tok
	}
	if ascending == 63 || ascending == 0 {
		t.Errorf("version 2 tokens of keys 1..64 are in order (%d of 63 steps ascending)", ascending)
	}
}

// TestMarkStored: a key remembers each stored MAC once, with the token it would
// compute, up to maxStoredPerKey; values past the bound are computed, not remembered.
func TestMarkStored(t *testing.T) {
	sec, err := deriveSecrets(make([]byte, MasterKeyLen))
	if err != nil {
		t.Fatal(err)
	}
	k, err := newPairKey(KeyID{7}, make([]byte, 32), sec.hide)
	if err != nil {
		t.Fatal(err)
	}
	values := make([]string, maxStoredPerKey+5)
	macs := make([]MAC, len(values))
	for i := range values {
		values[i] = "value-" + strings.Repeat("x", i)
		macs[i] = k.mac(values[i])
	}
	if _, _, stored := k.token(values[0]); stored {
		t.Fatal("a new key says a value is stored")
	}
	k.markStored(macs[:3])
	k.markStored(macs[1:4]) // two again, one new
	if got := len(*k.stored.Load()); got != 4 {
		t.Fatalf("%d MACs remembered after marking 4 distinct ones, some twice; want 4", got)
	}
	k.markStored(macs)
	if got := len(*k.stored.Load()); got != maxStoredPerKey {
		t.Fatalf("%d MACs remembered, want the bound %d", got, maxStoredPerKey)
	}
	for i, v := range values {
		tok, mac, stored := k.token(v)
		if mac != macs[i] || tok != makeToken(sec.hide, k.id, mac) {
			t.Fatalf("value %d: token or MAC differs from the computed one", i)
		}
		if want := i < maxStoredPerKey; stored != want {
			t.Fatalf("value %d: stored = %v, want %v", i, stored, want)
		}
	}
}
