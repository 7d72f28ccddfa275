package ir

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"github.com/accord-dev/accord/internal/contract"
)

// Kind is the JSON shape of a value as the SDKs see it.
type Kind string

// Kinds of Type. KindAny stands for everything that has no single JSON type: unions
// such as [string, integer], schemas without "type", anyOf/oneOf of several types.
const (
	KindString  Kind = "string"
	KindInteger Kind = "integer"
	KindNumber  Kind = "number"
	KindBoolean Kind = "boolean"
	KindObject  Kind = "object"
	KindArray   Kind = "array"
	KindAny     Kind = "any"
)

// Type is the shape of one value of an event, derived from its JSON Schema.
type Type struct {
	Kind Kind
	// Format is the JSON Schema format of a string ("date-time", "date", "uuid", ...).
	Format string
	// Nullable reports whether null is allowed besides Kind.
	Nullable bool
	// Enum lists the allowed values of an enum (or a const) of Kind string, integer,
	// number or boolean: string, json.Number or bool values, in contract order,
	// null excluded (it makes the type Nullable). Nil when any value is allowed.
	Enum []any
	// Description is the schema's description.
	Description string
	// Fields are the properties of an object, in contract order. An object without
	// properties is a map from string to any value.
	Fields []*Field
	// Closed reports additionalProperties: false on an object.
	Closed bool
	// Items is the element type of an array.
	Items *Type
	// Words name the type when a target needs a name for it (objects and enums):
	// the event's words followed by the words of the path to it, e.g.
	// [checkout completed device os]. Array items add "item".
	Words []string
	// Pointer locates the type's schema in the contract document.
	Pointer string
}

// IsEnum reports whether the type restricts its values to Enum.
func (t *Type) IsEnum() bool { return len(t.Enum) > 0 }

// IsMap reports whether the type is an object without declared properties.
func (t *Type) IsMap() bool { return t.Kind == KindObject && len(t.Fields) == 0 }

// EnumStrings returns the enum values formatted as strings: strings as they are,
// numbers as written in the contract, booleans as true/false.
func (t *Type) EnumStrings() []string {
	out := make([]string, len(t.Enum))
	for i, v := range t.Enum {
		out[i] = EnumString(v)
	}
	return out
}

// EnumString formats one enum value as EnumStrings does.
func EnumString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

// Field is one property of an object.
type Field struct {
	// Name is the property name exactly as in the contract (and on the wire).
	Name string
	// Words is Name split into lowercase words, for targets that rename it.
	Words    []string
	Type     *Type
	Required bool
	// Description is the property's description.
	Description string
	// PII is the field's x-pii annotation from the contract, nil when none.
	PII *contract.PII
	// Default is the schema's default value, nil when none.
	Default any
}

// typeBuilder turns schema nodes into Types, following local $refs.
type typeBuilder struct {
	root map[string]any
	// pii finds the annotation of a field by its data pointer (/items/*/sku).
	pii map[string]*contract.PII
	// pos is the position of a schema node in the contract file, for document order.
	pos    func(pointer string) contract.Pos
	active map[string]bool // $ref targets being built, to stop recursion
	depth  int
}

const maxTypeDepth = 32

