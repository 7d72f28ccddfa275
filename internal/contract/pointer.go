package contract

import (
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
