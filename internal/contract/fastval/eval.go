package fastval

import (
	"unicode/utf8"
)

// pathTok is one step of an instance location: an object key (the span of its
// JSON string literal) or an array index.
type pathTok struct {
	start, end int // key literal span; start < 0 for an index
	idx        int
}

type span struct{ start, end int }

type member struct {
	kStart, kEnd int // key literal span
	keyOff       int // decoded key in v.keyBuf
	keyLen       int
	vStart       int
	shadowed     bool
}

// vm is the per-call state of a validation. It lives inside Result so that its
// buffers are reused and a valid event does not allocate.
type vm struct {
	prog    *Program
	data    []byte
	start   int  // where the validated value starts
	end     int  // where it ends, after run
	whole   bool // the value must be the whole document
	collect bool // record failures (second pass over an invalid event)
	dedup   bool // objects are pre-scanned for duplicate keys (last one wins)
	dup     bool // a duplicate key was seen while not in dedup mode
	spaced  bool // whitespace was skipped between tokens
	bad     bool // syntax error
	badPos  int
	badMsg  string
	depth   int

	path    []pathTok
	buf     []byte // arena for decoded strings
	keyBuf  []byte // decoded keys that must live until their object ends
	keys    []span // undeclared keys of open objects, offsets into keyBuf
	bits    []uint64
	spans   []span
	members []member
	refs    []refEntry // $ref targets being evaluated, for cycle detection
	anns    []annot    // stack of annotation sets (evaluated properties/items)
	hints   []objHint  // key-order memory per object schema, kept across calls
	scope   []int32    // dynamic scope: resources entered, outermost first
	annNext int        // annotation sink for the next eval call: handle+1, 0 for none
	fails   []failRec
	fpath   []pathTok
	caps    [][]Span
}

func (v *vm) reset(p *Program, data []byte) {
	v.prog = p
	v.data = data
	v.collect = false
	v.dup = false
	v.spaced = false
	v.bad = false
	v.badMsg = ""
	v.depth = 0
	v.path = v.path[:0]
	v.buf = v.buf[:0]
	v.keyBuf = v.keyBuf[:0]
	v.keys = v.keys[:0]
	v.bits = v.bits[:0]
	v.spans = v.spans[:0]
	v.members = v.members[:0]
	v.fails = v.fails[:0]
	v.refs = v.refs[:0]
	v.anns = v.anns[:0]
	v.annNext = 0
	v.scope = v.scope[:0]
	v.fpath = v.fpath[:0]
	if len(v.hints) < p.nobj {
		v.hints = append(v.hints, make([]objHint, p.nobj-len(v.hints))...)
	}
	if cap(v.caps) < p.ncap {
		v.caps = make([][]Span, p.ncap)
	}
	v.caps = v.caps[:p.ncap]
	for i := range v.caps {
		v.caps[i] = v.caps[i][:0]
	}
}

// run validates the value at v.start once in the current mode; with v.whole the
// value must be the whole document.
func (v *vm) run() bool {
	p := v.ws(v.start)
	if p >= len(v.data) {
		v.syntax(p, "unexpected end of JSON input")
		return false
	}
	ct := v.prog.capRoot
	end, ok := v.eval(v.prog.root, p, ct)
	if v.bad {
		return false
	}
	if ct != nil && len(ct.slots) > 0 {
		v.record(ct, Span{Start: p, End: end})
	}
	v.end = end
	if !v.whole {
		return ok
	}
	end = v.ws(end)
	if end != len(v.data) {
		v.syntax(end, "invalid character after top-level value")
		return false
	}
	return ok
}

func (v *vm) pushKey(kStart, kEnd int) {
	v.path = append(v.path, pathTok{start: kStart, end: kEnd})
}

func (v *vm) pushIdx(i int) {
	v.path = append(v.path, pathTok{start: -1, idx: i})
}

func (v *vm) pop() { v.path = v.path[:len(v.path)-1] }

// fail records a failure in collect mode.
func (v *vm) fail(n *node, kw uint8, start, end int, arg int) {
	if !v.collect {
		return
	}
	p0 := len(v.fpath)
	v.fpath = append(v.fpath, v.path...)
	v.fails = append(v.fails, failRec{n: n, kw: kw, start: start, end: end, p0: p0, p1: len(v.fpath), arg: arg})
}

