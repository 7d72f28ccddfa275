package vault

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/accord-dev/accord/internal/admin"
)

// MaxDetokenizeTokens bounds the tokens of one detokenize request.
const MaxDetokenizeTokens = 1000

// privacyFields names the fields the privacy routes take, for the message about
// an unknown one.
const privacyFields = `forget takes "subject" and "controller"; detokenize takes "tokens"`

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

// Routes registers the privacy API on mux: POST /v1/privacy/forget and POST
// /v1/privacy/detokenize, both for callers presenting adminToken as a bearer token.
// With no admin token the routes answer 503 and say how to set one. log gets one line
// per call (actor, controller pseudonym, counts), never a subject or a value.
func (v *Vault) Routes(mux *http.ServeMux, adminToken string, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &privacyAPI{v: v, log: log, guard: admin.NewGuard(adminToken, "privacy")}
	mux.Handle("POST /v1/privacy/forget", h.guard.Wrap(h.forget))
	mux.Handle("POST /v1/privacy/detokenize", h.guard.Wrap(h.detokenize))
}

type privacyAPI struct {
	v     *Vault
	log   *slog.Logger
	guard *admin.Guard
}

func (h *privacyAPI) forget(w http.ResponseWriter, r *http.Request, actor string) {
	var body ForgetRequestBody
	if !admin.DecodeBody(w, r, &body, privacyFields) {
		return
	}
	if body.Subject == "" {
		admin.WriteError(w, http.StatusBadRequest, admin.CodeBadRequest, `"subject" is required: the data subject to forget, as the contracts' x-privacy.subject names it`)
		return
	}
	res, err := h.v.Forget(r.Context(), actor, body.Subject, body.Controller)
	if err != nil {
		h.log.Error("vault: forget failed", "actor", actor, "error", err)
		admin.WriteError(w, http.StatusInternalServerError, admin.CodeInternal, "the forget failed and nothing was destroyed; try again")
		return
	}
	h.log.Info("vault: forgot a subject", "actor", actor, "controller", res.Controller, "keys", res.KeysDestroyed, "tokens", res.TokensDestroyed)
	admin.WriteJSON(w, http.StatusOK, res)
}

func (h *privacyAPI) detokenize(w http.ResponseWriter, r *http.Request, actor string) {
	var body DetokenizeRequestBody
	if !admin.DecodeBody(w, r, &body, privacyFields) {
		return
	}
	if len(body.Tokens) == 0 {
		admin.WriteError(w, http.StatusBadRequest, admin.CodeBadRequest, `"tokens" is required: a list of tokens to detokenize`)
		return
	}
	if len(body.Tokens) > MaxDetokenizeTokens {
		admin.WriteError(w, http.StatusBadRequest, admin.CodeBadRequest, fmt.Sprintf("%d tokens in one request; send at most %d", len(body.Tokens), MaxDetokenizeTokens))
		return
	}
	res, err := h.v.Detokenize(r.Context(), actor, body.Tokens)
	if err != nil {
		h.log.Error("vault: detokenize failed", "actor", actor, "error", err)
		admin.WriteError(w, http.StatusInternalServerError, admin.CodeInternal, "the detokenize failed and no value was released; try again")
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
	admin.WriteJSON(w, http.StatusOK, out)
}
