package fastval_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/accord-dev/accord/internal/contract"
	"github.com/accord-dev/accord/internal/contract/fastval"
)

// TestRegistryContractsAreFast holds the documented claim that every contract the
// registry loads compiles to a fast program: the examples, the reference bench
// contract and the lint and compat golden registries.
func TestRegistryContractsAreFast(t *testing.T) {
	dirs := []string{"../../../examples/contracts"}
	if b := os.Getenv("ACCORD_BENCH_DIR"); b != "" {
		dirs = append(dirs, filepath.Join(b, "contracts"))
	}
	for _, glob := range []string{"../lint/testdata/rules/*/pass/contracts", "../compat/testdata/*/head"} {
		m, _ := filepath.Glob(glob)
		dirs = append(dirs, m...)
	}
	n := 0
	for _, dir := range dirs {
		set, err := contract.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		snap, _ := contract.Compile(set)
		for _, c := range snap.All() {
			n++
			if _, err := fastval.Compile(fastval.ForContract(c.Contract)); err != nil {
				t.Errorf("%s (%s): not on the fast path: %v", c.Key, c.File, err)
			}
		}
	}
	if n < 50 {
		t.Fatalf("only %d contracts checked; the test registries moved?", n)
	}
	t.Logf("%d contracts, all on the fast path", n)
}