type refEntry struct {
	n *node
	p int
}

// evalCyclic evaluates a node that lies on an in-place cycle (through $ref).
// Entering it again for the same value (same start offset) is a reference
// cycle, which the reference reports as a failure of that value.
func (v *vm) evalCyclic(n *node, p int, ct *capNode, ann int) (int, bool) {
	for i := len(v.refs) - 1; i >= 0 && v.refs[i].p == p; i-- {
		if v.refs[i].n == n {
			end := v.skip(p, ct)
			if !v.bad {
				v.fail(n, kwRefCycle, p, end, 0)
			}
			return end, false
		}
	}
	v.refs = append(v.refs, refEntry{n, p})
	end, ok := v.evalNode(n, p, ct, ann)
	v.refs = v.refs[:len(v.refs)-1]
	return end, ok
}

// evalBool evaluates a subschema for its verdict only.
func (v *vm) evalBool(n *node, p int) (int, bool) {
	c := v.collect
	v.collect = false
	end, ok := v.eval(n, p, nil)
	v.collect = c
	return end, ok
}

// eval validates the value at p (past whitespace) against n and returns the
// position after the value. ct, when not nil, is the capture trie for the
// value's children.
func (v *vm) eval(n *node, p int, ct *capNode) (int, bool) {
	ann := v.annNext - 1
	v.annNext = 0
	if v.prog.dynamic {
		return v.evalScoped(n, p, ct, ann)
	}
	if n.cyclic {
		return v.evalCyclic(n, p, ct, ann)
	}
	return v.evalNode(n, p, ct, ann)
}

// evalAnn is eval that adds the properties or items the subschema evaluates
// to the annotation set ann (a handle from annPush).
func (v *vm) evalAnn(n *node, p int, ct *capNode, ann int) (int, bool) {
	v.annNext = ann + 1
	return v.eval(n, p, ct)
}

// evalBoolAnn is evalBool with annotations.
func (v *vm) evalBoolAnn(n *node, p int, ann int) (int, bool) {
	c := v.collect
	v.collect = false
	end, ok := v.evalAnn(n, p, nil, ann)
	v.collect = c
	return end, ok
}

func (v *vm) evalNode(n *node, p int, ct *capNode, ann int) (int, bool) {
	switch n.boolean {
	case boolTrue:
		return v.skip(p, ct), true
	case boolFalse:
		end := v.skip(p, ct)
		if v.bad {
			return end, false
		}
		v.fail(n, kwFalse, p, end, 0)
		return end, false
	}
	d := v.data
	if p >= len(d) {
		v.syntax(p, "unexpected end of JSON input")
		return p, false
	}
	switch c := d[p]; c {
	case '"':
		return v.evalString(n, p)
	case '{', '[':
		return v.evalComposite(n, p, ct, ann)
	case 't', 'f', 'n':
		return v.evalLiteral(n, p)
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return v.evalNumber(n, p)
		}
		v.syntaxAt(p, "looking for beginning of value")
		return p, false
	}
}

func (v *vm) evalString(n *node, p int) (int, bool) {
	end, fl := v.scanString(p)
	if v.bad {
		return end, false
	}
	if n.types != 0 && n.types&tString == 0 {
		v.fail(n, kwType, p, end, 0)
		return end, false
	}
	mark := len(v.buf)
	ok, r := v.stringChecks(n, p, end, fl)
	v.buf = v.buf[:mark]
	if !r {
		return end, ok
	}
	if n.hasCond && (ok || v.collect) {
		ok = v.cond(n, p, -1) && ok
	}
	return end, ok
}

