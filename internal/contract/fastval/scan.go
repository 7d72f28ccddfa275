package fastval

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/accord-dev/accord/internal/jsonscan"
)

// maxDepth is encoding/json's nesting limit: deeper documents do not decode, so
// the reference validator rejects them.
const maxDepth = 10000

// String flags from scanString.
const (
	strEsc    uint8 = 1 << iota // contains a backslash escape
	strNonASC                   // contains a byte >= 0x80
)

// strStop marks the bytes that end the fast loop inside a string.
var strStop = func() (t [256]bool) {
	for i := 0; i < 0x20; i++ {
		t[i] = true
	}
	t['"'] = true
	t['\\'] = true
	for i := 0x80; i < 256; i++ {
		t[i] = true
	}
	return t
}()

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (v *vm) ws(p int) int {
	d := v.data
	if p < len(d) && d[p] > ' ' {
		return p
	}
	q := p
	for p < len(d) && isWS(d[p]) {
		p++
	}
	if p != q {
		v.spaced = true
	}
	return p
}

func (v *vm) syntax(p int, msg string) {
	if !v.bad {
		v.bad = true
		v.badPos = p
		v.badMsg = msg
	}
}

// scanString checks the JSON string starting at the quote at p and returns the
// position after its closing quote.
func (v *vm) scanString(p int) (int, uint8) {
	d := v.data
	var fl uint8
	p++
	for {
		// eight bytes at a time: jump straight to the first byte that needs
		// attention (the lowest flagged byte of the SWAR mask is exact)
		for p+8 <= len(d) {
			m := jsonscan.StopMask(binary.LittleEndian.Uint64(d[p:]))
			if m != 0 {
				p += bits.TrailingZeros64(m) >> 3
				goto special
			}
			p += 8
		}
		for p < len(d) && !strStop[d[p]] {
			p++
		}
	special:
		if p >= len(d) {
			v.syntax(p, "unexpected end of JSON input")
			return p, fl
		}
		c := d[p]
		switch {
		case c == '"':
			return p + 1, fl
		case c == '\\':
			fl |= strEsc
			if p+1 >= len(d) {
				v.syntax(p, "unexpected end of JSON input")
				return p + 1, fl
			}
			switch d[p+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p += 2
			case 'u':
				if p+6 > len(d) {
					v.syntax(p, "unexpected end of JSON input")
					return len(d), fl
				}
				for i := p + 2; i < p+6; i++ {
					if !isHex(d[i]) {
						v.syntax(i, "invalid character in \\u hexadecimal character escape")
						return i, fl
					}
				}
				p += 6
			default:
				v.syntax(p+1, "invalid character in string escape code")
				return p + 1, fl
			}
		case c < 0x20:
			v.syntax(p, "invalid character in string literal")
			return p, fl
		default:
			fl |= strNonASC
			p++
		}
	}
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// strBytes returns the string's value as encoding/json decodes it: escapes
// resolved and invalid UTF-8 replaced by U+FFFD per bad byte. Plain strings are
// returned in place; others are decoded into the arena v.buf (callers restore
// len(v.buf) when done).
func (v *vm) strBytes(p, end int, fl uint8) []byte {
	raw := v.data[p+1 : end-1]
	if fl == 0 {
		return raw
	}
	if fl == strNonASC && utf8.Valid(raw) {
		return raw
	}
	mark := len(v.buf)
	v.buf = unquoteAppend(v.buf, raw)
	return v.buf[mark:]
}

// unquoteAppend decodes string content exactly like encoding/json's unquoteBytes
// (the content is already known to be valid JSON string syntax).
func unquoteAppend(b, s []byte) []byte {
	for r := 0; r < len(s); {
		c := s[r]
		switch {
		case c == '\\':
			r++
			switch s[r] {
			case '"', '\\', '/', '\'':
				b = append(b, s[r])
				r++
			case 'b':
				b = append(b, '\b')
				r++
			case 'f':
				b = append(b, '\f')
				r++
			case 'n':
				b = append(b, '\n')
				r++
			case 'r':
				b = append(b, '\r')
				r++
			case 't':
				b = append(b, '\t')
				r++
			case 'u':
				r--
				rr := getu4(s[r:])
				r += 6
				if utf16.IsSurrogate(rr) {
					rr1 := getu4(s[r:])
					if dec := utf16.DecodeRune(rr, rr1); dec != utf8.RuneError {
						r += 6
						b = utf8.AppendRune(b, dec)
						break
					}
					rr = utf8.RuneError
				}
				b = utf8.AppendRune(b, rr)
			}
		case c < utf8.RuneSelf:
			b = append(b, c)
			r++
		default:
			rr, size := utf8.DecodeRune(s[r:])
			r += size
			b = utf8.AppendRune(b, rr)
		}
	}
	return b
}

func getu4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c = c - '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// unsafeString views b as a string without copying; the string must not outlive
// the validation call that produced it.
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func (v *vm) literal(p int, lit string) int {
	d := v.data
	if len(d)-p < len(lit) || string(d[p:p+len(lit)]) != lit {
		// find the first mismatching byte for the message position
		i := 0
		for p+i < len(d) && i < len(lit) && d[p+i] == lit[i] {
			i++
		}
		if p+i >= len(d) {
			v.syntax(p+i, "unexpected end of JSON input")
		} else {
			v.syntax(p+i, "invalid character in literal")
		}
		return p + i
	}
	return p + len(lit)
}

// skip checks and skips the value at p (p already past whitespace). It records
// captures when ct is not nil.
func (v *vm) skip(p int, ct *capNode) int {
	if ct != nil {
		return v.skipCap(p, ct)
	}
	d := v.data
	if p >= len(d) {
		v.syntax(p, "unexpected end of JSON input")
		return p
	}
	switch c := d[p]; c {
	case '"':
		end, _ := v.scanString(p)
		return end
	case '{':
		v.depth++
		if v.depth > maxDepth {
			v.syntax(p, "exceeded max depth")
			return p
		}
		p = v.ws(p + 1)
		if p < len(d) && d[p] == '}' {
			v.depth--
			return p + 1
		}
		for {
			if p >= len(d) || d[p] != '"' {
				v.syntaxAt(p, "looking for beginning of object key string")
				return p
			}
			p, _ = v.scanString(p)
			if v.bad {
				return p
			}
			p = v.ws(p)
			if p >= len(d) || d[p] != ':' {
				v.syntaxAt(p, "after object key")
				return p
			}
			p = v.skip(v.ws(p+1), nil)
			if v.bad {
				return p
			}
			p = v.ws(p)
			if p < len(d) && d[p] == ',' {
				p = v.ws(p + 1)
				continue
			}
			if p < len(d) && d[p] == '}' {
				v.depth--
				return p + 1
			}
			v.syntaxAt(p, "after object key:value pair")
			return p
		}
	case '[':
		v.depth++
		if v.depth > maxDepth {
			v.syntax(p, "exceeded max depth")
			return p
		}
		p = v.ws(p + 1)
		if p < len(d) && d[p] == ']' {
			v.depth--
			return p + 1
		}
		for {
			p = v.skip(p, nil)
			if v.bad {
				return p
			}
			p = v.ws(p)
			if p < len(d) && d[p] == ',' {
				p = v.ws(p + 1)
				continue
			}
			if p < len(d) && d[p] == ']' {
				v.depth--
				return p + 1
			}
			v.syntaxAt(p, "after array element")
			return p
		}
	case 't':
		return v.literal(p, "true")
	case 'f':
		return v.literal(p, "false")
	case 'n':
		return v.literal(p, "null")
	default:
		_, end, ok := scanNumber(d, p)
		if !ok {
			v.syntaxAt(end, "in numeric literal")
		}
		return end
	}
}

// syntaxAt reports a syntax error at p, or the end of input.
func (v *vm) syntaxAt(p int, ctx string) {
	if p >= len(v.data) {
		v.syntax(p, "unexpected end of JSON input")
		return
	}
	v.syntax(p, "invalid character "+quoteChar(v.data[p])+" "+ctx)
}

func quoteChar(c byte) string {
	if c == '\'' {
		return `'\''`
	}
	if c == '"' {
		return `'"'`
	}
	if c < 0x20 || c >= 0x7f {
		return "0x" + string("0123456789abcdef"[c>>4]) + string("0123456789abcdef"[c&15])
	}
	return "'" + string(c) + "'"
}
