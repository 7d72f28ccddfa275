package collect_test

import (
	"encoding/base64"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/accord-dev/accord/internal/collect"
)

// TestKeyFromRequest reads a write key from every form producers send it in,
// Segment's Basic credential without a colon (older clients) included.
func TestKeyFromRequest(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString
	for _, tc := range []struct {
		name, header, value, want string
	}{
		{"Basic, key as the user", "Authorization", "Basic " + b64([]byte("wk_abc:")), "wk_abc"},
		{"Basic, with a password", "Authorization", "Basic " + b64([]byte("wk_abc:secret")), "wk_abc"},
		{"Basic without a colon", "Authorization", "Basic " + b64([]byte("wk_abc")), "wk_abc"},
		{"basic in lower case, without a colon", "Authorization", "basic " + b64([]byte("wk_abc")), "wk_abc"},
		{"Basic that is not base64", "Authorization", "Basic wk_abc!", ""},
		{"Basic of bytes that are not text", "Authorization", "Basic " + b64([]byte{0xff, 0xfe}), ""},
		{"Bearer", "Authorization", "Bearer wk_abc", "wk_abc"},
		{"header", "X-Accord-Write-Key", "wk_abc", "wk_abc"},
		{"none", "", "", ""},
	} {
		r := httptest.NewRequest("POST", "/v1/track", nil)
		if tc.header != "" {
			r.Header.Set(tc.header, tc.value)
		}
		if got := collect.KeyFromRequest(r); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// FuzzKeyFromRequest: any Authorization header is read without a panic, and a
// key read from a Basic credential without a colon is that credential whole.
func FuzzKeyFromRequest(f *testing.F) {
	for _, s := range []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("wk_abc")), "Basic d2s6", "basic ====", "Bearer x", "Basic \xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		r := httptest.NewRequest("POST", "/v1/track", nil)
		r.Header["Authorization"] = []string{h}
		key := collect.KeyFromRequest(r)
		if _, _, basic := r.BasicAuth(); !basic && len(h) > 6 && strings.EqualFold(h[:6], "Basic ") && key != "" {
			raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(h[6:]))
			if err != nil || string(raw) != key || strings.Contains(key, ":") {
				t.Fatalf("%q read as key %q", h, key)
			}
		}
	})
}
