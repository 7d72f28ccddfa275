package vault

import (
	"errors"
	"strings"
	"testing"
)

// tokenCases seed both the table test and the fuzz target.
var tokenCases = []struct {
	name string
	in   string
	ok   bool
}{
	{"valid", Token{Version: tokenV2, Body: [tokenBodyLen]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}}.String(), true},
	{"version 1", Token{Version: tokenV1, Body: [tokenBodyLen]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}}.String(), true},
	{"zero body", Token{Version: tokenV2}.String(), true},
	{"empty", "", false},
	{"prefix only", TokenPrefix, false},
	{"email", "alice@example.com", false},
	{"upper case", strings.ToUpper(Token{Version: tokenV2}.String()), false},
	{"upper case digits", TokenPrefix + strings.ToUpper(Token{Version: tokenV2}.String()[4:]), false},
	{"wrong prefix", "tok-" + Token{Version: tokenV2}.String()[4:], false},
	{"too short", Token{Version: tokenV2}.String()[:TokenLen-1], false},
	{"too long", Token{Version: tokenV2}.String() + "a", false},
	{"newline inside", Token{Version: tokenV2}.String()[:20] + "\n" + Token{Version: tokenV2}.String()[21:], false},
	{"padding", Token{Version: tokenV2}.String()[:TokenLen-1] + "=", false},
	{"not base32", TokenPrefix + strings.Repeat("1", TokenLen-len(TokenPrefix)), false},
	{"version 3", TokenPrefix + "am" + strings.Repeat("a", TokenLen-len(TokenPrefix)-2), false},
	{"version 0", TokenPrefix + strings.Repeat("a", TokenLen-len(TokenPrefix)), false},
}

func TestParseToken(t *testing.T) {
	for _, tc := range tokenCases {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := ParseToken(tc.in)
			if tc.ok {
				if err != nil {
					t.Fatalf("ParseToken: %v", err)
				}
				if tok.String() != tc.in {
					t.Errorf("round trip gave %q, want %q", tok.String(), tc.in)
				}
				return
			}
			if !errors.Is(err, ErrMalformedToken) {
				t.Fatalf("ParseToken(%q) = %v, want ErrMalformedToken", tc.in, err)
			}
			if tc.in != "" && strings.Contains(err.Error(), tc.in) {
				t.Errorf("the error %q quotes the input", err)
			}
		})
	}
}

func TestTokenShape(t *testing.T) {
	s := Token{Version: tokenV2, Body: [tokenBodyLen]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}.String()
	if len(s) != TokenLen || TokenLen != 44 {
		t.Fatalf("token %q is %d bytes, TokenLen %d; want 44", s, len(s), TokenLen)
	}
	for _, r := range s[len(TokenPrefix):] {
		if !strings.ContainsRune("abcdefghijklmnopqrstuvwxyz234567", r) {
			t.Errorf("token %q holds %q, outside lower-case base32", s, r)
		}
	}
}

// FuzzParseToken checks that ParseToken never panics, accepts only canonical
// tokens, and never quotes its input in an error.
func FuzzParseToken(f *testing.F) {
	for _, tc := range tokenCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := ParseToken(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedToken) {
				t.Fatalf("ParseToken error %v is not ErrMalformedToken", err)
			}
			// The input may appear in the error only where it is also part of the
			// fixed wording (digits masked, since lengths and versions are printed).
			if m := maskDigits(s); strings.Contains(maskDigits(err.Error()), m) && !strings.Contains(parseErrorWording, m) {
				t.Fatalf("the error %q quotes the input", err)
			}
			return
		}
		if tok.String() != s {
			t.Fatalf("ParseToken accepted %q, whose canonical form is %q", s, tok.String())
		}
	})
}

// parseErrorWording holds every fixed text of ParseToken's errors, digits masked.
var parseErrorWording = maskDigits(`malformed token: want 1 characters, got 1; want prefix "tok_"; ` +
	`want 1 lower-case base32 digits; unknown version 1; not in canonical form`)

// maskDigits replaces every run of digits with one '#'.
func maskDigits(s string) string {
	var b strings.Builder
	inRun := false
	for _, r := range s {
		digit := r >= '0' && r <= '9'
		if !digit {
			b.WriteRune(r)
		} else if !inRun {
			b.WriteByte('#')
		}
		inRun = digit
	}
	return b.String()
}
