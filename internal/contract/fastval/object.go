package fastval

import (
	"bytes"
	"encoding/binary"
)

// keyHash hashes an object key for the property table.
func keyHash(k []byte) uint64 {
	var x uint64
	if len(k) >= 8 {
		x = binary.LittleEndian.Uint64(k) ^ binary.LittleEndian.Uint64(k[len(k)-8:])<<7
	} else {
		for i, c := range k {
			x |= uint64(c) << (8 * i)
		}
	}
	x ^= uint64(len(k)) * 0x9E3779B97F4A7C15
	return x * 0xff51afd7ed558ccd
}

func (o *objChecks) lookup(k []byte, hash uint64) int {
	mask := uint64(len(o.table) - 1)
	h := hash >> o.shift
	for {
		e := o.table[h]
		if e == 0 {
			return -1
		}
		if o.names[e-1].name == unsafeString(k) {
			return int(e - 1)
		}
		h = (h + 1) & mask
	}
}

// objState is the per-object bookkeeping shared by the fast and dedup loops.
type objState struct {
	bitsBase  int
	keysBase  int
	count     int
	addlCount int
	capSeen   uint64
	prev      int // property index of the previous member, -1 at the start
	hint      *objHint
	ct        *capNode // capture trie of the object's members
	own       int      // annotation set, -1 for none
	ord       int      // ordinal of the current member
	known     int      // property index of the current key when already known, else -1
	ok        bool
}

// objHint is per-Result memory of the key order seen for one object schema.
type objHint struct {
	prog   *Program
	next   []int32    // next[prev+1]: the property that followed prev last time, -1 unknown
	capFor []*capNode // per property: the capture trie the cached capIdx belongs to
	capIdx []int32    // per property: index of its capture child, -1 none
}

// hint returns the key-order memory for o, reset when the program changed.
func (v *vm) hint(o *objChecks) *objHint {
	h := &v.hints[o.id]
	if h.prog != v.prog {
		h.prog = v.prog
		n := len(o.names)
		h.next = fillInt32(h.next, n+1)
		h.capIdx = fillInt32(h.capIdx, n)
		if cap(h.capFor) < n {
			h.capFor = make([]*capNode, n)
		}
		h.capFor = h.capFor[:n]
		clear(h.capFor)
	}
	return h
}

func fillInt32(s []int32, n int) []int32 {
	if cap(s) < n {
		s = make([]int32, n)
	}
	s = s[:n]
	for i := range s {
		s[i] = -1
	}
	return s
}

