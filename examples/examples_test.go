package examples

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestUnpack: the unpacked registry is examples/contracts file for file and
// byte for byte (nothing the embed pattern leaves out), read-only, reused by
// the next Unpack, and concurrent Unpacks agree.
func TestUnpack(t *testing.T) {
	parent := filepath.Join(t.TempDir(), "cache", "accord")
	var wg sync.WaitGroup
	dirs := make([]string, 4)
	errs := make([]error, 4)
	for i := range dirs {
		wg.Go(func() { dirs[i], errs[i] = Unpack(parent) })
	}
	wg.Wait()
	for i := range dirs {
		if errs[i] != nil || dirs[i] != dirs[0] {
			t.Fatalf("Unpack %d: %q, %v; want %q", i, dirs[i], errs[i], dirs[0])
		}
	}
	entries, err := os.ReadDir(parent)
	if err != nil || len(entries) != 1 {
		t.Fatalf("%s holds %v (%v), want one folder and no temporary ones", parent, entries, err)
	}

	want := map[string][]byte{}
	err = filepath.WalkDir("contracts", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		want[p] = b
		return err
	})
	if err != nil || len(want) == 0 {
		t.Fatalf("reading examples/contracts: %d files, %v", len(want), err)
	}
	got := 0
	err = filepath.WalkDir(dirs[0], func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(filepath.Dir(dirs[0]), p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if w, ok := want[rel]; !ok || !bytes.Equal(b, w) {
			t.Errorf("%s: not as in examples/%s", p, rel)
		}
		if info, _ := d.Info(); info.Mode().Perm()&0o222 != 0 {
			t.Errorf("%s is writable (%v)", p, info.Mode())
		}
		got++
		return nil
	})
	if err != nil || got != len(want) {
		t.Fatalf("unpacked %d files (%v), examples/contracts has %d", got, err, len(want))
	}

	again, err := Unpack(parent)
	if err != nil || again != dirs[0] {
		t.Fatalf("second Unpack: %q, %v", again, err)
	}
}

func TestUnpackFails(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-folder")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if dir, err := Unpack(file); err == nil {
		t.Fatalf("Unpack under a file gave %s", dir)
	}
}
