// Package lint checks a registry of contracts against the rules a data platform
// needs before it accepts them: they compile, they are versioned without gaps,
// every field is documented, personal data is annotated and handled, retention
// and ownership are declared. accord lint, the registry's HTTP API and CI all run
// the same engine through Run.
package lint

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/accord-dev/accord/internal/contract"
	"github.com/accord-dev/accord/internal/contract/report"
)

// Options tune one lint run.
type Options struct {
	// Disable lists rule ids whose findings are left out of this run.
	Disable []string
}

// Validate reports rule ids in Disable that no rule has.
func (o Options) Validate() error {
	var unknown []string
	for _, id := range o.Disable {
		if _, ok := lookup(id); !ok {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) > 0 {
		return fmt.Errorf("unknown rule %s: known rules are %s (see accord lint --rules)", strings.Join(unknown, ", "), strings.Join(ruleIDs(), ", "))
	}
	return nil
}

func ruleIDs() []string {
	out := make([]string, len(rules))
	for i, r := range rules {
		out[i] = r.ID
	}
	return out
}

// Run compiles every contract of set and checks it against every rule, returning
// all findings sorted by file and position, nil when there are none. It fails only
// when opts are invalid; problems in the contracts are findings, never errors.
// Run does not modify set and may run concurrently with other readers of it.
func Run(set *contract.Set, opts Options) ([]report.Finding, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	p := newPass(set)
	// Compile reports the set's own load problems first, then compile problems.
	_, problems := contract.Compile(set)
	for _, pr := range problems {
		p.problem(pr)
	}
	for _, c := range set.Contracts {
		checkContract(p, c)
	}
	checkVersions(p)
	checkEventNames(p)
	return p.result(opts.Disable), nil
}

// finding is a report.Finding with what silencing needs to know.
type finding struct {
	report.Finding
	c      *contract.Contract
	pinned bool // from the loader, the compiler or a broken directive: a contract cannot silence it
}

// pass holds the state of one run.
type pass struct {
	set      *contract.Set
	byFile   map[string]*contract.Contract
	byKey    map[contract.Key]*contract.Contract
	findings []finding
	nodes    map[*contract.Contract][]node
	// broken holds the contracts with a loader or compiler problem: the
	// registry refuses them, so checks of how they would run are moot.
	broken map[*contract.Contract]bool
}

func newPass(set *contract.Set) *pass {
	p := &pass{set: set, byFile: map[string]*contract.Contract{}, byKey: map[contract.Key]*contract.Contract{}, nodes: map[*contract.Contract][]node{}, broken: map[*contract.Contract]bool{}}
	for _, c := range set.Contracts {
		p.byFile[c.File] = c
		p.byKey[c.Key] = c
	}
	return p
}

// schemaNodes returns every schema node of c, computed once per run.
func (p *pass) schemaNodes(c *contract.Contract) []node {
	if n, ok := p.nodes[c]; ok {
		return n
	}
	n := schemaNodes(c.Doc)
	p.nodes[c] = n
	return n
}

// problem records a loader or compiler problem under its own rule id.
func (p *pass) problem(pr *contract.Problem) {
	r, ok := lookup(pr.Rule)
	sev := report.Error
	if ok {
		sev = r.Severity
	}
	f := finding{Finding: report.Finding{Rule: pr.Rule, Severity: sev, File: pr.File, Line: pr.Line, Col: pr.Col, Pointer: pr.Pointer, Message: pr.Message}, pinned: true}
	if c := p.byFile[pr.File]; c != nil {
		p.broken[c] = true
		f.c = c
		f.Contract = c.Key.URI()
	}
	p.findings = append(p.findings, f)
}

// add records a finding of rule at the schema node pointer of c.
func (p *pass) add(c *contract.Contract, pointer, rule, format string, args ...any) {
	r, ok := lookup(rule)
	if !ok {
		// Every rule id used by a check is in the table; this guards the table.
		r = Rule{ID: rule, Severity: report.Error}
	}
	pos := c.Pos(pointer)
	p.findings = append(p.findings, finding{c: c, pinned: rule == RuleDirective, Finding: report.Finding{
		Rule: rule, Severity: r.Severity, File: c.File, Line: pos.Line, Col: pos.Col,
		Pointer: pointer, Contract: c.Key.URI(), Message: fmt.Sprintf(format, args...),
	}})
}

// result applies the run's and the contracts' silencing and sorts what is left.
func (p *pass) result(disable []string) []report.Finding {
	dirs := map[*contract.Contract]*directives{}
	for _, c := range p.set.Contracts {
		dirs[c] = readDirectives(p, c)
	}
	// The compiler stops at the first $ref it cannot resolve, and which one it
	// meets first varies from run to run; ref-local lists every one of them, so
	// the compiler's report of a bad $ref is left out when ref-local runs.
	badRefs := map[*contract.Contract]bool{}
	if !slices.Contains(disable, RuleRefLocal) {
		for _, f := range p.findings {
			if f.Rule == RuleRefLocal {
				badRefs[f.c] = true
			}
		}
	}
	var out []report.Finding
	for _, f := range p.findings {
		if slices.Contains(disable, f.Rule) {
			continue
		}
		if f.Rule == contract.RuleCompile && badRefs[f.c] && !strings.HasPrefix(f.Message, "not a valid JSON Schema") {
			continue
		}
		if f.c != nil && !f.pinned && dirs[f.c].silences(f.Rule, f.Pointer) {
			continue
		}
		out = append(out, f.Finding)
	}
	report.Sort(out)
	return out
}

// relKey recovers the key of a registry file from the name the loader reported it
// under, so that versions that failed to load still count as present.
func relKey(root, file string) (contract.Key, bool) {
	rel, err := filepath.Rel(root, file)
	if err != nil {
		return contract.Key{}, false
	}
	k, err := contract.ParsePath(filepath.ToSlash(rel))
	return k, err == nil
}

// Fails reports whether findings should fail the run: any finding at failOn's
// severity or worse. accord lint exits 1 when it does.
func Fails(findings []report.Finding, failOn report.Severity) bool {
	worst, ok := report.Worst(findings)
	return ok && worst >= failOn
}
