package contract

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// metaKeywords and metaValues are what randomSchema builds schemas from: every
// keyword metaValid models or refuses, and values of every shape, most of them
// wrong for most keywords.
var metaKeywords = []string{
	"$schema", "$ref", "$id", "id", "$defs", "definitions", "type", "properties", "items",
	"prefixItems", "allOf", "anyOf", "oneOf", "not", "if", "then", "else", "contains",
	"propertyNames", "additionalProperties", "additionalItems", "unevaluatedItems",
	"unevaluatedProperties", "enum", "const", "default", "examples", "required",
	"maxLength", "minLength", "maxItems", "minItems", "maxProperties", "minProperties",
	"maxContains", "minContains", "maximum", "minimum", "exclusiveMaximum",
	"exclusiveMinimum", "multipleOf", "pattern", "uniqueItems", "readOnly", "writeOnly",
	"deprecated", "title", "description", "$comment", "format", "contentMediaType",
	"contentEncoding", "patternProperties", "dependencies", "dependentRequired",
	"$anchor", "$dynamicRef", "x-pii",
}

var metaScalars = []any{
	nil, true, false, "", "string", "integer", "object", "strin", "#", "#/$defs/a",
	"#/definitions/a", "#/properties/a", "#a", "#/$defs/a b", "other.json", "^a+$", "(",
	"email", "date-time", "bogus-format", "https://json-schema.org/draft/2020-12/schema",
	"http://json-schema.org/draft-07/schema#", "http://json-schema.org/draft-04/schema",
	json.Number("0"), json.Number("1"), json.Number("-1"), json.Number("1.5"),
	json.Number("1.0"), json.Number("1e2"), json.Number("-0"), json.Number("01"),
	json.Number("99999999999999999999"), json.Number("0.0"), json.Number("1e-400"),
}

func randomValue(r *rand.Rand, depth int) any {
	switch n := r.IntN(10); {
	case n < 5 || depth > 3:
		return metaScalars[r.IntN(len(metaScalars))]
	case n < 7:
		return randomSchema(r, depth+1)
	case n < 9:
		list := make([]any, r.IntN(4))
		for i := range list {
			if r.IntN(2) == 0 {
				list[i] = metaScalars[r.IntN(len(metaScalars))]
			} else {
				list[i] = randomSchema(r, depth+1)
			}
		}
		return list
	default:
		m := map[string]any{}
		for range r.IntN(3) {
			m[[]string{"a", "b", "c"}[r.IntN(3)]] = randomSchema(r, depth+1)
		}
		return m
	}
}

func randomSchema(r *rand.Rand, depth int) map[string]any {
	m := map[string]any{}
	if depth > 4 {
		return m
	}
	for range r.IntN(4) {
		m[metaKeywords[r.IntN(len(metaKeywords))]] = randomValue(r, depth)
	}
	return m
}

// TestMetaValidSound checks on random schemas that the pre-check never accepts a
// schema that the compiler's metaschema check refuses, and that compileSchema
// reports exactly what the compiler with its own check reports.
func TestMetaValidSound(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	key := Key{Vendor: "com.acme", Name: "meta", Format: "jsonschema", Version: SchemaVer{Model: 1}}
	accepted, refused := 0, 0
	for i := range 20000 {
		draft := []Draft{Draft2020, Draft7, Draft4}[i%3]
		doc := randomSchema(r, 0)
		if i%2 == 0 {
			// Keep half of the schemas mostly valid, so that both answers occur.
			doc = map[string]any{"type": "object", "properties": map[string]any{"a": doc, "b": map[string]any{"type": "string"}}}
		}
		c := &Contract{Key: key, File: "meta.yaml", Doc: doc, Draft: draft}
		_, want := compileChecked(c, doc, draft, nil)
		ok := metaValid(doc, draft)
		if ok {
			accepted++
			for _, p := range want {
				if strings.Contains(p.Message, "not a valid JSON Schema") {
					js, _ := json.Marshal(doc)
					t.Fatalf("metaValid accepted a %s schema the metaschema refuses: %s\n%v", draft, js, p)
				}
			}
		} else if len(want) > 0 {
			refused++
		}
		_, got := compileSchema(c, newRegexpCache())
		if diff := cmp.Diff(problemStrings(want), problemStrings(got)); diff != "" {
			js, _ := json.Marshal(doc)
			t.Fatalf("compileSchema(%s) problems differ from the checked compile (-want +got):\n%s", js, diff)
		}
	}
	if accepted < 1000 || refused < 1000 {
		t.Errorf("the generator is off: %d schemas pre-checked, %d refused", accepted, refused)
	}
}

func problemStrings(ps []*Problem) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Error()
	}
	// The compiler reports failures at one location in map order.
	sort.Strings(out)
	return out
}

// TestContractsCannotReferenceEachOther keeps contracts isolated: a $ref to
// another contract of the same registry, under either base URL contracts are
// compiled with, is refused.
func TestContractsCannotReferenceEachOther(t *testing.T) {
	other := Key{Vendor: "com.acme", Name: "other", Format: "jsonschema", Version: SchemaVer{Model: 1}}
	for _, ref := range []string{schemaBase + other.Path(), precheckedBase + other.Path(), "../../other/jsonschema/1-0-0"} {
		t.Run(ref, func(t *testing.T) {
			set := &Set{}
			for _, src := range []struct {
				key Key
				doc string
			}{
				{other, "self: {vendor: com.acme, name: other, format: jsonschema, version: 1-0-0}\ntype: object\n"},
				{Key{Vendor: "com.acme", Name: "main", Format: "jsonschema", Version: SchemaVer{Model: 1}},
					fmt.Sprintf("self: {vendor: com.acme, name: main, format: jsonschema, version: 1-0-0}\ntype: object\nproperties:\n  a: {$ref: %q}\n", ref)},
			} {
				c, problems := Parse([]byte(src.doc), src.key.Path(), src.key)
				if len(problems) > 0 {
					t.Fatal(problems)
				}
				set.Contracts = append(set.Contracts, c)
			}
			snap, problems := Compile(set)
			if len(problems) != 1 || !strings.Contains(problems[0].Message, "cannot be resolved") || problems[0].Line != 4 {
				t.Fatalf("got problems %v, want one: the $ref at line 4 cannot be resolved", problems)
			}
			if _, ok := snap.Get(other); !ok || snap.Len() != 1 {
				t.Errorf("snapshot holds %d contracts, want the other one only", snap.Len())
			}
		})
	}
}

// FuzzMetaValid checks the pre-check's soundness on parsed contracts.
func FuzzMetaValid(f *testing.F) {
	for _, s := range contractSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(benchContract("com.acme", "bench", "1-0-0", 1, 1)))
	key := Key{Vendor: "com.acme", Name: "fuzz", Format: "jsonschema", Version: SchemaVer{Model: 1}}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, _ := Parse(data, "fuzz.yaml", key)
		if c == nil {
			return
		}
		draft := Draft2020
		if c.Draft == Draft4 || c.Draft == Draft7 {
			draft = c.Draft
		}
		doc := c.SchemaDoc()
		if !metaValid(doc, draft) {
			return
		}
		_, want := compileChecked(c, doc, draft, nil)
		_, got := compileSchema(c, nil)
		if diff := cmp.Diff(problemStrings(want), problemStrings(got)); diff != "" {
			t.Fatalf("compileSchema problems differ from the checked compile (-want +got):\n%s", diff)
		}
	})
}
