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
	start, _, err := jsonscan.Document(data)
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
		controller, okc, errc := p.controller.resolveRaw(data, start)
		subject, oks, errs := p.subject.resolveRaw(data, start)
		if errc != nil || errs != nil {
			return dst, nil, nil, false // a repeated member on the way: the tree reads the last
		}
		if okc && oks && controller != "" && subject != "" {
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

// resolveRaw is resolve on the bytes of a checked JSON document whose value
// starts at at. err is set when a member on the way is repeated.
func (r privacyRef) resolveRaw(data []byte, at int) (string, bool, error) {
	if r.path == nil && r.pointer == "" {
		return r.value, r.value != "", nil
	}
	start, end := at, -1
	for _, tok := range r.path {
		next, nextEnd := -1, -1
		var err error
		switch data[start] {
		case '{':
			_, err = jsonscan.Members(data, start, func(key []byte, plain bool, s, e int) error {
				name := string(key)
				if !plain {
					name = string(jsonscan.AppendUnquoted(nil, key))
				}
				if name != tok {
					return nil
				}
				if next >= 0 {
					return errUseTree
				}
				next, nextEnd = s, e
				return nil
			}, 0)
		case '[':
			want, aerr := strconv.Atoi(tok)
			if aerr != nil || want < 0 {
				return "", false, nil
			}
			i := 0
			_, err = jsonscan.Elements(data, start, func(s, e int) error {
				if i == want {
					next, nextEnd = s, e
				}
				i++
				return nil
			}, 0)
		default:
			return "", false, nil
		}
		if err != nil {
			return "", false, err
		}
		if next < 0 {
			return "", false, nil
		}
		start, end = next, nextEnd
	}
	if end < 0 {
		return "", false, nil
	}
	switch v := data[start:end]; {
	case v[0] == '"':
		s := jsonscan.Unquote(v)
		return s, s != "", nil
	case v[0] == '-' || (v[0] >= '0' && v[0] <= '9'):
		return string(v), true, nil
	}
	return "", false, nil
}
