package collect

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/accord-dev/accord/internal/jsonscan"
)

// NotJSON says why b, a body or an event that is not one JSON value, is not,
// in words that tell its producer what to send instead: where the JSON breaks,
// or what b looks like when it is not JSON at all (UTF-16, a form, HTML or
// XML). It never quotes b, which may hold personal data.
func NotJSON(b []byte) string {
	head := b[:min(len(b), 64)]
	switch {
	case len(bytes.TrimSpace(b)) == 0:
		return "it is empty"
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}) || bytes.HasPrefix(b, []byte{0xFE, 0xFF}) || bytes.IndexByte(head, 0) >= 0:
		return "it is UTF-16 or holds NUL bytes; send JSON text in UTF-8"
	case b[0] == '<':
		return "it looks like HTML or XML; send JSON"
	case looksLikeForm(head):
		return "it looks like a form (name=value&...); send JSON with Content-Type application/json"
	}
	_, _, err := jsonscan.Document(b)
	if se := (*jsonscan.SyntaxError)(nil); errors.As(err, &se) {
		at := jsonscan.Space(b, se.Offset) // the first byte that is not JSON, not the space before it
		if at >= len(bytes.TrimRight(b, " \t\r\n")) {
			return "it ends before its JSON does (cut short?)"
		}
		return fmt.Sprintf("the JSON breaks at byte %d (line %d, column %d)", at, bytes.Count(b[:at], []byte("\n"))+1, at-bytes.LastIndexByte(b[:at], '\n'))
	}
	if err != nil {
		return err.Error() // a limit of nesting; b is JSON otherwise
	}
	return "it is valid JSON" // not reached by callers, which pass what failed
}

// looksLikeForm reports whether head starts as URL-encoded form data does: a
// name of letters, digits and _.-[] followed by '='.
func looksLikeForm(head []byte) bool {
	i := 0
	for i < len(head) && (head[i] >= 'a' && head[i] <= 'z' || head[i] >= 'A' && head[i] <= 'Z' || head[i] >= '0' && head[i] <= '9' || strings.IndexByte("_.-[]%", head[i]) >= 0) {
		i++
	}
	return i > 0 && i < len(head) && head[i] == '='
}
