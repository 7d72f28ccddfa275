package collect_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/accord-dev/accord/internal/collect"
)

// TestCORS: a preflight from an allowed origin allows the headers it asks for
// (trackers add their own), as long as they are header names; any other origin
// is refused, and a request from it gets no CORS headers.
func TestCORS(t *testing.T) {
	const origin = "https://shop.example"
	reached := 0
	h := collect.Access{CORSOrigins: []string{origin}}.CORS(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached++
		w.WriteHeader(http.StatusOK)
	}))
	preflight := func(origin, requested string) *http.Response {
		req := httptest.NewRequest(http.MethodOptions, "/v1/track", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		if requested != "" {
			req.Header.Set("Access-Control-Request-Headers", requested)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Result()
	}
	base := []string{"content-type", "content-encoding", "authorization", "x-accord-write-key", "x-accord-app"}
	for _, tc := range []struct {
		name, requested string
		allowed         []string // besides base
		refused         []string
	}{
		{"nothing asked", "", nil, nil},
		{"RudderStack's headers", "anonymousid,authorization,content-type,sentat", []string{"anonymousid", "sentat"}, nil},
		{"Snowplow's anonymous mode", "content-type, sp-anonymous", []string{"sp-anonymous"}, nil},
		{"analytics.js retrying", "x-retry-count", []string{"x-retry-count"}, nil},
		{"not header names", "x-ok, bad header", nil, []string{"x-ok", "bad header"}},
		{"a list too long", "x-long-list," + strings.Repeat("x", 4096), nil, []string{"x-long-list"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := preflight(origin, tc.requested)
			if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != origin {
				t.Fatalf("preflight: %d, origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
			}
			got := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers"))
			for _, name := range append(append([]string(nil), base...), tc.allowed...) {
				if !strings.Contains(got, name) {
					t.Errorf("allows %q, not %s", got, name)
				}
			}
			for _, name := range tc.refused {
				if strings.Contains(got, name) {
					t.Errorf("allows %q, with %s", got, name)
				}
			}
		})
	}
	if resp := preflight("https://evil.example", "anonymousid"); resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Headers") != "" {
		t.Errorf("preflight from another origin: %d, allows %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Headers"))
	}
	if reached != 0 {
		t.Errorf("preflights reached the handler %d times", reached)
	}
}
