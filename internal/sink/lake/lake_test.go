package lake_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/accord-dev/accord/internal/sink"
	"github.com/accord-dev/accord/internal/sink/lake"
	"github.com/accord-dev/accord/internal/sink/sinktest"
)

func examples(t testing.TB) lake.Contracts { return lake.LoadExamples(t) }

func storedIDs(dir string) ([]string, error) {
	var ids []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".parquet" {
			return err
		}
		if filepath.Base(path)[0] == '.' {
			return nil
		}
		got, err := lake.ReadEventIDs(path)
		ids = append(ids, got...)
		return err
	})
	return ids, err
}

func TestLakeConformance(t *testing.T) {
	reg := examples(t)
	sinktest.Run(t, func(t testing.TB) sinktest.Target {
		dir := t.TempDir()
		l, err := lake.Open(dir, reg, nil)
		if err != nil {
			t.Fatal(err)
		}
		return sinktest.Target{
			Sink:   l,
			Stored: func(context.Context) ([]string, error) { return storedIDs(dir) },
			Reopen: func(t testing.TB) sink.Sink {
				l, err := lake.Open(dir, reg, nil)
				if err != nil {
					t.Fatal(err)
				}
				return l
			},
		}
	})
}

func TestLakeLayout(t *testing.T) {
	dir := t.TempDir()
	l, err := lake.Open(dir, examples(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.WriteBatch(context.Background(), sinktest.Envelopes(0, 3)); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "com.acme", "checkout_completed", "1", "date=2026-11-01", "part-*.parquet"))
	if len(files) != 1 {
		t.Fatalf("want one file in the day partition, got %v", files)
	}
	tmps, _ := filepath.Glob(filepath.Join(dir, "com.acme", "checkout_completed", "1", "date=2026-11-01", ".tmp-*"))
	if len(tmps) != 0 {
		t.Fatalf("temporary files left behind: %v", tmps)
	}
}
