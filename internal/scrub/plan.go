package scrub

import (
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"github.com/accord-dev/accord/internal/contract"
	"github.com/accord-dev/accord/internal/event"
)

// Applied records that one field was handled as its contract says; it is the
// envelope's record of it.
type Applied = event.Applied

// Plan is the compiled scrub of one contract version: a tree of the data paths
// that hold personal data, each with its handling. It is immutable and safe for
// concurrent use.
type Plan struct {
	s        *Scrubber
	uri      string
	root     *node
	fields   int // PII fields outside arrays: the usual length of the summary
	tokenize bool
	// privacyErr is why tokenized fields of this contract can never be tokenized
	// (no x-privacy); nil otherwise.
	privacyErr           *Error
	controller, subject  privacyRef
	hasPII, hasRedaction bool
	// bytes is the byte path (ScrubBytes).
	bytes *bytePlan
}

// privacyRef is a compiled x-privacy reference: a fixed value or a path into
// the event data.
type privacyRef struct {
	role    string // "data controller" or "data subject"
	value   string
	pointer string
	path    []string
}

// node is one data path of the plan. props apply to objects, items to every item
// of an array and index to tuple positions. act, when set, is the field's own
// handling.
type node struct {
	props []edge
	items *node
	index []edge
	act   *action
	// needsPath is set when a field at or below the node lies inside an array:
	// the walk must then track the concrete path to name it. Every other pointer
	// is known when the plan is compiled.
	needsPath bool
}

// markPaths sets needsPath on n and below, and returns n.needsPath.
func markPaths(n *node) bool {
	d := n.act != nil && n.act.pointer == ""
	for _, e := range n.props {
		d = markPaths(e.n) || d
	}
	for _, e := range n.index {
		d = markPaths(e.n) || d
	}
	if n.items != nil {
		d = markPaths(n.items) || d
	}
	n.needsPath = d
	return d
}

type edge struct {
	name string
	idx  int
	n    *node
}

// action is the handling of one field.
type action struct {
	kind     contract.Kind
	handling contract.Handling
	kindIdx  int
	pointer  string // the concrete pointer when no array lies above, else ""
	redacted any    // "<redacted:kind>", boxed once
	// redactedJSON is redacted as json.Marshal writes it.
	redactedJSON []byte
	schemaPtr    string
}

// compile builds the plan of c.
func (s *Scrubber) compile(c *contract.Contract) (*Plan, error) {
	p := &Plan{s: s, uri: c.Key.URI(), root: &node{}}
	if ptr, ok := recursivePII(c.Doc); ok {
		return nil, &Error{Contract: p.uri, Reason: ReasonPlanInvalid, Pointer: ptr,
			Message: "a personal-data field is reachable from a recursive definition, which the scrubber cannot follow to every depth; make the definition non-recursive or move the field out of it"}
	}
	for _, f := range c.PII() {
		n, static := p.root, true
		for _, seg := range f.Path {
			if seg == "*" {
				static = false
				if n.items == nil {
					n.items = &node{}
				}
				// A property literally named "*" shares the node.
				n.props = addEdge(n.props, seg, -1, n.items)
				n = n.items
				continue
			}
			child := findEdge(n.props, seg)
			if child == nil {
				child = &node{}
				n.props = addEdge(n.props, seg, -1, child)
			}
			if i, err := strconv.Atoi(seg); err == nil && i >= 0 && strconv.Itoa(i) == seg {
				// A tuple position (prefixItems, draft-04 items arrays) looks like a
				// property named with digits; the data's type decides at run time.
				if findEdge(n.index, seg) == nil {
					n.index = addEdge(n.index, seg, i, child)
				}
			}
			n = child
		}
		a := &action{kind: f.PII.Kind, handling: f.PII.Handling, kindIdx: kindIndex(f.PII.Kind),
			redacted: "<redacted:" + string(f.PII.Kind) + ">", schemaPtr: f.Pointer}
		a.redactedJSON, _ = json.Marshal(a.redacted)
		if static {
			a.pointer = f.DataPointer()
			p.fields++
		}
		n.act = a
		p.hasPII = true
		if a.handling != contract.HandlingKeep {
			p.hasRedaction = true
		}
		if a.handling == contract.HandlingTokenize {
			p.tokenize = true
		}
	}
	markPaths(p.root)
	// The privacy context is read for tokenized fields, and for sealing a bad
	// row's personal data (Seal) whenever the contract names it.
	if c.Privacy != nil && !c.Privacy.Controller.IsZero() && !c.Privacy.Subject.IsZero() {
		p.controller = compileRef("data controller", c.Privacy.Controller)
		p.subject = compileRef("data subject", c.Privacy.Subject)
	} else if p.tokenize {
		p.privacyErr = &Error{Contract: p.uri, Reason: ReasonPrivacyContextMissing, Pointer: "/x-privacy",
			Message: "the contract tokenizes fields but its x-privacy does not name the data controller and the data subject"}
	}
	p.compileBytes(c)
	return p, nil
}

