package scrub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/accord-dev/accord/internal/contract"
	"github.com/accord-dev/accord/internal/contract/fastval"
)

// Spans gives the byte spans of a validated entity's values at the JSON pointers
// of Plan.Captures: Capture(i) for Captures()[i], in document order. A
// *fastval.Result implements it when its program was compiled with
// Options.Capture starting with Plan.Captures() (more pointers may follow).
type Spans interface {
	Capture(i int) []fastval.Span
	// RepeatedKeys reports that a key read by a capture repeats: the earlier
	// occurrences are still in the bytes, so the byte path cannot be used.
	RepeatedKeys() bool
}

// ErrUseTree is returned by ScrubBytes when it cannot scrub this entity on its
// bytes (see Plan.Captures for when): the caller decodes the entity and uses
// Append instead, which gives the same stored event. It is not a failure of the
// event and carries no reason.
var ErrUseTree = errors.New("scrub: this entity needs the decoded path")

// bytePlan is what ScrubBytes needs beyond the tree plan: the pointers whose
// spans it reads and the units it rewrites.
type bytePlan struct {
	captures []string
	// units are the topmost plan nodes that have a handling, in the order the
	// tree walk meets them: each captured value is handled whole, as the tree walk
	// handles it (a keep field with personal data inside is decoded, walked and
	// encoded again).
	units []unit
	// controller and subject are the capture indexes of the x-privacy fields, -1
	// for a fixed value (or none).
	controller, subject int
	// why is set when the contract cannot use the byte path at all.
	why string
}

// unit is one data path of the plan that ScrubBytes rewrites.
type unit struct {
	n    *node
	path []string // data path, "*" for every item of an array
	// order ranks each segment as the tree walk does: ordinal of the property
	// edge for names, -1 for "*" (items come first, by index).
	order  []int
	capIdx int
	// stars are the capture indexes of the path's prefixes ending at each "*",
	// to tell which item a span belongs to; starAt their positions in path.
	stars, starAt []int
	children      bool // the unit has personal-data fields below it
}

const (
	// namedRank puts named steps after array items in the ordering key.
	namedRank = 1 << 40
)

// compileBytes prepares the byte path of p (built from c).
func (p *Plan) compileBytes(c *contract.Contract) {
	bp := &bytePlan{controller: -1, subject: -1}
	p.bytes = bp
	index := map[string]int{}
	add := func(ptr string) int {
		if i, ok := index[ptr]; ok {
			return i
		}
		index[ptr] = len(bp.captures)
		bp.captures = append(bp.captures, ptr)
		return index[ptr]
	}
	for _, f := range c.PII() {
		// fastval reads "*" as every array item only; the tree plan also lets it
		// name a property called "*". Such contracts keep the tree path.
		if strings.Contains(f.Pointer+"/", "/properties/*/") {
			bp.why = "a personal-data path goes through a property named \"*\""
			return
		}
	}
	var walk func(n *node, path []string, order []int)
	walk = func(n *node, path []string, order []int) {
		if n.act != nil && len(path) > 0 {
			u := unit{n: n, path: slices.Clone(path), order: slices.Clone(order),
				children: len(n.props) > 0 || n.items != nil || len(n.index) > 0}
			u.capIdx = add(contract.JoinPointer(path...))
			for i, seg := range path {
				if seg == "*" {
					u.stars = append(u.stars, add(contract.JoinPointer(path[:i+1]...)))
					u.starAt = append(u.starAt, i)
				}
			}
			bp.units = append(bp.units, u)
			return
		}
		if n.items != nil {
			walk(n.items, append(path, "*"), append(order, -1))
		}
		for i, e := range n.props {
			if e.name == "*" {
				continue // the items node, walked above
			}
			walk(e.n, append(path, e.name), append(order, i))
		}
	}
	walk(p.root, nil, nil)
	if p.tokenize && p.privacyErr == nil {
		for _, r := range []struct {
			ref privacyRef
			idx *int
		}{{p.controller, &bp.controller}, {p.subject, &bp.subject}} {
			if r.ref.pointer == "" {
				continue
			}
			for _, tok := range r.ref.path {
				// The tree walk reads "01" or "+1" as an array index, fastval does not.
				if i, err := strconv.Atoi(tok); err == nil && strconv.Itoa(i) != tok {
					bp.why = "an x-privacy pointer has a non-canonical array index"
					return
				}
			}
			*r.idx = add(r.ref.pointer)
		}
	}
}

