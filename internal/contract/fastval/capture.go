package fastval

import (
	"fmt"
	"strconv"
	"strings"
)

// Span is the byte range [Start, End) of a JSON value inside the validated
// document (strings include their quotes).
type Span struct{ Start, End int }

// capNode is a node of the capture trie compiled from Options.Capture.
type capNode struct {
	slots []int // indexes into Options.Capture of the pointers ending here
	keys  []capKey
	star  *capNode // "*": every array item
	bloom uint64   // bit (hash & 63) set for every key
}

type capKey struct {
	hash uint64
	name string
	idx  int // the token as an array index, -1 when it is not one
	node *capNode
}

func compileCaptures(ptrs []string) (*capNode, error) {
	if len(ptrs) == 0 {
		return nil, nil
	}
	root := &capNode{}
	for i, ptr := range ptrs {
		if ptr != "" && !strings.HasPrefix(ptr, "/") {
			return nil, fmt.Errorf("capture pointer %q must be empty or start with /", ptr)
		}
		cur := root
		if ptr != "" {
			for _, tok := range strings.Split(ptr[1:], "/") {
				if tok == "*" {
					if cur.star == nil {
						cur.star = &capNode{}
					}
					cur = cur.star
					continue
				}
				name, err := unescapeToken(tok)
				if err != nil {
					return nil, fmt.Errorf("capture pointer %q: %w", ptr, err)
				}
				var next *capNode
				for _, k := range cur.keys {
					if k.name == name {
						next = k.node
					}
				}
				if next == nil {
					next = &capNode{}
					cur.keys = append(cur.keys, capKey{hash: keyHash([]byte(name)), name: name, idx: arrayIndex(name), node: next})
				}
				cur = next
			}
		}
		if len(cur.slots) > 0 {
			return nil, fmt.Errorf("capture pointer %q is listed twice", ptr)
		}
		cur.slots = []int{i}
	}
	root.mergeStars()
	root.setBloom()
	return root, nil
}

// mergeStars copies each "*" subtree into the explicit index children next to
// it, so that an item matched by index still gets the "*" captures.
func (c *capNode) mergeStars() {
	for _, k := range c.keys {
		k.node.mergeStars()
	}
	if c.star == nil {
		return
	}
	c.star.mergeStars()
	for i := range c.keys {
		if c.keys[i].idx >= 0 {
			c.keys[i].node = mergeCap(c.keys[i].node, c.star)
		}
	}
}

// mergeCap returns a trie that captures what both a and b capture. A pointer
// ending in both records into both.
func mergeCap(a, b *capNode) *capNode {
	out := &capNode{slots: append(append([]int(nil), a.slots...), b.slots...)}
	out.keys = append(out.keys, a.keys...)
	for _, bk := range b.keys {
		found := false
		for i := range out.keys {
			if out.keys[i].name == bk.name {
				out.keys[i].node = mergeCap(out.keys[i].node, bk.node)
				found = true
			}
		}
		if !found {
			out.keys = append(out.keys, bk)
		}
	}
	switch {
	case a.star != nil && b.star != nil:
		out.star = mergeCap(a.star, b.star)
	case a.star != nil:
		out.star = a.star
	default:
		out.star = b.star
	}
	return out
}

func unescapeToken(tok string) (string, error) {
	if !strings.Contains(tok, "~") {
		return tok, nil
	}
	var sb strings.Builder
	for i := 0; i < len(tok); i++ {
		if tok[i] != '~' {
			sb.WriteByte(tok[i])
			continue
		}
		if i+1 >= len(tok) || (tok[i+1] != '0' && tok[i+1] != '1') {
			return "", fmt.Errorf("invalid escape in token %q", tok)
		}
		if tok[i+1] == '0' {
			sb.WriteByte('~')
		} else {
			sb.WriteByte('/')
		}
		i++
	}
	return sb.String(), nil
}

