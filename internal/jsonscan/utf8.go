package jsonscan

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// UTF8Error locates the first byte of a document that is not UTF-8. JSON text
// exchanged between systems must be UTF-8 (RFC 8259, section 8.1); decoders
// such as encoding/json read such bytes as U+FFFD, which silently changes the
// value, so the collector rejects them instead.
type UTF8Error struct {
	// Offset is the byte's offset in the document.
	Offset int
	// Byte is its value.
	Byte byte
	// Pointer is the JSON pointer of the value whose string holds the byte, or
	// of the member whose name holds it (InName); "" is the whole document.
	Pointer string
	// InName says that the byte is in a member's name, not in its value.
	InName bool
	// Located says that Pointer was found: the document is JSON up to the
	// string that holds the byte. Otherwise Pointer is "".
	Located bool
}

// Message says what is wrong in words meant for the producer, without the
// pointer (failures carry it on their own) and without any of the value.
func (e UTF8Error) Message() string {
	what := "is not valid UTF-8"
	if e.InName {
		what = "has a member name that is not valid UTF-8"
	}
	return fmt.Sprintf("%s (byte 0x%02X): %s", what, e.Byte, utf8Advice)
}

// utf8Advice ends every message about text that is not UTF-8.
const utf8Advice = "JSON text must be UTF-8; fix how the producer encodes its text"

// MemberNotUTF8 is the message for a decoder's named member (a protocol's own
// field, not the event's data) whose text is not UTF-8, in the words of
// UTF8Error.Message.
func MemberNotUTF8(name string) string {
	return fmt.Sprintf("%q is not valid UTF-8: %s", name, utf8Advice)
}

// FindInvalidUTF8 returns where b, a JSON document, first breaks UTF-8, and
// false when it is valid UTF-8 (the common case costs one utf8.Valid).
func FindInvalidUTF8(b []byte) (UTF8Error, bool) {
	if utf8.Valid(b) {
		return UTF8Error{}, false
	}
	at := 0
	for at < len(b) {
		r, size := utf8.DecodeRune(b[at:])
		if r == utf8.RuneError && size == 1 {
			break
		}
		at += size
	}
	e := UTF8Error{Offset: at, Byte: b[at]}
	start := Space(b, 0)
	var ptr strings.Builder
	if found, inName := locate(b, start, at, 0, &ptr); found {
		e.Pointer, e.InName, e.Located = ptr.String(), inName, true
	}
	return e, true
}

// errFound stops a scan once the byte has been located.
var errFound = errors.New("found")

// locate finds the value at b[i] that holds byte at, appending the reference
// tokens that lead to it to ptr. found is false when b is not JSON up to there.
func locate(b []byte, i, at, depth int, ptr *strings.Builder) (found, inName bool) {
	if i >= len(b) || at < i || depth > maxDepth {
		return false, false
	}
	switch b[i] {
	case '"':
		end, _, err := String(b, i)
		return err == nil && at < end, false
	case '{':
		prev := i // the end of the previous member (its value), or the brace
		_, err := members(b, i, func(key []byte, plain bool, start, end int) error {
			switch {
			case at < start && at > prev: // between the last value and this one: in the name
				appendToken(ptr, key, plain)
				found, inName = true, true
				return errFound
			case at >= start && at < end:
				appendToken(ptr, key, plain)
				found, inName = locate(b, start, at, depth+1, ptr)
				return errFound
			}
			prev = end
			return nil
		}, nil, depth+1, unbounded)
		if !errors.Is(err, errFound) {
			return false, false
		}
		return found, inName
	case '[':
		n := 0
		_, err := elements(b, i, func(start, end int) error {
			if at >= start && at < end {
				ptr.WriteByte('/')
				ptr.WriteString(strconv.Itoa(n))
				found, inName = locate(b, start, at, depth+1, ptr)
				return errFound
			}
			n++
			return nil
		}, nil, depth+1, unbounded)
		if !errors.Is(err, errFound) {
			return false, false
		}
		return found, inName
	}
	return false, false
}

// appendToken appends "/" and a member name as a JSON pointer reference token
// (RFC 6901: "~" as "~0", "/" as "~1"), unquoted as encoding/json decodes it.
func appendToken(ptr *strings.Builder, key []byte, plain bool) {
	if !plain {
		key = AppendUnquoted(nil, key)
	}
	ptr.WriteByte('/')
	for _, c := range key {
		switch c {
		case '~':
			ptr.WriteString("~0")
		case '/':
			ptr.WriteString("~1")
		default:
			ptr.WriteByte(c)
		}
	}
}
