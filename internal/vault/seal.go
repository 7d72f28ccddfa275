package vault

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// SealedPrefix starts every sealed value, so that one is recognisable where it is
// kept and cannot be confused with a token or with the value it replaces.
const SealedPrefix = "sealed_"

// ActionUnseal is the audit action of Unseal.
const ActionUnseal = "unseal"

// Seal encrypts each value under the key of (controller, subject), creating the
// key when the vault has none, and returns it as a sealed value: the value's
// token followed by its AES-SIV ciphertext, as text (docs/vault.md). Unlike a
// token, a sealed value carries its ciphertext, so the vault stores nothing per
// value: the value lives only where the sealed value is kept (a bad row) and dies
// with it, or with the subject's key when the subject is forgotten, whichever
// comes first. Only Unseal, audited, reads it back.
//
// The same value of the same subject seals to the same text, as it tokenizes to
// the same token; values of different subjects or controllers cannot be linked.
func (v *Vault) Seal(ctx context.Context, controller, subject string, values []string) ([]string, error) {
	for _, val := range values {
		if len(val) > MaxValueLen {
			return nil, ErrValueTooLong
		}
	}
	if subject == "" {
		return nil, ErrEmptySubject
	}
	if controller == "" {
		return nil, ErrEmptyController
	}
	e, err := v.entry(ctx, scope{controller: controller, subject: subject}, nil)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(values))
	for i, val := range values {
		t, mac, _ := e.key.token(val)
		ct, err := e.key.seal(mac, val)
		if err != nil {
			return nil, err
		}
		out[i] = encodeSealed(t, ct)
	}
	return out, nil
}

// Unseal returns the value of each sealed value, in order, as Detokenize does for
// tokens: a sealed value whose subject was forgotten gets ErrForgotten, one this
// vault did not seal or that was altered gets ErrUnknownToken, text that is not a
// sealed value gets ErrMalformedToken. The call is audited under actor before any
// value is returned.
func (v *Vault) Unseal(ctx context.Context, actor string, sealed []string) ([]Detokenized, error) {
	if actor == "" {
		return nil, ErrEmptyActor
	}
	out := make([]Detokenized, len(sealed))
	items := make([]opening, len(sealed))
	for i, s := range sealed {
		out[i].Token = s
		t, ct, err := parseSealed(s)
		if err != nil {
			out[i].Err = err
			items[i].skip = true
			continue
		}
		items[i].id, items[i].mac = openToken(v.secrets.hide, t)
		items[i].ct = ct
	}
	if err := v.openAll(ctx, actor, ActionUnseal, items, out); err != nil {
		return nil, err
	}
	return out, nil
}

// CheckSealed says, for each sealed value in order, whether Unseal would find
// the key it was sealed under, opening none: nil when the vault holds the key,
// ErrForgotten when its subject was forgotten, ErrUnknownToken when this vault
// never held it, ErrMalformedToken for text that is not a sealed value. It
// reads each key once and decrypts nothing, so it releases no value and is not
// audited: a bad-row summary uses it to tell the rows of forgotten subjects
// from those a replay could restore. The error is for failures of the vault
// itself.
func (v *Vault) CheckSealed(ctx context.Context, sealed []string) ([]error, error) {
	out := make([]error, len(sealed))
	byKey := make(map[KeyID][]int)
	var order []KeyID
	for i, s := range sealed {
		t, _, err := parseSealed(s)
		if err != nil {
			out[i] = err
			continue
		}
		id, _ := openToken(v.secrets.hide, t)
		if _, ok := byKey[id]; !ok {
			order = append(order, id)
		}
		byKey[id] = append(byKey[id], i)
	}
	for _, id := range order {
		var found error
		switch _, _, err := v.store.Mappings(ctx, id, nil); {
		case errors.Is(err, ErrForgotten):
			found = ErrForgotten
		case errors.Is(err, ErrNotFound):
			found = ErrUnknownToken
		case err != nil:
			return nil, fmt.Errorf("reading key %s: %w", id, err)
		}
		for _, i := range byKey[id] {
			out[i] = found
		}
	}
	return out, nil
}

// IsSealed reports whether s has the form of a sealed value.
func IsSealed(s string) bool {
	_, _, err := parseSealed(s)
	return err == nil
}

// maxSealedLen bounds the text of a sealed value: the prefix and the base32 of a
// token and a value of MaxValueLen bytes.
var maxSealedLen = len(SealedPrefix) + tokenEncoding.EncodedLen(tokenRawLen+MaxValueLen)

func encodeSealed(t Token, ct []byte) string {
	raw := make([]byte, 0, tokenRawLen+len(ct))
	raw = append(raw, t.Version)
	raw = append(raw, t.Body[:]...)
	raw = append(raw, ct...)
	return SealedPrefix + tokenEncoding.EncodeToString(raw)
}

// parseSealed parses a sealed value strictly, as ParseToken parses a token. Its
// errors never quote the input, which may be a value passed by mistake.
func parseSealed(s string) (Token, []byte, error) {
	if !strings.HasPrefix(s, SealedPrefix) {
		return Token{}, nil, fmt.Errorf("%w: a sealed value starts with %q", ErrMalformedToken, SealedPrefix)
	}
	if len(s) > maxSealedLen {
		return Token{}, nil, fmt.Errorf("%w: a sealed value is at most %d characters, got %d", ErrMalformedToken, maxSealedLen, len(s))
	}
	digits := s[len(SealedPrefix):]
	raw, err := tokenEncoding.DecodeString(digits)
	if err != nil || len(raw) < tokenRawLen || tokenEncoding.EncodeToString(raw) != digits {
		return Token{}, nil, fmt.Errorf("%w: a sealed value is lower-case base32 digits of at least %d bytes", ErrMalformedToken, tokenRawLen)
	}
	if raw[0] != tokenV1 && raw[0] != tokenV2 {
		return Token{}, nil, fmt.Errorf("%w: unknown version %d", ErrMalformedToken, raw[0])
	}
	t := Token{Version: raw[0]}
	copy(t.Body[:], raw[1:tokenRawLen])
	ct := raw[tokenRawLen:]
	if ct == nil {
		ct = []byte{}
	}
	return t, ct, nil
}
