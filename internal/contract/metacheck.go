package contract

import (
	"encoding/json"
	"regexp/syntax"
	"strconv"
	"strings"
)

// The JSON Schema compiler checks every schema against its draft's metaschema
// before compiling it. With the 2020-12 metaschema ($dynamicRef, eight
// vocabularies) that check costs more than the compilation itself: half a
// millisecond for a 20-field contract, seconds for a registry of thousands.
//
// metaValid is a much cheaper check that is sound but not complete: when it
// returns true, the metaschema check would pass; when it returns false, nothing
// is known and the compiler runs its own check, which also produces the exact
// messages. It accepts only a common subset: same-document $refs, no $id or
// anchors, no keyword whose metaschema rule it does not model.

// metaValid reports whether doc, a schema of the given draft when it has no
// $schema, certainly satisfies its draft's metaschema.
func metaValid(doc map[string]any, draft Draft) bool {
	if s, ok := doc["$schema"]; ok {
		uri, _ := s.(string)
		switch strings.TrimSuffix(uri, "#") {
		case "https://json-schema.org/draft/2020-12/schema":
			draft = Draft2020
		case "http://json-schema.org/draft-07/schema":
			draft = Draft7
		case "http://json-schema.org/draft-04/schema":
			draft = Draft4
		default:
			return false
		}
	}
	return metaSchema(doc, draft, true)
}

// metaSchema checks one schema value.
func metaSchema(v any, draft Draft, root bool) bool {
	m, ok := v.(map[string]any)
	if !ok {
		_, isBool := v.(bool)
		return isBool && draft != Draft4
	}
	for k, val := range m {
		if !metaKeyword(m, k, val, draft, root) {
			return false
		}
	}
	return true
}

// metaKeyword checks one keyword of a schema object. Every keyword that any of
// the three metaschemas constrains is listed; others are free for any value
// (annotations such as x-pii).
func metaKeyword(m map[string]any, k string, val any, draft Draft, root bool) bool {
	switch k {
	case "$schema":
		return root // checked by metaValid; in a subschema it may change the draft
	case "$ref":
		s, ok := val.(string)
		return ok && localRef(s)
	case "type":
		return metaType(val)
	case "properties", "definitions":
		return metaSchemaMap(val, draft)
	case "$defs":
		return draft == Draft2020 && metaSchemaMap(val, draft)
	case "items":
		if list, ok := val.([]any); ok {
			return draft != Draft2020 && metaSchemaList(list, draft)
		}
		return metaSchema(val, draft, false)
	case "prefixItems":
		list, ok := val.([]any)
		return ok && draft == Draft2020 && metaSchemaList(list, draft)
	case "allOf", "anyOf", "oneOf":
		list, ok := val.([]any)
		return ok && metaSchemaList(list, draft)
	case "additionalProperties", "additionalItems", "not":
		if _, isBool := val.(bool); isBool && draft == Draft4 && k != "not" {
			return true // draft-04 allows a boolean here, not a boolean schema
		}
		return metaSchema(val, draft, false)
	case "if", "then", "else", "contains", "propertyNames", "unevaluatedItems", "unevaluatedProperties":
		return draft != Draft4 && metaSchema(val, draft, false)
	case "enum":
		return metaEnum(val)
	case "const", "default":
		return true
	case "examples":
		_, ok := val.([]any)
		return ok
	case "required":
		return metaRequired(val, draft)
	case "maxLength", "minLength", "maxItems", "minItems", "maxProperties", "minProperties", "maxContains", "minContains":
		return nonNegativeInteger(val)
	case "maximum", "minimum":
		_, ok := val.(json.Number)
		return ok
	case "exclusiveMaximum", "exclusiveMinimum":
		if draft == Draft4 {
			_, isBool := val.(bool)
			_, hasBound := m[strings.ToLower(strings.TrimPrefix(k, "exclusive"))]
			return isBool && hasBound
		}
		_, ok := val.(json.Number)
		return ok
	case "multipleOf":
		n, ok := val.(json.Number)
		if !ok {
			return false
		}
		f, err := strconv.ParseFloat(string(n), 64)
		return err == nil && f > 0
	case "pattern":
		s, ok := val.(string)
		if !ok {
			return false
		}
		// The "regex" format, as the compiler checks it with regexp.Compile,
		// whose only errors are its parser's.
		_, err := syntax.Parse(s, syntax.Perl)
		return err == nil
	case "uniqueItems", "readOnly", "writeOnly", "deprecated":
		_, ok := val.(bool)
		return ok
	case "title", "description", "$comment", "format", "contentMediaType", "contentEncoding":
		_, ok := val.(string)
		return ok
	}
	// Keywords the metaschemas constrain in ways not modelled here ($id, id,
	// anchors, $vocabulary, patternProperties, dependencies, ...) send the
	// schema to the full check.
	return !metaUnmodelled[k]
}