// Captures returns the JSON pointers (relative to the entity's data, "*" for
// every array item) whose spans ScrubBytes reads, and whether the contract can
// use the byte path at all; when not, scrub decoded data with Append. Compile
// the validator's program with these pointers first in Options.Capture. The
// slice is the plan's own: do not modify it.
func (p *Plan) Captures() ([]string, bool) {
	if p.bytes == nil || p.bytes.why != "" {
		return nil, false
	}
	return p.bytes.captures, true
}

// occurrence is one captured value of a unit.
type occurrence struct {
	u      *unit
	span   fastval.Span
	key    []int // ordering key (tree walk order), in the scratch arena
	concat []string
}

// edit replaces data[start:end] with repl; drop removes an object member (key
// start to value end) and one comma next to it.
type edit struct {
	start, end int
	repl       []byte
	drop       bool
}

type byteScratch struct {
	occ   []occurrence
	keys  []int
	segs  []string
	edits []edit
	enc   []byte
}

var scratchPool = sync.Pool{New: func() any { return new(byteScratch) }}

// ScrubBytes is Append on the bytes of a valid entity: it handles every
// personal-data field exactly as Append does, but decodes only the captured
// values (spans, for the pointers of Captures) and splices their stored form
// into a copy of data, so the rest of the entity is never decoded or encoded
// again. The output decodes to what Append leaves in the decoded entity; it is
// data itself when nothing changed. The caller must have validated data against
// the contract (the spans come from that validation).
//
// Applied lists the same entries as Append, in the same order. Errors are those
// of Append, and ErrUseTree when this entity must take the decoded path: the
// contract cannot use the byte path (Captures says so), a captured key repeats
// (the earlier occurrences would stay raw), data is not valid UTF-8 (the
// decoded path stores U+FFFD; the bytes would carry the invalid sequences to
// every sink), or two handled values overlap (a tuple position and "*" naming
// the same item, which the tree walk handles twice, one after the other).
func (p *Plan) ScrubBytes(ctx context.Context, dst []Applied, entity string, data []byte, spans Spans) ([]byte, []Applied, error) {
	return p.ScrubBytesTo(ctx, nil, dst, entity, data, spans)
}

// ScrubBytesTo is ScrubBytes writing the stored entity, when something changed,
// at the end of out (grown as needed) instead of into a new slice, so that a
// caller scrubbing many entities can reuse one buffer. It returns data itself
// when nothing changed.
func (p *Plan) ScrubBytesTo(ctx context.Context, out []byte, dst []Applied, entity string, data []byte, spans Spans) ([]byte, []Applied, error) {
	if !p.hasPII {
		return data, dst, nil
	}
	bp := p.bytes
	if bp == nil || bp.why != "" || spans.RepeatedKeys() || !utf8.Valid(data) {
		return nil, dst, ErrUseTree
	}
	sc := scratchPool.Get().(*byteScratch)
	defer func() {
		clear(sc.occ)
		clear(sc.segs)
		clear(sc.edits)
		sc.occ, sc.keys, sc.segs, sc.edits = sc.occ[:0], sc.keys[:0], sc.segs[:0], sc.edits[:0]
		sc.enc = sc.enc[:0]
		scratchPool.Put(sc)
	}()
	if dst == nil {
		dst = make([]Applied, 0, p.fields)
	}
	w := walker{p: p, ctx: ctx, entity: entity, out: dst}
	if p.tokenize {
		w.resolvePrivacyBytes(data, spans)
	}
	if !sc.collect(bp, data, spans) {
		return nil, dst, ErrUseTree
	}
	for i := range sc.occ {
		o := &sc.occ[i]
		if a := o.u.n.act; a != nil && !w.redact && a.handling == contract.HandlingObfuscate && cachedKind(a.kind) && data[o.span.Start] == '"' {
			if e, ok := sc.cachedJSON(p.s, a.kind, o.span.Start, o.span.End, data[o.span.Start:o.span.End]); ok {
				w.stack = append(w.stack[:0], o.concat...)
				w.record(a)
				sc.edits = append(sc.edits, e)
				continue
			}
		}
		v, err := decodeValue(data[o.span.Start:o.span.End])
		if err != nil {
			// Cannot happen for validated data; refuse the byte path rather than guess.
			return nil, dst, ErrUseTree
		}
		w.stack = append(w.stack[:0], o.concat...)
		before := len(w.out)
		nv, changed, del := w.field(o.u.n, v)
		if w.err != nil {
			return nil, dst, w.err
		}
		switch {
		case del:
			if keyStart, ok := memberKeyStart(data, o.span.Start); ok {
				sc.edits = append(sc.edits, edit{start: keyStart, end: o.span.End, drop: true})
			} else {
				sc.edits = append(sc.edits, edit{start: o.span.Start, end: o.span.End, repl: nullJSON})
			}
		case changed, o.u.children && len(w.out)-before > 1:
			if !changed {
				nv = v // a keep field whose nested personal data was handled in v
			}
			e, err := sc.encode(o.span, nv)
			if err != nil {
				// Only values no decoder produces fail; the decoded path reports it.
				return nil, dst, ErrUseTree
			}
			sc.edits = append(sc.edits, e)
		}
	}
	if len(sc.edits) == 0 {
		return data, w.out, nil
	}
	slices.SortFunc(sc.edits, func(a, b edit) int { return a.start - b.start })
	return splice(out, data, sc.edits), w.out, nil
}

