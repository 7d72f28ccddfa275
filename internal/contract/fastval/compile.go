package fastval

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// JSON types as a bit set, the way the program tests them.
const (
	tNull uint8 = 1 << iota
	tBool
	tNumber
	tInteger
	tString
	tArray
	tObject
)

const (
	boolNone uint8 = iota
	boolTrue
	boolFalse
)

// node is one compiled schema. Nodes form a graph (refs may be recursive) and
// are never modified after build.
type node struct {
	sch   *jsonschema.Schema // the reference schema, for messages on the failure path
	loc   string             // JSON pointer of the schema in its document
	draft int

	boolean uint8
	types   uint8 // 0: no type keyword
	cnst    *constVal
	enum    *enumVals
	format  *formatCheck
	ref     *node
	refOnly bool // draft < 2019: "$ref" overrides every later keyword

	str *strChecks
	num *numChecks
	obj *objChecks
	arr *arrChecks

	not            *node
	allOf          []*node
	anyOf          []*node
	oneOf          []*node
	ifN, thn, elsN *node
	hasIf          bool
	hasCond        bool // any of not/allOf/anyOf/oneOf/if
	uneProps       *node
	uneItems       *node
	cyclic         bool    // can be re-entered for the same value (a $ref cycle)
	strNeed        bool    // string keywords need the decoded string
	resource       int32   // index of the resource holding the node (dynamic scope)
	dynRef         *node   // $dynamicRef static target
	dynName        string  // its anchor, when the target has the same $dynamicAnchor
	dynAlts        []*node // every node the anchor can resolve to (for cycle marking)
}

type strChecks struct {
	minLen, maxLen int // -1: absent
	pattern        jsonschema.Regexp
	fast           *dfa // exact fast matcher for pattern, nil when not compilable
}

type numChecks struct {
	min, max, exMin, exMax *bound
	multipleOf             *bound
	allInt                 bool // every bound is an int64 (multipleOf nonzero)
}

// bound is a numeric keyword value kept both as an exact decimal and as big.Rat.
type bound struct {
	dec decimal
	rat *big.Rat
	// for multipleOf fast path: value = mant * 10^exp, mant without trailing zeros
	mant   uint64
	exp    int64
	mantOK bool
	i64    int64 // the value when it is an integer that fits in int64
	isI64  bool
}

type objChecks struct {
	id       int // index among the program's object schemas
	names    []nameInfo
	table    []int32 // open addressing: index+1 into names, 0 empty
	shift    uint
	words    int      // uint64 words in the seen bit set
	required []uint64 // bit set of required names
	reqNames []string

	patterns      []patternProp
	addl          *node // additionalProperties schema
	addlFalse     bool
	addlAny       bool // additionalProperties present (true, false or a schema)
	propNames     *node
	minProps      int
	maxProps      int
	deps          []depInfo // dependencies (array form), dependentRequired
	depSchemas    []depSchema
	trackUndecl   bool // undeclared keys need duplicate detection
	needPresence  bool
	hasPropSchema bool
}

type nameInfo struct {
	name  string
	prop  *node
	plain bool // valid UTF-8 without quotes, backslashes or control characters: its JSON literal is its bytes
	// the first 16 bytes as two little-endian words, with masks for shorter names
	w0, w1, mask0, mask1 uint64
}

func (nm *nameInfo) setWords() {
	var b [16]byte
	n := copy(b[:], nm.name)
	nm.w0 = binary.LittleEndian.Uint64(b[:8])
	nm.w1 = binary.LittleEndian.Uint64(b[8:])
	mask := func(k int) uint64 {
		if k >= 8 {
			return ^uint64(0)
		}
		if k <= 0 {
			return 0
		}
		return 1<<(8*k) - 1
	}
	nm.mask0, nm.mask1 = mask(n), mask(n-8)
}

type patternProp struct {
	re   jsonschema.Regexp
	fast *dfa
	node *node
}

type depInfo struct {
	name    int   // index into names
	need    []int // indexes into names
	keyword string
}

