package vault

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
)

// Limits of the privacy API.
const (
	maxRequestBytes     = 1 << 20
	MaxDetokenizeTokens = 1000
)

// Error codes of the privacy API, in the "error" field of every error body.
const (
	codeNotConfigured = "admin_token_not_configured"
	codeUnauthorized  = "unauthorized"
	codeBadRequest    = "bad_request"
	codeTooLarge      = "payload_too_large"
	codeInternal      = "internal_error"
)

// ForgetRequestBody is the JSON body of POST /v1/privacy/forget. An empty controller
// forgets the subject under every controller.
type ForgetRequestBody struct {
	Subject    string `json:"subject"`
	Controller string `json:"controller"`
}

// DetokenizeRequestBody is the JSON body of POST /v1/privacy/detokenize.
type DetokenizeRequestBody struct {
	Tokens []string `json:"tokens"`
}

// DetokenizeResult is one entry of the detokenize response, in request order: a value,
// or an error code (malformed_token, forgotten, unknown_token) with a message. Token is
// empty for a malformed token, which may be a PII value sent by mistake.
type DetokenizeResult struct {
	Token   string  `json:"token,omitempty"`
	Value   *string `json:"value,omitempty"`
	Error   string  `json:"error,omitempty"`
	Message string  `json:"message,omitempty"`
}

// DetokenizeResponseBody is the JSON response of POST /v1/privacy/detokenize.
type DetokenizeResponseBody struct {
	Results []DetokenizeResult `json:"results"`
}

// errorBody is the JSON body of every error response.
type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// Routes registers the privacy API on mux: POST /v1/privacy/forget and POST
// /v1/privacy/detokenize, both for callers presenting adminToken as a bearer token.
// With no admin token the routes answer 503 and say how to set one. log gets one line
// per call (actor, controller pseudonym, counts), never a subject or a value.
func (v *Vault) Routes(mux *http.ServeMux, adminToken string, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &privacyAPI{v: v, log: log}
	if adminToken != "" {
		sum := sha256.Sum256([]byte(adminToken))
		h.tokenSum = &sum
	}
	mux.Handle("POST /v1/privacy/forget", h.guard(h.forget))
	mux.Handle("POST /v1/privacy/detokenize", h.guard(h.detokenize))
}

type privacyAPI struct {
	v        *Vault
	log      *slog.Logger
	tokenSum *[sha256.Size]byte // nil: no admin token configured
}

// guard checks the admin token and hands the handler the audit actor.
func (h *privacyAPI) guard(next func(w http.ResponseWriter, r *http.Request, actor string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if h.tokenSum == nil {
			writeError(w, http.StatusServiceUnavailable, codeNotConfigured,
				"the privacy API is disabled because no admin token is configured; set ACCORD_ADMIN_TOKEN (or privacy.admin_token in the config) to a long random secret and send it as Authorization: Bearer <token>")
			return
		}
		scheme, presented, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		// Comparing hashes takes the same time whatever the presented token's length.
		sum := sha256.Sum256([]byte(presented))
		if !ok || !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(sum[:], h.tokenSum[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="accord privacy"`)
			writeError(w, http.StatusUnauthorized, codeUnauthorized, "missing or wrong admin token; send Authorization: Bearer <ACCORD_ADMIN_TOKEN>")
			return
		}
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		next(w, r, "admin-api@"+host)
	})
}

func (h *privacyAPI) forget(w http.ResponseWriter, r *http.Request, actor string) {
	var body ForgetRequestBody
	if !decodeBody(w, r, &body) {
		return
	}
	if body.Subject == "" {
		writeError(w, http.StatusBadRequest, codeBadRequest, `"subject" is required: the data subject to forget, as the contracts' x-privacy.subject names it`)
		return
	}
	res, err := h.v.Forget(r.Context(), actor, body.Subject, body.Controller)
	if err != nil {
		h.log.Error("vault: forget failed", "actor", actor, "error", err)
		writeError(w, http.StatusInternalServerError, codeInternal, "the forget failed and nothing was destroyed; try again")
		return
	}
	h.log.Info("vault: forgot a subject", "actor", actor, "controller", res.Controller, "keys", res.KeysDestroyed, "tokens", res.TokensDestroyed)
	writeJSON(w, http.StatusOK, res)
}

func (h *privacyAPI) detokenize(w http.ResponseWriter, r *http.Request, actor string) {
	var body DetokenizeRequestBody
	if !decodeBody(w, r, &body) {
		return
	}
	if len(body.Tokens) == 0 {
		writeError(w, http.StatusBadRequest, codeBadRequest, `"tokens" is required: a list of tokens to detokenize`)
		return
	}
	if len(body.Tokens) > MaxDetokenizeTokens {
		writeError(w, http.StatusBadRequest, codeBadRequest, fmt.Sprintf("%d tokens in one request; send at most %d", len(body.Tokens), MaxDetokenizeTokens))
		return
	}
	res, err := h.v.Detokenize(r.Context(), actor, body.Tokens)
	if err != nil {
		h.log.Error("vault: detokenize failed", "actor", actor, "error", err)
		writeError(w, http.StatusInternalServerError, codeInternal, "the detokenize failed and no value was released; try again")
		return
	}
	out := DetokenizeResponseBody{Results: make([]DetokenizeResult, len(res))}
	resolved := 0
	for i, d := range res {
		out.Results[i].Token = d.Token
		switch {
		case d.Err == nil:
			out.Results[i].Value = &d.Value
			resolved++
		case errors.Is(d.Err, ErrMalformedToken):
			// The "token" may be a PII value sent by mistake: never echo it back.
			out.Results[i].Token = ""
			out.Results[i].Error, out.Results[i].Message = "malformed_token", d.Err.Error()
		case errors.Is(d.Err, ErrForgotten):
			out.Results[i].Error, out.Results[i].Message = "forgotten", d.Err.Error()
		default:
			out.Results[i].Error, out.Results[i].Message = "unknown_token", d.Err.Error()
		}
	}
	h.log.Info("vault: detokenized", "actor", actor, "tokens", len(res), "resolved", resolved)
	writeJSON(w, http.StatusOK, out)
}

// decodeBody decodes one JSON object strictly into dst, answering 400 or 413 itself
// when it cannot.
func decodeBody(w http.ResponseWriter, r *http.Request, dst any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequestBytes))
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
		writeError(w, http.StatusRequestEntityTooLarge, codeTooLarge, fmt.Sprintf("the body is over %d bytes", maxRequestBytes))
		return false
	}
	writeError(w, http.StatusBadRequest, codeBadRequest, "the body is not the JSON object this route expects: "+jsonProblem(err))
	return false
}

// jsonProblem describes a decoding error without quoting the body, which may hold PII.
func jsonProblem(err error) string {
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
		return strings.TrimPrefix(err.Error(), "json: ") + ` (forget takes "subject" and "controller"; detokenize takes "tokens")`
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends early"
	default:
		return err.Error()
	}
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, errorBody{Error: code, Message: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// The status is sent; a client that went away cannot be told anything more.
	_ = json.NewEncoder(w).Encode(v)
}
