// Package jsonscan finds where the values of a JSON document are, checking its
// syntax as strictly as encoding/json does (FuzzScan holds it to encoding/json),
// without decoding it into maps or interface values: the lake turns buffer
// records into Parquet columns with it, and the native protocol splits request
// bodies into events. Strings decode with AppendUnquoted exactly as encoding/json
// decodes them.
package jsonscan

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth bounds nesting as encoding/json does.
const maxDepth = 10000

// Limits bound a scan beyond JSON's syntax: containers nested more than
// MaxDepth levels deep (the outermost is level 1) and strings, keys included,
// of more than MaxString bytes as written between their quotes. A scan that
// meets one returns an error wrapping ErrLimit. A zero field bounds nothing
// beyond encoding/json's nesting of 10,000 levels. The native protocol scans a
// request body with the collector's limits, so that the body is not scanned a
// second time for them.
type Limits struct{ MaxDepth, MaxString int }

// ErrLimit is wrapped by the errors of a scan that meets one of its Limits.
var ErrLimit = errors.New("over a limit")

// bound is Limits as the scanner reads them: every field set.
type bound struct{ maxDepth, maxString int }

var unbounded = bound{maxDepth: maxDepth, maxString: math.MaxInt}

func (l Limits) bound() bound {
	b := unbounded
	if l.MaxDepth > 0 {
		b.maxDepth = min(l.MaxDepth, maxDepth)
	}
	if l.MaxString > 0 {
		b.maxString = l.MaxString
	}
	return b
}

// Value is the package's Value within l; depth is how many containers enclose
// the value (0 at the top).
func (l Limits) Value(b []byte, i, depth int) (int, error) { return valueAt(b, i, depth, l.bound()) }

// Members is the package's Members within l; level is the object's own
// nesting (1 for a document's outermost object).
func (l Limits) Members(b []byte, i int, f func(key []byte, plainKey bool, start, end int) error, level int) (int, error) {
	lb := l.bound()
	if level > lb.maxDepth {
		return i, deepError(i, lb)
	}
	return members(b, i, f, nil, level, lb)
}

// Walk is the package's Walk within l, for an object at nesting level
// (1 for a document's outermost): f must scan the values within l itself.
func (l Limits) Walk(b []byte, i int, f func(key []byte, plainKey bool, start int) (end int, err error), level int) (int, error) {
	lb := l.bound()
	if level > lb.maxDepth {
		return i, deepError(i, lb)
	}
	return members(b, i, nil, f, level, lb)
}

// WalkElements is the package's WalkElements within l, for an array at
// nesting level (1 for a document's outermost): f must scan the elements
// within l itself.
func (l Limits) WalkElements(b []byte, i int, f func(start int) (end int, err error), level int) (int, error) {
	lb := l.bound()
	if level > lb.maxDepth {
		return i, deepError(i, lb)
	}
	return elements(b, i, nil, f, level, lb)
}

func deepError(i int, lb bound) error {
	if lb.maxDepth < maxDepth {
		return fmt.Errorf("%w: nested more than %d levels deep at byte %d", ErrLimit, lb.maxDepth, i)
	}
	return fmt.Errorf("JSON nested too deeply at byte %d", i)
}

// longError is the error of the string b[i:end], longer than lb allows.
func longError(i, end int, lb bound) error {
	return fmt.Errorf("%w: a string of %d bytes at byte %d is longer than %d", ErrLimit, end-i-2, i, lb.maxString)
}

// ErrSyntax is wrapped by every syntax error, which names the byte offset.
var ErrSyntax = errors.New("invalid JSON")

// SyntaxError is a syntax error at byte Offset of the document scanned; it
// wraps ErrSyntax.
type SyntaxError struct{ Offset int }

func (e *SyntaxError) Error() string { return fmt.Sprintf("%v at byte %d", ErrSyntax, e.Offset) }

func (e *SyntaxError) Unwrap() error { return ErrSyntax }

// SyntaxAt is a syntax error at byte i.
func SyntaxAt(i int) error { return &SyntaxError{Offset: i} }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// Space returns the index of the first byte at or after i that is not JSON space.
func Space(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// Value returns the end of the JSON value that starts at b[i] (no leading
// space), checking its syntax.
func Value(b []byte, i int) (int, error) { return valueAt(b, i, 0, unbounded) }

// valueAt scans the value at b[i], enclosed by depth containers.
func valueAt(b []byte, i, depth int, lb bound) (int, error) {
	if i >= len(b) {
		return i, SyntaxAt(i)
	}
	switch c := b[i]; {
	case c == '"':
		end, _, err := String(b, i)
		if end-i-2 > lb.maxString && err == nil {
			return i, longError(i, end, lb)
		}
		return end, err
	case c == '{':
		if depth >= lb.maxDepth {
			return i, deepError(i, lb)
		}
		return members(b, i, skipMember, nil, depth+1, lb)
	case c == '[':
		if depth >= lb.maxDepth {
			return i, deepError(i, lb)
		}
		return elements(b, i, skipElement, nil, depth+1, lb)
	case c == 't':
		return literal(b, i, "true")
	case c == 'f':
		return literal(b, i, "false")
	case c == 'n':
		return literal(b, i, "null")
	case c == '-' || c >= '0' && c <= '9':
		return Number(b, i)
	}
	return i, SyntaxAt(i)
}

func literal(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, SyntaxAt(i)
	}
	return i + len(lit), nil
}

