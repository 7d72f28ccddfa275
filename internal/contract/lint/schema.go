package lint

import (
	"sort"
	"strconv"

	"github.com/accord-dev/accord/internal/contract"
)

// via says how a schema node is reached from its parent, which decides the rules
// that apply to it: only properties have names and need descriptions, and only
// nodes that stand for a value (not a branch of a composition) must close their
// objects.
type via int

const (
	viaRoot        via = iota
	viaProperty        // a value of properties: a named field
	viaPattern         // a value of patternProperties
	viaItems           // items, prefixItems, additionalItems, contains
	viaAdditional      // additionalProperties, unevaluatedProperties
	viaDef             // a value of $defs or definitions
	viaComposition     // allOf, anyOf, oneOf, not, if, then, else, dependentSchemas
	viaOther           // propertyNames and other schema-valued keywords
)

// node is one schema of a contract document, visited once: $refs are not
// followed, so recursive schemas are walked in linear time.
type node struct {
	schema  map[string]any
	pointer string
	via     via
	name    string // the property name, for viaProperty
	// condition is set under if, not and propertyNames: properties there test
	// values that the enclosing schema defines, they define nothing themselves.
	condition bool
}

var (
	schemaMaps = map[string]via{
		"properties": viaProperty, "patternProperties": viaPattern, "$defs": viaDef,
		"definitions": viaDef, "dependentSchemas": viaComposition, "dependencies": viaComposition,
	}
	schemaValues = map[string]via{
		"items": viaItems, "additionalItems": viaItems, "contains": viaItems, "unevaluatedItems": viaItems,
		"additionalProperties": viaAdditional, "unevaluatedProperties": viaAdditional,
		"not": viaComposition, "if": viaComposition, "then": viaComposition, "else": viaComposition,
		"propertyNames": viaOther,
	}
	schemaLists = map[string]via{
		"allOf": viaComposition, "anyOf": viaComposition, "oneOf": viaComposition, "items": viaItems, "prefixItems": viaItems,
	}
)

// schemaNodes lists every schema node of doc in a deterministic order.
func schemaNodes(doc map[string]any) []node {
	var out []node
	var visit func(s map[string]any, pointer string, v via, name string, cond bool)
	visit = func(s map[string]any, pointer string, v via, name string, cond bool) {
		out = append(out, node{schema: s, pointer: pointer, via: v, name: name, condition: cond})
		for _, kw := range sortedKeys(s) {
			val := s[kw]
			if v, ok := schemaMaps[kw]; ok {
				if m, ok := val.(map[string]any); ok {
					for _, k := range sortedKeys(m) {
						if sub, ok := m[k].(map[string]any); ok {
							visit(sub, pointer+contract.JoinPointer(kw, k), v, k, cond)
						}
					}
				}
			}
			if v, ok := schemaValues[kw]; ok {
				if sub, ok := val.(map[string]any); ok {
					visit(sub, pointer+contract.JoinPointer(kw), v, "", cond || kw == "if" || kw == "not" || kw == "propertyNames")
				}
			}
			if v, ok := schemaLists[kw]; ok {
				if list, ok := val.([]any); ok {
					for i, item := range list {
						if sub, ok := item.(map[string]any); ok {
							visit(sub, pointer+contract.JoinPointer(kw, strconv.Itoa(i)), v, "", cond)
						}
					}
				}
			}
		}
	}
	visit(doc, "", viaRoot, "", false)
	return out
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// resolve follows a same-document $ref chain from s (at most a few hops) and
// returns the schemas met on the way, s first.
func resolve(doc, s map[string]any) []map[string]any {
	out := []map[string]any{s}
	for range 8 {
		ref, ok := s["$ref"].(string)
		if !ok {
			break
		}
		t, _, ok := contract.LocalRef(doc, ref)
		if !ok {
			break
		}
		out = append(out, t)
		s = t
	}
	return out
}

// any reports whether any schema in chain has a value for keyword.
func anyHas(chain []map[string]any, keyword string) bool {
	for _, s := range chain {
		if _, ok := s[keyword]; ok {
			return true
		}
	}
	return false
}

// str returns the first string value of keyword in chain.
func str(chain []map[string]any, keyword string) string {
	for _, s := range chain {
		if v, ok := s[keyword].(string); ok {
			return v
		}
	}
	return ""
}

// types returns the JSON types the first schema in chain with a type declares.
func types(chain []map[string]any) []string {
	for _, s := range chain {
		if _, ok := s["type"]; ok {
			return contract.Types(s)
		}
	}
	return nil
}