func (v *vm) evalObject(n *node, p int, ct *capNode, own int) (int, bool) {
	o := n.obj
	d := v.data
	v.depth++
	if v.depth > maxDepth {
		v.syntax(p, "exceeded max depth")
		return p, false
	}
	st := objState{bitsBase: len(v.bits), keysBase: len(v.keys), ok: true, prev: -1, hint: v.hint(o), ct: ct, own: own}
	for i := 0; i < o.words; i++ {
		v.bits = append(v.bits, 0)
	}
	start := p
	var end int
	if v.dedup {
		mbase := len(v.members)
		kbase := len(v.keyBuf)
		end = v.objMembers(p)
		if v.bad {
			return end, false
		}
		for i := mbase; i < len(v.members); i++ {
			m := v.members[i]
			if m.shadowed {
				continue
			}
			key := v.keyBuf[m.keyOff : m.keyOff+m.keyLen]
			st.ord, st.known = i-mbase, -1
			v.member(n, &st, m.kStart, m.kEnd, key, m.vStart)
			if v.bad {
				return end, false
			}
		}
		v.members = v.members[:mbase]
		v.keyBuf = v.keyBuf[:kbase]
	} else {
		p = v.ws(p + 1)
		if p < len(d) && d[p] == '}' {
			end = p + 1
		} else {
			for ord := 0; ; ord++ {
				if p >= len(d) || d[p] != '"' {
					v.syntaxAt(p, "looking for beginning of object key string")
					return p, false
				}
				kStart := p
				mark := len(v.buf)
				var kEnd int
				var key []byte
				st.known = -1
				// The predicted key, written plainly, is recognised without
				// scanning or decoding it.
				if pred := st.hint.next[st.prev+1]; pred >= 0 {
					nm := &o.names[pred]
					e := p + 1 + len(nm.name)
					if nm.plain && e < len(d) && d[e] == '"' && nm.equal(d, p+1, e) {
						kEnd, key, st.known = e+1, d[p+1:e], int(pred)
					}
				}
				if st.known < 0 {
					var fl uint8
					kEnd, fl = v.scanString(p)
					if v.bad {
						return kEnd, false
					}
					key = v.strBytes(kStart, kEnd, fl)
				}
				p = v.ws(kEnd)
				if p >= len(d) || d[p] != ':' {
					v.syntaxAt(p, "after object key")
					return p, false
				}
				p = v.ws(p + 1)
				st.ord = ord
				p = v.member(n, &st, kStart, kEnd, key, p)
				v.buf = v.buf[:mark]
				if v.bad {
					return p, false
				}
				p = v.ws(p)
				if p < len(d) && d[p] == ',' {
					p = v.ws(p + 1)
					continue
				}
				if p < len(d) && d[p] == '}' {
					end = p + 1
					break
				}
				v.syntaxAt(p, "after object key:value pair")
				return p, false
			}
		}
	}
	v.depth--
	ok := st.ok
	seen := v.bits[st.bitsBase : st.bitsBase+o.words]
	if o.minProps >= 0 && st.count < o.minProps {
		ok = false
		v.fail(n, kwMinProperties, start, end, st.count)
	}
	if o.maxProps >= 0 && st.count > o.maxProps {
		ok = false
		v.fail(n, kwMaxProperties, start, end, st.count)
	}
	for i, w := range o.required {
		if seen[i]&w != w {
			ok = false
			v.fail(n, kwRequired, start, end, 0)
			break
		}
	}
	has := func(i int) bool { return seen[i/64]&(1<<(i%64)) != 0 }
	for di, dep := range o.deps {
		if !has(dep.name) {
			continue
		}
		for _, r := range dep.need {
			if !has(r) {
				ok = false
				v.fail(n, kwDependency, start, end, di)
				break
			}
		}
	}
	for _, ds := range o.depSchemas {
		if has(ds.name) {
			_, r := v.evalMerge(ds.node, start, own, false)
			if v.bad {
				return end, false
			}
			ok = ok && r
		}
	}
	if st.addlCount > 0 {
		ok = false
		v.fail(n, kwAdditionalProperties, start, end, 0)
	}
	v.bits = v.bits[:st.bitsBase]
	v.keys = v.keys[:st.keysBase]
	return end, ok
}

// member validates one object member whose value starts at p and returns the
// position after the value.
func (v *vm) member(n *node, st *objState, kStart, kEnd int, key []byte, p int) int {
	o := n.obj
	ct, own, ord := st.ct, st.own, st.ord
	st.count++
	// Events of one kind repeat their key order: predict the next property from
	// the previous one (per-Result state) before hashing.
	hint := st.hint
	idx := -1
	var h uint64
	hashed := false
	if st.known >= 0 {
		idx = st.known
	} else if pred := hint.next[st.prev+1]; pred >= 0 && o.names[pred].name == unsafeString(key) {
		idx = int(pred)
	} else {
		h, hashed = keyHash(key), true
		idx = o.lookup(key, h)
		if idx >= 0 {
			hint.next[st.prev+1] = int32(idx)
		}
	}
	var cn *capNode
	if ct != nil {
		ci := -1
		if idx >= 0 && hint.capFor[idx] == ct {
			ci = int(hint.capIdx[idx])
		} else {
			if !hashed {
				h = keyHash(key)
			}
			ci = ct.find(key, h)
			if idx >= 0 {
				hint.capFor[idx], hint.capIdx[idx] = ct, int32(ci)
			}
		}
		if ci >= 0 {
			cn = ct.keys[ci].node
			v.capSeenCheck(ci, &st.capSeen)
		}
	}
	if idx >= 0 {
		st.prev = idx
		w := &v.bits[st.bitsBase+idx/64]
		bit := uint64(1) << (idx % 64)
		if *w&bit != 0 && !v.dedup {
			v.dup = true
		}
		*w |= bit
	} else if o.trackUndecl && !v.dedup {
		for _, k := range v.keys[st.keysBase:] {
			if bytes.Equal(v.keyBuf[k.start:k.end], key) {
				v.dup = true
				break
			}
		}
		ks := len(v.keyBuf)
		v.keyBuf = append(v.keyBuf, key...)
		v.keys = append(v.keys, span{ks, len(v.keyBuf)})
	}
	col := v.collect
	if col {
		v.pushKey(kStart, kEnd)
	}
	end := -1
	evaluated := false
	capNext := cn
	if idx >= 0 {
		if pn := o.names[idx].prop; pn != nil {
			evaluated = true
			var e int
			var r bool
			if pn.cyclic || v.prog.dynamic {
				e, r = v.eval(pn, p, capNext)
			} else {
				e, r = v.evalNode(pn, p, capNext, -1)
			}
			capNext = nil
			end = e
			st.ok = st.ok && r
		}
	}
	for i := 0; i < len(o.patterns) && !v.bad; i++ {
		pp := &o.patterns[i]
		m, known := false, false
		if pp.fast != nil {
			m, known = pp.fast.match(key)
		}
		if !known {
			m = pp.re.MatchString(unsafeString(key))
		}
		if m {
			evaluated = true
			e, r := v.eval(pp.node, p, capNext)
			capNext = nil
			end = e
			st.ok = st.ok && r
		}
	}
	if !evaluated && !v.bad {
		if o.addl != nil {
			e, r := v.eval(o.addl, p, capNext)
			capNext = nil
			end = e
			st.ok = st.ok && r
		} else if o.addlFalse {
			st.addlCount++
		}
		if o.addlAny {
			evaluated = true
		}
	}
	if evaluated && own >= 0 {
		v.annSet(own, ord)
	}
	if end < 0 && !v.bad {
		end = v.skip(p, capNext)
	}
	if col {
		v.pop()
	}
	if v.bad {
		return end
	}
	if cn != nil && len(cn.slots) > 0 {
		v.record(cn, Span{Start: p, End: end})
	}
	if o.propNames != nil {
		// santhosh validates a property name with a fresh dynamic scope
		scope := v.scope
		v.scope = v.scope[len(v.scope):]
		_, r := v.evalBool(o.propNames, kStart)
		v.scope = scope
		if !r {
			st.ok = false
			v.fail(n, kwPropertyNames, kStart, kEnd, 0)
		}
	}
	return end
}

