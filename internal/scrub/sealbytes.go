package scrub

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/accord-dev/accord/internal/contract"
	"github.com/accord-dev/accord/internal/jsonscan"
)

// SealBytes is Seal on the bytes of an entity that may not match its contract
// (a bad row's), without decoding it: a scan that follows the plan finds every
// personal-data value whose handling is not keep, and dst gets data as compact
// JSON with those values sealed under the entity's data subject (else redacted,
// as Seal decides). The sealed values hold each value's JSON text as it was
// sent (compacted), which decodes to what Seal seals. The pointers are Seal's,
// in the order of the document.
//
// ok is false, and nothing is appended, when the scan cannot answer for the
// tree: data is not JSON in valid UTF-8, a member on a personal-data path (or
// on the path to the controller or subject) is repeated (the decoded tree keeps
// only the last), or an array on such a path has both items and tuple
// positions in the plan. Seal on the decoded entity is the answer then.
func (p *Plan) SealBytes(ctx context.Context, dst, data []byte) (out []byte, sealed, redacted []string, ok bool) {
	if !utf8.Valid(data) {
		return dst, nil, nil, false
	}
	start, end, err := jsonscan.Document(data)
	if err != nil {
		return dst, nil, nil, false
	}
	if !p.hasRedaction {
		return jsonscan.AppendCompact(dst, data), nil, nil, true
	}
	s := byteSealer{data: data}
	if err := s.visit(p.root, start, 0); err != nil {
		return dst, nil, nil, false
	}
	if len(s.found) == 0 {
		return jsonscan.AppendCompact(dst, data), nil, nil, true
	}
	ptrs := make([]string, len(s.found))
	for i, f := range s.found {
		ptrs[i] = f.ptr
	}
	edits := make([]edit, len(s.found))
	for i, f := range s.found {
		edits[i] = edit{start: f.start, end: f.end, repl: f.act.redactedJSON}
	}
	if p.s.sealer != nil && p.privacyErr == nil {
		controller, subject, err := p.resolvePrivacyRaw(data, start, end)
		if err != nil {
			return dst, nil, nil, false // a repeated member on the way: the tree reads the last
		}
		if controller != "" && subject != "" {
			values := make([]string, len(s.found))
			for i, f := range s.found {
				values[i] = string(jsonscan.AppendCompact(nil, data[f.start:f.end]))
			}
			out, err := p.s.sealer.Seal(ctx, controller, subject, values)
			if err == nil && len(out) == len(values) {
				for i := range edits {
					if edits[i].repl, err = appendString(nil, out[i]); err != nil {
						break
					}
				}
				if err == nil {
					return jsonscan.AppendCompact(dst, splice(nil, data, edits)), ptrs, nil, true
				}
				for i, f := range s.found {
					edits[i].repl = f.act.redactedJSON
				}
			}
			p.s.stats.sealFailed.Add(1)
		}
	}
	return jsonscan.AppendCompact(dst, splice(nil, data, edits)), nil, ptrs, true
}

// errUseTree stops a byte scan that cannot answer as the tree walk would.
var errUseTree = errors.New("use the decoded entity")

// byteSealer finds the values SealBytes replaces, as walker finds them in a
// tree (visit and field mirror walker's).
type byteSealer struct {
	data  []byte
	stack []string
	found []foundValue
}

type foundValue struct {
	start, end int
	ptr        string
	act        *action
}

func (s *byteSealer) visit(n *node, at, depth int) error {
	b := s.data
	switch b[at] {
	case '{':
		if len(n.props) == 0 {
			return nil
		}
		var seen []string
		_, err := jsonscan.Members(b, at, func(key []byte, plain bool, start, end int) error {
			name := string(key)
			if !plain {
				name = string(jsonscan.AppendUnquoted(nil, key))
			}
			child := findEdge(n.props, name)
			if child == nil {
				return nil
			}
			if slices.Contains(seen, name) {
				return errUseTree
			}
			seen = append(seen, name)
			if child.needsPath {
				s.stack = append(s.stack, name)
			}
			err := s.field(child, start, end, depth+1)
			if child.needsPath {
				s.stack = s.stack[:len(s.stack)-1]
			}
			return err
		}, depth)
		return err
	case '[':
		if n.items == nil && len(n.index) == 0 {
			return nil
		}
		if n.items != nil && len(n.index) > 0 {
			return errUseTree
		}
		i := 0
		_, err := jsonscan.Elements(b, at, func(start, end int) error {
			idx := strconv.Itoa(i)
			i++
			child := n.items
			if child == nil {
				if child = findEdge(n.index, idx); child == nil {
					return nil
				}
			}
			s.stack = append(s.stack, idx)
			err := s.field(child, start, end, depth+1)
			s.stack = s.stack[:len(s.stack)-1]
			return err
		}, depth)
		return err
	}
	return nil
}

