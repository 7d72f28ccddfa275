package lint

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/accord-dev/accord/internal/contract"
)

// Directives silence rules inside a contract:
//
//	x-lint: {disable: [rule-id, ...], reason: "why"}   at the root, for the whole contract
//	x-lint-disable: [rule-id, ...]                     on a property schema, for it and below
//
// The root form needs a reason, so that a reviewer sees why a rule does not apply.
const (
	directiveRoot  = "x-lint"
	directiveField = "x-lint-disable"
)

// directives are the silencing directives of one contract.
type directives struct {
	contract []string
	fields   []fieldDirective
}

type fieldDirective struct {
	pointer string
	rules   []string
}

// silences reports whether a finding of rule at pointer is silenced.
func (d *directives) silences(rule, pointer string) bool {
	if d == nil {
		return false
	}
	if slices.Contains(d.contract, rule) {
		return true
	}
	for _, f := range d.fields {
		if (pointer == f.pointer || strings.HasPrefix(pointer, f.pointer+"/")) && slices.Contains(f.rules, rule) {
			return true
		}
	}
	return false
}

// readDirectives reads the directives of c, reporting malformed ones under
// lint-directive. A malformed directive silences nothing.
func readDirectives(p *pass, c *contract.Contract) *directives {
	d := &directives{}
	if v, ok := c.Doc[directiveRoot]; ok {
		d.contract = readRootDirective(p, c, v)
	}
	for _, n := range p.schemaNodes(c) {
		v, ok := n.schema[directiveField]
		if !ok {
			continue
		}
		ptr := n.pointer + "/" + directiveField
		if n.pointer == "" {
			p.add(c, ptr, RuleDirective, "x-lint-disable is for property schemas; at the root write `x-lint: {disable: [...], reason: \"why the rules do not apply\"}`")
			continue
		}
		if ids, ok := ruleList(p, c, ptr, v); ok {
			d.fields = append(d.fields, fieldDirective{pointer: n.pointer, rules: ids})
		}
	}
	return d
}

func readRootDirective(p *pass, c *contract.Contract, v any) []string {
	m, ok := v.(map[string]any)
	if !ok {
		p.add(c, "/"+directiveRoot, RuleDirective, "x-lint must be an object `{disable: [rule-id, ...], reason: \"why\"}`")
		return nil
	}
	bad := false
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k != "disable" && k != "reason" {
			p.add(c, "/"+directiveRoot+"/"+k, RuleDirective, "x-lint has unknown key %q; it holds disable and reason", clip(k))
			bad = true
		}
	}
	reason, _ := m["reason"].(string)
	if strings.TrimSpace(reason) == "" {
		p.add(c, "/"+directiveRoot, RuleDirective, "x-lint needs a reason: add `reason: \"why these rules do not apply to this contract\"`; nothing is silenced until it has one")
		bad = true
	}
	dv, ok := m["disable"]
	if !ok {
		p.add(c, "/"+directiveRoot, RuleDirective, "x-lint needs `disable: [rule-id, ...]`")
		return nil
	}
	ids, ok := ruleList(p, c, "/"+directiveRoot+"/disable", dv)
	if !ok || bad {
		return nil
	}
	return ids
}

// ruleList reads a list of rule ids that a contract may silence.
func ruleList(p *pass, c *contract.Contract, pointer string, v any) ([]string, bool) {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		p.add(c, pointer, RuleDirective, "expected a non-empty list of rule ids, e.g. [%s]", RulePII)
		return nil, false
	}
	var ids []string
	good := true
	for i, item := range list {
		ip := fmt.Sprintf("%s/%d", pointer, i)
		id, _ := item.(string)
		r, known := lookup(id)
		switch {
		case !known:
			p.add(c, ip, RuleDirective, "unknown rule %q; known rules are %s", clip(id), strings.Join(ruleIDs(), ", "))
			good = false
		case r.Loader || r.ID == RuleDirective:
			p.add(c, ip, RuleDirective, "rule %s cannot be silenced in a contract: the registry refuses contracts with this problem; fix the problem instead", r.ID)
			good = false
		default:
			ids = append(ids, id)
		}
	}
	return ids, good
}

// clip shortens contract text before it goes into a message.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
