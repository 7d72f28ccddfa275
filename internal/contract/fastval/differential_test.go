package fastval

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// The differential harness generates schemas from the supported subset and
// instances around them (valid events, broken types, extra fields, boundary
// numbers, odd strings, invalid UTF-8, duplicate keys, deep nesting), validates
// each with the fast program and with santhosh v6 (jsonschema.UnmarshalJSON +
// Validate), and requires the same verdict and the same set of failing instance
// locations.

type gen struct {
	r     *rand.Rand
	draft Draft
	depth int
	defs  int  // number of $defs entries available for $ref
	dyn   bool // the root declares $dynamicAnchor "meta"
}

var (
	keyPool     = []string{"a", "b", "c", "id", "é", "a/b", "~x", "", "0", "ab", "ba", "\u00e9t\u00e9"}
	patternPool = []string{"^a", "b$", "^[a-c]+$", "x", "é", `^\d+$`, "^.{2,}$", "^(a|b)?c*$", `\.`, "^$", "(?i)^A", `^[\p{L}]+$`, "a|^b", "^\\w+@\\w+$"}
	formatPool  = []string{"email", "uuid", "date-time", "date", "time", "ipv4", "ipv6", "uri", "hostname", "duration", "unknown-format"}
	numberPool  = []string{"0", "1", "-1", "2", "2.5", "100", "1e2", "0.1", "0.01", "3", "1e400", "-1e400", "9007199254740993", "1.0000000000000001", "0.5", "7", "-0.5", "1e-5", "12345678901234567890"}
	multPool    = []string{"1", "2", "0.5", "0.01", "3", "1e-3", "1e20", "0.1", "7", "1.5"}
	stringPool  = []string{"", "a", "ab", "abc", "ba", "x", "é", "ééé", "aaaaaaaaaa", "id", "c", "A", "a.b", "42", "shop_1",
		"user@example.com", "a..b@x.com", "@x", "3f1c9a8e-2b4d-4c6e-9f1a-7b8c9d0e1f2a", "3f1c9a8e-2b4d-4c6e-9f1a-7b8c9d0e1f2", "2026-11-01T12:34:56.789Z",
		"2026-02-29", "2024-02-29", "2026-13-01", "23:59:60Z", "12:00:00+01:00", "1:00:00Z", "81.2.69.142", "01.2.3.4", "256.1.1.1", "+1.2.3.4",
		"::1", "fe80::1%eth0", "1::", "http://x.example/a?b#c", "rel/path", "host-name.example", "-bad.example", "P1D", "PT", "日本語", "a\u0000b"}
)

func (g *gen) pick(list []string) string { return list[g.r.IntN(len(list))] }

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