// build derives the type of schema at pointer; path is the data path of the value
// (for PII lookups), words its type name.
func (b *typeBuilder) build(schema map[string]any, pointer string, path []string, words []string) *Type {
	b.depth++
	defer func() { b.depth-- }()
	t := &Type{Kind: KindAny, Words: words, Pointer: pointer}
	if schema == nil || b.depth > maxTypeDepth {
		return t
	}
	t.Description, _ = schema["description"].(string)
	orig := pointer
	schema, pointer = b.resolve(schema, pointer, 0)
	if pointer != orig {
		// A recursive $ref ends in a value of any shape instead of an endless type.
		if b.active[pointer] {
			t.Nullable = allowsNull(schema)
			return t
		}
		b.active[pointer] = true
		defer delete(b.active, pointer)
	}
	if t.Description == "" {
		t.Description, _ = schema["description"].(string)
	}
	if merged, ok := b.mergeAllOf(schema, pointer); ok {
		schema = merged
	}
	// anyOf/oneOf of one type and null: a nullable type.
	for _, kw := range []string{"anyOf", "oneOf"} {
		list, ok := schema[kw].([]any)
		if !ok {
			continue
		}
		var nonNull []int
		hasNull := false
		for i, sub := range list {
			m, ok := sub.(map[string]any)
			if !ok {
				continue
			}
			if r, _ := b.resolve(m, "", 0); isNullSchema(r) {
				hasNull = true
				continue
			}
			nonNull = append(nonNull, i)
		}
		if len(nonNull) == 1 {
			sub := list[nonNull[0]].(map[string]any)
			inner := b.build(sub, pointer+"/"+kw+"/"+strconv.Itoa(nonNull[0]), path, words)
			if t.Description != "" {
				inner.Description = t.Description
			}
			inner.Nullable = inner.Nullable || hasNull || allowsNull(schema)
			return inner
		}
		t.Nullable = hasNull || allowsNull(schema)
		return t
	}

	types := contract.Types(schema)
	for _, ty := range types {
		if ty == "null" {
			t.Nullable = true
		}
	}
	var kinds []Kind
	for _, ty := range types {
		switch ty {
		case "string":
			kinds = append(kinds, KindString)
		case "integer":
			kinds = append(kinds, KindInteger)
		case "number":
			kinds = append(kinds, KindNumber)
		case "boolean":
			kinds = append(kinds, KindBoolean)
		case "object":
			kinds = append(kinds, KindObject)
		case "array":
			kinds = append(kinds, KindArray)
		}
	}
	// integer and number together are a number.
	if len(kinds) == 2 && (kinds[0] == KindInteger && kinds[1] == KindNumber || kinds[0] == KindNumber && kinds[1] == KindInteger) {
		kinds = []Kind{KindNumber}
	}
	enum, enumNull, hasEnum := enumValues(schema)
	if enumNull {
		t.Nullable = true
	}
	switch {
	case len(kinds) == 1:
		t.Kind = kinds[0]
	case len(kinds) == 0 && hasEnum:
		t.Kind = enumKind(enum)
	case len(kinds) == 0 && (schema["properties"] != nil || schema["additionalProperties"] != nil):
		t.Kind = KindObject
	case len(kinds) == 0 && schema["items"] != nil:
		t.Kind = KindArray
	default:
		return t
	}
	if hasEnum && len(enum) > 0 && enumKind(enum) == t.Kind && t.Kind != KindObject && t.Kind != KindArray {
		t.Enum = enum
	}
	switch t.Kind {
	case KindString:
		t.Format, _ = schema["format"].(string)
	case KindObject:
		b.object(t, schema, pointer, path, words)
	case KindArray:
		itemWords := append(append([]string(nil), words...), "item")
		itemPath := append(append([]string(nil), path...), "*")
		switch items := schema["items"].(type) {
		case map[string]any:
			t.Items = b.build(items, pointer+"/items", itemPath, itemWords)
		default:
			t.Items = &Type{Kind: KindAny, Words: itemWords, Pointer: pointer + "/items"}
		}
	}
	return t
}

func (b *typeBuilder) object(t *Type, schema map[string]any, pointer string, path, words []string) {
	if ap, ok := schema["additionalProperties"].(bool); ok && !ap {
		t.Closed = true
	}
	props, _ := schema["properties"].(map[string]any)
	required := map[string]bool{}
	if req, ok := schema["required"].([]any); ok {
		for _, r := range req {
			if s, ok := r.(string); ok {
				required[s] = true
			}
		}
	}
	defined, _ := schema[orderKey].(map[string]string)
	propPointer := func(name string) string {
		if p, ok := defined[name]; ok {
			return p
		}
		return pointer + "/properties/" + escapePointer(name)
	}
	names := make([]string, 0, len(props))
	for name := range props {
		names = append(names, name)
	}
	// Document order where the contract file gives one; properties the stored shape
	// adds (the geo fields of an obfuscated IP) have no position and sort by name.
	sort.SliceStable(names, func(i, j int) bool {
		pi, pj := b.pos(propPointer(names[i])), b.pos(propPointer(names[j]))
		if pi != pj {
			return pi.Line < pj.Line || pi.Line == pj.Line && pi.Col < pj.Col
		}
		return names[i] < names[j]
	})
	for _, name := range names {
		sub, ok := props[name].(map[string]any)
		if !ok {
			continue
		}
		fw := Words(name)
		fpath := append(append([]string(nil), path...), name)
		fp := propPointer(name)
		ft := b.build(sub, fp, fpath, append(append([]string(nil), words...), fw...))
		f := &Field{Name: name, Words: fw, Type: ft, Required: required[name], Description: ft.Description, Default: sub["default"]}
		f.PII = b.pii[contract.JoinPointer(fpath...)]
		t.Fields = append(t.Fields, f)
	}
}

// orderKey is where mergeAllOf records, on the merged copy of a schema, the
// schema pointer of each property, for document order.
const orderKey = "\x00pointers"

