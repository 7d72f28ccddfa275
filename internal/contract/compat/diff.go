package compat

import (
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/accord-dev/accord/internal/contract"
)

// maxPathDepth stops the walk on absurdly deep or endlessly recursive schemas; the
// loader refuses documents nested deeper than this anyway.
const maxPathDepth = 64

// Diff lists the changes from version from to version to of a contract, in the
// order of the new document. It compares the schemas keyword by keyword, following
// same-document $refs on both sides (a recursive schema is walked once per
// recursion), and compares the privacy and lifecycle annotations. Descriptions,
// titles, examples and other annotations that change neither validation nor the
// stored data are not changes.
func Diff(from, to *contract.Contract) []Change {
	d := &differ{o: side{from}, n: side{to}, active: map[string]bool{}}
	d.schema(any(from.Doc), any(to.Doc), "", "", "")
	d.annotations()
	return d.changes
}

// side is one of the two contracts being compared.
type side struct{ c *contract.Contract }

// node is a schema with its same-document $refs resolved: the keywords that apply
// to one place of the data, each with the pointer of the schema object it was
// written in.
type node struct {
	kw   map[string]any
	at   map[string]string
	self string // pointer of the schema as reached
	ref  string // pointer of the $ref target, "" when no $ref was followed
}

// kwPtr is the pointer of keyword kw of the node, or where it would be.
func (n node) kwPtr(kw string) string {
	if at, ok := n.at[kw]; ok {
		return at + contract.JoinPointer(kw)
	}
	return n.self + contract.JoinPointer(kw)
}

// get returns keyword kw, or Absent.
func (n node) get(kw string) any {
	if v, ok := n.kw[kw]; ok {
		return v
	}
	return Absent
}

func (s side) node(v any, ptr string) node {
	n := node{kw: map[string]any{}, at: map[string]string{}, self: ptr}
	s.fill(&n, v, ptr, 0)
	return n
}

func (s side) fill(n *node, v any, ptr string, depth int) {
	switch m := v.(type) {
	case bool:
		if !m { // the false schema accepts nothing, as {"not": {}} does
			n.kw["not"], n.at["not"] = map[string]any{}, ptr
		}
	case map[string]any:
		if ref, ok := m["$ref"].(string); ok && depth < 32 {
			if target, tptr, ok := resolveRef(s.c.Doc, ref); ok {
				n.ref = tptr
				s.fill(n, target, tptr, depth+1)
				if s.c.Draft != contract.Draft2020 {
					return // draft-04 and draft-07 ignore the siblings of $ref
				}
				for k, sub := range m {
					if k != "$ref" {
						n.kw[k], n.at[k] = sub, ptr
					}
				}
				return
			}
		}
		for k, sub := range m {
			n.kw[k], n.at[k] = sub, ptr
		}
	}
}

type differ struct {
	o, n    side
	changes []Change
	// active holds the pairs of $ref targets being compared, so that recursive
	// schemas stop at their first recursion.
	active map[string]bool
}

// at starts a change located at keyword kw of both nodes.
func at(o, n node, id, kw, path string) Change {
	return Change{ID: id, Keyword: kw, Pointer: n.kwPtr(kw), OldPointer: o.kwPtr(kw), Path: path, Old: o.get(kw), New: n.get(kw)}
}

func (d *differ) add(c Change, bump contract.Bump, compat Compatibility, what, why string) {
	c.Bump, c.Compat, c.What, c.Why = bump, compat, what, why
	d.changes = append(d.changes, c)
}

// schema compares the schemas ov (at optr in the old document) and nv (at nptr in
// the new one) that describe the data at path.
func (d *differ) schema(ov, nv any, optr, nptr, path string) {
	if strings.Count(path, "/") > maxPathDepth {
		return
	}
	switch of, nf := isFalse(ov), isFalse(nv); {
	case of && nf:
		return
	case of || nf:
		c := Change{Pointer: nptr, OldPointer: optr, Path: path, Old: ov, New: nv}
		if of {
			c.ID = SchemaOpened
			d.add(c, contract.BumpAddition, Backward, "schema opened (it was false)", "nothing was valid here before, so every historical event still validates")
		} else {
			c.ID = SchemaClosed
			d.add(c, contract.BumpRevision, Forward, "schema closed (now false)", "historical events with a value here no longer validate")
		}
		return
	}
	o, n := d.o.node(ov, optr), d.n.node(nv, nptr)
	if len(o.kw) == 0 && len(n.kw) == 0 {
		return
	}
	if o.ref != "" || n.ref != "" {
		key := o.ref + "\x00" + n.ref
		if d.active[key] {
			return
		}
		d.active[key] = true
		defer delete(d.active, key)
	}
	d.types(o, n, path)
	d.enums(o, n, path)
	d.bounds(o, n, path)
	d.patterns(o, n, path)
	d.object(o, n, path)
	d.array(o, n, path)
	d.branches(o, n, path)
	d.pii(o, n, path)
	d.others(o, n, path)
}

