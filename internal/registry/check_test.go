package registry

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/accord-dev/accord/internal/contract"
)

// engines returns a fast and a reference Checker of the example contracts.
func engines(tb testing.TB) (fast, ref Checker) {
	tb.Helper()
	snap, err := contract.LoadSnapshot(filepath.Join("..", "..", "examples", "contracts"))
	if err != nil {
		tb.Fatal(err)
	}
	if fast, err = NewChecker(snap, ""); err != nil {
		tb.Fatal(err)
	}
	if ref, err = NewChecker(snap, ValidatorReference); err != nil {
		tb.Fatal(err)
	}
	if fast.Fast == nil || ref.Fast != nil {
		tb.Fatalf("NewChecker: the default engine is not the fast one (%v, %v)", fast.Fast, ref.Fast)
	}
	return fast, ref
}

// checkerSeeds are self-describing events of the example contracts, valid and
// broken, with contexts, in every shape Input reads.
var checkerSeeds = []string{
	`{"schema": "iglu:com.acme/signup/jsonschema/1-0-0", "data": {"shop_id": "shop_1", "email": "buyer@example.com", "marketing_opt_in": true}}`,
	`{"schema": "iglu:com.acme/signup/jsonschema/1-0-0", "data": {"shop_id": "shop_x", "email": "nope", "referrer_channel": "tv"}}`,
	`{"schema": "iglu:com.acme/signup/jsonschema/1-0-0", "data": {"shop_id": "shop_1", "email": "a@b.example"}, "data": {"shop_id": 1}}`,
	`{"schema": "iglu:com.acme/signup/jsonschema/1-0-0", "data": {"shop_id": "shop_1", "email": "a@b.example"},
	  "contexts": [{"schema": "iglu:com.acme/page_view/jsonschema/1-0-0", "data": {"url": 5}}, {"schema": "iglu:x.y/z/jsonschema/1-0-0", "data": {}}]}`,
	`{"schema": "iglu:com.acme/signup/jsonschema/1-0-0", "data": {"shop_id": "shop_1", "email": "a@b.example"}, "contexts": [1, {"data": {}}]}`,
	`{"schema": "iglu:com.snowplowanalytics.snowplow/page_ping/jsonschema/1-0-0", "data": {"min_x": 0, "max_x": 1e400, "min_y": -0.0, "max_y": 3}}`,
	`{"schema": "iglu:com.acme/search/jsonschema/1-0-0", "data": {"query": "\ud800 shoes \xff", "results": []}}`,
	"{\"schema\": \"iglu:com.acme/signup/jsonschema/1-0-0\", \"data\": {\"shop_id\": \"shop_1\"}}\n{\"schema\": \"iglu:com.acme/signup/jsonschema/1-0-0\", \"data\": {}}\n",
	`[{"schema": "iglu:com.acme/signup/jsonschema/1-0-0", "data": {}}]`,
	`{"schema": 5, "data": {}}`,
	`not json`,
	"{\"schema\": \"iglu:com.acme/search/jsonschema/1-0-0\", \"data\": {\"query\": \"shoes \xff\"}}",
}

// TestInvalidUTF8 checks events whose text is not UTF-8: invalid_utf8, with
// the pointer from the document's top, on both engines, once the contract is
// known (an unknown one says so first).
func TestInvalidUTF8(t *testing.T) {
	fast, ref := engines(t)
	for _, c := range []struct{ doc, reason, pointer string }{
		{"{\"schema\": \"iglu:com.acme/search/jsonschema/1-0-0\", \"data\": {\"query\": \"shoes \xff\", \"results\": []}}", ReasonInvalidUTF8, "/data/query"},
		{"{\"schema\": \"iglu:com.acme/signup/jsonschema/1-0-0\", \"data\": {\"shop_id\": \"shop_1\", \"email\": \"a@b.example\"}, " +
			"\"contexts\": [{\"schema\": \"iglu:com.acme/page_view/jsonschema/1-0-0\", \"data\": {\"title\": \"\xc3\"}}]}", ReasonInvalidUTF8, "/contexts/0/data/title"},
		{"{\"schema\": \"iglu:com.acme/nope/jsonschema/1-0-0\", \"data\": {\"q\": \"\xff\"}}", ReasonSchemaNotFound, ""},
	} {
		got, want := fast.Input(nil, []byte(c.doc)), ref.Input(nil, []byte(c.doc))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%q: fast engine differs from the reference (-reference +fast):\n%s", c.doc, diff)
		}
		if len(got) != 1 || got[0].Valid || got[0].Reason != c.reason {
			t.Fatalf("%q: got %+v, want reason %s", c.doc, got, c.reason)
		}
		if c.pointer != "" && (len(got[0].Failures) != 1 || got[0].Failures[0].Pointer != c.pointer) {
			t.Errorf("%q: failures %+v, want one at %s", c.doc, got[0].Failures, c.pointer)
		}
	}
	key, _ := contract.ParseURI("iglu:com.acme/search/jsonschema/1-0-0")
	sc, ok := fast.Snap.Get(key)
	if !ok {
		t.Fatal("examples lack com.acme/search 1-0-0")
	}
	got := fast.Input(sc, []byte("{\"query\": \"\xe2\x82\"}"))
	if len(got) != 1 || got[0].Reason != ReasonInvalidUTF8 || len(got[0].Failures) != 1 || got[0].Failures[0].Pointer != "/query" {
		t.Fatalf("data of a contract: got %+v, want invalid_utf8 at /query", got)
	}
}

