package lint

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/accord-dev/accord/internal/contract"
	"github.com/accord-dev/accord/internal/contract/fastval"
)

// checkContract runs every rule that looks at one contract alone.
func checkContract(p *pass, c *contract.Contract) {
	checkAnnotations(p, c)
	checkPrivacy(p, c)
	checkFastPath(p, c)
	if strings.TrimSpace(c.Description) == "" {
		p.add(c, "", RuleDescription, "the contract has no description: add `description: <what happened, who does it, when it is sent>` at the root")
	} else {
		checkShort(p, c, "", "the contract", c.Description, c.Key.Name)
	}
	for _, n := range p.schemaNodes(c) {
		chain := resolve(c.Doc, n.schema)
		if n.via == viaProperty && !n.condition {
			checkProperty(p, c, n, chain)
			checkPII(p, c, n, chain)
		}
		checkClosed(p, c, n)
		checkRequired(p, c, n)
		checkEnum(p, c, n)
		checkRefs(p, c, n)
		checkKeep(p, c, n)
	}
}

func checkAnnotations(p *pass, c *contract.Contract) {
	if _, ok := c.Doc["x-owner"]; !ok {
		p.add(c, "", contract.RuleOwner, "the contract has no owner: add `x-owner: {team: <the team that answers for it>, contact: <email or channel>}`")
	}
	lc, hasLC := c.Doc["x-lifecycle"].(map[string]any)
	if _, ok := lc["retention"]; !ok {
		ptr := ""
		if hasLC {
			ptr = "/x-lifecycle"
		}
		p.add(c, ptr, RuleRetentionPresent, "the contract does not say how long its events are kept: add `retention: P400D` (an ISO-8601 duration) to x-lifecycle")
	}
	if s := c.Lifecycle.Status; (s == contract.StatusDeprecated || s == contract.StatusRetired) && c.Lifecycle.ReplacedBy == "" {
		p.add(c, "/x-lifecycle/status", RuleReplacedBy, "the contract is %s but does not say what replaces it: add `replaced_by: iglu:<vendor>/<name>/jsonschema/<version>` to x-lifecycle so producers know where to move", s)
	}
	if rb := c.Lifecycle.ReplacedBy; rb != "" {
		if k, err := contract.ParseURI(rb); err == nil {
			if _, ok := p.byKey[k]; !ok {
				p.add(c, "/x-lifecycle/replaced_by", RuleReplacedByExists, "replaced_by names %s, which is not in the registry: add that contract or fix the reference", rb)
			} else if k == c.Key {
				p.add(c, "/x-lifecycle/replaced_by", RuleReplacedByExists, "replaced_by names the contract itself: name the version producers should move to")
			}
		}
	}
	if c.Draft != contract.Draft2020 {
		p.add(c, "/$schema", RuleDraft, "the contract is written in %s; consider JSON Schema 2020-12 (`$schema: https://json-schema.org/draft/2020-12/schema`), which adds unevaluatedProperties, prefixItems and $defs", c.Draft)
	}
}

// checkFastPath reports the keywords that keep c off the fast validator: its
// events are then validated by the reference validator, with the same verdicts
// but several times the CPU. A schema that does not compile at all is the
// compile rule's finding, not this one's.
func checkFastPath(p *pass, c *contract.Contract) {
	if p.broken[c] {
		return
	}
	unsup, err := fastval.Unsupported(fastval.ForContract(c))
	if err != nil {
		return
	}
	for _, u := range unsup {
		ptr := u.Pointer
		if obj, ok := contract.SchemaAt(c.Doc, ptr); ok {
			if _, has := obj[u.Keyword]; has {
				ptr = contract.JoinPointer(append(contract.SplitPointer(ptr), u.Keyword)...)
			}
		}
		p.add(c, ptr, RuleFastPath, "%s keeps this contract off the fast validator (%s): its events take the reference validator, several times slower; remove it if the contract can do without", u.Keyword, u.Reason)
	}
}

