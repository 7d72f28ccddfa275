package collect

import (
	"strings"
	"testing"
)

// FuzzAllowHeaders: whatever a preflight asks for, the answer allows the
// default headers, stays one header line (no CR, LF or NUL: the value is
// repeated into the answer) and adds the request's list only when every name in
// it is an HTTP token.
func FuzzAllowHeaders(f *testing.F) {
	for _, s := range []string{"", "anonymousid,authorization,content-type,sentat", "content-type, sp-anonymous", "x-a,,x-b", "bad header",
		"x\r\nset-cookie: a=b", "x-\x00", strings.Repeat("x,", 2000), "é", " , "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, requested string) {
		got := allowHeaders(requested)
		if !strings.HasPrefix(got, corsHeaders) {
			t.Fatalf("allowHeaders(%q) = %q, without the defaults", requested, got)
		}
		if strings.ContainsAny(got, "\r\n\x00") || len(got) > len(corsHeaders)+2+maxRequestHeaders {
			t.Fatalf("allowHeaders(%q) = %q: not one bounded header line", requested, got)
		}
		if got == corsHeaders {
			return
		}
		for _, name := range strings.Split(strings.TrimPrefix(got, corsHeaders+", "), ",") {
			if name = strings.TrimSpace(name); name == "" || !isToken(name) {
				t.Fatalf("allowHeaders(%q) = %q allows %q, not a header name", requested, got, name)
			}
		}
	})
}
