// Package fastval validates JSON events against a JSON Schema in one pass over
// their bytes, without building a tree, and without allocating for a valid event.
//
// A schema is compiled once into an immutable [Program]; each goroutine validates
// with its own reusable [Result]:
//
//	prog, err := fastval.Compile(doc, fastval.Options{AssertFormat: true, Capture: []string{"/email"}})
//	var unsup *fastval.UnsupportedError
//	if errors.As(err, &unsup) {
//		// validate with santhosh-tekuri/jsonschema instead (see docs/fast-validator.md)
//	}
//	var res fastval.Result
//	if !prog.Validate(event, &res) {
//		for _, f := range res.Failures() { ... }
//	}
//	email := res.Capture(0) // byte spans of /email in event
//
// The verdicts are those of santhosh-tekuri/jsonschema v6 on the document decoded
// with jsonschema.UnmarshalJSON: duplicate keys keep their last value, invalid UTF-8
// in strings reads as U+FFFD, numbers are exact decimals (big.Rat semantics).
package fastval

import (
	"errors"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Draft selects the JSON Schema draft used when a schema has no "$schema".
type Draft int

// The drafts a schema may default to. The zero value is draft 2020-12.
const (
	Draft2020 Draft = iota
	Draft2019
	Draft7
	Draft6
	Draft4
)

func (d Draft) santhosh() *jsonschema.Draft {
	switch d {
	case Draft2019:
		return jsonschema.Draft2019
	case Draft7:
		return jsonschema.Draft7
	case Draft6:
		return jsonschema.Draft6
	case Draft4:
		return jsonschema.Draft4
	default:
		return jsonschema.Draft2020
	}
}

// String names the draft as its metaschema year or number.
func (d Draft) String() string {
	switch d {
	case Draft2019:
		return "2019-09"
	case Draft7:
		return "draft-07"
	case Draft6:
		return "draft-06"
	case Draft4:
		return "draft-04"
	default:
		return "2020-12"
	}
}

// Options configures [Compile].
type Options struct {
	// Draft applies when the schema has no "$schema" keyword.
	Draft Draft
	// AssertFormat makes "format" an assertion in drafts 2019-09 and 2020-12, as
	// santhosh's Compiler.AssertFormat does. Earlier drafts always assert formats
	// (santhosh's behaviour).
	AssertFormat bool
	// Capture lists JSON pointers into the instance whose value byte spans the
	// program records while validating ("*" as a token matches every array item).
	// Result.Capture(i) returns the spans for Capture[i].
	Capture []string
	// BaseURL is the schema's retrieval URL, the base for relative "$id" and
	// "$ref". Empty means https://accord.invalid/contract.json.
	BaseURL string
	// Loader loads the other resources a schema refers to ("$ref" to another
	// URL, a custom "$schema"), e.g. from the contract registry. With no
	// loader such schemas are reported as unsupported.
	Loader jsonschema.URLLoader
}

const defaultBaseURL = "https://accord.invalid/contract.json"

// UnsupportedError says that a schema uses a keyword outside the fast subset.
// The caller validates with santhosh-tekuri/jsonschema instead; the verdicts are
// the same, only slower.
type UnsupportedError struct {
	// Keyword is the schema keyword that is not supported, e.g. "$dynamicRef".
	Keyword string
	// Pointer is the JSON pointer of the schema object that uses it.
	Pointer string
	// Reason says why, in plain words.
	Reason string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("fast validator does not support %s at %q: %s", e.Keyword, e.Pointer, e.Reason)
}

// Program is a compiled schema. It is immutable and safe for concurrent use.
type Program struct {
	root       *node
	dynamic    bool               // $dynamicRef present: evaluation tracks the dynamic scope
	dynAnchors []map[string]*node // per resource: dynamic anchors
	nobj       int                // object schemas, for per-Result key-order hints
	capRoot    *capNode
	ncap       int
	capture    []string
}

// Captures returns the pointers given in Options.Capture, in order.
func (p *Program) Captures() []string { return p.capture }

// Compile compiles a schema document (as decoded by jsonschema.UnmarshalJSON)
// into a Program. It returns an *UnsupportedError (possibly wrapped) when the
// schema needs a keyword outside the fast subset, and other errors for schemas
// that santhosh-tekuri/jsonschema rejects too (invalid against the metaschema,
// bad regex, ...).
func Compile(doc any, opts Options) (*Program, error) {
	sch, ref, err := compileReference(doc, opts)
	if err != nil {
		return nil, err
	}
	unsup, dynamic := findUnsupported(sch, sch.Location, opts.Loader != nil)
	if len(unsup) > 0 {
		return nil, unsup[0]
	}
	ref.dynamic = dynamic
	return build(sch, ref, opts)
}

// refCompiler is the reference compiler's state that build needs.
type refCompiler struct {
	c       *jsonschema.Compiler
	doc     any
	base    string
	dynamic bool
}

// Unsupported lists every reason why a schema takes the slower reference path,
// for `accord lint` to report. It returns nil when the fast path applies, and an
// error only when the schema does not compile at all.
func Unsupported(doc any, opts Options) ([]*UnsupportedError, error) {
	sch, _, err := compileReference(doc, opts)
	if err != nil {
		var u *UnsupportedError
		if errors.As(err, &u) {
			return []*UnsupportedError{u}, nil
		}
		return nil, err
	}
	unsup, _ := findUnsupported(sch, sch.Location, opts.Loader != nil)
	return unsup, nil
}

// compileReference compiles doc with santhosh-tekuri/jsonschema: that checks the
// schema against its metaschema and resolves every keyword exactly as the
// reference validator does; the fast program is built from its result.
func compileReference(doc any, opts Options) (*jsonschema.Schema, *refCompiler, error) {
	base := opts.BaseURL
	if base == "" {
		base = defaultBaseURL
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(opts.Draft.santhosh())
	if opts.AssertFormat {
		c.AssertFormat()
	}
	ld := &refusingLoader{next: opts.Loader}
	c.UseLoader(ld)
	if err := c.AddResource(base, doc); err != nil {
		return nil, nil, fmt.Errorf("adding schema resource: %w", err)
	}
	sch, err := c.Compile(base)
	if err != nil {
		if ld.url != "" && opts.Loader == nil {
			kw := "$ref"
			if m, ok := doc.(map[string]any); ok {
				if s, ok := m["$schema"].(string); ok && strings.HasPrefix(s, ld.url) {
					kw = "$schema"
				}
			}
			return nil, nil, &UnsupportedError{Keyword: kw, Pointer: findRefPointer(doc, kw, ld.url), Reason: "needs remote resource " + ld.url}
		}
		return nil, nil, fmt.Errorf("compiling schema: %w", err)
	}
	return sch, &refCompiler{c: c, doc: doc, base: base}, nil
}

// refusingLoader records the first remote resource a schema needs and, with no
// loader configured, refuses to load it.
type refusingLoader struct {
	url  string
	next jsonschema.URLLoader
}

var errRemote = errors.New("remote resources are not loaded by the fast validator without Options.Loader")

func (l *refusingLoader) Load(url string) (any, error) {
	if l.url == "" {
		l.url = url
	}
	if l.next != nil {
		return l.next.Load(url)
	}
	return nil, errRemote
}

// findRefPointer finds the pointer of the first schema object whose keyword kw
// names url (best effort, for the lint report).
func findRefPointer(doc any, kw, url string) string {
	var walk func(v any, ptr string) (string, bool)
	walk = func(v any, ptr string) (string, bool) {
		switch v := v.(type) {
		case map[string]any:
			if s, ok := v[kw].(string); ok {
				s, _, _ = strings.Cut(s, "#")
				if s != "" && strings.HasSuffix(url, s) {
					return ptr, true
				}
			}
			for k, sub := range v {
				if p, ok := walk(sub, ptr+"/"+escapeToken(k)); ok {
					return p, true
				}
			}
		case []any:
			for i, sub := range v {
				if p, ok := walk(sub, fmt.Sprintf("%s/%d", ptr, i)); ok {
					return p, true
				}
			}
		}
		return "", false
	}
	p, _ := walk(doc, "")
	return p
}

func escapeToken(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	s = strings.ReplaceAll(s, "~", "~0")
	return strings.ReplaceAll(s, "/", "~1")
}

// findUnsupported walks the compiled reference schema and lists the keywords
// that the fast program does not implement.
func findUnsupported(root *jsonschema.Schema, rootLoc string, remoteOK bool) (out []*UnsupportedError, dynamic bool) {
	base, _, _ := strings.Cut(rootLoc, "#")
	remote := false
	var dynPtr string
	seen := map[*jsonschema.Schema]bool{}
	var walk func(s *jsonschema.Schema)
	walk = func(s *jsonschema.Schema) {
		if s == nil || seen[s] {
			return
		}
		seen[s] = true
		ptr := schemaPointer(s.Location)
		add := func(kw, why string) {
			out = append(out, &UnsupportedError{Keyword: kw, Pointer: ptr, Reason: why})
		}
		if s.DynamicRef != nil && !dynamic {
			dynamic, dynPtr = true, ptr
		}
		if s.RecursiveRef != nil {
			add("$recursiveRef", "dynamic scope resolution needs the reference validator")
		}
		if s.ContentEncoding != nil || s.ContentMediaType != nil || s.ContentSchema != nil {
			add("contentMediaType", "content assertion needs the reference validator")
		}
		if len(s.Extensions) > 0 {
			add("$vocabulary", "custom vocabulary extensions need the reference validator")
		}
		for _, sub := range children(s) {
			if u, _, _ := strings.Cut(sub.Location, "#"); u != base {
				remote = true
				if !remoteOK {
					if !seen[sub] {
						seen[sub] = true
						add("$ref", "refers to another resource "+u)
					}
					continue
				}
			}
			walk(sub)
		}
	}
	walk(root)
	if dynamic && remote {
		out = append(out, &UnsupportedError{Keyword: "$dynamicRef", Pointer: dynPtr,
			Reason: "dynamic scopes across documents need the reference validator"})
	}
	return out, dynamic
}

// children lists every subschema a schema applies.
func children(s *jsonschema.Schema) []*jsonschema.Schema {
	var out []*jsonschema.Schema
	add := func(ss ...*jsonschema.Schema) {
		for _, x := range ss {
			if x != nil {
				out = append(out, x)
			}
		}
	}
	add(s.Ref, s.RecursiveRef, s.Not, s.If, s.Then, s.Else, s.PropertyNames, s.Contains, s.Items2020, s.UnevaluatedItems, s.UnevaluatedProperties, s.ContentSchema)
	if s.DynamicRef != nil {
		add(s.DynamicRef.Ref)
	}
	add(s.AllOf...)
	add(s.AnyOf...)
	add(s.OneOf...)
	add(s.PrefixItems...)
	for _, x := range s.Properties {
		add(x)
	}
	for _, x := range s.PatternProperties {
		add(x)
	}
	for _, x := range s.DependentSchemas {
		add(x)
	}
	for _, x := range s.Dependencies {
		if x, ok := x.(*jsonschema.Schema); ok {
			add(x)
		}
	}
	if x, ok := s.AdditionalProperties.(*jsonschema.Schema); ok {
		add(x)
	}
	if x, ok := s.AdditionalItems.(*jsonschema.Schema); ok {
		add(x)
	}
	switch it := s.Items.(type) {
	case *jsonschema.Schema:
		add(it)
	case []*jsonschema.Schema:
		add(it...)
	}
	return out
}

// schemaPointer returns the fragment of a santhosh schema location, which is the
// JSON pointer of the schema inside its document.
func schemaPointer(loc string) string {
	_, frag, _ := strings.Cut(loc, "#")
	return frag
}
