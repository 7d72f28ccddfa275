package vault_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/accord-dev/accord/internal/vault"
	"github.com/google/go-cmp/cmp"
)

const adminToken = "s3cret-admin-token"

// newAPI serves a vault's privacy routes on 127.0.0.1 and returns its base URL and
// the log it writes.
func newAPI(t *testing.T, token string) (*vault.Vault, string, *bytes.Buffer) {
	t.Helper()
	v, _ := boltVault(t, vault.Options{})
	var logs bytes.Buffer
	mux := http.NewServeMux()
	v.Routes(mux, token, slog.New(slog.NewTextHandler(&logs, nil)))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return v, srv.URL, &logs
}

type reply struct {
	status int
	body   map[string]any
}

func post(t *testing.T, url, auth, body string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" && res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	r := reply{status: res.StatusCode}
	if res.StatusCode != http.StatusMethodNotAllowed {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			t.Fatalf("response %s is not JSON: %v", raw, err)
		}
	}
	return r
}

func TestPrivacyAPIRefusals(t *testing.T) {
	_, base, _ := newAPI(t, adminToken)
	_, unconfigured, _ := newAPI(t, "")
	bearer := "Bearer " + adminToken
	for _, tc := range []struct {
		name, url, auth, body string
		status                int
		code                  string
		message               string // a part of the message
	}{
		{"no admin token configured", unconfigured + "/v1/privacy/forget", bearer, `{"subject":"x"}`, 503, "admin_token_not_configured", "ACCORD_ADMIN_TOKEN"},
		{"no admin token configured, detokenize", unconfigured + "/v1/privacy/detokenize", "", `{"tokens":[]}`, 503, "admin_token_not_configured", "ACCORD_ADMIN_TOKEN"},
		{"no authorization", base + "/v1/privacy/forget", "", `{"subject":"x"}`, 401, "unauthorized", "Bearer"},
		{"wrong token", base + "/v1/privacy/forget", "Bearer nope", `{"subject":"x"}`, 401, "unauthorized", "Bearer"},
		{"token prefix", base + "/v1/privacy/detokenize", "Bearer " + adminToken[:5], `{"tokens":["a"]}`, 401, "unauthorized", "Bearer"},
		{"basic scheme", base + "/v1/privacy/forget", "Basic " + adminToken, `{"subject":"x"}`, 401, "unauthorized", "Bearer"},
		{"bad JSON", base + "/v1/privacy/forget", bearer, `{"subject":`, 400, "bad_request", "ends early"},
		{"not JSON", base + "/v1/privacy/forget", bearer, `subject=x`, 400, "bad_request", "invalid JSON at byte 1"},
		{"empty body", base + "/v1/privacy/forget", bearer, ``, 400, "bad_request", "empty"},
		{"unknown field", base + "/v1/privacy/forget", bearer, `{"subjects":"x"}`, 400, "bad_request", `unknown field "subjects"`},
		{"wrong type", base + "/v1/privacy/detokenize", bearer, `{"tokens":"tok_x"}`, 400, "bad_request", `field "tokens" must be []string`},
		{"two values", base + "/v1/privacy/forget", bearer, `{"subject":"x"} {}`, 400, "bad_request", "more than one JSON value"},
		{"no subject", base + "/v1/privacy/forget", bearer, `{"controller":"shop-a"}`, 400, "bad_request", `"subject" is required`},
		{"no tokens", base + "/v1/privacy/detokenize", bearer, `{"tokens":[]}`, 400, "bad_request", `"tokens" is required`},
		{"too many tokens", base + "/v1/privacy/detokenize", bearer, `{"tokens":[` + strings.Repeat(`"a",`, vault.MaxDetokenizeTokens) + `"a"]}`, 400, "bad_request", "at most 1000"},
		{"too large", base + "/v1/privacy/forget", bearer, `{"subject":"` + strings.Repeat("x", 2<<20) + `"}`, 413, "payload_too_large", "over"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, tc.url, tc.auth, tc.body)
			if r.status != tc.status || r.body["error"] != tc.code {
				t.Errorf("got %d %v, want %d %s", r.status, r.body, tc.status, tc.code)
			}
			if msg, _ := r.body["message"].(string); !strings.Contains(msg, tc.message) {
				t.Errorf("message %q does not say %q", msg, tc.message)
			}
		})
	}
	res, err := http.Get(base + "/v1/privacy/forget")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET forget: %d, want 405", res.StatusCode)
	}
}

func TestPrivacyAPIForgetAndDetokenize(t *testing.T) {
	v, base, logs := newAPI(t, adminToken)
	ctx := context.Background()
	const email = "zoe@example.com"
	atA, err := v.Tokenize(ctx, "shop-a", email, email)
	if err != nil {
		t.Fatal(err)
	}
	atB, err := v.Tokenize(ctx, "shop-b", email, email)
	if err != nil {
		t.Fatal(err)
	}
	bearer := "Bearer " + adminToken

	r := post(t, base+"/v1/privacy/forget", bearer, `{"subject":"`+email+`","controller":"shop-b"}`)
	want := map[string]any{"keys_destroyed": 1.0, "tokens_destroyed": 1.0, "controller": v.ControllerRef("shop-b")}
	if diff := cmp.Diff(reply{200, want}, r, cmp.AllowUnexported(reply{})); diff != "" {
		t.Errorf("forget (-want +got):\n%s", diff)
	}

	r = post(t, base+"/v1/privacy/detokenize", bearer, `{"tokens":["`+atA+`","`+atB+`","`+email+`"]}`)
	wantResults := []any{
		map[string]any{"token": atA, "value": email},
		map[string]any{"token": atB, "error": "forgotten", "message": vault.ErrForgotten.Error()},
		map[string]any{"error": "malformed_token", "message": "malformed token: want 44 characters, got 15"},
	}
	if diff := cmp.Diff(reply{200, map[string]any{"results": wantResults}}, r, cmp.AllowUnexported(reply{})); diff != "" {
		t.Errorf("detokenize (-want +got):\n%s", diff)
	}

	entries, err := v.Audit(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].Action != vault.ActionForget || entries[1].Action != vault.ActionDetokenize ||
		entries[1].Actor != "admin-api@127.0.0.1" || entries[1].Resolved != 1 {
		t.Errorf("audit log %+v, want a forget then a detokenize by admin-api@127.0.0.1 resolving 1", entries)
	}
	if strings.Contains(logs.String(), email) || strings.Contains(logs.String(), "shop-b") {
		t.Errorf("the log holds the subject or the controller:\n%s", logs)
	}
	if !strings.Contains(logs.String(), "forgot a subject") {
		t.Errorf("the log does not record the forget:\n%s", logs)
	}
}