// schema generates a schema as JSON text.
func (g *gen) schema() string {
	g.depth++
	defer func() { g.depth-- }()
	if g.depth > 4 || g.chance(0.05) {
		if g.chance(0.8) {
			return "true"
		}
		return "false"
	}
	var kw []string
	add := func(k, v string) { kw = append(kw, fmt.Sprintf("%q:%s", k, v)) }
	types := []string{"null", "boolean", "number", "integer", "string", "array", "object"}
	if g.chance(0.5) {
		if g.chance(0.7) {
			add("type", fmt.Sprintf("%q", g.pick(types)))
		} else {
			a, b := g.pick(types), g.pick(types)
			add("type", fmt.Sprintf("[%q,%q]", a, b))
		}
	}
	if g.chance(0.05) {
		add("const", g.value(2))
	}
	if g.chance(0.1) {
		n := 1 + g.r.IntN(4)
		var vals []string
		for i := 0; i < n; i++ {
			vals = append(vals, g.value(2))
		}
		add("enum", "["+strings.Join(vals, ",")+"]")
	}
	// string
	if g.chance(0.2) {
		add("minLength", fmt.Sprint(g.r.IntN(4)))
	}
	if g.chance(0.2) {
		add("maxLength", fmt.Sprint(g.r.IntN(6)))
	}
	if g.chance(0.15) {
		add("pattern", fmt.Sprintf("%q", g.pick(patternPool)))
	}
	if g.chance(0.15) {
		add("format", fmt.Sprintf("%q", g.pick(formatPool)))
	}
	// number
	for _, k := range []string{"minimum", "maximum"} {
		if g.chance(0.15) {
			add(k, g.pick(numberPool))
			if g.draft == Draft4 && g.chance(0.4) {
				add("exclusive"+strings.ToUpper(k[:1])+k[1:], "true")
			}
		}
	}
	if g.draft != Draft4 {
		for _, k := range []string{"exclusiveMinimum", "exclusiveMaximum"} {
			if g.chance(0.1) {
				add(k, g.pick(numberPool))
			}
		}
	}
	if g.chance(0.12) {
		add("multipleOf", g.pick(multPool))
	}
	// object
	if g.chance(0.35) {
		var props []string
		used := map[string]bool{}
		for i := g.r.IntN(4); i > 0; i-- {
			k := g.pick(keyPool)
			if used[k] {
				continue
			}
			used[k] = true
			props = append(props, fmt.Sprintf("%q:%s", k, g.schema()))
		}
		add("properties", "{"+strings.Join(props, ",")+"}")
	}
	if g.chance(0.2) {
		var req []string
		used := map[string]bool{}
		for i := 1 + g.r.IntN(3); i > 0; i-- {
			k := g.pick(keyPool)
			if !used[k] {
				used[k] = true
				req = append(req, fmt.Sprintf("%q", k))
			}
		}
		add("required", "["+strings.Join(req, ",")+"]")
	}
	if g.chance(0.15) {
		if g.chance(0.5) {
			add("additionalProperties", fmt.Sprint(g.chance(0.5)))
		} else {
			add("additionalProperties", g.schema())
		}
	}
	if g.chance(0.1) {
		add("patternProperties", fmt.Sprintf("{%q:%s}", g.pick(patternPool), g.schema()))
	}
	if g.draft != Draft4 && g.chance(0.07) {
		add("propertyNames", g.schema())
	}
	if g.chance(0.08) {
		add("minProperties", fmt.Sprint(g.r.IntN(3)))
	}
	if g.chance(0.08) {
		add("maxProperties", fmt.Sprint(g.r.IntN(4)))
	}
	if g.chance(0.08) {
		k1, k2 := g.pick(keyPool), g.pick(keyPool)
		if g.draft == Draft2020 {
			add("dependentRequired", fmt.Sprintf("{%q:[%q]}", k1, k2))
		} else if g.chance(0.5) {
			add("dependencies", fmt.Sprintf("{%q:[%q]}", k1, k2))
		} else {
			add("dependencies", fmt.Sprintf("{%q:%s}", k1, g.schema()))
		}
	}
	if g.draft == Draft2020 && g.chance(0.05) {
		add("dependentSchemas", fmt.Sprintf("{%q:%s}", g.pick(keyPool), g.schema()))
	}
	// array
	if g.chance(0.25) {
		if g.draft == Draft2020 {
			if g.chance(0.4) {
				add("prefixItems", "["+g.schema()+","+g.schema()+"]")
			}
			add("items", g.schema())
		} else if g.chance(0.5) {
			add("items", "["+g.schema()+","+g.schema()+"]")
			if g.chance(0.6) {
				if g.chance(0.5) {
					add("additionalItems", fmt.Sprint(g.chance(0.5)))
				} else {
					add("additionalItems", g.schema())
				}
			}
		} else {
			add("items", g.schema())
		}
	}
	if g.chance(0.1) {
		add("minItems", fmt.Sprint(g.r.IntN(3)))
	}
	if g.chance(0.1) {
		add("maxItems", fmt.Sprint(g.r.IntN(4)))
	}
	if g.chance(0.1) {
		add("uniqueItems", "true")
	}
	if g.draft != Draft4 && g.chance(0.08) {
		add("contains", g.schema())
		if g.draft == Draft2020 && g.chance(0.5) {
			add("minContains", fmt.Sprint(g.r.IntN(3)))
		}
		if g.draft == Draft2020 && g.chance(0.3) {
			add("maxContains", fmt.Sprint(g.r.IntN(3)))
		}
	}
	if g.draft == Draft2020 && g.chance(0.06) {
		add("unevaluatedProperties", g.schema())
	}
	if g.draft == Draft2020 && g.chance(0.05) {
		add("unevaluatedItems", g.schema())
	}
	// applicators
	for _, k := range []string{"allOf", "anyOf", "oneOf"} {
		if g.chance(0.07) {
			n := 1 + g.r.IntN(3)
			var subs []string
			for i := 0; i < n; i++ {
				subs = append(subs, g.schema())
			}
			add(k, "["+strings.Join(subs, ",")+"]")
		}
	}
	if g.chance(0.05) {
		add("not", g.schema())
	}
	if g.draft != Draft4 && g.chance(0.06) {
		add("if", g.schema())
		if g.chance(0.7) {
			add("then", g.schema())
		}
		if g.chance(0.7) {
			add("else", g.schema())
		}
	}
	if g.dyn && g.chance(0.08) {
		add("$dynamicRef", `"#meta"`)
	}
	if g.defs > 0 && g.chance(0.08) {
		if g.chance(0.3) {
			add("$ref", `"#"`)
		} else {
			key := "definitions"
			if g.draft == Draft2020 {
				key = "$defs"
			}
			add("$ref", fmt.Sprintf(`"#/%s/d%d"`, key, g.r.IntN(g.defs)))
		}
	}
	return "{" + strings.Join(kw, ",") + "}"
}

