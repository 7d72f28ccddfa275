package ir

import (
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// Words splits an identifier into lowercase words, the neutral form every target
// renders in its own case: "checkout_completed" -> [checkout completed],
// "userId" -> [user id], "HTTPServer" -> [http server], "user-agent 2" -> [user agent 2].
// Letters and digits stay together ("address2" -> [address2]); every other
// character separates words. Non-ASCII letters are kept.
func Words(s string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(s)
	for i, r := range rs {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if unicode.IsUpper(r) && len(cur) > 0 {
				prev := rs[i-1]
				nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
				// fooBar -> foo|Bar; HTTPServer -> HTTP|Server; v2Beta -> v2|Beta.
				if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
					flush()
				}
			}
			cur = append(cur, r)
		default:
			flush()
		}
	}
	flush()
	return words
}

// Snake renders words as a snake_case identifier made of [a-z0-9_] only: other
// characters are dropped, a leading digit gets a "_" prefix and an empty result
// becomes fallback. This is the rule for table and column names.
func Snake(words []string, fallback string) string {
	var parts []string
	for _, w := range words {
		var b strings.Builder
		for _, r := range w {
			if r < unicode.MaxASCII && (unicode.IsLower(r) || unicode.IsDigit(r)) {
				b.WriteRune(r)
			}
		}
		if b.Len() > 0 {
			parts = append(parts, b.String())
		}
	}
	s := strings.Join(parts, "_")
	if s == "" {
		return fallback
	}
	if s[0] >= '0' && s[0] <= '9' {
		s = "_" + s
	}
	return s
}

// Namer hands out unique names within one scope (the columns of a table, the fields
// of a struct, the types of a package). Names taken earlier keep their name; see
// Assign for how a group of new names is resolved.
type Namer struct {
	taken map[string]bool
	// Fold maps a name to the form in which two names collide, e.g.
	// strings.ToLower for case-insensitive SQL identifiers. Nil means exact.
	Fold func(string) string
	// Sep goes between a name and its numeric suffix: "_" gives user_id_2.
	Sep string
}

// NewNamer returns a Namer in which reserved names are already taken.
func NewNamer(sep string, fold func(string) string, reserved ...string) *Namer {
	n := &Namer{taken: map[string]bool{}, Fold: fold, Sep: sep}
	for _, r := range reserved {
		n.Reserve(r)
	}
	return n
}

func (n *Namer) key(s string) string {
	if n.Fold != nil {
		return n.Fold(s)
	}
	return s
}

// Reserve marks name as taken.
func (n *Namer) Reserve(name string) { n.taken[n.key(name)] = true }

// Taken reports whether name is taken.
func (n *Namer) Taken(name string) bool { return n.taken[n.key(name)] }

// Candidate is one name to assign: Want is the mapped name it would like, Source
// the original it was mapped from (the JSON property name, say).
type Candidate struct {
	Want   string
	Source string
}

// Assign resolves a group of candidates deterministically, whatever their order:
// candidates wanting the same name are ordered with the one whose Source equals
// Want first (the name that needed no mapping), then by Source bytewise; the first
// free one gets Want, the others Want+Sep+"2", Want+Sep+"3", ... (the first free
// suffix). It returns the names in the order of cands.
func (n *Namer) Assign(cands []Candidate) []string {
	idx := make([]int, len(cands))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		ca, cb := cands[idx[a]], cands[idx[b]]
		if n.key(ca.Want) != n.key(cb.Want) {
			return n.key(ca.Want) < n.key(cb.Want)
		}
		ea, eb := ca.Source == ca.Want, cb.Source == cb.Want
		if ea != eb {
			return ea
		}
		return ca.Source < cb.Source
	})
	out := make([]string, len(cands))
	for _, i := range idx {
		out[i] = n.Take(cands[i].Want)
	}
	return out
}

// Take returns want if it is free, else want with the first free numeric suffix
// starting at 2, and marks the result taken.
func (n *Namer) Take(want string) string {
	name := want
	for i := 2; n.Taken(name); i++ {
		name = want + n.Sep + strconv.Itoa(i)
	}
	n.Reserve(name)
	return name
}