// resolve follows a local $ref (up to a bounded depth) and returns the target and
// its pointer.
func (b *typeBuilder) resolve(schema map[string]any, pointer string, depth int) (map[string]any, string) {
	ref, ok := schema["$ref"].(string)
	if !ok || !strings.HasPrefix(ref, "#") || depth > 16 {
		return schema, pointer
	}
	target, ok := contract.SchemaAt(b.root, strings.TrimPrefix(ref, "#"))
	if !ok {
		return schema, pointer
	}
	target, tp := b.resolve(target, strings.TrimPrefix(ref, "#"), depth+1)
	// Keywords beside $ref (2020-12) refine the target: a shallow merge.
	if len(schema) > 1 {
		merged := make(map[string]any, len(target)+len(schema))
		for k, v := range target {
			merged[k] = v
		}
		for k, v := range schema {
			if k != "$ref" {
				merged[k] = v
			}
		}
		return merged, tp
	}
	return target, tp
}

// mergeAllOf folds allOf branches into one schema: properties and required lists
// are combined, the first type wins.
func (b *typeBuilder) mergeAllOf(schema map[string]any, pointer string) (map[string]any, bool) {
	list, ok := schema["allOf"].([]any)
	if !ok || len(list) == 0 {
		return nil, false
	}
	out := map[string]any{}
	props := map[string]any{}
	var required []any
	order := map[string]string{}
	add := func(m map[string]any, at string) {
		inner, _ := m[orderKey].(map[string]string)
		for k, v := range m {
			switch k {
			case "properties":
				if pm, ok := v.(map[string]any); ok {
					for name, sub := range pm {
						if _, dup := props[name]; !dup {
							props[name] = sub
							if p, ok := inner[name]; ok {
								order[name] = p
							} else {
								order[name] = at + "/properties/" + escapePointer(name)
							}
						}
					}
				}
			case "required":
				if rl, ok := v.([]any); ok {
					required = append(required, rl...)
				}
			case "allOf", orderKey:
			default:
				if _, set := out[k]; !set {
					out[k] = v
				}
			}
		}
	}
	add(schema, pointer)
	for i, sub := range list {
		if m, ok := sub.(map[string]any); ok {
			m, at := b.resolve(m, pointer+"/allOf/"+strconv.Itoa(i), 0)
			if inner, ok := b.mergeAllOf(m, at); ok {
				m = inner
			}
			add(m, at)
		}
	}
	if len(props) > 0 {
		out["properties"] = props
		if _, ok := out["type"]; !ok {
			out["type"] = "object"
		}
	}
	if len(required) > 0 {
		out["required"] = required
	}
	if len(order) > 0 {
		out[orderKey] = order
	}
	return out, true
}

func isNullSchema(m map[string]any) bool {
	ts := contract.Types(m)
	if len(ts) == 1 && ts[0] == "null" {
		return true
	}
	if c, ok := m["const"]; ok && c == nil {
		return true
	}
	return false
}

func allowsNull(m map[string]any) bool {
	for _, t := range contract.Types(m) {
		if t == "null" {
			return true
		}
	}
	return false
}

// enumValues reads enum (or const) values; null is reported apart.
func enumValues(schema map[string]any) (vals []any, hasNull, ok bool) {
	var list []any
	if e, isList := schema["enum"].([]any); isList {
		list, ok = e, true
	} else if c, isConst := schema["const"]; isConst {
		list, ok = []any{c}, true
	}
	for _, v := range list {
		switch v := v.(type) {
		case nil:
			hasNull = true
		case string, json.Number, bool:
			vals = append(vals, v)
		default:
			// Object and array enum values have no typed form: no enum type.
			return nil, hasNull, false
		}
	}
	return vals, hasNull, ok
}

// enumKind is the kind shared by every enum value, KindAny when they differ.
func enumKind(vals []any) Kind {
	var k Kind
	for _, v := range vals {
		var vk Kind
		switch v := v.(type) {
		case string:
			vk = KindString
		case bool:
			vk = KindBoolean
		case json.Number:
			if _, err := strconv.ParseInt(v.String(), 10, 64); err == nil {
				vk = KindInteger
			} else {
				vk = KindNumber
			}
		}
		switch {
		case k == "":
			k = vk
		case k == KindInteger && vk == KindNumber || k == KindNumber && vk == KindInteger:
			k = KindNumber
		case k != vk:
			return KindAny
		}
	}
	if k == "" {
		return KindAny
	}
	return k
}

func escapePointer(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