func (g *gen) rootSchema() string {
	g.defs = g.r.IntN(3)
	g.dyn = g.draft == Draft2020 && g.chance(0.2)
	body := g.schema()
	if g.dyn && strings.HasPrefix(body, "{") {
		// the root is the outermost dynamic anchor; an inner resource may
		// declare it too
		inner := fmt.Sprintf(`"$defs":{"inner":{"$id":"inner.json","$dynamicAnchor":"meta","items":{"$dynamicRef":"#meta"},"properties":{"a":%s}}},`, g.schema())
		sep := ","
		if body == "{}" {
			sep = ""
		}
		body = `{"$dynamicAnchor":"meta",` + inner + `"anyOf":[{"$ref":"inner.json"},true]` + sep + body[1:]
	}
	if g.defs == 0 {
		return body
	}
	key := "definitions"
	if g.draft == Draft2020 {
		key = "$defs"
	}
	var defs []string
	for i := 0; i < g.defs; i++ {
		defs = append(defs, fmt.Sprintf(`"d%d":%s`, i, g.schema()))
	}
	if body == "true" || body == "false" {
		return body
	}
	sep := ","
	if body == "{}" {
		sep = ""
	}
	return "{" + fmt.Sprintf("%q:{%s}", key, strings.Join(defs, ",")) + sep + body[1:]
}

// value generates a JSON value as text, sometimes not valid UTF-8, sometimes
// with duplicate keys or escapes.
func (g *gen) value(depth int) string {
	switch k := g.r.IntN(10); {
	case k == 0:
		return g.pick([]string{"null", "true", "false"})
	case k <= 2:
		return g.pick(numberPool)
	case k <= 5 || depth <= 0:
		return g.str()
	case k <= 7:
		n := g.r.IntN(4)
		var items []string
		for i := 0; i < n; i++ {
			items = append(items, g.value(depth-1))
		}
		return "[" + strings.Join(items, ",") + "]"
	default:
		n := g.r.IntN(4)
		var m []string
		for i := 0; i < n; i++ {
			k := g.pick(keyPool)
			m = append(m, jsonString(k)+":"+g.value(depth-1))
			if g.chance(0.1) {
				m = append(m, jsonString(k)+":"+g.value(depth-1)) // duplicate key
			}
		}
		return "{" + strings.Join(m, ",") + "}"
	}
}