// stringChecks runs the string keywords; more is false when a gate keyword
// (const, enum, format, draft<2019 $ref) ended the evaluation.
func (v *vm) stringChecks(n *node, p, end int, fl uint8) (ok, more bool) {
	var s []byte
	if n.strNeed {
		s = v.strBytes(p, end, fl)
	}
	if n.cnst != nil && !(n.cnst.kind == tString && n.cnst.str == unsafeString(s)) {
		v.fail(n, kwConst, p, end, 0)
		return false, false
	}
	if n.enum != nil {
		if !n.enum.hasString(unsafeString(s)) {
			v.fail(n, kwEnum, p, end, 0)
			return false, false
		}
	}
	if n.format != nil && !n.format.check(unsafeString(s)) {
		v.fail(n, kwFormat, p, end, 0)
		return false, false
	}
	ok = true
	if n.ref != nil {
		_, ok = v.eval(n.ref, p, nil)
		if n.refOnly {
			return ok, false
		}
	}
	if sc := n.str; sc != nil {
		if sc.minLen >= 0 || sc.maxLen >= 0 {
			l := len(s)
			if fl != 0 {
				l = utf8.RuneCount(s)
			}
			if sc.minLen >= 0 && l < sc.minLen {
				ok = false
				v.fail(n, kwMinLength, p, end, 0)
			}
			if sc.maxLen >= 0 && l > sc.maxLen {
				ok = false
				v.fail(n, kwMaxLength, p, end, 0)
			}
		}
		if sc.pattern != nil {
			m, known := false, false
			if sc.fast != nil {
				m, known = sc.fast.match(s)
			}
			if !known {
				m = sc.pattern.MatchString(unsafeString(s))
			}
			if !m {
				ok = false
				v.fail(n, kwPattern, p, end, 0)
			}
		}
	}
	return ok, true
}

func (v *vm) evalNumber(n *node, p int) (int, bool) {
	// plain integers of up to 18 digits, the common case, skip the decimal view
	if iv, end, ok := quickInt(v.data, p); ok && n.cnst == nil && n.enum == nil {
		if n.types != 0 && n.types&(tNumber|tInteger) == 0 {
			v.fail(n, kwType, p, end, 0)
			return end, false
		}
		if n.ref == nil && (n.num == nil || n.num.allInt) {
			ok := true
			if n.num != nil {
				ok = v.intBounds(n, iv, p, end)
			}
			if n.hasCond && (ok || v.collect) {
				ok = v.cond(n, p, -1) && ok
			}
			return end, ok
		}
	}
	dec, end, synOK := scanNumber(v.data, p)
	if !synOK {
		v.syntaxAt(end, "in numeric literal")
		return end, false
	}
	iv, small := smallInt(&dec)
	if n.types != 0 && n.types&tNumber == 0 && !(n.types&tInteger != 0 && (small || dec.isInteger())) {
		v.fail(n, kwType, p, end, 0)
		return end, false
	}
	if n.cnst != nil && !numEqConst(&dec, n.cnst) {
		v.fail(n, kwConst, p, end, 0)
		return end, false
	}
	if n.enum != nil {
		found := false
		if n.enum.types&tNumber != 0 {
			for _, c := range n.enum.vals {
				if numEqConst(&dec, c) {
					found = true
					break
				}
			}
		}
		if !found {
			v.fail(n, kwEnum, p, end, 0)
			return end, false
		}
	}
	ok := true
	if n.ref != nil {
		_, ok = v.eval(n.ref, p, nil)
		if n.refOnly {
			return end, ok
		}
	}
	if nc := n.num; nc != nil && small && nc.allInt {
		ok = v.intBounds(n, iv, p, end) && ok
	} else if nc != nil {
		if !dec.representable() {
			// santhosh's big.Rat comparison dereferences nil here (a panic); the
			// number cannot be compared, so it is reported as failing its bounds.
			ok = false
			v.fail(n, kwUnrepresentable, p, end, 0)
		} else {
			if nc.min != nil && cmpDecimal(&dec, &nc.min.dec) < 0 {
				ok = false
				v.fail(n, kwMinimum, p, end, 0)
			}
			if nc.max != nil && cmpDecimal(&dec, &nc.max.dec) > 0 {
				ok = false
				v.fail(n, kwMaximum, p, end, 0)
			}
			if nc.exMin != nil && cmpDecimal(&dec, &nc.exMin.dec) <= 0 {
				ok = false
				v.fail(n, kwExclusiveMinimum, p, end, 0)
			}
			if nc.exMax != nil && cmpDecimal(&dec, &nc.exMax.dec) >= 0 {
				ok = false
				v.fail(n, kwExclusiveMaximum, p, end, 0)
			}
			if nc.multipleOf != nil && !multipleOf(&dec, v.data[p:end], nc.multipleOf) {
				ok = false
				v.fail(n, kwMultipleOf, p, end, 0)
			}
		}
	}
	if n.hasCond && (ok || v.collect) {
		ok = v.cond(n, p, -1) && ok
	}
	return end, ok
}

