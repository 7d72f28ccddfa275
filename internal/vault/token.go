package vault

import (
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
)

// TokenPrefix starts every token, so that a token is recognisable in a warehouse and
// cannot be confused with the value it replaces.
const TokenPrefix = "tok_"

// tokenVersion is the first byte of a token's binary form. A new token layout gets a
// new version; parsers reject versions they do not know.
const tokenVersion = 1

const (
	keyIDLen    = 8
	macLen      = 16
	tokenRawLen = 1 + keyIDLen + macLen // version || key id || mac
	// TokenLen is the length in bytes of every token: the prefix and 40 base32 digits.
	TokenLen = len(TokenPrefix) + tokenRawLen*8/5
)

// tokenEncoding is RFC 4648 base32 in lower case without padding. Lower case only,
// because warehouses with case-insensitive collations (MySQL's default, for one) would
// otherwise make two tokens that differ in case compare equal; 25 bytes are exactly 40
// digits, so no digit carries unused bits.
var tokenEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// KeyID names one (controller, subject) key. It is random, so it says nothing about
// the subject, and it is carried in every token made under that key.
type KeyID [keyIDLen]byte

// String returns the key id in hexadecimal, the form used in logs and notifications.
func (id KeyID) String() string { return fmt.Sprintf("%x", id[:]) }

// MAC is the truncated HMAC-SHA256 of a value under a key's token MAC key.
type MAC [macLen]byte

// Token is a parsed token.
type Token struct {
	Key KeyID
	MAC MAC
}

// String returns the token's text form.
func (t Token) String() string {
	var buf [TokenLen]byte
	t.appendTo(&buf)
	return string(buf[:])
}

func (t Token) appendTo(buf *[TokenLen]byte) {
	var raw [tokenRawLen]byte
	raw[0] = tokenVersion
	copy(raw[1:], t.Key[:])
	copy(raw[1+keyIDLen:], t.MAC[:])
	copy(buf[:], TokenPrefix)
	tokenEncoding.Encode(buf[len(TokenPrefix):], raw[:])
}

// ErrMalformedToken is returned (wrapped) for a string that is not a token in the
// format described in docs/vault.md.
var ErrMalformedToken = errors.New("malformed token")

// ParseToken parses the text form of a token strictly: the exact prefix, the exact
// length, lower-case base32 digits only and a known version. It never returns the
// input in its error, since the input may be a PII value passed by mistake.
func ParseToken(s string) (Token, error) {
	if len(s) != TokenLen {
		return Token{}, fmt.Errorf("%w: want %d characters, got %d", ErrMalformedToken, TokenLen, len(s))
	}
	if !strings.HasPrefix(s, TokenPrefix) {
		return Token{}, fmt.Errorf("%w: want prefix %q", ErrMalformedToken, TokenPrefix)
	}
	var raw [tokenRawLen + 1]byte // room to notice a decoder that returns more
	n, err := tokenEncoding.Decode(raw[:], []byte(s[len(TokenPrefix):]))
	if err != nil || n != tokenRawLen {
		return Token{}, fmt.Errorf("%w: want %d lower-case base32 digits", ErrMalformedToken, TokenLen-len(TokenPrefix))
	}
	if raw[0] != tokenVersion {
		return Token{}, fmt.Errorf("%w: unknown version %d", ErrMalformedToken, raw[0])
	}
	var t Token
	copy(t.Key[:], raw[1:])
	copy(t.MAC[:], raw[1+keyIDLen:tokenRawLen])
	// The base32 decoder skips '\r' and '\n'; the length check above rules out any
	// shorter payload, and re-encoding rules out every other non-canonical form.
	if t.String() != s {
		return Token{}, fmt.Errorf("%w: not in canonical form", ErrMalformedToken)
	}
	return t, nil
}
