package lake_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

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

// TestInterleavedDays appends records whose days of receipt alternate, in two
// commits, and finds each in its own day's partition: the partition of the previous record,
// kept to skip the lookup, must not capture a record of another day or outlive
// the files a commit published.
func TestInterleavedDays(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, err := lake.Open(dir, examples(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{}
	for round := range 2 {
		envs := sinktest.Envelopes(round*5, 5) // odd: the second starts on the day the first ended on
		for i := range envs {
			if i%2 == 1 {
				envs[i].ReceivedAt = envs[i].ReceivedAt.AddDate(0, 0, 1)
			}
			day := envs[i].ReceivedAt.Format(time.DateOnly)
			want[day] = append(want[day], envs[i].EventID)
		}
		recs := lake.Records(t, envs)
		if n, err := l.Append(ctx, recs); err != nil || n != len(recs) {
			t.Fatalf("append: %d, %v", n, err)
		}
		if err := l.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for day, ids := range want {
		got, err := storedIDs(filepath.Join(dir, "com.acme", "checkout_completed", "1", "date="+day))
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(got)
		sort.Strings(ids)
		if !slices.Equal(got, ids) {
			t.Errorf("date=%s holds %v, want %v", day, got, ids)
		}
	}
	if len(want) != 2 {
		t.Fatalf("the records span %d days, want 2", len(want))
	}
}

// TestDuplicatesBeforeCommit: an id appended again before the commit that
// publishes its first copy (in the same Append or a later one) is stored
// once.
func TestDuplicatesBeforeCommit(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, err := lake.Open(dir, examples(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	envs := sinktest.Envelopes(0, 3)
	recs := lake.Records(t, envs)
	for _, batch := range [][][]byte{{recs[0], recs[1], recs[0]}, {recs[1], recs[2]}} {
		if _, err := l.Append(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := storedIDs(dir)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	want := []string{envs[0].EventID, envs[1].EventID, envs[2].EventID}
	if !slices.Equal(got, want) {
		t.Fatalf("stored %v, want %v", got, want)
	}
}