func numEqConst(d *decimal, c *constVal) bool {
	return c.kind == tNumber && c.decOK && d.representable() && cmpDecimal(d, &c.dec) == 0
}

func (v *vm) evalLiteral(n *node, p int) (int, bool) {
	var t uint8
	var end int
	var b bool
	switch v.data[p] {
	case 't':
		end, t, b = v.literal(p, "true"), tBool, true
	case 'f':
		end, t = v.literal(p, "false"), tBool
	default:
		end, t = v.literal(p, "null"), tNull
	}
	if v.bad {
		return end, false
	}
	if n.types != 0 && n.types&t == 0 {
		v.fail(n, kwType, p, end, 0)
		return end, false
	}
	eq := func(c *constVal) bool { return c.kind == t && (t == tNull || c.b == b) }
	if n.cnst != nil && !eq(n.cnst) {
		v.fail(n, kwConst, p, end, 0)
		return end, false
	}
	if n.enum != nil {
		found := false
		for _, c := range n.enum.vals {
			if eq(c) {
				found = true
				break
			}
		}
		if !found {
			v.fail(n, kwEnum, p, end, 0)
			return end, false
		}
	}
	ok := true
	if n.ref != nil {
		_, ok = v.eval(n.ref, p, nil)
		if n.refOnly {
			return end, ok
		}
	}
	if n.hasCond && (ok || v.collect) {
		ok = v.cond(n, p, -1) && ok
	}
	return end, ok
}

func (v *vm) evalComposite(n *node, p int, ct *capNode, ann int) (int, bool) {
	t := tObject
	if v.data[p] == '[' {
		t = tArray
	}
	if n.types != 0 && n.types&t == 0 {
		end := v.skip(p, ct)
		if v.bad {
			return end, false
		}
		v.fail(n, kwType, p, end, 0)
		return end, false
	}
	end := -1
	if n.cnst != nil || n.enum != nil {
		end = v.skip(p, ct)
		ct = nil
		if v.bad {
			return end, false
		}
		if n.cnst != nil && !compositeEq(v.data[p:end], n.cnst) {
			v.fail(n, kwConst, p, end, 0)
			return end, false
		}
		if n.enum != nil {
			found := false
			for _, c := range n.enum.vals {
				if c.kind == t && compositeEq(v.data[p:end], c) {
					found = true
					break
				}
			}
			if !found {
				v.fail(n, kwEnum, p, end, 0)
				return end, false
			}
		}
	}
	// own collects the properties/items this node evaluates, when a caller or
	// an unevaluated* keyword here needs them.
	own := -1
	if ann >= 0 || n.uneProps != nil || n.uneItems != nil {
		own = v.annPush()
	}
	end, ok := v.compositeBody(n, p, ct, t, end, own)
	if own >= 0 {
		if ann >= 0 && ok {
			v.annOr(ann, own)
		}
		v.annPop()
	}
	return end, ok
}

func (v *vm) compositeBody(n *node, p int, ct *capNode, t uint8, end int, own int) (int, bool) {
	ok := true
	if n.ref != nil {
		var e int
		if own >= 0 {
			sub := v.annPush()
			e, ok = v.evalAnn(n.ref, p, ct, sub)
			if ok {
				v.annOr(own, sub)
			}
			v.annPop()
		} else {
			e, ok = v.eval(n.ref, p, ct)
		}
		ct = nil
		if v.bad {
			return e, false
		}
		end = e
		if n.refOnly {
			return end, ok
		}
	}
	if t == tObject && n.obj != nil {
		e, r := v.evalObject(n, p, ct, own)
		ct = nil
		if v.bad {
			return e, false
		}
		end, ok = e, ok && r
	} else if t == tArray && n.arr != nil {
		e, r := v.evalArray(n, p, ct, own)
		ct = nil
		if v.bad {
			return e, false
		}
		end, ok = e, ok && r
	}
	if end < 0 {
		end = v.skip(p, ct)
		if v.bad {
			return end, false
		}
	}
	if n.hasCond && (ok || v.collect) {
		ok = v.cond(n, p, own) && ok
	}
	if (ok || v.collect) && !v.bad {
		if t == tObject && n.uneProps != nil {
			ok = v.evalUnevaluated(n.uneProps, p, own) && ok
			v.annAll(own)
		}
		if t == tArray && n.uneItems != nil {
			ok = v.evalUnevaluated(n.uneItems, p, own) && ok
			v.annAll(own)
		}
	}
	return end, ok && !v.bad
}

