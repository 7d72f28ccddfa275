package jsonscan

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFindInvalidUTF8(t *testing.T) {
	for _, c := range []struct {
		name, doc string
		want      UTF8Error // Offset and Byte are checked against the document
		located   bool
	}{
		{name: "value", doc: "{\"a\":1,\"ua\":\"Mozilla \xff\"}", want: UTF8Error{Pointer: "/ua"}, located: true},
		{name: "nested, escaped name", doc: "{\"a\":{\"b~/c\":[\"ok\", \"x\xfe\xff\"]}}", want: UTF8Error{Pointer: "/a/b~0~1c/1"}, located: true},
		{name: "member name", doc: "{\"ok\":1, \"k\xffey\" : 2}", want: UTF8Error{Pointer: "/k\uFFFDey", InName: true}, located: true},
		{name: "name with escapes", doc: "{\"\\u00e9\xc3\":true}", want: UTF8Error{Pointer: "/é\uFFFD", InName: true}, located: true},
		{name: "top-level string", doc: " \"\xc0\xaf\"", want: UTF8Error{Pointer: ""}, located: true},
		{name: "truncated sequence in an array", doc: "[1,{\"x\":\"\xe2\x82\"}]", want: UTF8Error{Pointer: "/1/x"}, located: true},
		{name: "surrogate encoded in UTF-8", doc: "{\"s\":\"\xed\xa0\x80\"}", want: UTF8Error{Pointer: "/s"}, located: true},
		{name: "outside any string", doc: "{\"a\":1 \xff}", located: false},
		{name: "unterminated string", doc: "{\"a\":\"\xff", located: false},
		{name: "after a syntax error", doc: "{\"a\":tru, \"b\":\"\xff\"}", located: false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, found := FindInvalidUTF8([]byte(c.doc))
			if !found {
				t.Fatal("not found")
			}
			first := 0
			for {
				r, size := utf8.DecodeRuneInString(c.doc[first:])
				if r == utf8.RuneError && size == 1 {
					break
				}
				first += size
			}
			if got.Offset != first || got.Byte != c.doc[first] {
				t.Errorf("offset %d byte %#x, want %d %#x", got.Offset, got.Byte, first, c.doc[first])
			}
			if got.Located != c.located || got.Pointer != c.want.Pointer || got.InName != c.want.InName {
				t.Errorf("got %+v, want pointer %q in name %v located %v", got, c.want.Pointer, c.want.InName, c.located)
			}
			msg := got.Message()
			if !strings.Contains(msg, "UTF-8") || !strings.Contains(msg, fmt.Sprintf("byte 0x%02X", c.doc[first])) {
				t.Errorf("message %q", msg)
			}
			if !utf8.ValidString(msg) || !utf8.ValidString(got.Pointer) {
				t.Errorf("the message or the pointer is not UTF-8 itself: %q %q", msg, got.Pointer)
			}
		})
	}
	for _, doc := range []string{`{"a":"é ✓ 𝄞"}`, `{"a":"\ud800"}`, ``, `not json`} {
		if e, found := FindInvalidUTF8([]byte(doc)); found {
			t.Errorf("%q: found %+v in valid UTF-8", doc, e)
		}
	}
}

// FuzzFindInvalidUTF8 holds FindInvalidUTF8 to utf8.Valid, and a located
// pointer to the document: followed from the top (a member name matched as
// encoding/json decodes it, its first occurrence), it leads to the string
// that holds the byte, or to the member whose name holds it.
func FuzzFindInvalidUTF8(f *testing.F) {
	for _, s := range []string{"{\"a\":\"\xff\"}", "[{\"b\":[\"x\",\"\xe2\x82\"]}]", "{\"~/\xff\":1}", "\"\xc0\"", "{\"a\":{}, \"b\":[1,\"\x80\"]}", `{"a":"ok"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, found := FindInvalidUTF8(b)
		if found == utf8.Valid(b) {
			t.Fatalf("found %v for a document whose utf8.Valid is %v", found, utf8.Valid(b))
		}
		if !found {
			return
		}
		if e.Offset >= len(b) || b[e.Offset] != e.Byte || !utf8.Valid(b[:e.Offset]) {
			t.Fatalf("offset %d is not the first byte that breaks UTF-8", e.Offset)
		}
		if r, size := utf8.DecodeRune(b[e.Offset:]); r != utf8.RuneError || size != 1 {
			t.Fatalf("offset %d starts a valid rune", e.Offset)
		}
		if !utf8.ValidString(e.Pointer) || !utf8.ValidString(e.Message()) {
			t.Fatalf("pointer %q or message not UTF-8", e.Pointer)
		}
		if !e.Located {
			if e.Pointer != "" {
				t.Fatalf("pointer %q without Located", e.Pointer)
			}
			return
		}
		s, end, inName, ok := follow(b, Space(b, 0), e.Pointer)
		if !ok {
			t.Fatalf("pointer %q leads nowhere in %q", e.Pointer, b)
		}
		if inName != e.InName {
			t.Fatalf("pointer %q: in name %v, reported %v", e.Pointer, inName, e.InName)
		}
		if !inName && (b[s] != '"' || e.Offset <= s || e.Offset >= end) {
			t.Fatalf("pointer %q leads to %q at %d-%d, not the string holding byte %d", e.Pointer, b[s:end], s, end, e.Offset)
		}
	})
}

// follow resolves pointer in the document b from the value at i: the span of
// the value it leads to, and whether the last token's member name (rather than
// its value) holds an invalid byte.
func follow(b []byte, i int, pointer string) (start, end int, inName, ok bool) {
	if pointer == "" {
		end, err := Value(b, i)
		return i, end, false, err == nil
	}
	tok, rest, more := strings.Cut(pointer[1:], "/")
	if more {
		rest = "/" + rest
	}
	tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
	switch b[i] {
	case '{':
		s, e, found := -1, -1, false
		var keyValid bool
		_, _ = Members(b, i, func(k []byte, plain bool, vs, ve int) error {
			if found || string(AppendUnquoted(nil, k)) != tok {
				return nil
			}
			s, e, found, keyValid = vs, ve, true, utf8.Valid(k)
			return errFound
		}, 0)
		if !found {
			return 0, 0, false, false
		}
		if rest == "" && !keyValid {
			return s, e, true, true
		}
		return follow(b, s, rest)
	case '[':
		n, err := strconv.Atoi(tok)
		if err != nil {
			return 0, 0, false, false
		}
		s, k := -1, 0
		_, _ = Elements(b, i, func(vs, _ int) error {
			if k == n {
				s = vs
				return errFound
			}
			k++
			return nil
		}, 0)
		if s < 0 {
			return 0, 0, false, false
		}
		return follow(b, s, rest)
	}
	return 0, 0, false, false
}
