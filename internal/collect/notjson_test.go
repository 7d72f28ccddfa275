package collect_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/accord-dev/accord/internal/collect"
)

// TestNotJSON: what producers send instead of JSON is named, and where JSON
// breaks is located, without quoting the text.
func TestNotJSON(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "it is empty"},
		{" \n", "it is empty"},
		{"\xff\xfe{\x00\"\x00", "UTF-16"},
		{"{\x00\"\x00a\x00", "UTF-16 or holds NUL bytes"},
		{"<html><body>secret</body></html>", "HTML or XML"},
		{"email=jane%40example.com&shop=1", "looks like a form"},
		{`{"schema":"iglu:a/b/jsonschema/1-0-0","data":{"email":"secret@example.com"`, "ends before its JSON does"},
		{"{\"a\":1,\n \"b\": tru}", "breaks at byte 14 (line 2, column 7)"},
		{`{"a":1} {"b":2}`, "breaks at byte 8 (line 1, column 9)"},
		{`'single quotes'`, "breaks at byte 0 (line 1, column 1)"},
	} {
		got := collect.NotJSON([]byte(c.in))
		if !strings.Contains(got, c.want) {
			t.Errorf("%q: %q, want %q in it", c.in, got, c.want)
		}
		if strings.Contains(got, "secret") || strings.Contains(got, "jane") {
			t.Errorf("%q: %q quotes the text", c.in, got)
		}
	}
}

// FuzzNotJSON: any bytes get an answer in UTF-8, without a panic.
func FuzzNotJSON(f *testing.F) {
	for _, s := range []string{"", "{", "\xff\xfe", "<a>", "a=b", `{"a":1} x`, "[1,2", "\xef\xbb\xbf{}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got := collect.NotJSON(b); got == "" || !utf8.ValidString(got) {
			t.Fatalf("%q: %q", b, got)
		}
	})
}