type depSchema struct {
	name    int
	node    *node
	keyword string
}

type arrChecks struct {
	minItems, maxItems int
	unique             bool
	prefix             []*node // prefixItems, or draft<2020 array-form items
	items              *node   // items (2020) / items schema (draft<2020) / additionalItems schema
	itemsFalse         bool    // additionalItems: false after array-form items
	allItems           bool    // draft < 2020 additionalItems present: every item is evaluated
	prefixIsItems      bool    // draft<2020 array-form items (affects messages)
	contains           *node
	minContains        int // -1 absent
	maxContains        int // -1 absent
}

type builder struct {
	nodes map[*jsonschema.Schema]*node
	list  []*node
	nobj  int
	err   error
}

func build(root *jsonschema.Schema, ref *refCompiler, opts Options) (*Program, error) {
	b := &builder{nodes: map[*jsonschema.Schema]*node{}}
	r := b.node(root)
	if b.err != nil {
		return nil, b.err
	}
	var dyn []map[string]*node
	if ref.dynamic {
		var err error
		dyn, err = b.linkDynamic(collectDynamic(ref.doc), ref.c, ref.base)
		if err != nil {
			return nil, err
		}
	}
	markCycles(b.list)
	capRoot, err := compileCaptures(opts.Capture)
	if err != nil {
		return nil, err
	}
	return &Program{root: r, nobj: b.nobj, capRoot: capRoot, ncap: len(opts.Capture), capture: append([]string(nil), opts.Capture...),
		dynamic: ref.dynamic, dynAnchors: dyn}, nil
}

func (b *builder) node(s *jsonschema.Schema) *node {
	if s == nil {
		return nil
	}
	if n, ok := b.nodes[s]; ok {
		return n
	}
	n := &node{sch: s, loc: schemaPointer(s.Location), draft: s.DraftVersion}
	b.nodes[s] = n
	b.list = append(b.list, n)
	if s.Bool != nil {
		if *s.Bool {
			n.boolean = boolTrue
		} else {
			n.boolean = boolFalse
		}
		return n
	}
	if s.Types != nil {
		for _, t := range s.Types.ToStrings() {
			switch t {
			case "null":
				n.types |= tNull
			case "boolean":
				n.types |= tBool
			case "number":
				n.types |= tNumber
			case "integer":
				n.types |= tInteger
			case "string":
				n.types |= tString
			case "array":
				n.types |= tArray
			case "object":
				n.types |= tObject
			}
		}
	}
	if s.Const != nil {
		n.cnst = newConstVal(*s.Const)
	}
	if s.Enum != nil {
		n.enum = newEnumVals(s.Enum.Values)
	}
	if s.Format != nil {
		n.format = newFormatCheck(s.Format)
	}
	if s.Ref != nil {
		n.ref = b.node(s.Ref)
		n.refOnly = s.DraftVersion < 2019
	}

	// string
	if s.MinLength != nil || s.MaxLength != nil || s.Pattern != nil {
		sc := &strChecks{minLen: -1, maxLen: -1, pattern: s.Pattern}
		if s.MinLength != nil {
			sc.minLen = *s.MinLength
		}
		if s.MaxLength != nil {
			sc.maxLen = *s.MaxLength
		}
		if s.Pattern != nil {
			sc.fast = compileDFA(s.Pattern.String())
		}
		n.str = sc
	}

	// number
	if s.Minimum != nil || s.Maximum != nil || s.ExclusiveMinimum != nil || s.ExclusiveMaximum != nil || s.MultipleOf != nil {
		n.num = &numChecks{
			min: newBound(s.Minimum), max: newBound(s.Maximum),
			exMin: newBound(s.ExclusiveMinimum), exMax: newBound(s.ExclusiveMaximum),
			multipleOf: newBound(s.MultipleOf),
		}
		nc := n.num
		nc.allInt = true
		for _, b := range []*bound{nc.min, nc.max, nc.exMin, nc.exMax, nc.multipleOf} {
			if b != nil && !b.isI64 {
				nc.allInt = false
			}
		}
		if nc.multipleOf != nil && nc.multipleOf.i64 == 0 {
			nc.allInt = false
		}
	}

	b.object(n, s)
	b.array(n, s)

	n.not = b.node(s.Not)
	for _, x := range s.AllOf {
		n.allOf = append(n.allOf, b.node(x))
	}
	for _, x := range s.AnyOf {
		n.anyOf = append(n.anyOf, b.node(x))
	}
	for _, x := range s.OneOf {
		n.oneOf = append(n.oneOf, b.node(x))
	}
	if s.If != nil {
		n.hasIf = true
		n.ifN = b.node(s.If)
		n.thn = b.node(s.Then)
		n.elsN = b.node(s.Else)
	}
	n.strNeed = n.cnst != nil || n.enum != nil || n.format != nil || n.str != nil
	n.uneProps = b.node(s.UnevaluatedProperties)
	n.uneItems = b.node(s.UnevaluatedItems)
	if s.DynamicRef != nil {
		n.dynRef = b.node(s.DynamicRef.Ref)
		if a := s.DynamicRef.Anchor; a != "" && s.DynamicRef.Ref.DynamicAnchor == a {
			n.dynName = a
		}
	}
	n.hasCond = n.not != nil || len(n.allOf) > 0 || len(n.anyOf) > 0 || len(n.oneOf) > 0 || n.hasIf || n.dynRef != nil
	return n
}

