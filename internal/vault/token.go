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

// Token versions, the first byte of a token's binary form. A new token layout gets a
// new version; parsers reject versions they do not know. Both versions are 25 bytes,
// so every token has the same length.
const (
	// tokenV1 is version || key id || MAC: the key id in clear. Keys created before
	// token version 2 (embedded layouts 1 and 2, Postgres schema 1) keep issuing it,
	// so that the same value keeps its token.
	tokenV1 = 1
	// tokenV2 is version || AES-256(key id || MAC[:8]) || MAC[8:]: the key id is
	// encrypted under a secret derived from the master key, so a token says nothing
	// about its key (not even which tokens share one) or about the order keys were
	// created in.
	tokenV2 = 2
)

const (
	keyIDLen     = 8
	macLen       = 16
	tokenBodyLen = keyIDLen + macLen
	tokenRawLen  = 1 + tokenBodyLen // version || body
	// TokenLen is the length in bytes of every token: the prefix and 40 base32 digits.
	TokenLen = len(TokenPrefix) + tokenRawLen*8/5
)

// tokenEncoding is RFC 4648 base32 in lower case without padding. Lower case only,
// because warehouses with case-insensitive collations (MySQL's default, for one) would
// otherwise make two tokens that differ in case compare equal; 25 bytes are exactly 40
// digits, so no digit carries unused bits.
var tokenEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// KeyID names one (controller, subject) key inside a store: a number the embedded
// store assigns in sequence, or a random id (the Postgres store, and keys from before
// token version 2). Tokens of version 2 carry it encrypted.
type KeyID [keyIDLen]byte

// String returns the key id in hexadecimal, the form used in logs and notifications.
func (id KeyID) String() string { return fmt.Sprintf("%x", id[:]) }

// MAC is a value's token MAC under its pair key (the AES-SIV synthetic IV).
type MAC [macLen]byte

// Token is a parsed token: its version and its body, whose meaning depends on the
// version (see tokenV1 and tokenV2). Only the vault, which holds the token secret,
// can tell the key and the MAC of a version 2 token.
type Token struct {
	Version byte
	Body    [tokenBodyLen]byte
}

// String returns the token's text form.
func (t Token) String() string {
	var raw [tokenRawLen]byte
	raw[0] = t.Version
	copy(raw[1:], t.Body[:])
	var buf [TokenLen]byte
	copy(buf[:], TokenPrefix)
	tokenEncoding.Encode(buf[len(TokenPrefix):], raw[:])
	return string(buf[:])
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
	if raw[0] != tokenV1 && raw[0] != tokenV2 {
		return Token{}, fmt.Errorf("%w: unknown version %d", ErrMalformedToken, raw[0])
	}
	t := Token{Version: raw[0]}
	copy(t.Body[:], raw[1:tokenRawLen])
	// The base32 decoder skips '\r' and '\n'; the length check above rules out any
	// shorter payload, and re-encoding rules out every other non-canonical form.
	if t.String() != s {
		return Token{}, fmt.Errorf("%w: not in canonical form", ErrMalformedToken)
	}
	return t, nil
}