func (s *byteSealer) field(n *node, start, end, depth int) error {
	a := n.act
	if a == nil || a.handling == contract.HandlingKeep {
		return s.visit(n, start, depth)
	}
	if string(s.data[start:end]) == "null" {
		return nil // null stays null
	}
	ptr := a.pointer
	if ptr == "" {
		ptr = contract.JoinPointer(s.stack...)
	}
	s.found = append(s.found, foundValue{start: start, end: end, ptr: ptr, act: a})
	return nil
}

// resolvePrivacyRaw reads the controller and subject of a checked JSON
// document whose value starts at at, as resolve reads them from the decoded
// tree, in one scan. err is set when a member on the way to either is repeated
// (the tree reads the last one).
func (p *Plan) resolvePrivacyRaw(data []byte, at, end int) (controller, subject string, err error) {
	refs := []*rawRef{{ref: p.controller}, {ref: p.subject}}
	var walk []*rawRef
	for _, r := range refs {
		if r.ref.path == nil && r.ref.pointer == "" {
			r.value, r.ok = r.ref.value, r.ref.value != ""
			continue
		}
		if len(r.ref.path) == 0 {
			r.start, r.end, r.found = at, end, true // the whole document
			continue
		}
		walk = append(walk, r)
	}
	if len(walk) > 0 {
		if err := findRaw(data, at, walk, 0); err != nil {
			return "", "", err
		}
	}
	for _, r := range refs {
		if !r.found {
			continue
		}
		switch v := data[r.start:r.end]; {
		case v[0] == '"':
			r.value = jsonscan.Unquote(v)
			r.ok = r.value != ""
		case v[0] == '-' || (v[0] >= '0' && v[0] <= '9'):
			r.value, r.ok = string(v), true
		}
	}
	if !refs[0].ok || !refs[1].ok {
		return "", "", nil
	}
	return refs[0].value, refs[1].value, nil
}

// rawRef is a privacy reference being resolved on bytes.
type rawRef struct {
	ref        privacyRef
	start, end int
	found, ok  bool
	value      string
}

// findRaw finds the values of refs (whose paths agree up to level) in the value
// at data[at]: one scan of each object or array on the way.
func findRaw(data []byte, at int, refs []*rawRef, level int) error {
	descend := func(name string, start, end int, seen *[]string) error {
		var deeper []*rawRef
		matched := false
		for _, r := range refs {
			if r.ref.path[level] != name {
				continue
			}
			matched = true
			if len(r.ref.path) == level+1 {
				r.start, r.end, r.found = start, end, true
			} else {
				deeper = append(deeper, r)
			}
		}
		if !matched {
			return nil
		}
		if seen != nil {
			if slices.Contains(*seen, name) {
				return errUseTree
			}
			*seen = append(*seen, name)
		}
		if len(deeper) > 0 {
			return findRaw(data, start, deeper, level+1)
		}
		return nil
	}
	switch data[at] {
	case '{':
		var seen []string
		_, err := jsonscan.Members(data, at, func(key []byte, plain bool, start, end int) error {
			name := string(key)
			if !plain {
				name = string(jsonscan.AppendUnquoted(nil, key))
			}
			return descend(name, start, end, &seen)
		}, 0)
		return err
	case '[':
		i := 0
		_, err := jsonscan.Elements(data, at, func(start, end int) error {
			idx := i
			i++
			// Match every spelling strconv.Atoi accepts for this index, as the
			// tree does ("+1", "01").
			var deeper []*rawRef
			for _, r := range refs {
				if n, err := strconv.Atoi(r.ref.path[level]); err == nil && n == idx {
					if len(r.ref.path) == level+1 {
						r.start, r.end, r.found = start, end, true
					} else {
						deeper = append(deeper, r)
					}
				}
			}
			if len(deeper) > 0 {
				return findRaw(data, start, deeper, level+1)
			}
			return nil
		}, 0)
		return err
	}
	return nil
}
