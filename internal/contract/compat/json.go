package compat

import (
	"encoding/json"
	"math/big"
	"sort"
	"strconv"
	"strings"

	"github.com/accord-dev/accord/internal/contract"
)

// canon writes a JSON value in a canonical form: object keys sorted, numbers by
// value (1, 1.0 and 1e0 are the same number), so that two documents that differ
// only in formatting, comments or key order have the same form.
func canon(v any) string {
	var b strings.Builder
	writeCanon(&b, v)
	return b.String()
}

func writeCanon(b *strings.Builder, v any) {
	switch n := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(n))
		for k := range n {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Quote(k))
			b.WriteByte(':')
			writeCanon(b, n[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, sub := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCanon(b, sub)
		}
		b.WriteByte(']')
	case string:
		b.WriteString(strconv.Quote(n))
	case bool:
		b.WriteString(strconv.FormatBool(n))
	case nil:
		b.WriteString("null")
	case absent:
		b.WriteString("absent")
	default:
		if r, ok := number(n); ok {
			b.WriteString(r.RatString())
			return
		}
		js, err := json.Marshal(n)
		if err != nil {
			b.WriteString("?")
			return
		}
		b.Write(js)
	}
}

// number reads a JSON number as an exact rational.
func number(v any) (*big.Rat, bool) {
	var s string
	switch n := v.(type) {
	case json.Number:
		s = n.String()
	case float64:
		s = strconv.FormatFloat(n, 'g', -1, 64)
	case int:
		s = strconv.Itoa(n)
	case int64:
		s = strconv.FormatInt(n, 10)
	default:
		return nil, false
	}
	r, ok := new(big.Rat).SetString(s)
	return r, ok
}

// equalJSON reports whether two JSON values are the same value.
func equalJSON(a, b any) bool { return canon(a) == canon(b) }

// Difference is a place where two JSON documents differ.
type Difference struct {
	// Pointer locates the difference; Old and New are the values there, Absent
	// on the side that has none.
	Pointer  string
	Old, New any
}

// Differences lists every place where the documents a and b differ, as JSON
// values: formatting, comments and key order never count, numbers compare by
// value. A difference is reported at the deepest pointer where both sides still
// have a value of the same kind.
func Differences(a, b any) []Difference {
	var out []Difference
	differences(a, b, "", &out)
	return out
}

func differences(a, b any, ptr string, out *[]Difference) {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			break
		}
		keys := make([]string, 0, len(x)+len(y))
		for k := range x {
			keys = append(keys, k)
		}
		for k := range y {
			if _, ok := x[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := ptr + contract.JoinPointer(k)
			xv, xok := x[k]
			yv, yok := y[k]
			switch {
			case !xok:
				*out = append(*out, Difference{Pointer: p, Old: Absent, New: yv})
			case !yok:
				*out = append(*out, Difference{Pointer: p, Old: xv, New: Absent})
			default:
				differences(xv, yv, p, out)
			}
		}
		return
	case []any:
		y, ok := b.([]any)
		if !ok {
			break
		}
		for i := range max(len(x), len(y)) {
			p := ptr + "/" + strconv.Itoa(i)
			switch {
			case i >= len(x):
				*out = append(*out, Difference{Pointer: p, Old: Absent, New: y[i]})
			case i >= len(y):
				*out = append(*out, Difference{Pointer: p, Old: x[i], New: Absent})
			default:
				differences(x[i], y[i], p, out)
			}
		}
		return
	}
	if !equalJSON(a, b) {
		*out = append(*out, Difference{Pointer: ptr, Old: a, New: b})
	}
}

// resolveRef resolves a same-document $ref such as #/$defs/address, returning the
// target and its pointer.
func resolveRef(root map[string]any, ref string) (any, string, bool) {
	frag, ok := strings.CutPrefix(ref, "#")
	if !ok || (frag != "" && !strings.HasPrefix(frag, "/")) {
		return nil, "", false
	}
	var cur any = root
	for _, tok := range contract.SplitPointer(frag) {
		switch n := cur.(type) {
		case map[string]any:
			v, ok := n[tok]
			if !ok {
				return nil, "", false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n) {
				return nil, "", false
			}
			cur = n[i]
		default:
			return nil, "", false
		}
	}
	switch cur.(type) {
	case map[string]any, bool:
		return cur, frag, true
	}
	return nil, "", false
}
