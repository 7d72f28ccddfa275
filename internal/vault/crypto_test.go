package vault

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
)

func BenchmarkPairKeyMAC(b *testing.B) {
	k, err := newPairKey(KeyID{1}, make([]byte, 32))
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

func BenchmarkCacheGet(b *testing.B) {
	c := newKeyCache(1000)
	k, err := newPairKey(KeyID{1}, make([]byte, 32))
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
	k, err := newPairKey(KeyID{1}, make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	other, err := newPairKey(KeyID{1}, []byte("another key, another key, anoth!"))
	if err != nil {
		t.Fatal(err)
	}
	for _, value := range []string{"", "a", "alice@example.com", strings.Repeat("x", 1000)} {
		tok, _ := k.token(value)
		sealed, err := k.seal(tok, value)
		if err != nil {
			t.Fatal(err)
		}
		if len(sealed) != len(value) {
			t.Errorf("sealed %d bytes into %d", len(value), len(sealed))
		}
		if len(value) > 4 && strings.Contains(string(sealed), value[:4]) {
			t.Errorf("the sealed value holds the plaintext")
		}
		again, err := k.seal(tok, value)
		if err != nil || string(again) != string(sealed) {
			t.Errorf("sealing is not deterministic")
		}
		if got, err := k.open(tok, sealed); err != nil || got != value {
			t.Errorf("open = %q, %v; want the value", got, err)
		}
		if _, err := other.open(tok, sealed); err != errValueMismatch {
			t.Errorf("open under another key: %v, want errValueMismatch", err)
		}
		if len(sealed) > 0 {
			tampered := []byte(string(sealed))
			tampered[len(tampered)/2] ^= 1
			if _, err := k.open(tok, tampered); err != errValueMismatch {
				t.Errorf("open of a tampered value: %v, want errValueMismatch", err)
			}
		}
		moved := tok
		moved.MAC[15] ^= 1
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
