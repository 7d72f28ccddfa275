package jsonscan

import "bytes"

// QuoteEnd returns the index of the quote that closes the string whose
// content starts at b[from], or len(b) when it is not closed. It jumps from
// quote to quote (bytes.IndexByte is vectorised) and counts the backslashes
// before each: an odd number escapes it. It does not check the string.
func QuoteEnd(b []byte, from int) int {
	start := from
	for {
		q := bytes.IndexByte(b[from:], '"')
		if q < 0 {
			return len(b)
		}
		q += from
		k := q
		for k > start && b[k-1] == '\\' {
			k--
		}
		if (q-k)%2 == 0 {
			return q
		}
		from = q + 1
	}
}

// AppendCompact appends b, a checked JSON text, to dst without the space
// between its tokens: what json.Compact writes for it, in one copy of each
// run of bytes between spaces. Text that is not JSON is copied without its
// spaces outside strings.
func AppendCompact(dst, b []byte) []byte {
	for i := 0; i < len(b); {
		switch c := b[i]; {
		case c == '"':
			end := min(QuoteEnd(b, i+1)+1, len(b))
			dst = append(dst, b[i:end]...)
			i = end
		case isSpace(c):
			i++
		default:
			j := i + 1
			for j < len(b) && b[j] != '"' && !isSpace(b[j]) {
				j++
			}
			dst = append(dst, b[i:j]...)
			i = j
		}
	}
	return dst
}
