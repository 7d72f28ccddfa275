package contract

import (
	"fmt"
	"strconv"
	"strings"
)

// SchemaAt returns the schema object at a JSON pointer inside a document ("" is
// the root), and false when the pointer leads nowhere or not to an object.
func SchemaAt(doc map[string]any, pointer string) (map[string]any, bool) {
	var cur any = doc
	for _, tok := range SplitPointer(pointer) {
		switch n := cur.(type) {
		case map[string]any:
			v, ok := n[tok]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n) {
				return nil, false
			}
			cur = n[i]
		default:
			return nil, false
		}
	}
	m, ok := cur.(map[string]any)
	return m, ok
}

// LocalRef resolves a same-document $ref ("#" or "#/..."), returning the target
// schema and its JSON pointer; false for any other reference.
func LocalRef(doc map[string]any, ref string) (map[string]any, string, bool) {
	if ref != "#" && !strings.HasPrefix(ref, "#/") {
		return nil, "", false
	}
	frag := ref[1:]
	m, ok := SchemaAt(doc, frag)
	return m, frag, ok
}

// Types returns the JSON types a schema's "type" keyword names, nil when it has none.
func Types(schema map[string]any) []string {
	switch t := schema["type"].(type) {
	case string:
		return []string{t}
	case []any:
		out := make([]string, 0, len(t))
		for _, v := range t {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// SetAt replaces the value at the JSON pointer ptr in doc (decoded JSON: maps,
// slices, scalars) with v. The value must exist: SetAt replaces, it never
// creates members or array items. The root ("") cannot be replaced.
func SetAt(doc any, ptr string, v any) error {
	toks := SplitPointer(ptr)
	if len(toks) == 0 {
		return fmt.Errorf("cannot replace the whole document at pointer %q", ptr)
	}
	parent := doc
	for i, tok := range toks {
		last := i == len(toks)-1
		switch n := parent.(type) {
		case map[string]any:
			cur, ok := n[tok]
			if !ok {
				return fmt.Errorf("pointer %q: no member %q", ptr, tok)
			}
			if last {
				n[tok] = v
				return nil
			}
			parent = cur
		case []any:
			j, err := strconv.Atoi(tok)
			if err != nil || j < 0 || j >= len(n) || strconv.Itoa(j) != tok {
				return fmt.Errorf("pointer %q: no item %q", ptr, tok)
			}
			if last {
				n[j] = v
				return nil
			}
			parent = n[j]
		default:
			return fmt.Errorf("pointer %q: %q is inside a value that is not an object or array", ptr, tok)
		}
	}
	return nil
}

// At returns the value at the JSON pointer ptr in doc (decoded JSON), or nil
// when there is none.
func At(doc any, ptr string) any { return AtPath(doc, SplitPointer(ptr)) }

// AtPath is At for a pointer already split into its tokens (SplitPointer).
func AtPath(doc any, path []string) any {
	v := doc
	for _, tok := range path {
		switch n := v.(type) {
		case map[string]any:
			v = n[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n) {
				return nil
			}
			v = n[i]
		default:
			return nil
		}
	}
	return v
}