// jsonTypes in the order messages list them.
var jsonTypes = []string{"null", "boolean", "object", "array", "number", "integer", "string"}

// typeSet returns the types a node allows; no type keyword allows them all.
func typeSet(n node) map[string]bool {
	set := map[string]bool{}
	switch t := n.kw["type"].(type) {
	case string:
		set[t] = true
	case []any:
		for _, v := range t {
			if s, ok := v.(string); ok {
				set[s] = true
			}
		}
	default:
		for _, t := range jsonTypes {
			set[t] = true
		}
	}
	return set
}

// covered reports whether set allows every value of type t (number covers integer).
func covered(t string, set map[string]bool) bool {
	return set[t] || t == "integer" && set["number"]
}

func (d *differ) types(o, n node, path string) {
	if equalJSON(o.get("type"), n.get("type")) {
		return
	}
	os, ns := typeSet(o), typeSet(n)
	var lost, gained []string
	for _, t := range jsonTypes {
		if os[t] && !covered(t, ns) {
			lost = append(lost, t)
		}
		if ns[t] && !covered(t, os) {
			gained = append(gained, t)
		}
	}
	c := at(o, n, "", "type", path)
	onlyNull := func(ts []string) bool { return len(ts) == 1 && ts[0] == "null" }
	switch {
	case len(lost) > 0 && len(gained) > 0:
		c.ID = TypeChanged
		d.add(c, contract.BumpModel, None, fmt.Sprintf("type changed (%s no longer allowed, %s now allowed)", typeList(lost), typeList(gained)),
			"historical values of the old type no longer validate, old consumers cannot read the new type, and the field's stored type changes")
	case onlyNull(gained):
		c.ID = NullableAdded
		d.add(c, contract.BumpAddition, Backward, "null allowed", "every historical value still validates; consumers of the old version may meet null")
	case len(gained) > 0:
		c.ID = TypeWidened
		d.add(c, contract.BumpAddition, Backward, "type widened to allow "+typeList(gained),
			"every historical value still validates; consumers of the old version may meet the new type")
	case onlyNull(lost):
		c.ID = NullableRemoved
		d.add(c, contract.BumpRevision, Forward, "null no longer allowed", "historical events holding null here no longer validate")
	case len(lost) > 0:
		c.ID = TypeNarrowed
		d.add(c, contract.BumpModel, Forward, "type narrowed, "+typeList(lost)+" no longer allowed",
			"historical values of the removed type no longer validate, and the field's stored type changes")
	}
}

// typeList lists types for a message, leaving out integer when number is listed.
func typeList(ts []string) string {
	if slices.Contains(ts, "number") {
		ts = slices.DeleteFunc(slices.Clone(ts), func(t string) bool { return t == "integer" })
	}
	return strings.Join(ts, ", ")
}

func (d *differ) enums(o, n node, path string) {
	oe, oHas := o.kw["enum"].([]any)
	ne, nHas := n.kw["enum"].([]any)
	switch {
	case !oHas && nHas:
		d.add(at(o, n, EnumAdded, "enum", path), contract.BumpRevision, Forward, "enum added", "historical values outside the enum no longer validate")
	case oHas && !nHas:
		d.add(at(o, n, EnumRemoved, "enum", path), contract.BumpAddition, Backward, "enum removed", "every historical value still validates; consumers of the old version may meet values outside it")
	case oHas && nHas:
		oldSet, newSet := map[string]bool{}, map[string]bool{}
		for _, v := range oe {
			oldSet[canon(v)] = true
		}
		for _, v := range ne {
			newSet[canon(v)] = true
		}
		for i, v := range oe {
			if !newSet[canon(v)] {
				c := at(o, n, EnumValueRemoved, "enum", path)
				c.OldPointer = o.kwPtr("enum") + "/" + strconv.Itoa(i)
				c.Old, c.New = v, Absent
				d.add(c, contract.BumpRevision, Forward, "enum value "+Show(v)+" removed", "historical events with this value no longer validate")
			}
		}
		for i, v := range ne {
			if !oldSet[canon(v)] {
				c := at(o, n, EnumValueAdded, "enum", path)
				c.Pointer = n.kwPtr("enum") + "/" + strconv.Itoa(i)
				c.Old, c.New = Absent, v
				d.add(c, contract.BumpAddition, Backward, "enum value "+Show(v)+" added", "every historical value still validates; consumers of the old version may meet the new value")
			}
		}
	}
	_, oHas = o.kw["const"]
	_, nHas = n.kw["const"]
	c := at(o, n, "", "const", path)
	switch {
	case !oHas && nHas:
		c.ID = ConstAdded
		d.add(c, contract.BumpRevision, Forward, "const added", "historical values other than the constant no longer validate")
	case oHas && !nHas:
		c.ID = ConstRemoved
		d.add(c, contract.BumpAddition, Backward, "const removed", "every historical value still validates; consumers of the old version may meet other values")
	case oHas && nHas && !equalJSON(c.Old, c.New):
		c.ID = ConstChanged
		d.add(c, contract.BumpModel, None, "const changed", "no historical value validates any more, and old consumers reject every new value")
	}
}