var metaUnmodelled = map[string]bool{
	"$id": true, "id": true, "$anchor": true, "$dynamicRef": true, "$dynamicAnchor": true,
	"$vocabulary": true, "$recursiveRef": true, "$recursiveAnchor": true,
	"patternProperties": true, "dependencies": true, "dependentRequired": true,
	"dependentSchemas": true, "contentSchema": true,
}

func metaSchemaMap(v any, draft Draft) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	for _, sub := range m {
		if !metaSchema(sub, draft, false) {
			return false
		}
	}
	return true
}

func metaSchemaList(list []any, draft Draft) bool {
	if len(list) == 0 {
		return false
	}
	for _, sub := range list {
		if !metaSchema(sub, draft, false) {
			return false
		}
	}
	return true
}

var simpleTypes = map[string]bool{"array": true, "boolean": true, "integer": true, "null": true, "number": true, "object": true, "string": true}

func metaType(v any) bool {
	switch t := v.(type) {
	case string:
		return simpleTypes[t]
	case []any:
		if len(t) == 0 {
			return false
		}
		seen := make(map[string]bool, len(t))
		for _, item := range t {
			s, ok := item.(string)
			if !ok || !simpleTypes[s] || seen[s] {
				return false
			}
			seen[s] = true
		}
		return true
	}
	return false
}

// metaEnum accepts a non-empty list of distinct strings, booleans, nulls and
// integers written canonically: distinct as written is then distinct as JSON
// values, which draft-04 requires.
func metaEnum(v any) bool {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return false
	}
	seen := make(map[any]bool, len(list))
	for _, item := range list {
		key := item
		switch x := item.(type) {
		case string, bool, nil:
		case json.Number:
			if !canonicalInteger(string(x)) {
				return false
			}
			key = x
		default:
			return false
		}
		if seen[key] {
			return false
		}
		seen[key] = true
	}
	return true
}

func metaRequired(v any, draft Draft) bool {
	list, ok := v.([]any)
	if !ok || len(list) == 0 && draft == Draft4 {
		return false
	}
	seen := make(map[string]bool, len(list))
	for _, item := range list {
		s, ok := item.(string)
		if !ok || seen[s] {
			return false
		}
		seen[s] = true
	}
	return true
}

// nonNegativeInteger accepts integers written with digits only.
func nonNegativeInteger(v any) bool {
	n, ok := v.(json.Number)
	if !ok || n == "" {
		return false
	}
	for _, c := range []byte(n) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// canonicalInteger accepts -?(0|[1-9][0-9]*).
func canonicalInteger(s string) bool {
	s, neg := strings.CutPrefix(s, "-")
	if s == "" || len(s) > 1 && s[0] == '0' || neg && s == "0" {
		return false
	}
	return nonNegativeInteger(json.Number(s))
}

// localRef accepts "#" followed by a JSON pointer of plain characters: a
// same-document reference that is certainly a valid URI reference.
func localRef(s string) bool {
	if !strings.HasPrefix(s, "#") {
		return false
	}
	for _, c := range []byte(s[1:]) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("/_-.~$", c) >= 0:
		default:
			return false
		}
	}
	return len(s) == 1 || s[1] == '/'
}