// checkPrivacy checks that tokenized fields have a vault scope and that the
// privacy pointers name required properties.
func checkPrivacy(p *pass, c *contract.Contract) {
	var tokenized []string
	first := ""
	for _, n := range p.schemaNodes(c) {
		if m, ok := n.schema["x-pii"].(map[string]any); ok && m["handling"] == string(contract.HandlingTokenize) {
			if first == "" {
				first = n.pointer + "/x-pii/handling"
			}
			tokenized = append(tokenized, fieldName(n.pointer))
		}
	}
	pv := c.Privacy
	if len(tokenized) > 0 && (pv == nil || pv.Controller.IsZero() || pv.Subject.IsZero()) {
		var missing []string
		if pv == nil || pv.Controller.IsZero() {
			missing = append(missing, "controller")
		}
		if pv == nil || pv.Subject.IsZero() {
			missing = append(missing, "subject")
		}
		p.add(c, first, RuleTokenizePrivacy, "%s tokenized but x-privacy has no %s: the vault scopes every token to a (controller, subject) pair so that a subject can be forgotten; add `x-privacy: {controller: {field: /shop_id}, subject: {field: /user_id}}` with your own fields",
			plural(tokenized, "is", "are"), strings.Join(missing, " or "))
	}
	if pv == nil {
		return
	}
	for _, role := range []struct {
		name string
		ref  contract.Ref
	}{{"controller", pv.Controller}, {"subject", pv.Subject}} {
		ptr := role.ref.Field
		if ptr == "" || !strings.HasPrefix(ptr, "/") {
			continue
		}
		at := "/x-privacy/" + role.name + "/field"
		f, ok := fieldAt(c, ptr)
		if !ok {
			p.add(c, at, RulePrivacyDefined, "x-privacy.%s points at %s, which the contract does not define: point it at one of its properties (%s)", role.name, ptr, topFields(c))
			continue
		}
		if !requiredPath(c, f) {
			p.add(c, at, RulePrivacyRequired, "x-privacy.%s points at %s, which is optional: events without it have no %s, so the vault cannot scope or forget their data; add it to required or point at a required property", role.name, ptr, role.name)
		}
	}
}

func plural(names []string, one, many string) string {
	list := strings.Join(names, ", ")
	if len(names) == 1 {
		return list + " " + one
	}
	return list + " " + many
}

// fieldAt returns the field whose data pointer is ptr.
func fieldAt(c *contract.Contract, ptr string) (contract.Field, bool) {
	for _, f := range c.Fields {
		if f.DataPointer() == ptr {
			return f, true
		}
	}
	return contract.Field{}, false
}

// requiredPath reports whether f and every object field that encloses it are
// required, so that every valid event carries f.
func requiredPath(c *contract.Contract, f contract.Field) bool {
	if !f.Required {
		return false
	}
	for i := len(f.Path) - 1; i > 0; i-- {
		parent, ok := fieldAt(c, contract.JoinPointer(f.Path[:i]...))
		if !ok || !parent.Required {
			return false
		}
	}
	return true
}

func topFields(c *contract.Contract) string {
	var names []string
	for _, f := range c.Fields {
		if len(f.Path) == 1 {
			names = append(names, f.DataPointer())
		}
	}
	if len(names) == 0 {
		return "it defines none"
	}
	if len(names) > 8 {
		names = append(names[:8], "...")
	}
	return "for example " + strings.Join(names, ", ")
}

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// checkProperty runs the documentation and naming rules of one named property.
func checkProperty(p *pass, c *contract.Contract, n node, chain []map[string]any) {
	name := fieldName(n.pointer)
	desc := str(chain, "description")
	if strings.TrimSpace(desc) == "" {
		p.add(c, n.pointer, RuleDescription, "field %s has no description: add `description: <what it means, its unit, where it comes from>`", name)
	} else {
		checkShort(p, c, n.pointer, "field "+name, desc, n.name)
	}
	switch {
	case snakeCase.MatchString(n.name):
	case n.name != "" && unicode.IsDigit(rune(n.name[0])):
		p.add(c, n.pointer, RuleSnakeCase, "field %s starts with a digit: rename it to a snake_case name that starts with a letter, so it is a valid column name in every warehouse", name)
	default:
		p.add(c, n.pointer, RuleSnakeCase, "field %s is not snake_case: rename it %s so it maps to the same column name in every warehouse", name, snake(n.name))
	}
	typed := false
	for _, kw := range []string{"type", "enum", "const", "allOf", "anyOf", "oneOf", "not"} {
		typed = typed || anyHas(chain, kw)
	}
	if _, hasRef := n.schema["$ref"]; hasRef && len(chain) == 1 {
		typed = true // an unresolved $ref is ref-local's finding, not this rule's
	}
	if !typed {
		p.add(c, n.pointer, RuleTypeDeclared, "field %s does not declare a type: add `type: string` (or integer, number, boolean, object, array) so that SDKs, tables and validation agree on it", name)
	}
}