// Number checks a JSON number at b[i:] and returns its end.
func Number(b []byte, i int) (int, error) {
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i)
	default:
		return start, SyntaxAt(i)
	}
	if i < len(b) && b[i] == '.' {
		if d := digits(b, i+1); d > i+1 {
			i = d
		} else {
			return start, SyntaxAt(d)
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if d := digits(b, i); d > i {
			i = d
		} else {
			return start, SyntaxAt(d)
		}
	}
	return i, nil
}

// digits returns the end of the run of decimal digits at b[i:].
func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// String checks the JSON string that starts at b[i] (a quote) and returns
// its end and whether its content needs unquoting (escapes or bytes that are
// not valid UTF-8); otherwise b[i+1:end-1] is the string as it is.
func String(b []byte, i int) (end int, plain bool, err error) {
	plain = true
	j := i + 1
	for j < len(b) {
		// eight plain bytes at a time, up to the first that needs a look
		for j+8 <= len(b) {
			m := StopMask(binary.LittleEndian.Uint64(b[j:]))
			if m != 0 {
				j += bits.TrailingZeros64(m) >> 3
				break
			}
			j += 8
		}
		if j >= len(b) {
			break
		}
		c := b[j]
		switch {
		case c == '"':
			return j + 1, plain, nil
		case c == '\\':
			plain = false
			j++
			if j >= len(b) {
				return i, false, SyntaxAt(j)
			}
			switch b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j++
			case 'u':
				if len(b)-j < 5 || !isHex4(b[j+1:j+5]) {
					return i, false, SyntaxAt(j)
				}
				j += 5
			default:
				return i, false, SyntaxAt(j)
			}
		case c < 0x20:
			return i, false, SyntaxAt(j)
		case c < utf8.RuneSelf:
			j++
		default:
			r, size := utf8.DecodeRune(b[j:])
			if r == utf8.RuneError && size == 1 {
				plain = false
			}
			j += size
		}
	}
	return i, false, SyntaxAt(j)
}

const (
	swarLo = 0x0101010101010101
	swarHi = 0x8080808080808080
)

// StopMask flags (high bit per byte) the bytes of x, eight bytes of a string
// read little-endian, that a string scanner must stop at: control characters,
// quotes, backslashes and non-ASCII bytes. Bytes above the first flagged one may
// be flagged wrongly (borrows); the lowest flag is exact, so
// bits.TrailingZeros64(m)/8 is the offset of the first stop.
func StopMask(x uint64) uint64 {
	ctl := (x - swarLo*0x20) & ^x
	q := x ^ (swarLo * '"')
	q = (q - swarLo) & ^q
	b := x ^ (swarLo * '\\')
	b = (b - swarLo) & ^b
	return (ctl | q | b | x) & swarHi
}