// cond evaluates not, allOf, anyOf, oneOf and if/then/else on the value at p.
func (v *vm) cond(n *node, p int, own int) bool {
	ok := true
	if n.not != nil {
		end, r := v.evalBool(n.not, p)
		if v.bad {
			return false
		}
		if r {
			ok = false
			v.fail(n, kwNot, p, end, 0)
		}
	}
	for _, s := range n.allOf {
		_, r := v.evalMerge(s, p, own, false)
		if v.bad {
			return false
		}
		if !r {
			ok = false
			if !v.collect {
				break
			}
		}
	}
	if len(n.anyOf) > 0 {
		matched := false
		for _, s := range n.anyOf {
			_, r := v.evalMerge(s, p, own, true)
			if v.bad {
				return false
			}
			if r {
				matched = true
				if own < 0 {
					break // annotations need every passing alternative
				}
			}
		}
		if !matched {
			ok = false
			if v.collect {
				for _, s := range n.anyOf {
					v.eval(s, p, nil)
				}
			}
		}
	}
	if len(n.oneOf) > 0 {
		first, second := -1, -1
		end := p
		for i, s := range n.oneOf {
			e, r := v.evalMerge(s, p, own, true)
			if v.bad {
				return false
			}
			end = e
			if r {
				if first < 0 {
					first = i
				} else {
					second = i
					break
				}
			}
		}
		switch {
		case first < 0:
			ok = false
			if v.collect {
				for _, s := range n.oneOf {
					v.eval(s, p, nil)
				}
			}
		case second >= 0:
			ok = false
			v.fail(n, kwOneOf, p, end, first<<32|second)
		}
	}
	if n.dynRef != nil {
		_, r := v.evalMerge(v.dynTarget(n), p, own, false)
		if v.bad {
			return false
		}
		ok = ok && r
	}
	if n.hasIf {
		_, r := v.evalMerge(n.ifN, p, own, true)
		if v.bad {
			return false
		}
		if r {
			if n.thn != nil {
				_, r2 := v.evalMerge(n.thn, p, own, false)
				ok = ok && r2
			}
		} else if n.elsN != nil {
			_, r2 := v.evalMerge(n.elsN, p, own, false)
			ok = ok && r2
		}
	}
	return ok && !v.bad
}

// evalMerge evaluates an in-place subschema (verdict only when boolOnly) and,
// when own is an annotation set, adds what the subschema evaluated if it passed.
func (v *vm) evalMerge(s *node, p int, own int, boolOnly bool) (int, bool) {
	if own < 0 {
		if boolOnly {
			return v.evalBool(s, p)
		}
		return v.eval(s, p, nil)
	}
	sub := v.annPush()
	var e int
	var r bool
	if boolOnly {
		e, r = v.evalBoolAnn(s, p, sub)
	} else {
		e, r = v.evalAnn(s, p, nil, sub)
	}
	if r {
		v.annOr(own, sub)
	}
	v.annPop()
	return e, r
}

// intBounds checks the numeric keywords, all int64, on a small integer.
func (v *vm) intBounds(n *node, iv int64, p, end int) bool {
	nc := n.num
	ok := true
	if nc.min != nil && iv < nc.min.i64 {
		ok = false
		v.fail(n, kwMinimum, p, end, 0)
	}
	if nc.max != nil && iv > nc.max.i64 {
		ok = false
		v.fail(n, kwMaximum, p, end, 0)
	}
	if nc.exMin != nil && iv <= nc.exMin.i64 {
		ok = false
		v.fail(n, kwExclusiveMinimum, p, end, 0)
	}
	if nc.exMax != nil && iv >= nc.exMax.i64 {
		ok = false
		v.fail(n, kwExclusiveMaximum, p, end, 0)
	}
	if nc.multipleOf != nil && iv%nc.multipleOf.i64 != 0 {
		ok = false
		v.fail(n, kwMultipleOf, p, end, 0)
	}
	return ok
}