func (b *builder) object(n *node, s *jsonschema.Schema) {
	if s.MaxProperties == nil && s.MinProperties == nil && len(s.Required) == 0 && s.PropertyNames == nil &&
		len(s.Properties) == 0 && len(s.PatternProperties) == 0 && s.AdditionalProperties == nil &&
		len(s.Dependencies) == 0 && len(s.DependentRequired) == 0 && len(s.DependentSchemas) == 0 {
		return
	}
	o := &objChecks{minProps: -1, maxProps: -1, id: b.nobj}
	b.nobj++
	idx := map[string]int{}
	name := func(k string) int {
		if i, ok := idx[k]; ok {
			return i
		}
		idx[k] = len(o.names)
		o.names = append(o.names, nameInfo{name: k})
		return len(o.names) - 1
	}
	props := make([]string, 0, len(s.Properties))
	for k := range s.Properties {
		props = append(props, k)
	}
	sort.Strings(props)
	for _, k := range props {
		i := name(k)
		o.names[i].prop = b.node(s.Properties[k])
		o.hasPropSchema = true
	}
	for _, k := range s.Required {
		name(k)
	}
	depKeys := make([]string, 0, len(s.Dependencies))
	for k := range s.Dependencies {
		depKeys = append(depKeys, k)
	}
	sort.Strings(depKeys)
	for _, k := range depKeys {
		switch d := s.Dependencies[k].(type) {
		case []string:
			di := depInfo{name: name(k), keyword: "dependencies"}
			for _, r := range d {
				di.need = append(di.need, name(r))
			}
			o.deps = append(o.deps, di)
		case *jsonschema.Schema:
			o.depSchemas = append(o.depSchemas, depSchema{name: name(k), node: b.node(d), keyword: "dependencies"})
		}
	}
	drKeys := make([]string, 0, len(s.DependentRequired))
	for k := range s.DependentRequired {
		drKeys = append(drKeys, k)
	}
	sort.Strings(drKeys)
	for _, k := range drKeys {
		di := depInfo{name: name(k), keyword: "dependentRequired"}
		for _, r := range s.DependentRequired[k] {
			di.need = append(di.need, name(r))
		}
		o.deps = append(o.deps, di)
	}
	dsKeys := make([]string, 0, len(s.DependentSchemas))
	for k := range s.DependentSchemas {
		dsKeys = append(dsKeys, k)
	}
	sort.Strings(dsKeys)
	for _, k := range dsKeys {
		o.depSchemas = append(o.depSchemas, depSchema{name: name(k), node: b.node(s.DependentSchemas[k]), keyword: "dependentSchemas"})
	}
	for i := range o.names {
		o.names[i].plain = plainName(o.names[i].name)
		o.names[i].setWords()
	}
	o.words = (len(o.names) + 63) / 64
	o.required = make([]uint64, o.words)
	for _, k := range s.Required {
		i := idx[k]
		o.required[i/64] |= 1 << (i % 64)
	}
	o.reqNames = s.Required
	pats := make([]jsonschema.Regexp, 0, len(s.PatternProperties))
	for re := range s.PatternProperties {
		pats = append(pats, re)
	}
	sort.Slice(pats, func(i, j int) bool { return pats[i].String() < pats[j].String() })
	for _, re := range pats {
		o.patterns = append(o.patterns, patternProp{re: re, fast: compileDFA(re.String()), node: b.node(s.PatternProperties[re])})
	}
	o.addlAny = s.AdditionalProperties != nil
	switch a := s.AdditionalProperties.(type) {
	case bool:
		o.addlFalse = !a
	case *jsonschema.Schema:
		o.addl = b.node(a)
	}
	o.propNames = b.node(s.PropertyNames)
	if s.MinProperties != nil {
		o.minProps = *s.MinProperties
	}
	if s.MaxProperties != nil {
		o.maxProps = *s.MaxProperties
	}
	o.trackUndecl = o.minProps >= 0 || o.maxProps >= 0 || len(o.patterns) > 0 || o.addl != nil
	o.buildTable()
	n.obj = o
}