var nullJSON = []byte("null")

// encode returns the edit replacing span with the JSON of v. Its bytes live in
// sc.enc: a later append may move sc.enc, but never rewrites bytes already
// written, so the edit's slice stays valid.
func (sc *byteScratch) encode(span fastval.Span, v any) (edit, error) {
	start := len(sc.enc)
	var err error
	if sc.enc, err = appendJSON(sc.enc, v); err != nil {
		return edit{}, err
	}
	return edit{start: span.Start, end: span.End, repl: sc.enc[start:len(sc.enc):len(sc.enc)]}, nil
}

// appendJSON appends the JSON encoding of v as json.Marshal writes it (object
// keys sorted, HTML characters escaped), without reflection for the values the
// scrubber produces: strings, json.Number, bools, nil, maps and slices of them.
func appendJSON(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case string:
		return appendString(dst, x)
	case json.Number:
		if x == "" || !json.Valid([]byte(x)) {
			return appendMarshal(dst, v)
		}
		return append(dst, x...), nil
	case map[string]any:
		var buf [16]string
		keys := buf[:0]
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		var err error
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = appendString(dst, k); err != nil {
				return dst, err
			}
			dst = append(dst, ':')
			if dst, err = appendJSON(dst, x[k]); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	case []any:
		dst = append(dst, '[')
		var err error
		for i, item := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = appendJSON(dst, item); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	}
	return appendMarshal(dst, v)
}

// appendString writes plain ASCII strings itself and leaves anything that needs
// escaping to encoding/json, so the text is exactly json.Marshal's.
func appendString(dst []byte, s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return appendMarshal(dst, s)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"'), nil
}

