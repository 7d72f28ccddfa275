package collect_test

import (
	"encoding/base64"
	"net/http/httptest"
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
