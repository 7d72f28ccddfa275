package contract

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCompileSharesPatterns checks that contracts compiled together share one
// compiled regexp per distinct pattern, and still match with it.
func TestCompileSharesPatterns(t *testing.T) {
	set := &Set{}
	for _, name := range []string{"a", "b"} {
		key := Key{Vendor: "com.acme", Name: name, Format: "jsonschema", Version: SchemaVer{Model: 1}}
		src := "self: {vendor: com.acme, name: " + name + ", format: jsonschema, version: 1-0-0}\ntype: object\nproperties:\n  sku: {type: string, pattern: \"^SKU-[0-9]+$\"}\n"
		c, problems := Parse([]byte(src), key.Path(), key)
		if len(problems) > 0 {
			t.Fatal(problems)
		}
		set.Contracts = append(set.Contracts, c)
	}
	snap, problems := Compile(set)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	all := snap.All()
	sa, err := all[0].Schema()
	if err != nil {
		t.Fatal(err)
	}
	sb, err := all[1].Schema()
	if err != nil {
		t.Fatal(err)
	}
	pa, pb := sa.Properties["sku"].Pattern, sb.Properties["sku"].Pattern
	if pa == nil || pa != pb {
		t.Errorf("patterns %p and %p, want one shared compiled pattern", pa, pb)
	}
	for _, c := range all {
		if f := c.Validate(map[string]any{"sku": "SKU-12"}); f != nil {
			t.Errorf("%s: valid SKU refused: %v", c.Key, f)
		}
		if f := c.Validate(map[string]any{"sku": "sku-12"}); len(f) != 1 || f[0].Keyword != "pattern" {
			t.Errorf("%s: invalid SKU: got failures %v, want one pattern failure", c.Key, f)
		}
	}
}

// TestPosFromSource checks that positions, built from Source on first use, are
// those of the file, for the contract and for copies of it.
func TestPosFromSource(t *testing.T) {
	c := parseClean(t, "pos", "type: object\nproperties:\n  a:\n    type: string\n  b: {type: [string, \"null\"]}\n")
	cp := *c
	for _, tc := range []struct {
		pointer string
		want    Pos
	}{
		{"/properties/a", Pos{4, 3}},
		{"/properties/a/type", Pos{5, 5}},
		{"/properties/b/type/1", Pos{6, 22}},
		{"/properties/b/missing", Pos{6, 3}},
		{"", Pos{1, 1}},
	} {
		for _, got := range []Pos{c.Pos(tc.pointer), cp.Pos(tc.pointer)} {
			if got != tc.want {
				t.Errorf("Pos(%q) = %v, want %v", tc.pointer, got, tc.want)
			}
		}
	}
}

// TestSnapshotCompilesSchemaOnUse checks that a snapshot does not keep the
// compiled schemas, and that the schema compiled again on first use validates
// and words failures as the one CompileOne keeps.
func TestSnapshotCompilesSchemaOnUse(t *testing.T) {
	c := parseClean(t, "a", "type: object\nrequired: [n]\nproperties:\n  n: {type: integer, maximum: 3}\n  s: {type: string, format: email}\n")
	snap, problems := Compile(&Set{Contracts: []*Contract{c}})
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	got := snap.All()[0]
	if got.ref.schema != nil {
		t.Fatal("the snapshot keeps the compiled schema")
	}
	kept, problems := CompileOne(c)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	for _, ev := range []any{
		map[string]any{"n": json.Number("2")},
		map[string]any{"n": json.Number("4"), "s": "not an email"},
		map[string]any{"s": json.Number("1")},
	} {
		if diff := cmp.Diff(kept.Validate(ev), got.Validate(ev)); diff != "" {
			t.Errorf("failures of %v differ (-kept +compiled on use):\n%s", ev, diff)
		}
	}
	if got.ref.schema == nil {
		t.Error("the schema compiled on use is not kept")
	}
}

// parseClean parses com.acme/name 1-0-0 with its self block followed by body,
// failing on any problem.
func parseClean(tb testing.TB, name, body string) *Contract {
	tb.Helper()
	key := Key{Vendor: "com.acme", Name: name, Format: "jsonschema", Version: SchemaVer{Model: 1}}
	src := "self: {vendor: com.acme, name: " + name + ", format: jsonschema, version: 1-0-0}\n" + body
	c, problems := Parse([]byte(src), key.Path(), key)
	if len(problems) > 0 {
		tb.Fatal(problems)
	}
	return c
}
