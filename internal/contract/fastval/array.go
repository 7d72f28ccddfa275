package fastval

func (v *vm) evalArray(n *node, p int, ct *capNode, own int) (int, bool) {
	a := n.arr
	d := v.data
	v.depth++
	if v.depth > maxDepth {
		v.syntax(p, "exceeded max depth")
		return p, false
	}
	start := p
	ok := true
	spanBase := len(v.spans)
	record := a.unique || a.contains != nil
	matched := 0
	count := 0
	var end int
	p = v.ws(p + 1)
	if p < len(d) && d[p] == ']' {
		end = p + 1
	} else {
		for i := 0; ; i++ {
			var sub *node
			if i < len(a.prefix) {
				sub = a.prefix[i]
			} else if a.items != nil {
				sub = a.items
			}
			var child *capNode
			if ct != nil {
				child = ct.item(i)
			}
			capNext := child
			col := v.collect
			if col {
				v.pushIdx(i)
			}
			e := -1
			if sub != nil {
				var r bool
				e, r = v.eval(sub, p, capNext)
				capNext = nil
				ok = ok && r
			}
			if own >= 0 && (sub != nil || a.itemsFalse || a.allItems) {
				v.annSet(own, i)
			}
			if a.contains != nil && !v.bad {
				var r bool
				e, r = v.evalBool(a.contains, p)
				if r {
					matched++
					if own >= 0 && n.draft >= 2020 {
						v.annSet(own, i)
					}
				}
			}
			if e < 0 && !v.bad {
				e = v.skip(p, capNext)
				capNext = nil
			}
			if capNext != nil && !v.bad {
				// the value was scanned without captures: scan it again for them
				v.skip(p, capNext)
			}
			if col {
				v.pop()
			}
			if v.bad {
				return e, false
			}
			if child != nil && len(child.slots) > 0 {
				v.record(child, Span{Start: p, End: e})
			}
			if record {
				v.spans = append(v.spans, span{p, e})
			}
			count++
			p = v.ws(e)
			if p < len(d) && d[p] == ',' {
				p = v.ws(p + 1)
				continue
			}
			if p < len(d) && d[p] == ']' {
				end = p + 1
				break
			}
			v.syntaxAt(p, "after array element")
			return p, false
		}
	}
	v.depth--
	if a.minItems >= 0 && count < a.minItems {
		ok = false
		v.fail(n, kwMinItems, start, end, count)
	}
	if a.maxItems >= 0 && count > a.maxItems {
		ok = false
		v.fail(n, kwMaxItems, start, end, count)
	}
	items := v.spans[spanBase:]
	if a.unique && count > 1 {
		if i, j := v.duplicates(items); i >= 0 {
			ok = false
			v.fail(n, kwUniqueItems, start, end, i<<32|j)
		}
	}
	if a.itemsFalse && count > len(a.prefix) {
		ok = false
		v.fail(n, kwAdditionalItems, start, end, count-len(a.prefix))
	}
	if a.contains != nil {
		failed := false
		if a.minContains >= 0 {
			failed = matched < a.minContains
		} else {
			failed = matched == 0
		}
		if failed {
			ok = false
			if v.collect {
				nf := len(v.fails)
				for i, it := range items {
					v.pushIdx(i)
					v.eval(a.contains, it.start, nil)
					v.pop()
				}
				if len(v.fails) == nf {
					v.fail(n, kwContains, start, end, matched)
				}
			}
		}
		if a.maxContains >= 0 && matched > a.maxContains {
			ok = false
			v.fail(n, kwMaxContains, start, end, matched)
		}
	}
	v.spans = v.spans[:spanBase]
	return end, ok
}