// limit is the effective value of a bound: the keyword that sets it, its value
// and whether it is exclusive.
type limit struct {
	kw   string
	val  *big.Rat
	excl bool
	raw  any // how messages show it
}

// numLimit returns the effective lower (or upper) numeric bound of a node: the
// tighter of minimum (exclusive under draft-04's exclusiveMinimum: true) and
// exclusiveMinimum (a number since draft-06).
func numLimit(n node, lower bool) *limit {
	incl, excl := "maximum", "exclusiveMaximum"
	if lower {
		incl, excl = "minimum", "exclusiveMinimum"
	}
	var best *limit
	consider := func(l *limit) {
		if best == nil || tighter(best, l, lower) > 0 {
			best = l
		}
	}
	if v, ok := number(n.kw[incl]); ok {
		l := &limit{kw: incl, val: v, raw: n.kw[incl]}
		if b, _ := n.kw[excl].(bool); b {
			l.excl = true
			l.raw = map[string]any{incl: n.kw[incl], excl: true}
		}
		consider(l)
	}
	if v, ok := number(n.kw[excl]); ok {
		consider(&limit{kw: excl, val: v, excl: true, raw: n.kw[excl]})
	}
	return best
}

// tighter compares bound b with bound a: +1 when b allows less, -1 when it
// allows more, 0 when they are the same. A nil bound allows everything.
func tighter(a, b *limit, lower bool) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	c := b.val.Cmp(a.val)
	if !lower {
		c = -c
	}
	if c != 0 {
		return c
	}
	switch {
	case b.excl && !a.excl:
		return 1
	case a.excl && !b.excl:
		return -1
	}
	return 0
}

// countBounds are the integer-valued bounds: true for lower bounds.
var countBounds = []struct {
	kw    string
	lower bool
}{
	{"minLength", true}, {"maxLength", false},
	{"minItems", true}, {"maxItems", false},
	{"minProperties", true}, {"maxProperties", false},
	{"minContains", true}, {"maxContains", false},
}

func (d *differ) bounds(o, n node, path string) {
	for _, lower := range []bool{true, false} {
		d.bound(o, n, path, numLimit(o, lower), numLimit(n, lower), lower)
	}
	for _, b := range countBounds {
		lim := func(x node) *limit {
			if v, ok := number(x.kw[b.kw]); ok {
				return &limit{kw: b.kw, val: v, raw: x.kw[b.kw]}
			}
			return nil
		}
		d.bound(o, n, path, lim(o), lim(n), b.lower)
	}
	d.multipleOf(o, n, path)
	ou, _ := o.kw["uniqueItems"].(bool)
	nu, _ := n.kw["uniqueItems"].(bool)
	c := at(o, n, "", "uniqueItems", path)
	switch {
	case !ou && nu:
		c.ID = BoundTightened
		d.add(c, contract.BumpRevision, Forward, "uniqueItems tightened", "historical arrays with repeated items no longer validate")
	case ou && !nu:
		c.ID = BoundLoosened
		d.add(c, contract.BumpAddition, Backward, "uniqueItems loosened", "every historical array still validates; consumers of the old version may meet repeated items")
	}
}

func (d *differ) bound(o, n node, path string, ol, nl *limit, lower bool) {
	t := tighter(ol, nl, lower)
	if t == 0 {
		return
	}
	kw, label := "", ""
	switch {
	case nl == nil:
		kw, label = ol.kw, ol.kw
	case ol == nil || ol.kw == nl.kw:
		kw, label = nl.kw, nl.kw
	default:
		kw, label = nl.kw, ol.kw+" -> "+nl.kw
	}
	c := at(o, n, "", kw, path)
	c.Old, c.New = Absent, Absent
	if ol != nil {
		c.Old = ol.raw
		c.OldPointer = o.kwPtr(ol.kw)
	}
	if nl != nil {
		c.New = nl.raw
	}
	if ol != nil && nl != nil && ol.kw != nl.kw {
		c.Old, c.New = map[string]any{ol.kw: ol.raw}, map[string]any{nl.kw: nl.raw}
	}
	if t > 0 {
		c.ID = BoundTightened
		d.add(c, contract.BumpRevision, Forward, label+" tightened", "historical values outside the new bound no longer validate")
		return
	}
	c.ID = BoundLoosened
	d.add(c, contract.BumpAddition, Backward, label+" loosened", "every historical value still validates; consumers of the old version may meet values outside their bound")
}