func compileRef(role string, r contract.Ref) privacyRef {
	if r.Field == "" {
		return privacyRef{role: role, value: r.Value}
	}
	return privacyRef{role: role, pointer: r.Field, path: contract.SplitPointer(r.Field)}
}

func findEdge(es []edge, name string) *node {
	for _, e := range es {
		if e.name == name {
			return e.n
		}
	}
	return nil
}

func addEdge(es []edge, name string, idx int, n *node) []edge {
	if findEdge(es, name) != nil {
		return es
	}
	return append(es, edge{name: name, idx: idx, n: n})
}

// Scrub handles every personal-data field of data (the decoded event or context
// entity: JSON values as contract.DecodeJSON produces them) in place, and returns
// what it applied. The data controller and subject are read before any field is
// rewritten, so a subject that is itself tokenized (/email) is read raw.
//
// On error the data is partly scrubbed and must not be stored: a *Error says why.
// privacy_context_missing: dead-letter the event (redact it with Redact first);
// tokenize_failed: answer the producer with a retryable error.
func (p *Plan) Scrub(ctx context.Context, data any) ([]Applied, error) {
	return p.Append(ctx, nil, "", data)
}

// Append is Scrub appending to dst, with Entity set to entity on each Applied:
// the collector scrubs an event and its contexts into one summary.
func (p *Plan) Append(ctx context.Context, dst []Applied, entity string, data any) ([]Applied, error) {
	if !p.hasPII {
		return dst, nil
	}
	if dst == nil {
		dst = make([]Applied, 0, p.fields)
	}
	w := walker{p: p, ctx: ctx, entity: entity, out: dst}
	if p.tokenize {
		w.resolvePrivacy(data)
	}
	w.visit(p.root, data)
	if w.err != nil {
		return dst, w.err
	}
	return w.out, nil
}

// Redact replaces in place every personal-data field of data whose handling is
// not keep with "<redacted:kind>", and returns the redacted pointers. It is for
// events that go to a bad row, which may not match their contract at all: any
// value at a personal-data path is replaced, whatever its type; null stays null.
// It needs no tokenizer and never fails.
func (p *Plan) Redact(data any) []string {
	if !p.hasRedaction {
		return nil
	}
	w := walker{p: p, redact: true}
	w.visit(p.root, data)
	return pointersOf(w.out)
}

// Seal is Redact keeping the values: every personal-data field of data whose
// handling is not keep is replaced, in place, by its value sealed under the
// event's data subject (Sealer.Seal on the field's JSON text), so that a bad
// row's event can be replayed once it is fixed, and the value still dies with
// the subject's key or with the bad row. It returns the sealed pointers. When
// the values cannot be sealed (no sealer, the contract or the event names no
// data controller or subject, the sealer fails) it redacts instead, as Redact
// does, and returns the redacted pointers. It never fails.
func (p *Plan) Seal(ctx context.Context, data any) (sealed, redacted []string) {
	if !p.hasRedaction {
		return nil, nil
	}
	if p.s.sealer != nil {
		collect := walker{p: p, redact: true, collect: true}
		collect.resolvePrivacy(data)
		if collect.privacyErr == nil && collect.controller != "" && collect.subject != "" {
			collect.visit(p.root, data)
			if collect.err == nil && len(collect.values) > 0 {
				out, err := p.s.sealer.Seal(ctx, collect.controller, collect.subject, collect.values)
				if err == nil && len(out) == len(collect.values) {
					w := walker{p: p, redact: true, replace: out}
					w.visit(p.root, data)
					return pointersOf(w.out), nil
				}
				p.s.stats.sealFailed.Add(1)
			}
		}
	}
	return nil, p.Redact(data)
}

func pointersOf(applied []Applied) []string {
	ptrs := make([]string, len(applied))
	for i, a := range applied {
		ptrs[i] = a.Pointer
	}
	return ptrs
}

// walker applies a plan to one event.
type walker struct {
	p                   *Plan
	ctx                 context.Context
	entity              string
	redact              bool
	collect             bool     // with redact: append each value's JSON to values, change nothing
	values              []string // collected
	replace             []string // with redact: the replacements, in visiting order
	out                 []Applied
	stack               []string
	controller, subject string
	privacyErr          *Error
	err                 error
}