// objMembers pre-scans the object at p into v.members (decoded keys in
// v.keyBuf) and marks members whose key appears again later: encoding/json keeps
// the last value of a duplicated key.
func (v *vm) objMembers(p int) int {
	d := v.data
	base := len(v.members)
	v.depth++
	if v.depth > maxDepth {
		v.syntax(p, "exceeded max depth")
		return p
	}
	defer func() { v.depth-- }()
	p = v.ws(p + 1)
	if p < len(d) && d[p] == '}' {
		return p + 1
	}
	for {
		if p >= len(d) || d[p] != '"' {
			v.syntaxAt(p, "looking for beginning of object key string")
			return p
		}
		kStart := p
		kEnd, fl := v.scanString(p)
		if v.bad {
			return kEnd
		}
		p = v.ws(kEnd)
		if p >= len(d) || d[p] != ':' {
			v.syntaxAt(p, "after object key")
			return p
		}
		p = v.ws(p + 1)
		mark := len(v.buf)
		key := v.strBytes(kStart, kEnd, fl)
		off := len(v.keyBuf)
		v.keyBuf = append(v.keyBuf, key...)
		v.buf = v.buf[:mark]
		m := member{kStart: kStart, kEnd: kEnd, keyOff: off, keyLen: len(key), vStart: p}
		for i := base; i < len(v.members); i++ {
			o := &v.members[i]
			if !o.shadowed && bytes.Equal(v.keyBuf[o.keyOff:o.keyOff+o.keyLen], key) {
				o.shadowed = true
			}
		}
		v.members = append(v.members, m)
		p = v.skip(p, nil)
		if v.bad {
			return p
		}
		p = v.ws(p)
		if p < len(d) && d[p] == ',' {
			p = v.ws(p + 1)
			continue
		}
		if p < len(d) && d[p] == '}' {
			return p + 1
		}
		v.syntaxAt(p, "after object key:value pair")
		return p
	}
}

// equal reports whether d[from:to] (to-from == len(name)) is the name,
// comparing whole words when the bytes allow.
func (nm *nameInfo) equal(d []byte, from, to int) bool {
	l := to - from
	if l <= 16 && from+16 <= len(d) {
		w0 := binary.LittleEndian.Uint64(d[from:])
		if l <= 8 {
			return w0&nm.mask0 == nm.w0
		}
		w1 := binary.LittleEndian.Uint64(d[from+8:])
		return w0 == nm.w0 && w1&nm.mask1 == nm.w1
	}
	return string(d[from:to]) == nm.name
}