func (d *differ) multipleOf(o, n node, path string) {
	ov, oHas := number(o.kw["multipleOf"])
	nv, nHas := number(n.kw["multipleOf"])
	c := at(o, n, "", "multipleOf", path)
	divides := func(a, b *big.Rat) bool { // b is an integer multiple of a
		q := new(big.Rat).Quo(b, a)
		return q.IsInt()
	}
	switch {
	case !oHas && !nHas:
		return
	case oHas && nHas && ov.Cmp(nv) == 0:
		return
	case !oHas || oHas && nHas && ov.Sign() != 0 && nv.Sign() != 0 && divides(ov, nv):
		c.ID = BoundTightened
		d.add(c, contract.BumpRevision, Forward, "multipleOf tightened", "historical values that are not multiples of the new step no longer validate")
	case !nHas || ov.Sign() != 0 && nv.Sign() != 0 && divides(nv, ov):
		c.ID = BoundLoosened
		d.add(c, contract.BumpAddition, Backward, "multipleOf loosened", "every historical value is a multiple of the new step; consumers of the old version may meet values off their step")
	default:
		c.ID = BoundChanged
		d.add(c, contract.BumpRevision, None, "multipleOf changed", "neither step divides the other, so some historical values no longer validate and some new ones fail the old version")
	}
}

func (d *differ) patterns(o, n node, path string) {
	for _, kw := range []string{"pattern", "format"} {
		c := at(o, n, "", kw, path)
		_, oHas := o.kw[kw]
		_, nHas := n.kw[kw]
		ids := map[string][3]string{
			"pattern": {PatternAdded, PatternRemoved, PatternChanged},
			"format":  {FormatAdded, FormatRemoved, FormatChanged},
		}[kw]
		switch {
		case !oHas && nHas:
			c.ID = ids[0]
			d.add(c, contract.BumpRevision, Forward, kw+" added", "historical values that do not match it no longer validate")
		case oHas && !nHas:
			c.ID = ids[1]
			d.add(c, contract.BumpAddition, Backward, kw+" removed", "every historical value still validates; consumers of the old version may meet values that do not match it")
		case oHas && nHas && !equalJSON(c.Old, c.New):
			c.ID = ids[2]
			d.add(c, contract.BumpRevision, None, kw+" changed", "Accord cannot prove that either "+kw+" accepts everything the other does, so some historical values may no longer validate")
		}
	}
}

// openness is how an object schema treats a property it does not list.
type openness int

const (
	open        openness = iota // any value is allowed
	constrained                 // allowed, validated by additionalProperties or patternProperties
	closed                      // rejected
)

// governs returns how node n treats the unlisted property name.
func governs(n node, name string) openness {
	if pp, ok := n.kw["patternProperties"].(map[string]any); ok {
		patterns := make([]string, 0, len(pp))
		for p := range pp {
			patterns = append(patterns, p)
		}
		sort.Strings(patterns)
		for _, pattern := range patterns {
			sub := pp[pattern]
			re, err := regexp.Compile(pattern)
			if err != nil || re.MatchString(name) {
				if err == nil && acceptsAnything(sub) {
					return open
				}
				return constrained
			}
		}
	}
	ap, ok := n.kw["additionalProperties"]
	if !ok {
		if b, isBool := n.kw["unevaluatedProperties"].(bool); isBool && !b {
			return closed
		}
		return open
	}
	if b, isBool := ap.(bool); isBool && !b {
		return closed
	}
	if acceptsAnything(ap) {
		return open
	}
	return constrained
}

// annotationOnly lists keywords that neither validate nor shape the stored data.
var annotationOnly = map[string]bool{
	"description": true, "title": true, "examples": true, "$comment": true, "default": true,
	"deprecated": true, "readOnly": true, "writeOnly": true, "$defs": true, "definitions": true,
	"$id": true, "id": true, "$anchor": true, "$dynamicAnchor": true, "$schema": true, "$vocabulary": true,
	"self": true, "contentEncoding": true, "contentMediaType": true, "contentSchema": true,
}

// ignored reports whether keyword kw is compared elsewhere or not at all: the
// annotations, and the x- extensions other than x-pii (the root's x-privacy and
// x-lifecycle are compared by annotations).
func ignored(kw string) bool {
	return annotationOnly[kw] || strings.HasPrefix(kw, "x-") && kw != "x-pii"
}

// acceptsAnything reports whether a schema allows every value.
func acceptsAnything(v any) bool {
	switch s := v.(type) {
	case bool:
		return s
	case map[string]any:
		for k := range s {
			if !ignored(k) {
				return false
			}
		}
		return true
	}
	return false
}

func isFalse(v any) bool { b, ok := v.(bool); return ok && !b }

