package fastval

import (
	"encoding/binary"
	"regexp/syntax"
	"slices"
)

// dfa is an exact, allocation-free matcher for the ASCII subset of a Go regexp,
// built by subset construction from the same syntax.Prog that regexp.Compile
// uses. It answers regexp.MatchString (is there a match anywhere) for ASCII
// input; callers use the regexp for other input. Patterns with word boundaries
// or multi-line anchors, or that need too many states, get no dfa.
type dfa struct {
	states []dfaState
	// trans is the flat transition table used by match: trans[st*ncls+class[c]]. Byte
	// values >= 0x80 lead to dfaBail; reaching a state where a match was seen
	// leads to dfaAccept. nil trans: the empty prefix matches, so all do.
	trans    []uint16   // row offsets (state*ncls), or dfaAccept16/dfaBail16
	class    [256]uint8 // byte -> class
	ncls     int
	matchEnd []bool
}

const (
	dfaBail   = 255
	dfaAccept = 254
	// in the table, targets are row offsets so that a step needs no multiply
	dfaAccept16 = 0xfffe
	dfaBail16   = 0xffff
)

type dfaState struct {
	match    bool // a thread reached Match here
	matchEnd bool // a thread reaches Match if the input ends here
	next     [128]int32
}

const maxDFAStates = 256

func compileDFA(pattern string) *dfa {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return nil
	}
	for i := range prog.Inst {
		in := &prog.Inst[i]
		if in.Op == syntax.InstEmptyWidth {
			if syntax.EmptyOp(in.Arg)&^(syntax.EmptyBeginText|syntax.EmptyEndText) != 0 {
				return nil
			}
		}
	}
	b := &dfaBuilder{prog: prog, index: map[string]int32{}, mark: make([]uint32, len(prog.Inst))}
	start := b.state([]uint32{uint32(prog.Start)}, true)
	if start < 0 {
		return nil
	}
	for i := 0; i < len(b.raw); i++ {
		for r := 0; r < 128; r++ {
			var next []uint32
			for _, pc := range b.closures[i] {
				if instMatches(&prog.Inst[pc], rune(r)) {
					next = append(next, prog.Inst[pc].Out)
				}
			}
			// unanchored search: a new thread starts at every position
			next = append(next, uint32(prog.Start))
			id := b.state(next, false)
			if id < 0 {
				return nil
			}
			b.out[i].next[r] = id
		}
	}
	return flatten(&dfa{states: b.out})
}

// flatten builds the compact table: bytes that every state treats alike share a
// class, and each state has one row of classes. nil when there are too many
// states.
func flatten(d *dfa) *dfa {
	n := len(d.states)
	if n >= dfaAccept {
		return nil
	}
	if d.states[0].match {
		// matches the empty prefix: every input matches
		d.states = nil
		return d
	}
	target := func(i, c int) uint8 {
		if c >= 0x80 {
			return dfaBail
		}
		to := uint8(d.states[i].next[c])
		if d.states[to].match {
			return dfaAccept
		}
		return to
	}
	// classify bytes by their column of targets
	classOf := map[string]uint8{}
	col := make([]byte, n)
	var reps []int
	for c := 0; c < 256; c++ {
		for i := 0; i < n; i++ {
			col[i] = target(i, c)
		}
		k := string(col)
		id, ok := classOf[k]
		if !ok {
			id = uint8(len(reps))
			classOf[k] = id
			reps = append(reps, c)
		}
		d.class[c] = id
	}
	d.ncls = len(reps)
	if n*d.ncls >= dfaAccept16 {
		return nil
	}
	d.trans = make([]uint16, n*d.ncls)
	d.matchEnd = make([]bool, n*d.ncls)
	for i := 0; i < n; i++ {
		for k, c := range reps {
			var off uint16
			switch to := target(i, c); to {
			case dfaAccept:
				off = dfaAccept16
			case dfaBail:
				off = dfaBail16
			default:
				off = uint16(int(to) * d.ncls)
			}
			d.trans[i*d.ncls+k] = off
		}
		d.matchEnd[i*d.ncls] = d.states[i].matchEnd
	}
	d.states = nil // only the table is needed from here on
	return d
}

func instMatches(in *syntax.Inst, r rune) bool {
	switch in.Op {
	case syntax.InstRune:
		return in.MatchRune(r)
	case syntax.InstRune1:
		return r == in.Rune[0]
	case syntax.InstRuneAny:
		return true
	case syntax.InstRuneAnyNotNL:
		return r != '\n'
	}
	return false
}

type dfaBuilder struct {
	prog     *syntax.Prog
	mark     []uint32 // closure generation per instruction
	gen      uint32
	index    map[string]int32
	raw      [][]uint32
	closures [][]uint32
	out      []dfaState
}

// state interns the DFA state for a set of thread heads.
func (b *dfaBuilder) state(heads []uint32, begin bool) int32 {
	slices.Sort(heads)
	heads = slices.Compact(heads)
	key := make([]byte, 0, 1+4*len(heads))
	if begin {
		key = append(key, '^')
	}
	for _, h := range heads {
		key = binary.LittleEndian.AppendUint32(key, h)
	}
	if id, ok := b.index[string(key)]; ok {
		return id
	}
	if len(b.out) >= maxDFAStates {
		return -1
	}
	closure, match := b.closure(heads, begin, false)
	_, matchEnd := b.closure(heads, begin, true)
	id := int32(len(b.out))
	b.index[string(key)] = id
	b.raw = append(b.raw, heads)
	b.closures = append(b.closures, closure)
	b.out = append(b.out, dfaState{match: match, matchEnd: matchEnd})
	return id
}

// closure follows empty transitions from heads and returns the rune-consuming
// instructions reached and whether Match is reached.
func (b *dfaBuilder) closure(heads []uint32, begin, end bool) ([]uint32, bool) {
	b.gen++
	var out []uint32
	match := false
	var walk func(pc uint32)
	walk = func(pc uint32) {
		if b.mark[pc] == b.gen {
			return
		}
		b.mark[pc] = b.gen
		in := &b.prog.Inst[pc]
		switch in.Op {
		case syntax.InstAlt, syntax.InstAltMatch:
			walk(in.Out)
			walk(in.Arg)
		case syntax.InstCapture, syntax.InstNop:
			walk(in.Out)
		case syntax.InstEmptyWidth:
			op := syntax.EmptyOp(in.Arg)
			if (op&syntax.EmptyBeginText == 0 || begin) && (op&syntax.EmptyEndText == 0 || end) {
				walk(in.Out)
			}
		case syntax.InstMatch:
			match = true
		case syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
			out = append(out, pc)
		}
	}
	for _, h := range heads {
		walk(h)
	}
	slices.Sort(out)
	return out, match
}

// match reports whether s contains a match; ok is false when s is not ASCII and
// the caller must ask the regexp.
func (d *dfa) match(s []byte) (matched, ok bool) {
	if d.trans == nil {
		return true, true
	}
	var off uint16 // row offset of the current state
	t, cls := d.trans, &d.class
	for _, c := range s {
		off = t[int(off)+int(cls[c])]
		if off >= dfaAccept16 {
			if off == dfaBail16 {
				return false, false
			}
			return true, true
		}
	}
	return d.matchEnd[off], true
}
