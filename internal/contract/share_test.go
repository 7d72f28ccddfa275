package contract

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestShareKeepsValuesApart checks that share merges only equal subtrees:
// values that differ in type, order or nesting stay apart.
func TestShareKeepsValuesApart(t *testing.T) {
	distinct := []any{
		map[string]any{"a": "1"},
		map[string]any{"a": json.Number("1")},
		map[string]any{"a": true},
		map[string]any{"a": nil},
		map[string]any{"b": nil},
		map[string]any{"a": map[string]any{}},
		map[string]any{"a": []any{}},
		map[string]any{"a": []any{"x", "y"}},
		map[string]any{"a": []any{"y", "x"}},
		map[string]any{"a": []any{[]any{"x"}, "y"}},
		map[string]any{"a": "1", "b": "2"},
		map[string]any{},
	}
	s := newSubtrees()
	var shared []any
	for _, v := range distinct {
		before := copyJSON(v)
		got := first(s.share(v))
		if diff := cmp.Diff(before, got); diff != "" {
			t.Fatalf("share changed a value (-want +got):\n%s", diff)
		}
		shared = append(shared, got)
	}
	for i := range shared {
		for j := range i {
			if cmp.Equal(shared[i], shared[j]) || sameShared(shared[i], shared[j]) {
				t.Errorf("%v and %v shared or equal", shared[i], shared[j])
			}
		}
	}
	// An equal value met again is the one shared before.
	again := first(s.share(map[string]any{"a": []any{"x", "y"}}))
	if !sameShared(again, shared[7]) {
		t.Error("an equal mapping is not shared")
	}
}

// TestLoadSharesSubtrees checks that contracts loaded together share equal
// subtrees, and that their documents and fields are what Parse makes of each
// file alone.
func TestLoadSharesSubtrees(t *testing.T) {
	dir := t.TempDir()
	writeBenchRegistry(t, dir, 2, 3)
	set, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Problems) > 0 || len(set.Contracts) != 6 {
		t.Fatalf("loaded %d contracts, problems %v", len(set.Contracts), set.Problems)
	}
	for _, c := range set.Contracts {
		src, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(c.Key.Path())+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		alone, problems := Parse(src, c.File, c.Key)
		if len(problems) > 0 {
			t.Fatal(problems)
		}
		if diff := cmp.Diff(alone.Doc, c.Doc); diff != "" {
			t.Errorf("%s: document differs when loaded with others (-alone +loaded):\n%s", c.Key, diff)
		}
		if diff := cmp.Diff(alone.Fields, c.Fields); diff != "" {
			t.Errorf("%s: fields differ when loaded with others (-alone +loaded):\n%s", c.Key, diff)
		}
	}
	a, b := set.Contracts[0], set.Contracts[1] // two versions of event_0000
	if a.Key.Name != b.Key.Name {
		t.Fatalf("%s and %s are not versions of one contract", a.Key, b.Key)
	}
	ea, _ := SchemaAt(a.Doc, "/properties/event_id")
	eb, _ := SchemaAt(b.Doc, "/properties/event_id")
	if reflect.ValueOf(ea).UnsafePointer() != reflect.ValueOf(eb).UnsafePointer() {
		t.Error("the versions' equal event_id schemas are not shared")
	}
	if sameShared(a.Doc["self"], b.Doc["self"]) {
		t.Error("the versions' different self blocks are shared")
	}
}