func stringSet(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func (d *differ) object(o, n node, path string) {
	oProps, _ := o.kw["properties"].(map[string]any)
	nProps, _ := n.kw["properties"].(map[string]any)
	oReq, nReq := stringSet(o.kw["required"]), stringSet(n.kw["required"])
	propPtr := func(x node, name string) string { return x.kwPtr("properties") + contract.JoinPointer(name) }

	names := make([]string, 0, len(nProps))
	for name := range nProps {
		names = append(names, name)
	}
	d.sortByPos(d.n.c, names, func(name string) string { return propPtr(n, name) })
	for _, name := range names {
		fpath := path + contract.JoinPointer(name)
		ov, inOld := oProps[name]
		if inOld {
			d.schema(ov, nProps[name], propPtr(o, name), propPtr(n, name), fpath)
			continue
		}
		c := Change{ID: PropertyAdded, Keyword: "properties", Pointer: propPtr(n, name), OldPointer: propPtr(o, name), Path: fpath, Old: Absent, New: nProps[name]}
		what := fmt.Sprintf("property %q added", name)
		switch governs(o, name) {
		case closed:
			d.add(c, contract.BumpAddition, Backward, what, "the old version closed the object, so no historical event carries it; consumers of the old version reject events that do")
		case open:
			if acceptsAnything(nProps[name]) {
				d.add(c, contract.BumpAddition, Full, what, "it accepts any value, as the old open object did")
			} else {
				d.add(c, contract.BumpRevision, Forward, what, "the old version left the object open, so historical events may carry a property of that name with another shape (close objects with additionalProperties: false to make additions ADDITIONs)")
			}
		default:
			d.add(c, contract.BumpRevision, None, what, "historical events may carry it under the old additionalProperties or patternProperties, with a shape Accord cannot compare")
		}
	}

	removed := make([]string, 0)
	for name := range oProps {
		if _, ok := nProps[name]; !ok {
			removed = append(removed, name)
		}
	}
	d.sortByPos(d.o.c, removed, func(name string) string { return propPtr(o, name) })
	for _, name := range removed {
		c := Change{ID: PropertyRemoved, Keyword: "properties", Pointer: propPtr(n, name), OldPointer: propPtr(o, name), Path: path + contract.JoinPointer(name), Old: oProps[name], New: Absent}
		what := fmt.Sprintf("property %q removed", name)
		switch governs(n, name) {
		case closed:
			if slices.Contains(oReq, name) {
				d.add(c, contract.BumpModel, Forward, what, "it was required, so every historical event carries it, and the new version closes the object against it")
			} else {
				d.add(c, contract.BumpRevision, Forward, what, "the new version closes the object, so historical events that carry it no longer validate")
			}
		case open:
			d.add(c, contract.BumpAddition, Backward, what, "the new version leaves the object open, so historical events that carry it still validate; new events may carry it with any shape")
		default:
			d.add(c, contract.BumpRevision, None, what, "historical events that carry it are now validated by additionalProperties or patternProperties, with a shape Accord cannot compare")
		}
	}

	for i, name := range nReq {
		if slices.Contains(oReq, name) {
			continue
		}
		c := Change{ID: RequiredAdded, Keyword: "required", Pointer: n.kwPtr("required") + "/" + strconv.Itoa(i), OldPointer: o.kwPtr("required"), Path: path + contract.JoinPointer(name), Old: Absent, New: name}
		if _, declared := oProps[name]; declared {
			d.add(c, contract.BumpRevision, Forward, fmt.Sprintf("property %q made required", name), "historical events that omit it no longer validate")
		} else {
			d.add(c, contract.BumpModel, Forward, fmt.Sprintf("new property %q required", name), "the old version did not declare it, so historical events do not carry it and none of them validates")
		}
	}
	for i, name := range oReq {
		if slices.Contains(nReq, name) {
			continue
		}
		c := Change{ID: RequiredRemoved, Keyword: "required", Pointer: n.kwPtr("required"), OldPointer: o.kwPtr("required") + "/" + strconv.Itoa(i), Path: path + contract.JoinPointer(name), Old: name, New: Absent}
		d.add(c, contract.BumpAddition, Backward, fmt.Sprintf("property %q made optional", name), "every historical event carries it and still validates; consumers of the old version reject events without it")
	}

	oAP, oHas := o.kw["additionalProperties"]
	nAP, nHas := n.kw["additionalProperties"]
	c := at(o, n, "", "additionalProperties", path)
	switch {
	case !oHas && !nHas:
	case !isFalse(oAP) && isFalse(nAP):
		c.ID = AdditionalPropertiesClosed
		d.add(c, contract.BumpRevision, Forward, "object closed (additionalProperties: false)", "historical events with properties the new version does not list no longer validate")
	case isFalse(oAP) && !isFalse(nAP):
		c.ID = AdditionalPropertiesOpened
		d.add(c, contract.BumpAddition, Backward, "object opened (additionalProperties no longer false)", "every historical event still validates; consumers of the old version reject events with unlisted properties")
	case !isFalse(oAP) && !isFalse(nAP):
		if !oHas {
			oAP = true
		}
		if !nHas {
			nAP = true
		}
		d.schema(oAP, nAP, o.kwPtr("additionalProperties"), n.kwPtr("additionalProperties"), path+"/*")
	}

	oPP, _ := o.kw["patternProperties"].(map[string]any)
	nPP, _ := n.kw["patternProperties"].(map[string]any)
	patterns := map[string]bool{}
	for p := range oPP {
		patterns[p] = true
	}
	for p := range nPP {
		patterns[p] = true
	}
	sorted := make([]string, 0, len(patterns))
	for p := range patterns {
		sorted = append(sorted, p)
	}
	sort.Strings(sorted)
	for _, p := range sorted {
		ov, oHas := oPP[p]
		nv, nHas := nPP[p]
		optr, nptr := o.kwPtr("patternProperties")+contract.JoinPointer(p), n.kwPtr("patternProperties")+contract.JoinPointer(p)
		if oHas && nHas {
			d.schema(ov, nv, optr, nptr, path+"/*")
			continue
		}
		c := Change{ID: KeywordChanged, Keyword: "patternProperties", Pointer: nptr, OldPointer: optr, Path: path + "/*", Old: Absent, New: Absent}
		if oHas {
			c.Old = ov
		} else {
			c.New = nv
		}
		d.add(c, contract.BumpRevision, None, fmt.Sprintf("patternProperties %q %s", p, map[bool]string{true: "removed", false: "added"}[oHas]),
			"it changes which unlisted properties are allowed and how they are validated, in a way Accord does not compare")
	}
}

// sortByPos orders names by the position of their pointer in c, then by name.
func (d *differ) sortByPos(c *contract.Contract, names []string, ptr func(string) string) {
	sort.Slice(names, func(i, j int) bool {
		a, b := c.Pos(ptr(names[i])), c.Pos(ptr(names[j]))
		if a != b {
			return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
		}
		return names[i] < names[j]
	})
}

// arrayShape is how a node describes array items: positional schemas (draft-04/07
// items as a list, 2020-12 prefixItems) and the schema of the rest.
type arrayShape struct {
	tuple    []any
	tuplePtr string
	rest     any
	restPtr  string
}

func (s side) arrayShape(n node) (arrayShape, bool) {
	_, hasItems := n.kw["items"]
	_, hasPrefix := n.kw["prefixItems"]
	_, hasAdditional := n.kw["additionalItems"]
	if !hasItems && !hasPrefix && !hasAdditional {
		return arrayShape{rest: true, restPtr: n.kwPtr("items")}, false
	}
	a := arrayShape{rest: true, restPtr: n.kwPtr("items")}
	if list, ok := n.kw["items"].([]any); ok { // draft-04/07 tuple
		a.tuple, a.tuplePtr = list, n.kwPtr("items")
		a.rest, a.restPtr = true, n.kwPtr("additionalItems")
		if v, ok := n.kw["additionalItems"]; ok {
			a.rest = v
		}
		return a, true
	}
	if v, ok := n.kw["items"]; ok {
		a.rest = v
	}
	if list, ok := n.kw["prefixItems"].([]any); ok {
		a.tuple, a.tuplePtr = list, n.kwPtr("prefixItems")
	}
	return a, true
}

func (d *differ) array(o, n node, path string) {
	oa, oHas := d.o.arrayShape(o)
	na, nHas := d.n.arrayShape(n)
	if !oHas && !nHas {
		return
	}
	for i := range max(len(oa.tuple), len(na.tuple)) {
		item := func(a arrayShape) (any, string) {
			if i < len(a.tuple) {
				return a.tuple[i], a.tuplePtr + "/" + strconv.Itoa(i)
			}
			return a.rest, a.restPtr
		}
		ov, optr := item(oa)
		nv, nptr := item(na)
		d.schema(ov, nv, optr, nptr, path+"/"+strconv.Itoa(i))
	}
	d.schema(oa.rest, na.rest, oa.restPtr, na.restPtr, path+"/*")
}

func (d *differ) branches(o, n node, path string) {
	type rule struct {
		bump   contract.Bump
		compat Compatibility
		why    string
	}
	rules := map[string][2]rule{ // [added, removed]
		"allOf": {
			{contract.BumpRevision, Forward, "every event must now also match it, so some historical events may no longer validate"},
			{contract.BumpAddition, Backward, "every historical event still validates; consumers of the old version still require it"},
		},
		"anyOf": {
			{contract.BumpAddition, Backward, "one more alternative: every historical event still matches an old one; consumers of the old version may meet events matching only the new one"},
			{contract.BumpRevision, Forward, "historical events that matched only this alternative no longer validate"},
		},
		"oneOf": {
			{contract.BumpRevision, None, "historical events that also match the new alternative now match two and fail oneOf"},
			{contract.BumpRevision, None, "historical events that matched only this alternative no longer validate, and events that matched it too may now pass"},
		},
	}
	for _, kw := range []string{"allOf", "anyOf", "oneOf"} {
		ol, oHas := o.kw[kw].([]any)
		nl, nHas := n.kw[kw].([]any)
		if !oHas && !nHas {
			continue
		}
		for i := range max(len(ol), len(nl)) {
			optr, nptr := o.kwPtr(kw)+"/"+strconv.Itoa(i), n.kwPtr(kw)+"/"+strconv.Itoa(i)
			if i < len(ol) && i < len(nl) {
				d.schema(ol[i], nl[i], optr, nptr, path)
				continue
			}
			c := Change{Keyword: kw, Pointer: nptr, OldPointer: optr, Path: path, Old: Absent, New: Absent}
			r := rules[kw]
			if i < len(nl) {
				c.ID, c.New = BranchAdded, nl[i]
				if !oHas && kw != "allOf" { // from no alternatives to some: a new constraint
					d.add(c, contract.BumpRevision, Forward, kw+" added", "the old version had no "+kw+", so the alternatives now constrain every event")
					continue
				}
				d.add(c, r[0].bump, r[0].compat, kw+" branch added", r[0].why)
				continue
			}
			c.ID, c.Old, c.Pointer = BranchRemoved, ol[i], n.kwPtr(kw)
			if !nHas && kw != "allOf" {
				d.add(c, contract.BumpAddition, Backward, kw+" removed", "the new version has no "+kw+", so every historical event still validates")
				continue
			}
			d.add(c, r[1].bump, r[1].compat, kw+" branch removed", r[1].why)
		}
	}
}

// handlingRank orders handlings from most to least protective of the stored value.
var handlingRank = map[string]int{"drop": 0, "tokenize": 1, "hash": 2, "obfuscate": 3, "keep": 4}

func (d *differ) pii(o, n node, path string) {
	op, oHas := o.kw["x-pii"].(map[string]any)
	np, nHas := n.kw["x-pii"].(map[string]any)
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	c := at(o, n, "", "x-pii", path)
	switch {
	case !oHas && !nHas:
	case !oHas:
		c.ID = PIIAdded
		switch h := str(np, "handling"); h {
		case "keep":
			d.add(c, contract.BumpAddition, Full, "marked as personal data, kept as sent", "the stored value stays as sent")
		case "drop":
			d.add(c, contract.BumpRevision, Forward, "marked as personal data, dropped", "the field is no longer stored; historical rows keep their values")
		default:
			d.add(c, contract.BumpModel, None, "marked as personal data, handling "+h,
				"the stored value changes from the sent value to a "+h+"ed one, which cannot be compared with the plain historical values")
		}
	case !nHas:
		c.ID = PIIRemoved
		c.LoosensPrivacy = str(op, "handling") != "keep"
		switch h := str(op, "handling"); h {
		case "keep":
			d.add(c, contract.BumpAddition, Full, "no longer marked as personal data (it was kept as sent)", "the stored value stays as sent")
		case "drop":
			d.add(c, contract.BumpAddition, Backward, "no longer marked as personal data (it was dropped)", "the field now lands in storage in plain text, like an added column")
		default:
			d.add(c, contract.BumpModel, None, "no longer marked as personal data (it was "+h+"d)",
				"the stored value changes from a "+h+"d one to the plain value, which cannot be compared with history")
		}
	default:
		oh, nh := str(op, "handling"), str(np, "handling")
		if oh != nh {
			c := at(o, n, PIIHandlingChanged, "x-pii", path)
			c.Pointer, c.OldPointer = n.kwPtr("x-pii")+"/handling", o.kwPtr("x-pii")+"/handling"
			c.Old, c.New = oh, nh
			c.LoosensPrivacy = handlingRank[nh] > handlingRank[oh]
			what := "personal data handling changed"
			switch {
			case oh == "drop":
				d.add(c, contract.BumpAddition, Backward, what, "the field was not stored before and is stored now, like an added column")
			case nh == "drop":
				d.add(c, contract.BumpRevision, Forward, what, "the field is no longer stored; historical rows keep their values")
			default:
				d.add(c, contract.BumpModel, None, what, "the stored values change from "+oh+" to "+nh+" and cannot be compared with the historical ones")
			}
		}
		okind, nkind := str(op, "kind"), str(np, "kind")
		if okind != nkind {
			c := at(o, n, PIIKindChanged, "x-pii", path)
			c.Pointer, c.OldPointer = n.kwPtr("x-pii")+"/kind", o.kwPtr("x-pii")+"/kind"
			c.Old, c.New = okind, nkind
			if oh == "obfuscate" && nh == "obfuscate" {
				d.add(c, contract.BumpModel, None, "personal data kind changed", "obfuscation depends on the kind, so the stored shape changes")
			} else {
				d.add(c, contract.BumpAddition, Full, "personal data kind changed", "the stored value does not depend on the kind; the sensitivity report does")
			}
		}
	}
}

// compared lists the keywords the other comparisons handle.
var compared = map[string]bool{
	"type": true, "enum": true, "const": true,
	"minimum": true, "maximum": true, "exclusiveMinimum": true, "exclusiveMaximum": true,
	"minLength": true, "maxLength": true, "minItems": true, "maxItems": true,
	"minProperties": true, "maxProperties": true, "minContains": true, "maxContains": true,
	"multipleOf": true, "uniqueItems": true, "pattern": true, "format": true,
	"properties": true, "required": true, "additionalProperties": true, "patternProperties": true,
	"items": true, "prefixItems": true, "additionalItems": true,
	"allOf": true, "anyOf": true, "oneOf": true, "x-pii": true,
}

// others compares the remaining validation keywords (not, if/then/else, contains,
// propertyNames, dependentRequired, unevaluated*, unresolved $refs, ...) as plain
// values: Accord does not reason about them, so any change may break some history.
func (d *differ) others(o, n node, path string) {
	kws := map[string]bool{}
	for k := range o.kw {
		kws[k] = true
	}
	for k := range n.kw {
		kws[k] = true
	}
	sorted := make([]string, 0, len(kws))
	for k := range kws {
		if !compared[k] && !ignored(k) {
			sorted = append(sorted, k)
		}
	}
	sort.Strings(sorted)
	for _, kw := range sorted {
		c := at(o, n, KeywordChanged, kw, path)
		if equalJSON(c.Old, c.New) {
			continue
		}
		d.add(c, contract.BumpRevision, None, kw+" changed", "Accord does not compare "+kw+" schemas, so it cannot rule out that some historical events no longer validate")
	}
}

// annotations compares what the root's annotations say about dialect, privacy and
// lifecycle.
func (d *differ) annotations() {
	from, to := d.o.c, d.n.c
	if from.Draft != to.Draft {
		d.changes = append(d.changes, Change{ID: DialectChanged, Keyword: "$schema", Pointer: "/$schema", OldPointer: "/$schema",
			Old: string(from.Draft), New: string(to.Draft), Bump: contract.BumpAddition, Compat: Full,
			What: "JSON Schema dialect changed", Why: "keywords are compared under each version's dialect; any change in meaning is reported on its own"})
	}
	var op, np contract.Privacy
	if from.Privacy != nil {
		op = *from.Privacy
	}
	if to.Privacy != nil {
		np = *to.Privacy
	}
	tokenizes := false
	for _, c := range []*contract.Contract{from, to} {
		for _, f := range c.PII() {
			tokenizes = tokenizes || f.PII.Handling == contract.HandlingTokenize
		}
	}
	for _, role := range []struct {
		id, name string
		o, n     contract.Ref
	}{
		{PrivacyControllerChanged, "controller", op.Controller, np.Controller},
		{PrivacySubjectChanged, "subject", op.Subject, np.Subject},
	} {
		if role.o == role.n {
			continue
		}
		c := Change{ID: role.id, Keyword: "x-privacy", Pointer: "/x-privacy/" + role.name, OldPointer: "/x-privacy/" + role.name, Old: Absent, New: Absent}
		if !role.o.IsZero() {
			c.Old = role.o.String()
		}
		if !role.n.IsZero() {
			c.New = role.n.String()
		}
		what := "data " + role.name + " changed"
		if tokenizes {
			d.add(c, contract.BumpModel, None, what, "tokens are derived per (controller, subject), so the same person's tokens differ from the historical ones")
		} else {
			d.add(c, contract.BumpRevision, Full, what, "forget requests find historical and new events through different "+role.name+"s")
		}
	}
	if from.Lifecycle.Status != to.Lifecycle.Status {
		d.changes = append(d.changes, Change{ID: LifecycleStatusChanged, Keyword: "x-lifecycle", Pointer: "/x-lifecycle/status", OldPointer: "/x-lifecycle/status",
			Old: string(from.Lifecycle.Status), New: string(to.Lifecycle.Status), Bump: contract.BumpAddition, Compat: Full,
			What: "lifecycle status changed", Why: "the data's shape is unchanged; producers are told about the new status"})
	}
	if from.Lifecycle.Retention != to.Lifecycle.Retention {
		c := Change{ID: RetentionChanged, Keyword: "x-lifecycle", Pointer: "/x-lifecycle/retention", OldPointer: "/x-lifecycle/retention",
			Old: Absent, New: Absent, Bump: contract.BumpAddition, Compat: Full,
			What: "retention changed", Why: "the data's shape is unchanged; the sinks enforce the new retention"}
		if from.Lifecycle.Retention != "" {
			c.Old = from.Lifecycle.Retention
		}
		if to.Lifecycle.Retention != "" {
			c.New = to.Lifecycle.Retention
		}
		d.changes = append(d.changes, c)
	}
}