func appendMarshal(dst []byte, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

// collect lists the captured values of every unit in the order the tree walk
// handles them, with their concrete paths. It reports false when two of them
// overlap.
func (sc *byteScratch) collect(bp *bytePlan, data []byte, spans Spans) bool {
	for ui := range bp.units {
		u := &bp.units[ui]
		for _, s := range spans.Capture(u.capIdx) {
			o := occurrence{u: u, span: s}
			star := 0
			var parent fastval.Span
			for i, seg := range u.path {
				if u.order[i] >= 0 {
					sc.keys = append(sc.keys, namedRank+u.order[i])
					sc.segs = append(sc.segs, seg)
					continue
				}
				items := spans.Capture(u.stars[star])
				pos, _ := slices.BinarySearchFunc(items, s.Start+1, func(it fastval.Span, start int) int { return it.Start - start })
				pos-- // the last item starting at or before s
				if pos < 0 || items[pos].End < s.End {
					return false // cannot happen: every captured value lies in an item
				}
				first := 0
				if star > 0 {
					first, _ = slices.BinarySearchFunc(items, parent.Start, func(it fastval.Span, start int) int { return it.Start - start })
				}
				idx := pos - first
				sc.keys = append(sc.keys, idx)
				sc.segs = append(sc.segs, strconv.Itoa(idx))
				parent = items[pos]
				star++
			}
			sc.occ = append(sc.occ, o)
		}
	}
	// The arenas are complete now: point each occurrence at its key and path.
	ks, ss := 0, 0
	for i := range sc.occ {
		o := &sc.occ[i]
		n := len(o.u.path)
		o.key, o.concat = sc.keys[ks:ks+n:ks+n], sc.segs[ss:ss+n:ss+n]
		ks, ss = ks+n, ss+n
	}
	if len(sc.occ) > 1 {
		slices.SortFunc(sc.occ, func(a, b occurrence) int { return a.span.Start - b.span.Start })
		for i := 1; i < len(sc.occ); i++ {
			if sc.occ[i].span.Start < sc.occ[i-1].span.End {
				return false
			}
		}
		slices.SortStableFunc(sc.occ, func(a, b occurrence) int { return slices.Compare(a.key, b.key) })
	}
	return true
}

// resolvePrivacyBytes reads the controller and subject from their spans, as
// resolvePrivacy reads them from the decoded event.
func (w *walker) resolvePrivacyBytes(data []byte, spans Spans) {
	if w.p.privacyErr != nil {
		w.privacyErr = w.p.privacyErr
		return
	}
	var ok bool
	if w.controller, ok = w.p.controller.resolveBytes(data, spans, w.p.bytes.controller); !ok {
		w.privacyErr = w.p.controller.missing(w.p.uri)
		return
	}
	if w.subject, ok = w.p.subject.resolveBytes(data, spans, w.p.bytes.subject); !ok {
		w.privacyErr = w.p.subject.missing(w.p.uri)
	}
}

func (r privacyRef) resolveBytes(data []byte, spans Spans, capIdx int) (string, bool) {
	if capIdx < 0 {
		return r.value, r.value != ""
	}
	ss := spans.Capture(capIdx)
	if len(ss) == 0 {
		return "", false
	}
	b := data[ss[0].Start:ss[0].End]
	switch {
	case len(b) > 0 && b[0] == '"':
		v, err := decodeValue(b)
		if err != nil {
			return "", false
		}
		s := v.(string)
		return s, s != ""
	case len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')):
		return string(b), true
	}
	return "", false
}

// decodeValue decodes one JSON value as contract.DecodeJSON does (json.Number
// numbers), without a decoder for scalars.
func decodeValue(b []byte) (any, error) {
	if len(b) == 0 {
		return nil, errors.New("empty value")
	}
	switch c := b[0]; {
	case c == '"':
		body := b[1 : len(b)-1]
		if bytes.IndexByte(body, '\\') < 0 && utf8.Valid(body) {
			return string(body), nil
		}
		var s string
		err := json.Unmarshal(b, &s)
		return s, err
	case c == 'n':
		return nil, nil
	case c == 't':
		return true, nil
	case c == 'f':
		return false, nil
	case c == '-' || (c >= '0' && c <= '9'):
		return json.Number(b), nil
	}
	return contract.DecodeJSON(b)
}

// memberKeyStart returns the offset of the key of the object member whose value
// starts at valStart, or false when the value is an array item (or the whole
// entity). data is valid JSON.
func memberKeyStart(data []byte, valStart int) (int, bool) {
	i := valStart - 1
	for i >= 0 && isSpace(data[i]) {
		i--
	}
	if i < 0 || data[i] != ':' {
		return 0, false
	}
	i--
	for i >= 0 && isSpace(data[i]) {
		i--
	}
	// data[i] is the key's closing quote; the opening one is the first quote
	// before it that an even number of backslashes precedes.
	for j := i - 1; j >= 0; j-- {
		if data[j] != '"' {
			continue
		}
		n := 0
		for k := j - 1; k >= 0 && data[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return j, true
		}
	}
	return 0, false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// splice copies data with the edits (sorted, disjoint) applied. A dropped
// member takes one comma with it: the one before it when the output so far ends
// with one, else the one after it (it was the first member left in its object).
func splice(dst, data []byte, edits []edit) []byte {
	n := len(data)
	for _, e := range edits {
		n += len(e.repl) - (e.end - e.start)
	}
	start := len(dst)
	out := slices.Grow(dst, max(n, 0)+8)
	pos := 0
	for _, e := range edits {
		out = append(out, data[pos:e.start]...)
		pos = e.end
		if !e.drop {
			out = append(out, e.repl...)
			continue
		}
		j := len(out) - 1
		for j >= start && isSpace(out[j]) {
			j--
		}
		if j >= start && out[j] == ',' {
			out = out[:j]
			continue
		}
		// First member left in its object: remove the comma after it, if any.
		k := pos
		for k < len(data) && isSpace(data[k]) {
			k++
		}
		if k < len(data) && data[k] == ',' {
			pos = k + 1
		}
	}
	return append(out, data[pos:]...)[start:]
}
