package compat

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/accord-dev/accord/internal/contract"
	"github.com/accord-dev/accord/internal/contract/report"
)

// Rule ids of the findings Check reports besides the change ids.
const (
	RulePublishedChanged = "published-version-changed"
	RulePublishedRemoved = "published-version-removed"
	RuleNotSuccessor     = "version-not-successor"
	RuleSummary          = "version-summary"
	RuleUnreadable       = "contract-unreadable"
)

// Result is the verdict on one version that the head registry adds.
type Result struct {
	Contract *contract.Contract
	// Predecessor is the highest version below Contract in its family, from the
	// base registry (published versions) or else the head registry; nil for the
	// first version of a family.
	Predecessor *contract.Contract
	// Declared is the bump from Predecessor to Contract; Successor reports whether
	// Contract is the immediate successor SchemaVer allows.
	Declared  contract.Bump
	Successor bool
	// Changes lists what changed since Predecessor; Needed and Compat summarize them.
	Changes []Change
	Needed  contract.Bump
	Compat  Compatibility
}

// OK reports whether the version may be published: it follows its predecessor
// immediately and declares a bump at least as large as its changes need.
func (r Result) OK() bool {
	if r.Predecessor == nil {
		return r.Contract.Key.Version == contract.SchemaVer{Model: 1}
	}
	return r.Successor && r.Declared >= r.Needed
}

// family groups the versions of one contract from both registries, oldest first.
type family []*contract.Contract

func families(base, head *contract.Set) map[contract.Family]family {
	out := map[contract.Family]family{}
	inBase := map[contract.Key]bool{}
	// A published version is what history was validated against, so the base's
	// copy wins over an edited one in head (which Check reports).
	for _, c := range base.Contracts {
		inBase[c.Key] = true
		out[c.Key.Family()] = append(out[c.Key.Family()], c)
	}
	for _, c := range head.Contracts {
		if !inBase[c.Key] {
			out[c.Key.Family()] = append(out[c.Key.Family()], c)
		}
	}
	for _, f := range out {
		sort.Slice(f, func(i, j int) bool { return f[i].Key.Version.Compare(f[j].Key.Version) < 0 })
	}
	return out
}

// below returns the highest version of f below v, nil when there is none.
func (f family) below(v contract.SchemaVer) *contract.Contract {
	var out *contract.Contract
	for _, c := range f {
		if c.Key.Version.Compare(v) < 0 {
			out = c
		}
	}
	return out
}

func (f family) has(v contract.SchemaVer) bool {
	for _, c := range f {
		if c.Key.Version == v {
			return true
		}
	}
	return false
}

// Versions evaluates every version that head has and base does not, in key order:
// each is compared with its predecessor.
func Versions(base, head *contract.Set) []Result {
	inBase := map[contract.Key]bool{}
	for _, c := range base.Contracts {
		inBase[c.Key] = true
	}
	fams := families(base, head)
	var out []Result
	for _, c := range head.Contracts {
		if inBase[c.Key] {
			continue
		}
		r := Result{Contract: c, Predecessor: fams[c.Key.Family()].below(c.Key.Version)}
		if r.Predecessor != nil {
			r.Declared, r.Successor = r.Predecessor.Key.Version.BumpTo(c.Key.Version)
			r.Changes = Diff(r.Predecessor, c)
			r.Needed, r.Compat = Summarize(r.Changes)
		}
		out = append(out, r)
	}
	return out
}

// Check compares the head registry with its previous state base and reports:
// published versions that changed or disappeared (errors), new versions that do
// not follow their predecessor immediately or declare too small a bump (errors, one
// per change that needs more), every other change (info, or a warning when it
// loosens privacy) and a summary of each new version (info). Contracts that could
// not be read are reported too: errors in head, warnings in base. Findings are
// sorted by file and position.
func Check(base, head *contract.Set) []report.Finding {
	var out []report.Finding
	out = append(out, unreadable(head, report.Error, "")...)
	out = append(out, unreadable(base, report.Warning, "base: ")...)
	out = append(out, published(base, head)...)
	fams := families(base, head)
	for _, r := range Versions(base, head) {
		out = append(out, r.findings(fams[r.Contract.Key.Family()])...)
	}
	report.Sort(out)
	return out
}

