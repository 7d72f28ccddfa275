package jsonscan

import (
	"bytes"
	"encoding/json"
	"testing"
)

var compactCases = []string{
	`{}`,
	` { "a" : 1 , "b" : [ 1 , 2 , { } ] , "c" : "x y" } `,
	"{\n\t\"s\": \"a \\\" b\\\\\",\r\n \"t\": \"\\\\\\\"\"}",
	`[ true , false , null , -1.5e+3 , "" ]`,
	`"  spaced string  "`,
	`{"unicode": "é ✓ \u2028", "k": [ [ ] ]}`,
	`  12  `,
}

// TestAppendCompact holds AppendCompact to json.Compact.
func TestAppendCompact(t *testing.T) {
	for _, c := range compactCases {
		checkCompact(t, []byte(c))
	}
	if got := AppendCompact([]byte("x"), []byte(` [ 1 ] `)); string(got) != "x[1]" {
		t.Errorf("AppendCompact appended %q to x, want x[1]", got)
	}
}

func checkCompact(t *testing.T, b []byte) {
	t.Helper()
	got := AppendCompact(nil, b)
	var want bytes.Buffer
	if err := json.Compact(&want, b); err != nil {
		return // not JSON: only that it does not panic
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("AppendCompact(%q) = %q, json.Compact gives %q", b, got, want.Bytes())
	}
}

// FuzzCompact holds AppendCompact to json.Compact on any JSON, and runs it on
// text that is not JSON.
func FuzzCompact(f *testing.F) {
	for _, c := range compactCases {
		f.Add([]byte(c))
	}
	f.Fuzz(checkCompact)
}