func isHex4(h []byte) bool {
	for _, c := range h {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func hex4(h []byte) rune {
	var r rune
	for _, c := range h {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		default:
			c = c - 'A' + 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// Unquote returns the content of s, a checked JSON string with its quotes,
// decoded as AppendUnquoted does.
func Unquote(s []byte) string {
	if _, plain, _ := String(s, 0); plain {
		return string(s[1 : len(s)-1])
	}
	return string(AppendUnquoted(nil, s[1:len(s)-1]))
}

// AppendUnquoted appends the content of a checked JSON string (quotes
// excluded) to dst, decoded exactly as encoding/json decodes it: bytes that are
// not UTF-8 and unpaired surrogates become U+FFFD.
func AppendUnquoted(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			switch s[i+1] {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				r := hex4(s[i+2 : i+6])
				i += 6
				if utf16.IsSurrogate(r) {
					if len(s)-i >= 6 && s[i] == '\\' && s[i+1] == 'u' {
						if d := utf16.DecodeRune(r, hex4(s[i+2:i+6])); d != utf8.RuneError {
							dst = utf8.AppendRune(dst, d)
							i += 6
							continue
						}
					}
					r = utf8.RuneError
				}
				dst = utf8.AppendRune(dst, r)
				continue
			default: // '"', '\\', '/'
				dst = append(dst, s[i+1])
			}
			i += 2
		case c < utf8.RuneSelf:
			j := i + 1
			for j < len(s) && s[j] < utf8.RuneSelf && s[j] != '\\' {
				j++
			}
			dst = append(dst, s[i:j]...)
			i = j
		default:
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = utf8.AppendRune(dst, r)
			} else {
				dst = append(dst, s[i:i+size]...)
			}
			i += size
		}
	}
	return dst
}

// Members calls f with every member of the object that starts at b[i] (a
// brace): its key (as written, without quotes; plainKey reports that it needs
// no unquoting) and the span of its value. It returns the end of the object.
// depth is the object's nesting in its document (0 at the top), for the bound
// on nesting that encoding/json has too.
func Members(b []byte, i int, f func(key []byte, plainKey bool, start, end int) error, depth int) (int, error) {
	return members(b, i, f, nil, depth, unbounded)
}

func skipMember([]byte, bool, int, int) error { return nil }

func skipElement(int, int) error { return nil }

// Walk is Members for a caller that reads some values itself: f gets each
// member's key and the start of its value, and returns the value's end, having
// scanned the value on its own or skipped it with Value. A value is then
// scanned once, not once by Walk to find its end and again by f. Checking the
// value, and bounding its nesting, is f's part.
func Walk(b []byte, i int, f func(key []byte, plainKey bool, start int) (end int, err error)) (int, error) {
	return members(b, i, nil, f, 0, unbounded)
}

// members runs Members (with f) or Walk (with walk) on an object at level
// depth, within lb.
func members(b []byte, i int, f func(key []byte, plainKey bool, start, end int) error, walk func(key []byte, plainKey bool, start int) (int, error), depth int, lb bound) (int, error) {
	i = Space(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return i, SyntaxAt(i)
		}
		kend, plain, err := String(b, i)
		if err != nil {
			return i, err
		}
		if kend-i-2 > lb.maxString {
			return i, longError(i, kend, lb)
		}
		key := b[i+1 : kend-1]
		i = Space(b, kend)
		if i >= len(b) || b[i] != ':' {
			return i, SyntaxAt(i)
		}
		start := Space(b, i+1)
		if start >= len(b) {
			return start, SyntaxAt(start)
		}
		var end int
		if walk != nil {
			if end, err = walk(key, plain, start); err != nil {
				return end, err
			}
		} else {
			if end, err = valueAt(b, start, depth, lb); err != nil {
				return end, err
			}
			if err := f(key, plain, start, end); err != nil {
				return end, err
			}
		}
		var done bool
		if i, done, err = separator(b, end, '}'); done || err != nil {
			return i, err
		}
	}
}

// separator reads what follows a member or an element at b[i]: a comma (it
// returns where the next one starts) or closer (it returns the end and done).
func separator(b []byte, i int, closer byte) (next int, done bool, err error) {
	i = Space(b, i)
	switch {
	case i >= len(b):
		return i, false, SyntaxAt(i)
	case b[i] == ',':
		return Space(b, i+1), false, nil
	case b[i] == closer:
		return i + 1, true, nil
	}
	return i, false, SyntaxAt(i)
}

// Elements calls f with the span of every element of the array that starts at
// b[i] (a bracket) and returns the end of the array; depth is as for Members.
func Elements(b []byte, i int, f func(start, end int) error, depth int) (int, error) {
	return elements(b, i, f, nil, depth, unbounded)
}

// WalkElements is Elements for a caller that reads the elements itself, as
// Walk is for Members: f gets the start of each element and returns its end.
func WalkElements(b []byte, i int, f func(start int) (end int, err error)) (int, error) {
	return elements(b, i, nil, f, 0, unbounded)
}

// elements runs Elements (with f) or WalkElements (with walk) on an array at
// level depth, within lb.
func elements(b []byte, i int, f func(start, end int) error, walk func(start int) (int, error), depth int, lb bound) (int, error) {
	i = Space(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for {
		if i >= len(b) {
			return i, SyntaxAt(i)
		}
		var end int
		var err error
		if walk != nil {
			if end, err = walk(i); err != nil {
				return end, err
			}
		} else {
			if end, err = valueAt(b, i, depth, lb); err != nil {
				return end, err
			}
			if err := f(i, end); err != nil {
				return end, err
			}
		}
		var done bool
		if i, done, err = separator(b, end, ']'); done || err != nil {
			return i, err
		}
	}
}

// Document checks that b is one JSON value with nothing but space around it and
// returns the span of the value.
func Document(b []byte) (start, end int, err error) {
	start = Space(b, 0)
	end, err = Value(b, start)
	if err != nil {
		return 0, 0, err
	}
	if Space(b, end) != len(b) {
		return 0, 0, SyntaxAt(end)
	}
	return start, end, nil
}

// ObjectMembers is Members for a caller that compares keys as decoded: f gets
// each member's key unquoted (valid during the call only) and its value, of
// the object at the start of b. It returns the object's end; b not starting
// with a brace is a syntax error at byte 0.
func ObjectMembers(b []byte, f func(key, value []byte)) (int, error) {
	if len(b) == 0 || b[0] != '{' {
		return 0, SyntaxAt(0)
	}
	var scratch []byte
	return members(b, 0, func(k []byte, plain bool, start, end int) error {
		if !plain {
			scratch = AppendUnquoted(scratch[:0], k)
			k = scratch
		}
		f(k, b[start:end])
		return nil
	}, nil, 1, unbounded)
}