// resolvePrivacy reads the controller and subject from the original event. A
// missing one is an error only if a field is actually tokenized.
func (w *walker) resolvePrivacy(data any) {
	if w.p.privacyErr != nil {
		w.privacyErr = w.p.privacyErr
		return
	}
	var ok bool
	if w.controller, ok = w.p.controller.resolve(data); !ok {
		w.privacyErr = w.p.controller.missing(w.p.uri)
		return
	}
	if w.subject, ok = w.p.subject.resolve(data); !ok {
		w.privacyErr = w.p.subject.missing(w.p.uri)
	}
}

func (r privacyRef) resolve(data any) (string, bool) {
	if r.path == nil && r.pointer == "" {
		return r.value, r.value != ""
	}
	switch s := contract.AtPath(data, r.path).(type) {
	case string:
		return s, s != ""
	case json.Number:
		return string(s), true
	}
	return "", false
}

func (r privacyRef) missing(uri string) *Error {
	return &Error{Contract: uri, Reason: ReasonPrivacyContextMissing, Pointer: r.pointer,
		Message: "the event has no " + r.role + " (x-privacy names this field; it must be a non-empty string or number) to tokenize its personal data under"}
}

func (w *walker) visit(n *node, v any) {
	switch x := v.(type) {
	case map[string]any:
		for i := range n.props {
			e := &n.props[i]
			cv, ok := x[e.name]
			if !ok {
				continue
			}
			if e.n.needsPath {
				w.stack = append(w.stack, e.name)
			}
			nv, changed, del := w.field(e.n, cv)
			switch {
			case del:
				delete(x, e.name)
			case changed:
				x[e.name] = nv
			}
			if e.n.needsPath {
				w.stack = w.stack[:len(w.stack)-1]
			}
			if w.err != nil {
				return
			}
		}
	case []any:
		if n.items != nil {
			for i := range x {
				w.stack = append(w.stack, strconv.Itoa(i))
				nv, changed, del := w.field(n.items, x[i])
				switch {
				case del:
					x[i] = nil
				case changed:
					x[i] = nv
				}
				w.stack = w.stack[:len(w.stack)-1]
				if w.err != nil {
					return
				}
			}
		}
		for _, e := range n.index {
			if e.idx >= len(x) {
				continue
			}
			w.stack = append(w.stack, e.name)
			nv, changed, del := w.field(e.n, x[e.idx])
			switch {
			case del:
				x[e.idx] = nil // a dropped tuple item is stored as null
			case changed:
				x[e.idx] = nv
			}
			w.stack = w.stack[:len(w.stack)-1]
			if w.err != nil {
				return
			}
		}
	}
}

// field handles the value v at node n and returns its replacement.
func (w *walker) field(n *node, v any) (nv any, changed, del bool) {
	a := n.act
	if a == nil || a.handling == contract.HandlingKeep {
		if a != nil && !w.redact && v != nil {
			w.record(a)
		}
		w.visit(n, v)
		return v, false, false
	}
	// The field's own handling replaces it whole: personal data nested inside
	// goes with it.
	if w.redact {
		if v == nil {
			return v, false, false
		}
		w.record(a)
		switch {
		case w.collect:
			js, err := json.Marshal(v)
			if err != nil {
				w.err = err
			}
			w.values = append(w.values, string(js))
			return v, false, false
		case w.replace != nil:
			nv := w.replace[0]
			w.replace = w.replace[1:]
			return nv, true, false
		}
		return a.redacted, true, false
	}
	if a.handling == contract.HandlingDrop {
		w.record(a)
		return nil, true, true
	}
	if v == nil {
		return v, false, false // a nullable field stays null
	}
	w.record(a)
	s := w.p.s
	switch a.handling {
	case contract.HandlingHash:
		return s.hmacHex(valueString(v)), true, false
	case contract.HandlingTokenize:
		return w.tokenize(a, v)
	}
	return s.obfuscate(a, v)
}

func (w *walker) record(a *action) {
	ptr := a.pointer
	if ptr == "" {
		ptr = contract.JoinPointer(w.stack...)
	}
	w.out = append(w.out, Applied{Pointer: ptr, Entity: w.entity, Kind: string(a.kind), Handling: string(a.handling)})
}

func (w *walker) tokenize(a *action, v any) (any, bool, bool) {
	if w.privacyErr != nil {
		w.err = w.privacyErr
		return v, false, false
	}
	if w.p.s.tok == nil {
		w.err = &Error{Contract: w.p.uri, Reason: ReasonTokenizeFailed, Pointer: w.out[len(w.out)-1].Pointer,
			Message: "no tokenizer (vault) is configured"}
		return v, false, false
	}
	t, err := w.p.s.tok.Tokenize(w.ctx, w.controller, w.subject, valueString(v))
	if err != nil {
		w.err = &Error{Contract: w.p.uri, Reason: ReasonTokenizeFailed, Pointer: w.out[len(w.out)-1].Pointer,
			Message: "tokenizing the field", Err: err}
		return v, false, false
	}
	return t, true, false
}

