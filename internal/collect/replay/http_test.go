package replay

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/accord-dev/accord/internal/admin"
	"github.com/accord-dev/accord/internal/event"
)

func TestReplayAPI(t *testing.T) {
	const token = "replay-admin-token-0123"
	r, bad := newTestReplayer(t, &fakePipeline{}, nil)
	writeRows(t, bad, "2026-12-01", row("r1", event.ReasonSchemaNotFound, `{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{"ok":true}}`))
	mux := http.NewServeMux()
	r.Routes(mux, admin.NewGuard(token, "replay"))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	unconfigured := http.NewServeMux()
	r.Routes(unconfigured, admin.NewGuard("", "replay"))
	srv2 := httptest.NewServer(unconfigured)
	defer srv2.Close()

	call := func(base, auth, body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, base+"/v1/bad/replay", strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct {
		name, base, auth, body string
		code                   int
		want                   string
	}{
		{"no admin token configured", srv2.URL, "Bearer " + token, `{}`, 503, "ACCORD_ADMIN_TOKEN"},
		{"no token", srv.URL, "", `{}`, 401, "unauthorized"},
		{"wrong token", srv.URL, "Bearer nope", `{}`, 401, "unauthorized"},
		{"not JSON", srv.URL, "Bearer " + token, `{"from":`, 400, "the JSON ends early"},
		{"unknown field", srv.URL, "Bearer " + token, `{"dryrun":true}`, 400, `a replay takes \"from\"`},
		{"bad day", srv.URL, "Bearer " + token, `{"from":"12/01/2026"}`, 400, "YYYY-MM-DD"},
		{"dry run", srv.URL, "Bearer " + token, `{"dry_run":true}`, 200, `"status":"accepted"`},
		{"replay", srv.URL, "Bearer " + token, `{}`, 200, `"accepted":1`},
		{"again", srv.URL, "Bearer " + token, `{}`, 200, `"already_replayed":1`},
	} {
		code, body := call(tc.base, tc.auth, tc.body)
		if code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %s, want %d with %s", tc.name, code, body, tc.code, tc.want)
		}
	}
	// One replay at a time.
	r.running.Lock()
	code, body := call(srv.URL, "Bearer "+token, `{}`)
	r.running.Unlock()
	if code != http.StatusConflict || !strings.Contains(body, "replay_running") {
		t.Errorf("a second replay: %d %s", code, body)
	}
	// The client runs calls until the rows are done, and says why it is refused.
	c := &Client{Base: srv.URL, Token: token}
	rep, err := c.ReplayAll(t.Context(), Request{Limit: 1, DryRun: true}, nil)
	if err != nil || rep.Rows != 1 {
		t.Errorf("ReplayAll: %+v %v", rep, err)
	}
	if _, err := (&Client{Base: srv.URL, Token: "nope"}).Replay(t.Context(), Request{}); err == nil || !strings.Contains(err.Error(), "admin token") {
		t.Errorf("a wrong token: %v", err)
	}
	var e admin.ErrorBody
	_, body = call(srv.URL, "Bearer "+token, `{"limit":-1}`)
	if json.Unmarshal([]byte(body), &e) != nil || e.Error != admin.CodeBadRequest {
		t.Errorf("a negative limit: %s", body)
	}
}

// TestSummaryAPI: GET /v1/bad/summary answers the collector's summary to the
// admin token only, its vault asked; the client tells a collector that does
// not answer from one that refuses.
func TestSummaryAPI(t *testing.T) {
	const token = "summary-admin-token-0123"
	r, bad := newTestReplayer(t, &fakePipeline{}, nil)
	r.d.Keys = &fakeKeys{fail: errors.New("no vault here")}
	writeRows(t, bad, "2026-12-01", row("r1", event.ReasonSchemaNotFound, `{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{"ok":true}}`),
		row("r2", event.ReasonSchemaNotFound, `{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{"ok":true,"email":"`+validSealed(t)+`"}}`, "/data/email"))
	writeRows(t, bad, "2026-12-02", row("r3", event.ReasonSchemaNotFound, `{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{"ok":true}}`))
	mux := http.NewServeMux()
	r.Routes(mux, admin.NewGuard(token, "replay"))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	get := func(auth, query string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/bad/summary"+query, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct {
		name, auth, query string
		code              int
		want              string
	}{
		{"no token", "", "", 401, "unauthorized"},
		{"wrong token", "Bearer nope", "", 401, "unauthorized"},
		{"unknown parameter", "Bearer " + token, "?since=2026-12-01", 400, `unknown parameter \"since\": a summary takes \"from\" and \"to\"`},
		{"twice", "Bearer " + token, "?from=2026-12-01&from=2026-12-02", 400, `\"from\" is given 2 times`},
		{"bad day", "Bearer " + token, "?to=tomorrow", 400, "YYYY-MM-DD"},
		{"all", "Bearer " + token, "", 200, `"rows":3`},
		{"one day", "Bearer " + token, "?from=2026-12-02", 200, `"rows":1`},
		{"unchecked", "Bearer " + token, "?to=2026-12-01", 200, `"unchecked":1,"unchecked_why":"the vault could not be asked: no vault here"`},
	} {
		code, body := get(tc.auth, tc.query)
		if code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %s, want %d with %s", tc.name, code, body, tc.code, tc.want)
		}
	}
	sum, err := (&Client{Base: srv.URL, Token: token}).Summary(t.Context(), "2026-12-01", "2026-12-01")
	if err != nil || sum.Rows != 2 || sum.Unchecked != 1 {
		t.Errorf("Client.Summary: %+v %v", sum, err)
	}
	var unreachable *UnreachableError
	if _, err := (&Client{Base: srv.URL, Token: "nope"}).Summary(t.Context(), "", ""); err == nil || errors.As(err, &unreachable) || !strings.Contains(err.Error(), "admin token") {
		t.Errorf("a wrong token: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	if _, err := (&Client{Base: closed, Token: token}).Summary(t.Context(), "", ""); !errors.As(err, &unreachable) || !strings.Contains(err.Error(), "is accord serve running there?") {
		t.Errorf("nothing listening: %v", err)
	}
}

// validSealed returns a value of the sealed form (a vault sealed it).
func validSealed(t *testing.T) string {
	t.Helper()
	s, _ := sealedValues(t)
	return s
}

// TestClientTLSHints: a collector over HTTPS whose certificate the client
// does not trust, or that names another host, is told apart from one that is
// not running, with what to do.
func TestClientTLSHints(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	var unreachable *UnreachableError
	// A private CA (httptest's): the system's roots do not hold it.
	if _, err := (&Client{Base: srv.URL, Token: "t"}).Summary(t.Context(), "", ""); !errors.As(err, &unreachable) || !strings.Contains(err.Error(), "point SSL_CERT_FILE at the CA's PEM file") {
		t.Errorf("an untrusted certificate: %v", err)
	}
	// Trusted, but the certificate names 127.0.0.1 and example.com, not localhost.
	localhost := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	if _, err := (&Client{Base: localhost, Token: "t", HTTP: srv.Client()}).Summary(t.Context(), "", ""); !errors.As(err, &unreachable) || !strings.Contains(err.Error(), "pass --server with a host name the certificate names") {
		t.Errorf("a certificate of another host: %v", err)
	}
}
