package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"errors"
	"fmt"
)

// aesSIV is AES-SIV (RFC 5297): deterministic authenticated encryption. Its
// synthetic IV, S2V (built on AES-CMAC, RFC 4493), is a pseudorandom function of
// the plaintext, which is what a token needs: the vault uses the SIV of a value as
// the token's MAC, and the ciphertext as the stored value. AES-CMAC costs one AES
// block per 16 bytes of value, several times cheaper than HMAC-SHA256 on the hot path.
// It is safe for concurrent use.
type aesSIV struct {
	mac    cipher.Block // K1: S2V
	k1, k2 [16]byte     // CMAC subkeys of K1
	d0     [16]byte     // S2V's D for no associated data: CMAC(K1, 0^128)
	// K2, for CTR, for which a cipher is made per seal or open: its first ctrLen
	// bytes. An array, not a slice of the caller's key, so that a cached key is one
	// allocation and keeps nothing else alive (see BenchmarkCachedKeyMemory).
	ctrKey [32]byte
	ctrLen uint8
}

// newAESSIV takes a 32-, 48- or 64-byte key: K1 is its first half, K2 its second.
func newAESSIV(key []byte) (*aesSIV, error) {
	s := new(aesSIV)
	if err := s.init(key); err != nil {
		return nil, err
	}
	return s, nil
}

// init sets s up with key, as newAESSIV does, in place.
func (s *aesSIV) init(key []byte) error {
	if n := len(key); n != 32 && n != 48 && n != 64 {
		return fmt.Errorf("AES-SIV key is %d bytes, want 32, 48 or 64", n)
	}
	half := len(key) / 2
	block, err := aes.NewCipher(key[:half])
	if err != nil {
		return fmt.Errorf("creating the AES cipher: %w", err)
	}
	*s = aesSIV{mac: block, ctrLen: uint8(len(key) - half)}
	copy(s.ctrKey[:], key[half:])
	var l [16]byte
	block.Encrypt(l[:], l[:])
	s.k1 = dbl(l)
	s.k2 = dbl(s.k1)
	s.d0 = s.cmac(make([]byte, 16))
	return nil
}

// dbl multiplies by x in GF(2^128), RFC 5297 section 2.3.
func dbl(b [16]byte) [16]byte {
	var out [16]byte
	carry := b[0] >> 7
	for i := range 15 {
		out[i] = b[i]<<1 | b[i+1]>>7
	}
	out[15] = b[15]<<1 ^ 0x87*carry
	return out
}

// cmac is AES-CMAC (RFC 4493) under K1.
func (s *aesSIV) cmac(msg []byte) [16]byte {
	return s.cmacIn(new([16]byte), msg)
}

// cmacIn is cmac working in the block x. A block handed to cipher.Block, an
// interface, escapes to the heap: hot paths allocate one and use it for every AES
// call they make.
func (s *aesSIV) cmacIn(x *[16]byte, msg []byte) [16]byte {
	*x = [16]byte{}
	n := len(msg)
	full := n / 16 // blocks before the last
	if n > 0 && n%16 == 0 {
		full--
	}
	for i := range full {
		subtle.XORBytes(x[:], x[:], msg[i*16:(i+1)*16])
		s.mac.Encrypt(x[:], x[:])
	}
	var last [16]byte
	rest := msg[full*16:]
	copy(last[:], rest)
	if len(rest) == 16 {
		subtle.XORBytes(last[:], last[:], s.k1[:])
	} else {
		last[len(rest)] = 0x80
		subtle.XORBytes(last[:], last[:], s.k2[:])
	}
	subtle.XORBytes(x[:], x[:], last[:])
	s.mac.Encrypt(x[:], x[:])
	return *x
}

// s2v is RFC 5297's S2V over the associated data ad and the plaintext p.
func (s *aesSIV) s2v(ad [][]byte, p []byte) [16]byte {
	return s.s2vIn(new([16]byte), ad, p)
}

// s2vIn is s2v working in the block x (see cmacIn).
func (s *aesSIV) s2vIn(x *[16]byte, ad [][]byte, p []byte) [16]byte {
	d := s.d0
	for _, a := range ad {
		c := s.cmacIn(x, a)
		d = dbl(d)
		subtle.XORBytes(d[:], d[:], c[:])
	}
	if len(p) >= 16 {
		var buf [inlineValueLen]byte
		t := buf[:0]
		if len(p) > len(buf) {
			t = make([]byte, 0, len(p))
		}
		t = append(t, p...)
		subtle.XORBytes(t[len(t)-16:], t[len(t)-16:], d[:])
		return s.cmacIn(x, t)
	}
	var t [16]byte
	copy(t[:], p)
	t[len(p)] = 0x80
	d = dbl(d)
	subtle.XORBytes(t[:], t[:], d[:])
	return s.cmacIn(x, t[:])
}

// ctr runs AES-CTR under K2 from the SIV with bits 31 and 63 cleared (RFC 5297
// section 2.5), which makes it both encryption and decryption.
func (s *aesSIV) ctr(v [16]byte, in []byte) ([]byte, error) {
	block, err := aes.NewCipher(s.ctrKey[:s.ctrLen])
	if err != nil {
		return nil, fmt.Errorf("creating the AES cipher: %w", err)
	}
	q := v
	q[8] &= 0x7f
	q[12] &= 0x7f
	out := make([]byte, len(in))
	cipher.NewCTR(block, q[:]).XORKeyStream(out, in)
	return out, nil
}

// seal returns the SIV and the ciphertext of p.
func (s *aesSIV) seal(ad [][]byte, p []byte) (v [16]byte, c []byte, err error) {
	v = s.s2v(ad, p)
	c, err = s.ctr(v, p)
	return v, c, err
}

// inlineValueLen is the longest plaintext whose S2V works in a stack buffer.
const inlineValueLen = 192

// errSIVMismatch means a ciphertext does not decrypt to a plaintext whose SIV is v.
var errSIVMismatch = errors.New("AES-SIV: the ciphertext does not match its synthetic IV")

// open returns the plaintext of c if its SIV is v.
func (s *aesSIV) open(ad [][]byte, v [16]byte, c []byte) ([]byte, error) {
	p, err := s.ctr(v, c)
	if err != nil {
		return nil, err
	}
	if got := s.s2v(ad, p); subtle.ConstantTimeCompare(got[:], v[:]) != 1 {
		return nil, errSIVMismatch
	}
	return p, nil
}
