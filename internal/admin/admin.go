// Package admin holds what Accord's admin HTTP routes share: the bearer-token
// guard (one admin token, compared in constant time, every call attributed to an
// actor for the audit log), strict JSON request bodies whose errors never quote
// the body, and the JSON error form {"error": code, "message": text}. The
// privacy API (/v1/privacy/*) and the bad-row replay (/v1/bad/*) use it: both
// can release personal data.
package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
)

// MaxRequestBytes bounds an admin request's body.
const MaxRequestBytes = 1 << 20

// Error codes, in the "error" field of every error body.
const (
	CodeNotConfigured = "admin_token_not_configured"
	CodeUnauthorized  = "unauthorized"
	CodeBadRequest    = "bad_request"
	CodeTooLarge      = "payload_too_large"
	CodeInternal      = "internal_error"
)

// ErrorBody is the JSON body of every error response.
type ErrorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// Guard admits callers that present the admin token as a bearer token.
type Guard struct {
	realm string
	sum   *[sha256.Size]byte // nil: no admin token configured
}

// NewGuard guards with token; with "" every call is refused with 503 and told
// how to configure one. realm names the API in WWW-Authenticate.
func NewGuard(token, realm string) *Guard {
	g := &Guard{realm: realm}
	if token != "" {
		sum := sha256.Sum256([]byte(token))
		g.sum = &sum
	}
	return g
}

// Wrap checks the admin token and hands next the audit actor
// ("admin-api@<client address>"). Answers are never cached.
func (g *Guard) Wrap(next func(w http.ResponseWriter, r *http.Request, actor string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if g.sum == nil {
			WriteError(w, http.StatusServiceUnavailable, CodeNotConfigured,
				"the "+g.realm+" API is disabled because no admin token is configured; set ACCORD_ADMIN_TOKEN (or privacy.admin_token in the config) to a long random secret and send it as Authorization: Bearer <token>")
			return
		}
		scheme, presented, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		// Comparing hashes takes the same time whatever the presented token's length.
		sum := sha256.Sum256([]byte(presented))
		if !ok || !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(sum[:], g.sum[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="accord `+g.realm+`"`)
			WriteError(w, http.StatusUnauthorized, CodeUnauthorized, "missing or wrong admin token; send Authorization: Bearer <ACCORD_ADMIN_TOKEN>")
			return
		}
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		next(w, r, "admin-api@"+host)
	})
}

// DecodeBody decodes one JSON object strictly (no unknown fields, nothing after
// it) into dst, answering 400 or 413 itself when it cannot. fields names the
// fields the route takes, for the message about an unknown one.
func DecodeBody(w http.ResponseWriter, r *http.Request, dst any, fields string) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxRequestBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil && dec.Decode(new(json.RawMessage)) != io.EOF {
		err = errors.New("more than one JSON value in the body")
	}
	if err == nil {
		return true
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		WriteError(w, http.StatusRequestEntityTooLarge, CodeTooLarge, fmt.Sprintf("the body is over %d bytes", MaxRequestBytes))
		return false
	}
	WriteError(w, http.StatusBadRequest, CodeBadRequest, "the body is not the JSON object this route expects: "+JSONProblem(err, fields))
	return false
}

// JSONProblem describes a decoding error without quoting the body, which may
// hold personal data.
func JSONProblem(err error, fields string) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return "the body is empty"
	case errors.As(err, &syntax):
		return fmt.Sprintf("invalid JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q must be %s, not %s", typ.Field, typ.Type, typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return strings.TrimPrefix(err.Error(), "json: ") + " (" + fields + ")"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends early"
	default:
		return err.Error()
	}
}

// WriteError answers with the JSON error form.
func WriteError(w http.ResponseWriter, status int, code, msg string) {
	WriteJSON(w, status, ErrorBody{Error: code, Message: msg})
}

// WriteJSON answers with v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// The status is sent; a client that went away cannot be told anything more.
	_ = json.NewEncoder(w).Encode(v)
}