func arrayIndex(tok string) int {
	if tok == "" || (len(tok) > 1 && tok[0] == '0') {
		return -1
	}
	n, err := strconv.Atoi(tok)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

func (c *capNode) setBloom() {
	c.bloom = 0
	for _, k := range c.keys {
		c.bloom |= 1 << (k.hash & 63)
		k.node.setBloom()
	}
	if c.star != nil {
		c.star.setBloom()
	}
}

func (c *capNode) item(i int) *capNode {
	for _, k := range c.keys {
		if k.idx == i {
			return k.node
		}
	}
	return c.star
}

// find returns the index of the trie child for an object key, or -1.
func (c *capNode) find(key []byte, h uint64) int {
	if c.bloom&(1<<(h&63)) == 0 {
		return -1
	}
	for i := range c.keys {
		k := &c.keys[i]
		if k.hash == h && k.name == unsafeString(key) {
			return i
		}
	}
	return -1
}

// capSeenCheck notes that child i was met in the current object; meeting it
// twice means a duplicated captured key, which needs last-wins handling.
func (v *vm) capSeenCheck(i int, seen *uint64) {
	if v.dedup {
		return
	}
	if i >= 64 {
		v.dup = true
		return
	}
	if *seen&(1<<i) != 0 {
		v.dup = true
	}
	*seen |= 1 << i
}

// capKey returns the trie child for an object key, checking duplicates with
// seen (nil in dedup mode).
func (v *vm) capKey(c *capNode, key []byte, h uint64, seen *uint64) *capNode {
	i := c.find(key, h)
	if i < 0 {
		return nil
	}
	if seen != nil {
		v.capSeenCheck(i, seen)
	}
	return c.keys[i].node
}

// skipCap skips the value at p like skip, recording the captures below it.
func (v *vm) skipCap(p int, ct *capNode) int {
	d := v.data
	if p >= len(d) {
		v.syntax(p, "unexpected end of JSON input")
		return p
	}
	switch d[p] {
	case '{':
		if v.dedup {
			mbase, kbase := len(v.members), len(v.keyBuf)
			end := v.objMembers(p)
			if v.bad {
				return end
			}
			for i := mbase; i < len(v.members); i++ {
				m := v.members[i]
				if m.shadowed {
					continue
				}
				key := v.keyBuf[m.keyOff : m.keyOff+m.keyLen]
				if child := v.capKey(ct, key, keyHash(key), nil); child != nil {
					e := v.skip(m.vStart, child)
					if len(child.slots) > 0 {
						v.record(child, Span{Start: m.vStart, End: e})
					}
				}
			}
			v.members = v.members[:mbase]
			v.keyBuf = v.keyBuf[:kbase]
			return end
		}
		v.depth++
		if v.depth > maxDepth {
			v.syntax(p, "exceeded max depth")
			return p
		}
		var seen uint64
		p = v.ws(p + 1)
		if p < len(d) && d[p] == '}' {
			v.depth--
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
			child := v.capKey(ct, key, keyHash(key), &seen)
			v.buf = v.buf[:mark]
			e := v.skip(p, child)
			if v.bad {
				return e
			}
			if child != nil && len(child.slots) > 0 {
				v.record(child, Span{Start: p, End: e})
			}
			p = v.ws(e)
			if p < len(d) && d[p] == ',' {
				p = v.ws(p + 1)
				continue
			}
			if p < len(d) && d[p] == '}' {
				v.depth--
				return p + 1
			}
			v.syntaxAt(p, "after object key:value pair")
			return p
		}
	case '[':
		v.depth++
		if v.depth > maxDepth {
			v.syntax(p, "exceeded max depth")
			return p
		}
		p = v.ws(p + 1)
		if p < len(d) && d[p] == ']' {
			v.depth--
			return p + 1
		}
		for i := 0; ; i++ {
			child := ct.item(i)
			e := v.skip(p, child)
			if v.bad {
				return e
			}
			if child != nil && len(child.slots) > 0 {
				v.record(child, Span{Start: p, End: e})
			}
			p = v.ws(e)
			if p < len(d) && d[p] == ',' {
				p = v.ws(p + 1)
				continue
			}
			if p < len(d) && d[p] == ']' {
				v.depth--
				return p + 1
			}
			v.syntaxAt(p, "after array element")
			return p
		}
	default:
		return v.skip(p, nil)
	}
}

// record stores a captured span for every pointer ending at c.
func (v *vm) record(c *capNode, s Span) {
	for _, i := range c.slots {
		v.caps[i] = append(v.caps[i], s)
	}
}
