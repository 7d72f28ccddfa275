package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestUnmatchedAnswersJSON: a request no route of accord serve takes gets a
// JSON error like every other answer, 405 with Allow when the path has routes
// for other methods (net/http's own answers are plain text), while the routes
// themselves are untouched.
func TestUnmatchedAnswersJSON(t *testing.T) {
	base, stop := startApp(t, t.TempDir(), nil)
	defer stop()
	for _, tc := range []struct {
		method, path string
		code         int
		reason       string
		allow        string
	}{
		{http.MethodGet, "/nope", http.StatusNotFound, "not_found", ""},
		{http.MethodGet, "/api/meta/health", http.StatusNotFound, "not_found", ""},
		{http.MethodPost, "/api/schemas/com.acme/signup/jsonschema/1-0-0", http.StatusMethodNotAllowed, "method_not_allowed", "GET, HEAD"},
		{http.MethodGet, "/v1/privacy/detokenize", http.StatusMethodNotAllowed, "method_not_allowed", "POST"},
		{http.MethodGet, "/v1/events", http.StatusMethodNotAllowed, "method_not_allowed", "POST, OPTIONS"},
		{http.MethodDelete, "/metrics", http.StatusMethodNotAllowed, "method_not_allowed", "GET, HEAD"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, base+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var e struct{ Error, Reason, Message string }
			if resp.StatusCode != tc.code || resp.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &e) != nil ||
				e.Reason != tc.reason || e.Error == "" || e.Message != e.Error {
				t.Fatalf("%d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			if got := resp.Header.Get("Allow"); got != tc.allow {
				t.Errorf("Allow %q, want %q", got, tc.allow)
			}
			if tc.allow != "" && !strings.Contains(e.Error, strings.ReplaceAll(tc.allow, ", ", " or ")) {
				t.Errorf("the answer does not say what to use: %s", body)
			}
		})
	}
	// The routes still answer as before.
	// (/health and /robots.txt are the Snowplow collector's, which load
	// balancers and crawlers are set up for.)
	for _, path := range []string{"/healthz", "/health", "/robots.txt", "/api/schemas/com.acme/signup/jsonschema/1-0-0", "/v1/contracts"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d", path, resp.StatusCode)
		}
	}
}