// buildTable builds the open-addressing hash table for key lookup.
func (o *objChecks) buildTable() {
	size := 8
	for size < 2*len(o.names) {
		size *= 2
	}
	shift := uint(64)
	for s := size; s > 1; s >>= 1 {
		shift--
	}
	o.shift = shift
	o.table = make([]int32, size)
	for i, nm := range o.names {
		h := keyHash([]byte(nm.name)) >> shift
		for o.table[h] != 0 {
			h = (h + 1) & uint64(size-1)
		}
		o.table[h] = int32(i + 1)
	}
}

func (b *builder) array(n *node, s *jsonschema.Schema) {
	if s.MinItems == nil && s.MaxItems == nil && !s.UniqueItems && s.Contains == nil && s.Items == nil && s.UnevaluatedItems == nil &&
		s.AdditionalItems == nil && len(s.PrefixItems) == 0 && s.Items2020 == nil {
		return
	}
	a := &arrChecks{minItems: -1, maxItems: -1, minContains: -1, maxContains: -1, unique: s.UniqueItems}
	if s.MinItems != nil {
		a.minItems = *s.MinItems
	}
	if s.MaxItems != nil {
		a.maxItems = *s.MaxItems
	}
	if s.DraftVersion < 2020 {
		switch it := s.Items.(type) {
		case *jsonschema.Schema:
			a.items = b.node(it)
		case []*jsonschema.Schema:
			a.prefixIsItems = true
			for _, x := range it {
				a.prefix = append(a.prefix, b.node(x))
			}
			// additionalItems applies only after array-form items (santhosh
			// evaluates it with evaluated == len(arr) otherwise).
			switch ad := s.AdditionalItems.(type) {
			case bool:
				a.itemsFalse = !ad
			case *jsonschema.Schema:
				a.items = b.node(ad)
			}
			a.allItems = s.AdditionalItems != nil
		}
		if s.Items == nil {
			// additionalItems without items: evaluated == 0, so it applies to all.
			switch ad := s.AdditionalItems.(type) {
			case bool:
				a.itemsFalse = !ad
			case *jsonschema.Schema:
				a.items = b.node(ad)
			}
		}
	} else {
		for _, x := range s.PrefixItems {
			a.prefix = append(a.prefix, b.node(x))
		}
		a.items = b.node(s.Items2020)
	}
	if s.Contains != nil {
		a.contains = b.node(s.Contains)
		if s.MinContains != nil {
			a.minContains = *s.MinContains
		}
		if s.MaxContains != nil {
			a.maxContains = *s.MaxContains
		}
	}
	n.arr = a
}

