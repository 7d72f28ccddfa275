package vault

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseSealed checks that parseSealed never panics, accepts only canonical
// sealed values, and never quotes its input in an error.
func FuzzParseSealed(f *testing.F) {
	tok := Token{Version: tokenV2, Body: [tokenBodyLen]byte{1, 2, 3}}
	for _, s := range []string{
		encodeSealed(tok, []byte("ciphertext")), encodeSealed(tok, nil), encodeSealed(Token{Version: tokenV1}, []byte{0}),
		SealedPrefix, "", "alice@example.com", tok.String(), strings.ToUpper(encodeSealed(tok, []byte("x"))),
		SealedPrefix + strings.Repeat("a", maxSealedLen),
	} {
		f.Add(s)
	}
	wording := maskDigits(`malformed token: a sealed value starts with "sealed_"; a sealed value is at most 1 characters, got 1; ` +
		`a sealed value is lower-case base32 digits of at least 1 bytes; unknown version 1`)
	f.Fuzz(func(t *testing.T, s string) {
		tok, ct, err := parseSealed(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedToken) {
				t.Fatalf("parseSealed error %v is not ErrMalformedToken", err)
			}
			if m := maskDigits(s); strings.Contains(maskDigits(err.Error()), m) && !strings.Contains(wording, m) {
				t.Fatalf("the error %q quotes the input", err)
			}
			return
		}
		if ct == nil {
			t.Fatal("parseSealed returned a nil ciphertext")
		}
		if got := encodeSealed(tok, ct); got != s {
			t.Fatalf("parseSealed accepted %q, whose canonical form is %q", s, got)
		}
	})
}
