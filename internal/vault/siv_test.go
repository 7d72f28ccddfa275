package vault

import (
	"encoding/hex"
	"strings"
	"testing"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCMACVectors checks AES-CMAC against RFC 4493 section 4.
func TestCMACVectors(t *testing.T) {
	key := unhex(t, "2b7e1516 28aed2a6 abf71588 09cf4f3c")
	// newAESSIV takes K1 || K2; only K1 matters to CMAC.
	s, err := newAESSIV(append(key, key...))
	if err != nil {
		t.Fatal(err)
	}
	msg := unhex(t, "6bc1bee2 2e409f96 e93d7e11 7393172a ae2d8a57 1e03ac9c 9eb76fac 45af8e51"+
		"30c81c46 a35ce411 e5fbc119 1a0a52ef f69f2445 df4f9b17 ad2b417b e66c3710")
	for _, tc := range []struct {
		n    int
		want string
	}{
		{0, "bb1d6929 e9593728 7fa37d12 9b756746"},
		{16, "070a16b4 6b4d4144 f79bdd9d d04a287c"},
		{40, "dfa66747 de9ae630 30ca3261 1497c827"},
		{64, "51f0bebf 7e3b9d92 fc497417 79363cfe"},
	} {
		if got := s.cmac(msg[:tc.n]); hex.EncodeToString(got[:]) != strings.ReplaceAll(tc.want, " ", "") {
			t.Errorf("CMAC of %d bytes = %x, want %s", tc.n, got, tc.want)
		}
	}
}

// TestSIVVector checks AES-SIV against RFC 5297 appendix A.1, and that open refuses
// any change.
func TestSIVVector(t *testing.T) {
	s, err := newAESSIV(unhex(t, "fffefdfc fbfaf9f8 f7f6f5f4 f3f2f1f0 f0f1f2f3 f4f5f6f7 f8f9fafb fcfdfeff"))
	if err != nil {
		t.Fatal(err)
	}
	ad := unhex(t, "10111213 14151617 18191a1b 1c1d1e1f 20212223 24252627")
	pt := unhex(t, "11223344 55667788 99aabbcc ddee")
	v, c, err := s.seal([][]byte{ad}, pt)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hex.EncodeToString(append(v[:], c...)), "85632d07c6e8f37f950acd320a2ecc9340c02b9690c4dc04daef7f6afe5c"; got != want {
		t.Fatalf("SIV || ciphertext = %s, want %s", got, want)
	}
	back, err := s.open([][]byte{ad}, v, c)
	if err != nil || string(back) != string(pt) {
		t.Errorf("open = %x, %v", back, err)
	}
	c[0] ^= 1
	if _, err := s.open([][]byte{ad}, v, c); err != errSIVMismatch {
		t.Errorf("open of a changed ciphertext: %v, want errSIVMismatch", err)
	}
	c[0] ^= 1
	if _, err := s.open(nil, v, c); err != errSIVMismatch {
		t.Errorf("open without the associated data: %v, want errSIVMismatch", err)
	}
}

// TestS2VLengths checks S2V around the 16-byte boundary and the stack buffer against
// a plain reimplementation of RFC 5297's definition.
func TestS2VLengths(t *testing.T) {
	s, err := newAESSIV(make([]byte, 64))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, inlineValueLen - 1, inlineValueLen, inlineValueLen + 1, 1000} {
		p := []byte(strings.Repeat("v", n))
		var want [16]byte
		if n >= 16 {
			t2 := append([]byte(nil), p...)
			for i := range 16 {
				t2[n-16+i] ^= s.d0[i]
			}
			want = s.cmac(t2)
		} else {
			d := dbl(s.d0)
			var t2 [16]byte
			copy(t2[:], p)
			t2[n] = 0x80
			for i := range t2 {
				t2[i] ^= d[i]
			}
			want = s.cmac(t2[:])
		}
		if got := s.s2v(nil, p); got != want {
			t.Errorf("len %d: s2v %x, want %x", n, got, want)
		}
	}
}
