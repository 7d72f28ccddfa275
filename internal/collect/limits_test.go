package collect

import (
	"fmt"
	"strings"
	"testing"
)

// scanLimitsByByte is the plain byte-at-a-time scan scanLimits replaced; it is the
// oracle of FuzzScanLimits.
func scanLimitsByByte(l Limits, b []byte) (depthErr bool, long int) {
	depth, inString, escaped, strStart := 0, false, false, 0
	for i, c := range b {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
				if i-strStart > l.MaxStringBytes {
					return false, i - strStart
				}
			}
			continue
		}
		switch c {
		case '"':
			inString, strStart = true, i+1
		case '{', '[':
			depth++
			if depth > l.MaxDepth {
				return true, 0
			}
		case '}', ']':
			depth--
		}
	}
	if inString && len(b)-strStart > l.MaxStringBytes {
		return false, len(b) - strStart
	}
	return false, -1
}

var limitCases = []string{
	`{"a": "bcd", "e": [1, {"f": "g"}]}`,
	`{"a": "b\"c\\", "d": "\\\\\""}`,
	`{"a": "unterminated \" string`,
	`[[[[[[`,
	`{"a": "12345"}`,
	`"\\\\\\"`,
	`{"k\"[[[[": "x"}`,
	strings.Repeat("[", 40),
	`{"a": "` + strings.Repeat(`\\`, 9) + `"}`,
}

func TestScanLimits(t *testing.T) {
	l := Limits{MaxDepth: 4, MaxStringBytes: 4}
	want := []string{
		"",
		"a string of 6 bytes is longer than the limit of 4 bytes (limits.max_string_bytes; escapes count as sent)",
		"a string of 22 bytes is longer than the limit of 4 bytes (limits.max_string_bytes; escapes count as sent)",
		"the data is nested more than 4 levels deep (limits.max_depth; its outermost object or array is level 1)",
		"a string of 5 bytes is longer than the limit of 4 bytes (limits.max_string_bytes; escapes count as sent)",
		"a string of 6 bytes is longer than the limit of 4 bytes (limits.max_string_bytes; escapes count as sent)",
		"a string of 7 bytes is longer than the limit of 4 bytes (limits.max_string_bytes; escapes count as sent)",
		"the data is nested more than 4 levels deep (limits.max_depth; its outermost object or array is level 1)",
		"a string of 18 bytes is longer than the limit of 4 bytes (limits.max_string_bytes; escapes count as sent)",
	}
	for i, in := range limitCases {
		err := l.scanLimits([]byte(in))
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != want[i] {
			t.Errorf("scanLimits(%s) = %q, want %q", in, got, want[i])
		}
	}
}

// TestCheckBodyDepth: a body refused for its nesting is answered in the
// setting's terms, the limit as configured and the body's allowance for its
// own levels apart, whichever the protocol's wrapping.
func TestCheckBodyDepth(t *testing.T) {
	l := DefaultLimits
	for _, wrapping := range []int{3, 4} {
		body := strings.Repeat("[", 32+wrapping+1) + strings.Repeat("]", 32+wrapping+1)
		_, err := l.CheckBody([]byte(body), wrapping)
		want := fmt.Sprintf("the body is nested more than %d levels deep: an event's data may be nested 32 levels (limits.max_depth, its outermost object or array being level 1) and the body's own levels around it (a batch, the event and its contexts) at most %d more", 32+wrapping, wrapping)
		if err == nil || err.Error() != want {
			t.Errorf("wrapping %d: got %v, want %q", wrapping, err, want)
		}
		if covers, err := l.CheckBody([]byte(body[1:len(body)-1]), wrapping); err != nil || covers {
			t.Errorf("wrapping %d, at the allowance: covers %v, %v; want false, nil", wrapping, covers, err)
		}
	}
}

// FuzzScanLimits checks the quote-to-quote scan against the byte-at-a-time one.
func FuzzScanLimits(f *testing.F) {
	for _, c := range limitCases {
		f.Add([]byte(c), uint8(4), uint8(4))
	}
	f.Fuzz(func(t *testing.T, b []byte, depth, str uint8) {
		l := Limits{MaxDepth: int(depth), MaxStringBytes: int(str)}
		err := l.scanLimits(b)
		deep, long := scanLimitsByByte(l, b)
		switch {
		case deep:
			if err == nil || !strings.Contains(err.Error(), "nested") {
				t.Fatalf("want the depth error, got %v", err)
			}
		case long >= 0:
			if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("a string of %d bytes", long)) {
				t.Fatalf("want a string of %d bytes, got %v", long, err)
			}
		default:
			if err != nil {
				t.Fatalf("want no error, got %v", err)
			}
		}
	})
}