func checkShort(p *pass, c *contract.Contract, pointer, what, desc, name string) {
	d := strings.TrimSpace(desc)
	if len(d) < minDescriptionChars || normalize(d) == normalize(name) {
		p.add(c, pointer+"/description", RuleDescriptionShort, "the description of %s (%q) says little more than its name: say what it means, its unit and where it comes from", what, clip(d))
	}
}

func normalize(s string) string {
	return strings.Join(words(strings.TrimSuffix(s, ".")), "")
}

// snake proposes a snake_case spelling of name.
func snake(name string) string {
	w := words(name)
	if len(w) == 0 {
		return "a snake_case name"
	}
	return strings.Join(w, "_")
}

// checkClosed reports objects that accept any extra property without saying why.
func checkClosed(p *pass, c *contract.Contract, n node) {
	switch n.via {
	case viaRoot, viaProperty, viaItems, viaAdditional, viaDef:
	default:
		return // branches of a composition are closed by the schema that combines them
	}
	s := n.schema
	_, hasProps := s["properties"]
	_, hasPattern := s["patternProperties"]
	if !hasProps && !hasPattern && !slices.Contains(types([]map[string]any{s}), "object") {
		return
	}
	if closes(s["additionalProperties"]) || closes(s["unevaluatedProperties"]) {
		return
	}
	if why, _ := s[additionalPropertiesWhy].(string); strings.TrimSpace(why) != "" {
		return
	}
	ptr := n.pointer
	if _, ok := s["additionalProperties"]; ok {
		ptr += "/additionalProperties"
	}
	what := "the event"
	if n.pointer != "" {
		what = "object " + fieldName(n.pointer)
	}
	p.add(c, ptr, RuleClosed, "%s accepts any extra property, so typos and undocumented fields (personal data too) pass validation: add `additionalProperties: false` (or a schema for the extra values), or say why it is open in `%s: <reason>`", what, additionalPropertiesWhy)
}

// closes reports whether an additionalProperties value restricts extra properties.
func closes(v any) bool {
	switch v := v.(type) {
	case bool:
		return !v
	case map[string]any:
		return true
	}
	return false
}

// checkRequired reports required names that no properties define.
func checkRequired(p *pass, c *contract.Contract, n node) {
	req, ok := n.schema["required"].([]any)
	if !ok {
		return
	}
	// Names may be defined by the schema, its compositions and, for a branch of a
	// composition (if/then: {required: [...]}), the schema that holds the branch.
	scope := []map[string]any{n.schema}
	if n.via == viaComposition {
		scope = append(scope, enclosing(p.schemaNodes(c), n)...)
	}
	defined := map[string]bool{}
	var patterns []*regexp.Regexp
	for _, s := range scope {
		collectNames(c.Doc, s, defined, &patterns, 0)
	}
	for i, r := range req {
		name, ok := r.(string)
		if !ok || defined[name] || slices.ContainsFunc(patterns, func(re *regexp.Regexp) bool { return re.MatchString(name) }) {
			continue
		}
		p.add(c, n.pointer+"/required/"+strconv.Itoa(i), RuleRequiredDefined, "%q is required but not defined under properties: define it with a type and a description, or remove it from required", clip(name))
	}
}

// enclosing returns the schemas that hold the composition branch n, up to the
// first one that is not itself a branch.
func enclosing(nodes []node, n node) []map[string]any {
	var out []map[string]any
	ptr := n.pointer
	for {
		parent, ok := parentNode(nodes, ptr)
		if !ok {
			return out
		}
		out = append(out, parent.schema)
		if parent.via != viaComposition {
			return out
		}
		ptr = parent.pointer
	}
}

