package fastval

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// compositeEq compares an object or array span with a const/enum value. It
// decodes the span like the reference does (allocating: composite const and
// enum values are rare in contracts).
func compositeEq(raw []byte, c *constVal) bool {
	x, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return false
	}
	return equalAny(x, c.v)
}

// equalAny is santhosh's equality: numbers compare as big.Rat, objects by key.
func equalAny(v1, v2 any) bool {
	switch v1 := v1.(type) {
	case map[string]any:
		v2, ok := v2.(map[string]any)
		if !ok || len(v1) != len(v2) {
			return false
		}
		for k, a := range v1 {
			b, ok := v2[k]
			if !ok || !equalAny(a, b) {
				return false
			}
		}
		return true
	case []any:
		v2, ok := v2.([]any)
		if !ok || len(v1) != len(v2) {
			return false
		}
		for i := range v1 {
			if !equalAny(v1[i], v2[i]) {
				return false
			}
		}
		return true
	case nil:
		return v2 == nil
	case bool:
		b, ok := v2.(bool)
		return ok && v1 == b
	case string:
		s, ok := v2.(string)
		return ok && v1 == s
	default:
		if !isNumber(v1) || !isNumber(v2) {
			return false
		}
		n1, ok1 := new(big.Rat).SetString(fmt.Sprint(v1))
		n2, ok2 := new(big.Rat).SetString(fmt.Sprint(v2))
		return ok1 && ok2 && n1.Cmp(n2) == 0
	}
}

func isNumber(v any) bool {
	switch v.(type) {
	case json.Number, float32, float64, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return true
	}
	return false
}

// duplicates returns the first pair (j, i), j < i, of equal items, in the order
// santhosh reports it, or (-1, -1).
func (v *vm) duplicates(items []span) (int, int) {
	composite := false
	for _, it := range items {
		if c := v.data[it.start]; c == '{' || c == '[' {
			composite = true
			break
		}
	}
	if composite {
		vals := make([]any, len(items))
		for i, it := range items {
			vals[i] = v.value(it.start, it.end)
		}
		for i := 1; i < len(vals); i++ {
			for j := 0; j < i; j++ {
				if equalAny(vals[i], vals[j]) {
					return j, i
				}
			}
		}
		return -1, -1
	}
	for i := 1; i < len(items); i++ {
		for j := 0; j < i; j++ {
			if v.primEq(items[i], items[j]) {
				return j, i
			}
		}
	}
	return -1, -1
}

// primEq compares two scalar spans with santhosh's equality.
func (v *vm) primEq(a, b span) bool {
	d := v.data
	ca, cb := d[a.start], d[b.start]
	switch {
	case ca == '"':
		if cb != '"' {
			return false
		}
		mark := len(v.buf)
		_, fa := v.scanString(a.start)
		sa := v.strBytes(a.start, a.end, fa)
		_, fb := v.scanString(b.start)
		sb := v.strBytes(b.start, b.end, fb)
		eq := bytes.Equal(sa, sb)
		v.buf = v.buf[:mark]
		return eq
	case ca == 't' || ca == 'f' || ca == 'n':
		return ca == cb
	default:
		if cb != '-' && (cb < '0' || cb > '9') {
			return false
		}
		da, _, _ := scanNumber(d, a.start)
		db, _, _ := scanNumber(d, b.start)
		return da.representable() && db.representable() && cmpDecimal(&da, &db) == 0
	}
}