// unreadable reports the problems of files that did not load at all; problems of
// contracts that loaded are accord lint's to report.
func unreadable(set *contract.Set, sev report.Severity, prefix string) []report.Finding {
	loaded := map[string]bool{}
	for _, c := range set.Contracts {
		loaded[c.File] = true
	}
	var out []report.Finding
	for _, p := range set.Problems {
		if loaded[p.File] {
			continue
		}
		out = append(out, report.Finding{Rule: p.Rule, Severity: sev, File: p.File, Line: p.Line, Col: p.Col, Pointer: p.Pointer,
			Message: prefix + p.Message + " (accord check cannot compare this file)"})
	}
	return out
}

func published(base, head *contract.Set) []report.Finding {
	byKey := map[contract.Key]*contract.Contract{}
	for _, c := range head.Contracts {
		byKey[c.Key] = c
	}
	broken := map[string]bool{}
	for _, p := range head.Problems {
		broken[filepath.ToSlash(p.File)] = true
	}
	fams := families(base, head)
	var out []report.Finding
	for _, old := range base.Contracts {
		now, ok := byKey[old.Key]
		if !ok {
			if unreadableIn(broken, head.Root, old.Key) {
				continue // reported as unreadable already
			}
			out = append(out, report.Finding{Rule: RulePublishedRemoved, Severity: report.Error, File: old.File, Contract: old.Key.URI(),
				Message: fmt.Sprintf("published version %s was removed; a published version stays available to producers and consumers: restore it, and retire the contract with a new version whose x-lifecycle status is retired", old.Key.Version)})
			continue
		}
		diffs := Differences(old.Doc, now.Doc)
		if len(diffs) == 0 {
			continue
		}
		sort.SliceStable(diffs, func(i, j int) bool {
			a, b := now.Pos(diffs[i].Pointer), now.Pos(diffs[j].Pointer)
			if a != b {
				return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
			}
			return diffs[i].Pointer < diffs[j].Pointer
		})
		first := diffs[0]
		needed, _ := Summarize(Diff(old, now))
		needed = max(needed, contract.BumpAddition)
		latest := fams[old.Key.Family()]
		next := Next(latest[len(latest)-1].Key.Version, needed)
		more := ""
		if len(diffs) > 1 {
			more = fmt.Sprintf(" (and %d more differences)", len(diffs)-1)
		}
		pos := now.Pos(first.Pointer)
		out = append(out, report.Finding{Rule: RulePublishedChanged, Severity: report.Error, File: now.File, Line: pos.Line, Col: pos.Col,
			Pointer: first.Pointer, Contract: now.Key.URI(),
			Message: fmt.Sprintf("published version %s changed at %s: was %s, now %s%s; a published version never changes: restore it and publish the change as a new version (it needs %s %s bump: %s)",
				now.Key.Version, pointerOrRoot(first.Pointer), Show(first.Old), Show(first.New), more, article(needed), needed, next)})
	}
	return out
}

// unreadableIn reports whether a problem was reported for key's file in the head
// registry rooted at root, whatever its extension.
func unreadableIn(broken map[string]bool, root string, key contract.Key) bool {
	base := filepath.ToSlash(filepath.Join(root, filepath.FromSlash(key.Path())))
	for _, ext := range []string{"", ".json", ".yaml", ".yml"} {
		if broken[base+ext] {
			return true
		}
	}
	return false
}

