package fastval

// Annotations: unevaluatedProperties and unevaluatedItems apply to the members
// or items that no adjacent keyword evaluated, counting the subschemas applied
// in place that passed (santhosh's "uneval" sets). A node that needs them
// collects, per object member ordinal or array index, what it evaluated into an
// annotation set on the vm's stack; passing in-place subschemas add theirs.

type annot struct {
	all  bool // every member/item is evaluated
	bits []uint64
}

// annPush starts an empty annotation set and returns its handle. Sets are used
// in stack order: pop the newest first.
func (v *vm) annPush() int {
	n := len(v.anns)
	if n < cap(v.anns) {
		v.anns = v.anns[:n+1]
		v.anns[n].all = false
		v.anns[n].bits = v.anns[n].bits[:0]
	} else {
		v.anns = append(v.anns, annot{})
	}
	return n
}

func (v *vm) annPop() { v.anns = v.anns[:len(v.anns)-1] }

func (v *vm) annSet(h, i int) {
	a := &v.anns[h]
	w := i / 64
	for len(a.bits) <= w {
		a.bits = append(a.bits, 0)
	}
	a.bits[w] |= 1 << (i % 64)
}

func (v *vm) annHas(h, i int) bool {
	a := &v.anns[h]
	if a.all {
		return true
	}
	w := i / 64
	return w < len(a.bits) && a.bits[w]&(1<<(i%64)) != 0
}

func (v *vm) annAll(h int) {
	if h >= 0 {
		v.anns[h].all = true
	}
}

// annOr adds src's evaluated members to dst.
func (v *vm) annOr(dst, src int) {
	s := v.anns[src]
	d := &v.anns[dst]
	d.all = d.all || s.all
	for i, w := range s.bits {
		for len(d.bits) <= i {
			d.bits = append(d.bits, 0)
		}
		d.bits[i] |= w
	}
}

// evalUnevaluated applies u to every member (object) or item (array) at p that
// the annotation set own does not hold.
func (v *vm) evalUnevaluated(u *node, p int, own int) bool {
	d := v.data
	ok := true
	col := v.collect
	if d[p] == '{' {
		if v.dedup {
			mbase, kbase := len(v.members), len(v.keyBuf)
			v.objMembers(p)
			for i := mbase; i < len(v.members) && !v.bad; i++ {
				m := v.members[i]
				if m.shadowed || v.annHas(own, i-mbase) {
					continue
				}
				if col {
					v.pushKey(m.kStart, m.kEnd)
				}
				_, r := v.eval(u, m.vStart, nil)
				if col {
					v.pop()
				}
				ok = ok && r
			}
			v.members = v.members[:mbase]
			v.keyBuf = v.keyBuf[:kbase]
			return ok && !v.bad
		}
		q := v.ws(p + 1)
		kbase, keysBase := len(v.keyBuf), len(v.keys)
		defer func() {
			v.keyBuf = v.keyBuf[:kbase]
			v.keys = v.keys[:keysBase]
		}()
		for ord := 0; q < len(d) && d[q] == '"' && !v.bad; ord++ {
			kStart := q
			kEnd, fl := v.scanString(q)
			// a repeated key needs last-wins handling (dedup mode)
			mark := len(v.buf)
			key := v.strBytes(kStart, kEnd, fl)
			for _, k := range v.keys[keysBase:] {
				if string(v.keyBuf[k.start:k.end]) == string(key) {
					v.dup = true
				}
			}
			ks := len(v.keyBuf)
			v.keyBuf = append(v.keyBuf, key...)
			v.keys = append(v.keys, span{ks, len(v.keyBuf)})
			v.buf = v.buf[:mark]
			q = v.ws(kEnd)
			q = v.ws(q + 1) // past ':' (syntax already checked by the main scan)
			var e int
			if v.annHas(own, ord) {
				e = v.skip(q, nil)
			} else {
				if col {
					v.pushKey(kStart, kEnd)
				}
				var r bool
				e, r = v.eval(u, q, nil)
				if col {
					v.pop()
				}
				ok = ok && r
			}
			q = v.ws(e)
			if q < len(d) && d[q] == ',' {
				q = v.ws(q + 1)
			}
		}
		return ok && !v.bad
	}
	q := v.ws(p + 1)
	for i := 0; q < len(d) && d[q] != ']' && !v.bad; i++ {
		var e int
		if v.annHas(own, i) {
			e = v.skip(q, nil)
		} else {
			if col {
				v.pushIdx(i)
			}
			var r bool
			e, r = v.eval(u, q, nil)
			if col {
				v.pop()
			}
			ok = ok && r
		}
		q = v.ws(e)
		if q < len(d) && d[q] == ',' {
			q = v.ws(q + 1)
		}
	}
	return ok && !v.bad
}