// obfuscate generalises v by its kind. Values that cannot be generalised become
// Invalid (or, for coordinates, which must stay numbers, are removed) and are
// counted; the raw value is never kept.
func (s *Scrubber) obfuscate(a *action, v any) (any, bool, bool) {
	switch a.kind {
	case contract.KindIP:
		return s.obfuscateIP(v), true, false
	case contract.KindUserAgent:
		if str, ok := v.(string); ok {
			return s.ua.fields(str), true, false
		}
		s.stats.invalid(a.kindIdx)
		return map[string]any{"is_bot": false}, true, false
	case contract.KindGeo:
		if n, ok := cutCoordinate(v); ok {
			return n, true, false
		}
		s.stats.invalid(a.kindIdx)
		return nil, true, true
	}
	str, ok := scalarString(v)
	var out string
	if ok {
		switch a.kind {
		case contract.KindEmail:
			out, ok = emailDomain(str)
		case contract.KindPhone:
			out, ok = phoneCallingCode(str)
		case contract.KindPostalCode:
			out, ok = postalPrefix(str)
		case contract.KindDateOfBirth:
			out, ok = birthYear(str)
		case contract.KindURL:
			out, ok = urlGeneralise(str)
		default:
			// Kinds without a generalisation are refused when the contract loads.
			ok = false
		}
	}
	if !ok {
		s.stats.invalid(a.kindIdx)
		return Invalid, true, false
	}
	return out, true, false
}

// scalarString returns a string or a number as text.
func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return string(x), true
	}
	return "", false
}

// valueString is the text a value is hashed or tokenized as: a string itself, any
// other value its JSON encoding (keys sorted), so that equal values give equal
// hashes whatever their type.
func valueString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return string(x)
	case bool:
		return strconv.FormatBool(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		// Only values no JSON decoder produces (NaN, channels) fail; hash their
		// type rather than anything of their content.
		return "\x00unencodable"
	}
	return string(b)
}

// recursivePII reports a local $ref cycle from which a personal-data annotation
// can be reached, and the schema pointer of a definition on it. The contract's
// field list names each recursive field once, not once per depth, so a plan built
// from it would leave the deeper copies raw; such contracts are refused instead.
func recursivePII(doc map[string]any) (string, bool) {
	type ref struct{ at, target string }
	var refs []ref
	var walk func(v any, ptr string)
	walk = func(v any, ptr string) {
		switch n := v.(type) {
		case map[string]any:
			if r, ok := n["$ref"].(string); ok {
				if frag, ok := strings.CutPrefix(r, "#"); ok && (frag == "" || strings.HasPrefix(frag, "/")) {
					refs = append(refs, ref{at: ptr, target: strings.TrimSuffix(frag, "/")})
				}
			}
			for k, sub := range n {
				walk(sub, ptr+"/"+contract.JoinPointer(k)[1:])
			}
		case []any:
			for i, sub := range n {
				walk(sub, ptr+"/"+strconv.Itoa(i))
			}
		}
	}
	walk(doc, "")
	if len(refs) == 0 {
		return "", false
	}
	// Nodes are ref targets; u -> t when a $ref to t sits inside u.
	targets := map[string]bool{}
	for _, r := range refs {
		targets[r.target] = true
	}
	edges := map[string][]string{}
	for _, r := range refs {
		for u := range targets {
			if u == "" || r.at == u || strings.HasPrefix(r.at, u+"/") {
				edges[u] = append(edges[u], r.target)
			}
		}
	}
	reach := func(from string) map[string]bool {
		seen := map[string]bool{}
		stack := append([]string(nil), edges[from]...)
		for len(stack) > 0 {
			t := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if !seen[t] {
				seen[t] = true
				stack = append(stack, edges[t]...)
			}
		}
		return seen
	}
	names := make([]string, 0, len(targets))
	for t := range targets {
		names = append(names, t)
	}
	sort.Strings(names)
	for _, u := range names {
		r := reach(u)
		if !r[u] {
			continue // not on a cycle
		}
		r[u] = true
		for t := range r {
			if hasPII(contract.At(doc, t)) {
				return u, true
			}
		}
	}
	return "", false
}

func hasPII(v any) bool {
	switch n := v.(type) {
	case map[string]any:
		if _, ok := n["x-pii"]; ok {
			return true
		}
		for _, sub := range n {
			if hasPII(sub) {
				return true
			}
		}
	case []any:
		for _, sub := range n {
			if hasPII(sub) {
				return true
			}
		}
	}
	return false
}