func (r Result) findings(fam family) []report.Finding {
	c := r.Contract
	v := c.Key.Version
	loc := func(pointer string) (int, int) { p := c.Pos(pointer); return p.Line, p.Col }
	selfPtr := "/self/version"
	if c.Self == nil {
		selfPtr = ""
	}
	line, col := loc(selfPtr)
	base := report.Finding{File: c.File, Line: line, Col: col, Pointer: selfPtr, Contract: c.Key.URI()}
	var out []report.Finding
	if r.Predecessor == nil {
		f := base
		if r.OK() {
			f.Rule, f.Severity = RuleSummary, report.Info
			f.Message = fmt.Sprintf("%s is the first version of %s; there is nothing to compare it with", v, c.Key.Family())
		} else {
			f.Rule, f.Severity = RuleNotSuccessor, report.Error
			f.Message = fmt.Sprintf("%s is the first version of %s, and SchemaVer starts every contract at 1-0-0: store it as 1-0-0", v, c.Key.Family())
		}
		return append(out, f)
	}
	pv := r.Predecessor.Key.Version
	suggestion := ""
	if next := Next(pv, r.Needed); r.Needed > contract.BumpNone && !fam.has(next) {
		suggestion = ": publish it as " + next.String()
	}
	if !r.Successor {
		f := base
		f.Rule, f.Severity = RuleNotSuccessor, report.Error
		f.Message = fmt.Sprintf("%s is not the immediate successor of %s, the highest version below it: the next versions are %s; its changes need %s %s bump%s",
			v, pv, successors(pv), article(r.Needed), r.Needed, suggestion)
		out = append(out, f)
	}
	for _, ch := range r.Changes {
		f := base
		f.Rule, f.Pointer = ch.ID, ch.Pointer
		f.Line, f.Col = loc(ch.Pointer)
		switch {
		case ch.Bump > r.Declared:
			f.Severity = report.Error
			f.Message = fmt.Sprintf("%s; it needs %s %s bump (%s) but %s declares %s %s over %s%s",
				ch, article(ch.Bump), ch.Bump, ch.Why, v, article(r.Declared), r.Declared, pv, suggestion)
		case ch.LoosensPrivacy:
			f.Severity = report.Warning
			f.Message = fmt.Sprintf("%s; it loosens privacy: the field is stored less protected than in %s; needs %s (%s), %s declares %s; compatibility %s",
				ch, pv, ch.Bump, ch.Why, v, r.Declared, ch.Compat)
		default:
			f.Severity = report.Info
			f.Message = fmt.Sprintf("%s; needs %s (%s), %s declares %s; compatibility %s", ch, ch.Bump, ch.Why, v, r.Declared, ch.Compat)
		}
		out = append(out, f)
	}
	f := base
	f.Rule, f.Severity = RuleSummary, report.Info
	verdict := "ok"
	if !r.OK() {
		verdict = "fails"
	}
	f.Message = fmt.Sprintf("%s over %s: %d %s, needs %s, declares %s (%s); compatibility %s (%s)",
		v, pv, len(r.Changes), plural(len(r.Changes), "change", "changes"), r.Needed, r.Declared, verdict, r.Compat, meaning(r.Compat, pv, v))
	return append(out, f)
}

// meaning spells out a compatibility for two versions.
func meaning(c Compatibility, from, to contract.SchemaVer) string {
	switch c {
	case Full:
		return fmt.Sprintf("consumers on %s read data of %s and consumers on %s read data of %s", to, from, from, to)
	case Backward:
		return fmt.Sprintf("consumers on %s read data of %s", to, from)
	case Forward:
		return fmt.Sprintf("consumers on %s read data of %s", from, to)
	}
	return "neither version's consumers are guaranteed to read the other's data"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Summary is a one-line account of a check for the text output.
func Summary(base, head *contract.Set, baseLabel string) string {
	n := len(Versions(base, head))
	return strings.TrimSpace(fmt.Sprintf("accord check: %d new %s in %s against %s", n, plural(n, "version", "versions"), head.Root, baseLabel))
}