// parentNode finds the closest schema node that encloses the node at ptr.
func parentNode(nodes []node, ptr string) (node, bool) {
	best, found := node{}, false
	for _, m := range nodes {
		if m.pointer != ptr && (m.pointer == "" || strings.HasPrefix(ptr, m.pointer+"/")) && (!found || len(m.pointer) > len(best.pointer)) {
			best, found = m, true
		}
	}
	return best, found
}

// collectNames gathers the property names s defines, directly, through local
// $refs and through its compositions.
func collectNames(doc, s map[string]any, names map[string]bool, patterns *[]*regexp.Regexp, depth int) {
	if depth > 16 {
		return
	}
	if props, ok := s["properties"].(map[string]any); ok {
		for k := range props {
			names[k] = true
		}
	}
	if pp, ok := s["patternProperties"].(map[string]any); ok {
		for k := range pp {
			if re, err := regexp.Compile(k); err == nil {
				*patterns = append(*patterns, re)
			}
		}
	}
	if ref, ok := s["$ref"].(string); ok {
		if t, _, ok := contract.LocalRef(doc, ref); ok {
			collectNames(doc, t, names, patterns, depth+1)
		}
	}
	for _, kw := range []string{"allOf", "anyOf", "oneOf"} {
		if list, ok := s[kw].([]any); ok {
			for _, item := range list {
				if m, ok := item.(map[string]any); ok {
					collectNames(doc, m, names, patterns, depth+1)
				}
			}
		}
	}
	for _, kw := range []string{"if", "then", "else"} {
		if m, ok := s[kw].(map[string]any); ok {
			collectNames(doc, m, names, patterns, depth+1)
		}
	}
}

// checkEnum reports enum values listed more than once.
func checkEnum(p *pass, c *contract.Contract, n node) {
	list, ok := n.schema["enum"].([]any)
	if !ok {
		return
	}
	seen := map[string]int{}
	for i, v := range list {
		b, err := json.Marshal(v)
		if err != nil {
			continue // not JSON: the compiler reports it
		}
		if j, dup := seen[string(b)]; dup {
			p.add(c, n.pointer+"/enum/"+strconv.Itoa(i), RuleEnumUnique, "enum value %s is listed twice (first at position %d): remove the duplicate", clip(string(b)), j+1)
			continue
		}
		seen[string(b)] = i
	}
}

// checkRefs reports references that leave the contract or point at nothing. The
// compiler refuses them too, but stops at the first; lint lists them all.
func checkRefs(p *pass, c *contract.Contract, n node) {
	for _, kw := range []string{"$ref", "$dynamicRef", "$recursiveRef"} {
		ref, ok := n.schema[kw].(string)
		if !ok {
			continue
		}
		ptr := n.pointer + "/" + kw
		switch {
		case !strings.HasPrefix(ref, "#"):
			p.add(c, ptr, RuleRefLocal, "%s %q points outside the contract; Accord never reads files or URLs for a contract: copy the definition under $defs and refer to it as \"#/$defs/<name>\"", kw, clip(ref))
		case ref == "#" || strings.HasPrefix(ref, "#/"):
			if _, _, ok := contract.LocalRef(c.Doc, ref); !ok {
				p.add(c, ptr, RuleRefLocal, "%s %q points at nothing in this contract: fix the pointer (for example \"#/$defs/<name>\")", kw, clip(ref))
			}
		default:
			if !hasAnchor(p.schemaNodes(c), ref[1:]) {
				p.add(c, ptr, RuleRefLocal, "%s %q names an anchor that no schema of this contract declares: add `$anchor: %s` to the target or use a JSON pointer such as \"#/$defs/<name>\"", kw, clip(ref), clip(ref[1:]))
			}
		}
	}
}

func hasAnchor(nodes []node, name string) bool {
	for _, n := range nodes {
		if n.schema["$anchor"] == name || n.schema["$dynamicAnchor"] == name {
			return true
		}
	}
	return false
}