// FuzzEnginesAgree feeds the same input to the fast and the reference engine:
// every verdict, failure and message must be the same.
func FuzzEnginesAgree(f *testing.F) {
	for _, s := range checkerSeeds {
		f.Add([]byte(s))
	}
	fast, ref := engines(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		got, want := fast.Input(nil, in), ref.Input(nil, in)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("fast engine differs from the reference (-reference +fast):\n%s", diff)
		}
	})
}

// TestEnginesAgreeOnData checks the data of one contract (Input with a contract),
// where the document's bytes are the payload.
func TestEnginesAgreeOnData(t *testing.T) {
	fast, ref := engines(t)
	key, err := contract.ParseURI("iglu:com.acme/signup/jsonschema/1-0-0")
	if err != nil {
		t.Fatal(err)
	}
	c, ok := fast.Snap.Get(key)
	if !ok {
		t.Fatal("examples lack com.acme/signup 1-0-0")
	}
	in := []byte(`{"shop_id": "shop_1", "email": "buyer@example.com"}
{"shop_id": "shop_1", "email": "buyer@example.com", "shop_id": 7}
{"email": "nope"}
[1, 2]
`)
	got, want := fast.Input(c, in), ref.Input(c, in)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("fast engine differs from the reference (-reference +fast):\n%s", diff)
	}
	valid := 0
	for _, r := range got {
		if r.Valid {
			valid++
		}
	}
	if valid != 1 || len(got) != 4 {
		t.Fatalf("want 4 results, 1 valid; got %+v", got)
	}
	if fast.Fast.Len() != 1 {
		t.Errorf("the fast engine looked up %d programs, want 1", fast.Fast.Len())
	}
}

// TestFallbackContract validates events of a contract outside the fast subset
// ($recursiveRef): the default engine hands them to the reference validator and
// answers exactly as it does.
func TestFallbackContract(t *testing.T) {
	dir := t.TempDir()
	writeContract(t, dir, "com.acme/category_tree/jsonschema/1-0-0.yaml", `$schema: https://json-schema.org/draft/2020-12/schema
self: {vendor: com.acme, name: category_tree, format: jsonschema, version: 1-0-0}
description: A merchant saved the category tree of a shop.
x-owner: {team: catalog}
x-lifecycle: {status: active, retention: P30D}
type: object
additionalProperties: false
required: [name]
properties:
  name: {type: string, description: Name of the category.}
  children:
    type: array
    description: The subcategories, each a tree of its own.
    items: {$recursiveRef: "#", type: object}
`)
	snap, err := contract.LoadSnapshot(dir)
	if err != nil {
		t.Fatal(err)
	}
	fast, err := NewChecker(snap, ValidatorFast)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := NewChecker(snap, ValidatorReference)
	if err != nil {
		t.Fatal(err)
	}
	uri := "iglu:com.acme/category_tree/jsonschema/1-0-0"
	in := []byte(`{"schema": "` + uri + `", "data": {"name": "shoes", "children": [{"name": "boots"}]}}
{"schema": "` + uri + `", "data": {"name": "shoes", "children": [{"name": 5, "extra": true}]}}
`)
	got, want := fast.Input(nil, in), ref.Input(nil, in)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("fast engine differs from the reference (-reference +fast):\n%s", diff)
	}
	if len(got) != 2 || !got[0].Valid || got[1].Valid || len(got[1].Failures) == 0 {
		t.Fatalf("want the first event valid and the second invalid with failures, got %+v", got)
	}
	key, err := contract.ParseURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := snap.Get(key)
	if !ok {
		t.Fatalf("the snapshot lacks %s", uri)
	}
	if fast.Fast.Program(c) != nil {
		t.Error("the fast validator compiled a contract with $recursiveRef; this test no longer covers the fallback")
	}
}
