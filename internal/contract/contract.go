// Package contract loads, checks and compiles event contracts: self-describing JSON
// Schemas with owner, lifecycle and privacy annotations, stored in the Iglu layout
// <registry>/<vendor>/<name>/jsonschema/<MODEL-REVISION-ADDITION>.
package contract

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Rule ids of the problems the loader and compiler report. accord lint reports them
// under these ids alongside its own rules.
const (
	RuleParse      = "contract-parses"
	RuleLayout     = "registry-layout"
	RuleSelf       = "self-matches-path"
	RuleCompile    = "schema-compiles"
	RuleAnnotation = "annotation-valid"
	RuleOwner      = "owner-present"
	RuleRetention  = "retention-valid"
)

// Draft is the JSON Schema dialect a contract is written in.
type Draft string

// The dialects Accord loads. Iglu schemas (with Iglu's self-describing meta-schema
// URI) are draft-04, or draft-07 when they use draft-06/07 keywords.
const (
	Draft2020 Draft = "2020-12"
	Draft7    Draft = "draft-07"
	Draft4    Draft = "draft-04"
)

// Pos is a 1-based line and column in a contract file; zero when unknown.
type Pos struct {
	Line, Col int
}

// Problem is something wrong with a contract file, located precisely enough to fix.
type Problem struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Col     int    `json:"col"`
	Pointer string `json:"pointer,omitempty"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// Error formats the problem as file:line:col: message [rule].
func (p *Problem) Error() string {
	loc := p.File
	if p.Line > 0 {
		loc += ":" + strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Col)
	}
	if p.Pointer != "" && p.Pointer != "/" {
		return fmt.Sprintf("%s: %s (at %s) [%s]", loc, p.Message, p.Pointer, p.Rule)
	}
	return fmt.Sprintf("%s: %s [%s]", loc, p.Message, p.Rule)
}

// Contract is one loaded contract version. It is immutable once loaded: share it,
// never modify it.
type Contract struct {
	Key Key
	// File is the path the contract was read from, as shown in messages.
	File string
	// Source is the file as read.
	Source []byte
	// Doc is the schema document as JSON values (map[string]any, []any,
	// json.Number, string, bool, nil), the form the JSON Schema compiler takes.
	Doc   map[string]any
	Draft Draft
	// Self is the key declared by the contract's self block, nil when absent.
	Self        *Key
	Description string
	Owner       *Owner
	Lifecycle   Lifecycle
	Privacy     *Privacy
	// EventNames are the x-event-names under which Segment-style track calls are
	// validated against this contract.
	EventNames []string
	// Fields lists every property of the event (nested ones and array items too)
	// in document order.
	Fields []Field

	// positions indexes the position of every node by JSON pointer. It is built
	// from Source the first time Pos is called, not when the contract loads: a
	// registry of thousands of contracts is loaded to validate events, which
	// never needs a position, and the index is as large as a third of a contract.
	// A pointer, so that copies of a Contract share it.
	positions *lazyPositions
}

type lazyPositions struct {
	once sync.Once
	m    map[string]Pos
}

// Pos returns the position of the schema node at pointer, or of its nearest
// ancestor whose position is known.
func (c *Contract) Pos(pointer string) Pos {
	if c.positions == nil {
		return posIn(positionsOf(c.Source), pointer)
	}
	c.positions.once.Do(func() { c.positions.m = positionsOf(c.Source) })
	return posIn(c.positions.m, pointer)
}

// posIn looks pointer, or its nearest ancestor, up in positions.
func posIn(positions map[string]Pos, pointer string) Pos {
	for {
		if p, ok := positions[pointer]; ok {
			return p
		}
		if pointer == "" {
			return Pos{Line: 1, Col: 1}
		}
		i := strings.LastIndexByte(pointer, '/')
		if i < 0 {
			return Pos{Line: 1, Col: 1}
		}
		pointer = pointer[:i]
	}
}

// Problem builds a problem located at the schema node at pointer.
func (c *Contract) Problem(pointer, rule, msg string) *Problem {
	p := c.Pos(pointer)
	return &Problem{File: c.File, Line: p.Line, Col: p.Col, Pointer: pointer, Rule: rule, Message: msg}
}

// PII returns the fields that carry an x-pii annotation.
func (c *Contract) PII() []Field {
	var out []Field
	for _, f := range c.Fields {
		if f.PII != nil {
			out = append(out, f)
		}
	}
	return out
}

// Field is one property of the event as the contract describes it.
type Field struct {
	// Pointer locates the field's schema in the contract document,
	// e.g. /properties/items/items/properties/sku.
	Pointer string
	// Path locates the field in the event data; "*" stands for every item of an
	// array, e.g. [items * sku].
	Path []string
	// Schema is the field's schema node.
	Schema map[string]any
	// Types are the JSON types the field may have, from its "type" keyword.
	Types []string
	// Required reports whether the enclosing object requires the field.
	Required    bool
	Description string
	PII         *PII
}

// Name is the field's property name (the last segment of its path that is not an
// array item).
func (f Field) Name() string {
	for i := len(f.Path) - 1; i >= 0; i-- {
		if f.Path[i] != "*" {
			return f.Path[i]
		}
	}
	return ""
}

// DataPointer formats Path as a JSON pointer pattern, e.g. /items/*/sku.
func (f Field) DataPointer() string {
	var b strings.Builder
	for _, s := range f.Path {
		b.WriteByte('/')
		b.WriteString(escape(s))
	}
	return b.String()
}

// escape encodes one JSON pointer reference token.
func escape(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// unescape decodes one JSON pointer reference token.
func unescape(s string) string {
	if !strings.Contains(s, "~") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
}

// SplitPointer splits a JSON pointer into its unescaped reference tokens.
func SplitPointer(p string) []string {
	if p == "" || p == "/" {
		return nil
	}
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, s := range parts {
		parts[i] = unescape(s)
	}
	return parts
}

// JoinPointer builds a JSON pointer from reference tokens.
func JoinPointer(tokens ...string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(escape(t))
	}
	return b.String()
}

// maxWalk bounds the schema nodes one contract's field walk visits. Local $refs
// expand a schema (each one once per descent), and a few definitions that refer
// to each other could otherwise expand beyond any real event.
const maxWalk = 1000000

// fieldWalker collects the fields of a schema, following local $refs so that
// recursive schemas terminate: a $ref is not expanded again inside its own
// expansion, so a recursive field is listed once, not once per possible depth.
type fieldWalker struct {
	root   map[string]any
	ann    *annotationReader
	fields []Field
	byPath map[string]int  // data pointer -> index in fields
	seen   map[string]bool // data path + schema pointer already visited
	active map[string]bool // $ref targets being expanded on the current descent
	pii    map[string]*PII // x-pii read per schema pointer
	pos    map[string]Pos  // positions, to keep fields in document order
	steps  int
}

func (w *fieldWalker) walk(schema map[string]any, pointer string, path []string) {
	key := strings.Join(path, "\x00") + "\x01" + pointer
	if w.seen[key] || len(path) > 64 {
		return
	}
	w.seen[key] = true
	if w.steps++; w.steps == maxWalk {
		w.ann.addf("", RuleCompile, "schema expands to more than %d nodes through $ref; simplify the references between definitions", maxWalk)
	}
	if w.steps >= maxWalk {
		return
	}
	if ref, ok := schema["$ref"].(string); ok && strings.HasPrefix(ref, "#") {
		if target, tp, ok := LocalRef(w.root, ref); ok && !w.active[tp] {
			w.active[tp] = true
			w.walk(target, tp, path)
			delete(w.active, tp)
		}
	}
	for _, kw := range []string{"allOf", "anyOf", "oneOf"} {
		if list, ok := schema[kw].([]any); ok {
			for i, sub := range list {
				if m, ok := sub.(map[string]any); ok {
					w.walk(m, pointer+"/"+kw+"/"+strconv.Itoa(i), path)
				}
			}
		}
	}
	for _, kw := range []string{"then", "else"} {
		if m, ok := schema[kw].(map[string]any); ok {
			w.walk(m, pointer+"/"+kw, path)
		}
	}
	if props, ok := schema["properties"].(map[string]any); ok {
		required := map[string]bool{}
		if req, ok := schema["required"].([]any); ok {
			for _, r := range req {
				if s, ok := r.(string); ok {
					required[s] = true
				}
			}
		}
		names := make([]string, 0, len(props))
		for name := range props {
			names = append(names, name)
		}
		sort.Slice(names, func(i, j int) bool {
			a, b := w.pos[pointer+"/properties/"+escape(names[i])], w.pos[pointer+"/properties/"+escape(names[j])]
			if a != b {
				return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
			}
			return names[i] < names[j]
		})
		for _, name := range names {
			sub, ok := props[name].(map[string]any)
			if !ok {
				continue
			}
			fp := pointer + "/properties/" + escape(name)
			fpath := append(append([]string(nil), path...), name)
			w.add(sub, fp, fpath, required[name])
			w.walk(sub, fp, fpath)
		}
	}
	switch items := schema["items"].(type) {
	case map[string]any:
		ipath := append(append([]string(nil), path...), "*")
		if w.piiOf(items, pointer+"/items") != nil {
			// x-pii on the items schema: every item of the array is personal data.
			w.add(items, pointer+"/items", ipath, false)
		}
		w.walk(items, pointer+"/items", ipath)
	case []any: // draft-04/07 tuple form
		w.tuple(items, pointer+"/items", path)
	}
	if prefix, ok := schema["prefixItems"].([]any); ok {
		w.tuple(prefix, pointer+"/prefixItems", path)
	}
}

func (w *fieldWalker) tuple(items []any, pointer string, path []string) {
	for i, sub := range items {
		m, ok := sub.(map[string]any)
		if !ok {
			continue
		}
		ip := pointer + "/" + strconv.Itoa(i)
		ipath := append(append([]string(nil), path...), strconv.Itoa(i))
		w.add(m, ip, ipath, false)
		w.walk(m, ip, ipath)
	}
}

// add records a field once per data path; a field described in several branches
// keeps its first description and gains a PII annotation from any branch.
// piiOf reads the x-pii annotation of a field's schema, or of the definition its
// local $ref chain leads to (a shared "#/$defs/email" carries it once for every
// field that uses it). Each schema node is read once, so a malformed annotation on
// a shared definition is reported once.
func (w *fieldWalker) piiOf(schema map[string]any, pointer string) *PII {
	for range 8 {
		p, seen := w.pii[pointer]
		if !seen {
			p = w.ann.pii(schema, pointer)
			w.pii[pointer] = p
		}
		if p != nil {
			return p
		}
		ref, ok := schema["$ref"].(string)
		if !ok {
			return nil
		}
		target, tp, ok := LocalRef(w.root, ref)
		if !ok {
			return nil
		}
		schema, pointer = target, tp
	}
	return nil
}

func (w *fieldWalker) add(schema map[string]any, pointer string, path []string, required bool) {
	f := Field{Pointer: pointer, Path: path, Schema: schema, Required: required}
	f.Description, _ = schema["description"].(string)
	f.Types = Types(schema)
	f.PII = w.piiOf(schema, pointer)
	dp := f.DataPointer()
	if i, ok := w.byPath[dp]; ok {
		if w.fields[i].PII == nil {
			w.fields[i].PII = f.PII
		}
		w.fields[i].Required = w.fields[i].Required || required
		return
	}
	w.byPath[dp] = len(w.fields)
	w.fields = append(w.fields, f)
}