func (g *gen) str() string {
	q := jsonString(g.pick(stringPool))
	s := q[1 : len(q)-1]
	switch g.r.IntN(12) {
	case 0:
		return `"` + s + "\xff\xfe" + `"` // invalid UTF-8
	case 1:
		return `"\ud800` + s + `"` // lone surrogate
	case 2:
		return `"\u0061` + s + `"` // escaped a
	case 3:
		return `"` + strings.ReplaceAll(s, "a", `\u0061`) + `"`
	}
	return q
}

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range []byte(s) {
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20:
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// instance generates an instance, with a mutation now and then.
func (g *gen) instance() string {
	v := g.value(4)
	switch g.r.IntN(16) {
	case 0:
		return strings.Repeat("[", 50) + v + strings.Repeat("]", 50)
	case 1:
		return " \n" + v + "\t "
	case 2:
		if len(v) > 2 {
			return v[:len(v)-1] // truncated
		}
	case 3:
		return v + " 1" // trailing value
	}
	return v
}

type outcome struct {
	valid       bool
	invalidJSON bool
	locs        []string
	skipped     string
}

func compileRef(schema any, draft Draft, assertFormat bool) (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(draft.santhosh())
	if assertFormat {
		c.AssertFormat()
	}
	if err := c.AddResource("https://accord.invalid/contract.json", schema); err != nil {
		return nil, err
	}
	return c.Compile("https://accord.invalid/contract.json")
}

func referenceOutcome(sch *jsonschema.Schema, inst []byte) (out outcome, err error) {
	v, perr := jsonschema.UnmarshalJSON(bytes.NewReader(inst))
	if perr != nil {
		out.invalidJSON = true
		return out, nil
	}
	defer func() {
		if r := recover(); r != nil {
			out.skipped = fmt.Sprint("reference panicked: ", r)
		}
	}()
	verr := sch.Validate(v)
	if verr == nil {
		out.valid = true
		return out, nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(verr, &ve) {
		return out, verr
	}
	set := map[string]bool{}
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if _, ok := e.ErrorKind.(*kind.PropertyNames); ok {
			// santhosh v6 stores this location without copying it, and later
			// siblings overwrite it: not comparable.
			return
		}
		if len(e.Causes) == 0 {
			set[pointer(e.InstanceLocation)] = true
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	for k := range set {
		out.locs = append(out.locs, k)
	}
	sort.Strings(out.locs)
	return out, nil
}

func pointer(toks []string) string {
	var b strings.Builder
	for _, t := range toks {
		b.WriteByte('/')
		b.WriteString(escapeToken(t))
	}
	return b.String()
}

func fastOutcome(prog *Program, inst []byte, res *Result) outcome {
	var out outcome
	out.valid = prog.Validate(inst, res)
	out.invalidJSON = res.InvalidJSON()
	if out.valid || out.invalidJSON {
		return out
	}
	set := map[string]bool{}
	for _, f := range res.Failures() {
		if f.Keyword != "propertyNames" {
			set[f.InstanceLocation] = true
		}
	}
	for k := range set {
		out.locs = append(out.locs, k)
	}
	sort.Strings(out.locs)
	return out
}

// diffCase is one generated schema compiled both ways.
type diffCase struct {
	text         string
	draft        Draft
	assertFormat bool
	ref          *jsonschema.Schema
	prog         *Program
	res          Result
}

// compileCase compiles a schema with both validators; ok is false when the
// reference rejects the schema (then Compile must reject it too).
func compileCase(t testing.TB, text string, draft Draft, assertFormat bool) (*diffCase, bool) {
	t.Helper()
	schema, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
	if err != nil {
		t.Fatalf("generated schema is not JSON: %v\n%s", err, text)
	}
	ref, rerr := compileRef(schema, draft, assertFormat)
	prog, ferr := Compile(schema, Options{Draft: draft, AssertFormat: assertFormat})
	if rerr != nil {
		if ferr == nil {
			t.Fatalf("reference rejects the schema (%v) but Compile accepts it\nschema: %s", rerr, text)
		}
		return nil, false
	}
	if ferr != nil {
		t.Fatalf("Compile: %v\nschema: %s", ferr, text)
	}
	return &diffCase{text: text, draft: draft, assertFormat: assertFormat, ref: ref, prog: prog}, true
}

// check compares both validators on one instance; it returns false when the
// reference cannot decide (it panics on numbers beyond big.Rat's range).
func (c *diffCase) check(t testing.TB, inst []byte) bool {
	t.Helper()
	ref, err := referenceOutcome(c.ref, inst)
	if err != nil {
		t.Fatalf("reference: %v", err)
	}
	if ref.skipped != "" {
		return false
	}
	// The Result is shared by the case's instances and each instance is
	// validated twice, so that the key-order hints learnt from earlier events
	// are exercised too.
	for range 2 {
		got := fastOutcome(c.prog, inst, &c.res)
		if got.valid != ref.valid || got.invalidJSON != ref.invalidJSON || !slices.Equal(got.locs, ref.locs) {
			t.Fatalf("disagreement (draft %s, assertFormat %v)\nschema:   %s\ninstance: %q\nreference: %+v\nfastval:   %+v\nfailures: %+v", c.draft, c.assertFormat, c.text, inst, ref, got, c.res.Failures())
		}
	}
	return true
}

func newGen(seed uint64) *gen {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	g := &gen{r: r}
	g.draft = []Draft{Draft2020, Draft7, Draft4}[r.IntN(3)]
	return g
}

// TestDifferential runs a fixed sample of generated cases (the fuzz target
// below explores further).
func TestDifferential(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 300
	}
	checked, total, valid, invalidJSON := 0, 0, 0, 0
	for seed := uint64(0); seed < uint64(n); seed++ {
		g := newGen(seed)
		c, ok := compileCase(t, g.rootSchema(), g.draft, seed%2 == 0)
		if !ok {
			continue
		}
		for i := 0; i < 8; i++ {
			total++
			inst := []byte(g.instance())
			if c.check(t, inst) {
				checked++
				var res Result
				if c.prog.Validate(inst, &res) {
					valid++
				} else if res.InvalidJSON() {
					invalidJSON++
				}
			}
		}
	}
	if checked < total*9/10 {
		t.Errorf("only %d of %d cases were decidable", checked, total)
	}
	t.Logf("%d cases compared: %d valid, %d invalid JSON, %d failing validation", checked, valid, invalidJSON, checked-valid-invalidJSON)
	if valid < checked/10 {
		t.Errorf("only %d of %d generated instances are valid: the generator is too harsh", valid, checked)
	}
}

// FuzzDifferential lets `go test -fuzz=FuzzDifferential` explore schemas (from
// the seed) and instances (generated from the seed, or the raw fuzz bytes).
func FuzzDifferential(f *testing.F) {
	f.Add(uint64(1), []byte{})
	f.Add(uint64(2), []byte(`{"a":1,"a":"x"}`))
	f.Add(uint64(3), []byte("{\"\xff\":\"\xfe\"}"))
	f.Add(uint64(4), []byte(`[1e400, 1.0, -0, 9007199254740993]`))
	f.Add(uint64(5), []byte(`{"a":{"b":[{"c":"\ud800"}]},"é":"\u00e9"}`))
	f.Add(uint64(6), []byte(`[[[[[[[[[[]]]]]]]]]]`))
	f.Fuzz(func(t *testing.T, seed uint64, raw []byte) {
		g := newGen(seed)
		schema := g.rootSchema()
		c, ok := compileCase(t, schema, g.draft, seed%2 == 0)
		if !ok {
			return
		}
		inst := raw
		if len(raw) == 0 {
			inst = []byte(g.instance())
		}
		c.check(t, inst)
	})
}