func newBound(r *big.Rat) *bound {
	if r == nil {
		return nil
	}
	s := ratDecimalString(r)
	d, ok := parseDecimalString(s)
	if !ok {
		return nil
	}
	b := &bound{dec: d, rat: r}
	b.mant, b.exp, b.mantOK = d.mantissa()
	if r.IsInt() && r.Num().IsInt64() {
		b.i64, b.isI64 = r.Num().Int64(), true
	}
	return b
}

// ratDecimalString writes a terminating rational (all schema numbers are) as a
// decimal string.
func ratDecimalString(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	d := new(big.Int).Set(r.Denom())
	two, five := big.NewInt(2), big.NewInt(5)
	var n2, n5 int
	m := new(big.Int)
	for {
		q, rem := new(big.Int).QuoRem(d, two, m)
		if rem.Sign() != 0 {
			break
		}
		d = q
		n2++
	}
	for {
		q, rem := new(big.Int).QuoRem(d, five, m)
		if rem.Sign() != 0 {
			break
		}
		d = q
		n5++
	}
	prec := max(n2, n5)
	return r.FloatString(prec)
}

// constVal is a const or enum member, precompiled for byte comparison.
type constVal struct {
	v     any // the reference value (json.Number, string, bool, nil, []any, map)
	kind  uint8
	str   string
	dec   decimal
	decOK bool // representable for santhosh (big.Rat parses it)
	b     bool
}

func newConstVal(v any) *constVal {
	c := &constVal{v: v}
	switch x := v.(type) {
	case nil:
		c.kind = tNull
	case bool:
		c.kind = tBool
		c.b = x
	case string:
		c.kind = tString
		c.str = x
	case []any:
		c.kind = tArray
	case map[string]any:
		c.kind = tObject
	default:
		c.kind = tNumber
		s := fmt.Sprint(x)
		if n, ok := x.(json.Number); ok {
			s = string(n)
		}
		d, ok := parseDecimalString(s)
		if ok {
			c.dec = d
			_, c.decOK = new(big.Rat).SetString(s)
		}
	}
	return c
}

type enumVals struct {
	vals  []*constVal
	strs  map[string]struct{} // string members, for larger enums
	list  []string            // string members, for small enums (linear scan)
	types uint8
}

// hasString reports whether s is a string member.
func (e *enumVals) hasString(s string) bool {
	if e.strs == nil {
		for _, x := range e.list {
			if x == s {
				return true
			}
		}
		return false
	}
	_, ok := e.strs[s]
	return ok
}

func newEnumVals(vs []any) *enumVals {
	e := &enumVals{}
	for _, v := range vs {
		c := newConstVal(v)
		e.vals = append(e.vals, c)
		e.types |= c.kind
		if c.kind == tString {
			e.list = append(e.list, c.str)
		}
	}
	if len(e.list) > 8 {
		e.strs = map[string]struct{}{}
		for _, x := range e.list {
			e.strs[x] = struct{}{}
		}
	}
	return e
}

// inPlace lists the subschemas a node applies to the same value.
func (n *node) inPlace() []*node {
	out := []*node{n.ref, n.not, n.ifN, n.thn, n.elsN, n.dynRef}
	out = append(out, n.dynAlts...)
	out = append(out, n.allOf...)
	out = append(out, n.anyOf...)
	out = append(out, n.oneOf...)
	if n.obj != nil {
		for _, d := range n.obj.depSchemas {
			out = append(out, d.node)
		}
	}
	return out
}

// markCycles marks the nodes that can reach themselves through in-place
// applicators: only those need the reference-cycle check while validating.
func markCycles(nodes []*node) {
	for _, n := range nodes {
		seen := map[*node]bool{}
		stack := n.inPlace()
		for len(stack) > 0 {
			x := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if x == nil || seen[x] {
				continue
			}
			if x == n {
				n.cyclic = true
				break
			}
			seen[x] = true
			stack = append(stack, x.inPlace()...)
		}
	}
}

// plainName reports whether a key is written in JSON as exactly its bytes.
func plainName(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