// checkKeep reports personal data kept in plain text without a reason.
func checkKeep(p *pass, c *contract.Contract, n node) {
	m, ok := n.schema["x-pii"].(map[string]any)
	if !ok || m["handling"] != string(contract.HandlingKeep) {
		return
	}
	if r, _ := m["reason"].(string); strings.TrimSpace(r) != "" {
		return
	}
	p.add(c, n.pointer+"/x-pii/handling", RuleKeepReason, "field %s keeps personal data in plain text without saying why: add `reason: <why it must be stored as sent>` to x-pii, or tokenize, hash, obfuscate or drop it", fieldName(n.pointer))
}

// checkVersions reports contract families whose versions do not follow each
// other without gaps.
func checkVersions(p *pass) {
	families := map[contract.Family][]contract.SchemaVer{}
	var order []contract.Family
	add := func(k contract.Key) {
		f := k.Family()
		if _, ok := families[f]; !ok {
			order = append(order, f)
		}
		if !slices.Contains(families[f], k.Version) {
			families[f] = append(families[f], k.Version)
		}
	}
	for _, c := range p.set.Contracts {
		add(c.Key)
	}
	// A version whose file does not load is still there: it must not be
	// reported as missing.
	for _, pr := range p.set.Problems {
		if k, ok := relKey(p.set.Root, pr.File); ok {
			add(k)
		}
	}
	for _, f := range order {
		vs := families[f]
		slices.SortFunc(vs, func(a, b contract.SchemaVer) int { return a.Compare(b) })
		for i, v := range vs {
			c, ok := p.byKey[contract.Key{Vendor: f.Vendor, Name: f.Name, Format: f.Format, Version: v}]
			if !ok {
				continue
			}
			if i == 0 {
				if v != (contract.SchemaVer{Model: 1}) {
					p.add(c, "/self/version", RuleVersionSequence, "%s starts at %s, but the first version of a contract is 1-0-0: add 1-0-0 or renumber this version 1-0-0", f, v)
				}
				continue
			}
			if hasPredecessor(vs[:i], v) {
				continue
			}
			prev := vs[i-1]
			want := successor(prev, v)
			p.add(c, "/self/version", RuleVersionSequence, "%s version %s does not follow an existing version: %s is missing (present: %s); SchemaVer versions follow each other without gaps, so renumber this version %s or add the missing one",
				f, v, want, joinVersions(vs), want)
		}
	}
}

func hasPredecessor(earlier []contract.SchemaVer, v contract.SchemaVer) bool {
	for _, u := range earlier {
		if _, ok := u.BumpTo(v); ok {
			return true
		}
	}
	return false
}

// successor returns the version that would follow prev with the kind of bump
// that separates prev from v.
func successor(prev, v contract.SchemaVer) contract.SchemaVer {
	switch {
	case v.Model > prev.Model:
		return contract.SchemaVer{Model: prev.Model + 1}
	case v.Revision > prev.Revision:
		return contract.SchemaVer{Model: prev.Model, Revision: prev.Revision + 1}
	default:
		return contract.SchemaVer{Model: prev.Model, Revision: prev.Revision, Addition: prev.Addition + 1}
	}
}

func joinVersions(vs []contract.SchemaVer) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = v.String()
	}
	return strings.Join(s, ", ")
}

// checkEventNames reports Segment-style event names claimed by two contract
// families: a track call must resolve to exactly one contract.
func checkEventNames(p *pass) {
	owner := map[string]*contract.Contract{}
	for _, c := range p.set.Contracts {
		if c.Lifecycle.Status == contract.StatusRetired {
			continue
		}
		for i, name := range c.EventNames {
			prev, ok := owner[name]
			if !ok {
				owner[name] = c
				continue
			}
			if prev.Key.Family() == c.Key.Family() {
				continue
			}
			p.add(c, fmt.Sprintf("/x-event-names/%d", i), RuleEventNamesUnique, "event name %q is also claimed by %s (%s): a track call must resolve to one contract; rename it or remove it from one of them", clip(name), prev.Key.Family(), prev.File)
		}
	}
}
