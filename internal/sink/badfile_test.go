package sink

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/accord-dev/accord/internal/event"
)

func badRowsFixture() []event.BadRow {
	recv := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	return []event.BadRow{
		{V: 1, ID: "01a-1", ReceivedAt: recv, Reason: event.ReasonSchemaNotFound, Schema: "iglu:com.acme/a/jsonschema/1-0-0",
			Source: event.Source{Protocol: "native", Collector: "c"}, Failures: []event.Failure{{Message: "no contract"}},
			Payload: json.RawMessage(`{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{"email":"sealed_aa","note":"<b>&"}}`), Sealed: []string{"/data/email"}},
		{V: 1, ID: "01a-2", ReceivedAt: recv, Reason: event.ReasonMalformedJSON, Source: event.Source{Protocol: "segment", Collector: "c"},
			Failures: []event.Failure{}, PayloadText: "{\"a\":"},
	}
}

func readBadFiles(t *testing.T, dir string) []event.BadRow {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "date=*", "*.ndjson"))
	var rows []event.BadRow
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if line == "" {
				continue
			}
			var r event.BadRow
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			rows = append(rows, r)
		}
	}
	return rows
}

// TestBadFilesRecords writes bad rows as records and as rows: the files hold
// the same rows, each once, also across a restart.
func TestBadFilesRecords(t *testing.T) {
	rows := badRowsFixture()
	var recs [][]byte
	for i := range rows {
		raw, err := event.AppendBadRowRaw(nil, &rows[i])
		if err != nil {
			t.Fatal(err)
		}
		if id, err := event.BadRowID(raw); err != nil || id != rows[i].ID {
			t.Errorf("BadRowID = %q, %v", id, err)
		}
		recs = append(recs, raw)
	}
	ctx := context.Background()
	byRows, byRecords := t.TempDir(), t.TempDir()
	for _, tc := range []struct {
		dir   string
		write func(*BadFiles) error
	}{
		{byRows, func(b *BadFiles) error { return b.WriteBadRows(ctx, rows) }},
		{byRecords, func(b *BadFiles) error { return b.WriteBadRowRecords(ctx, recs) }},
	} {
		for range 2 { // a redelivery after a restart is not written twice
			b, err := NewBadFiles(tc.dir, 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.write(b); err != nil {
				t.Fatal(err)
			}
			if err := tc.write(b); err != nil {
				t.Fatal(err)
			}
			if err := b.Close(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := readBadFiles(t, byRows)
	if len(want) != len(rows) {
		t.Fatalf("%d rows written as rows, want %d", len(want), len(rows))
	}
	got := readBadFiles(t, byRecords)
	// json.Marshal escapes <, > and & in the payload; the record keeps them.
	for _, rs := range [][]event.BadRow{want, got} {
		for i := range rs {
			var v any
			if len(rs[i].Payload) > 0 {
				if err := json.Unmarshal(rs[i].Payload, &v); err != nil {
					t.Fatal(err)
				}
				rs[i].Payload, _ = json.Marshal(v)
			}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows written as records (-as rows +as records):\n%s", diff)
	}
}

// TestBadFilesExpire: Expire deletes the day folders past the retention on
// the clock it is given, whether or not rows are written, and nothing else:
// not the folder being written, not a folder that is no day. Writing does not
// delete anything.
func TestBadFilesExpire(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b, err := NewBadFiles(dir, 48*time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(ctx)
	clock := time.Date(2026, 12, 10, 12, 0, 0, 0, time.UTC)
	b.now = func() time.Time { return clock }
	for _, name := range []string{"date=2026-12-01", "date=2026-12-07", "date=2026-12-08", "date=2026-12-09", "date=someday", "notes"} {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "badrows-1.ndjson"), []byte("{}\n"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	left := func() []string {
		t.Helper()
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return names
	}
	// Writing, even past the hour, deletes nothing: only Expire does.
	if err := b.WriteBadRows(ctx, badRowsFixture()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"date=2026-12-01", "date=2026-12-07", "date=2026-12-08", "date=2026-12-09", "date=2026-12-10", "date=someday", "notes"}, left()); diff != "" {
		t.Errorf("after a write (-want +got):\n%s", diff)
	}
	// 2026-12-07 ended on the 8th at 00:00; 48 hours later, on the 10th at
	// 00:00, it expired; 2026-12-08 expires on the 11th.
	deleted, err := b.Expire()
	if err != nil || fmt.Sprint(deleted) != "[2026-12-01 2026-12-07]" {
		t.Errorf("Expire = %v, %v", deleted, err)
	}
	if diff := cmp.Diff([]string{"date=2026-12-08", "date=2026-12-09", "date=2026-12-10", "date=someday", "notes"}, left()); diff != "" {
		t.Errorf("after Expire (-want +got):\n%s", diff)
	}
	// A week later, every day is past the retention but the one being written
	// (its file open; the next write moves to the new day).
	clock = clock.Add(7 * 24 * time.Hour)
	if deleted, err := b.Expire(); err != nil || fmt.Sprint(deleted) != "[2026-12-08 2026-12-09]" {
		t.Errorf("a week later, Expire = %v, %v", deleted, err)
	}
	if err := b.WriteBadRows(ctx, []event.BadRow{{V: 1, ID: "later", Reason: event.ReasonMalformedJSON, Failures: []event.Failure{}}}); err != nil {
		t.Fatal(err)
	}
	if deleted, err := b.Expire(); err != nil || fmt.Sprint(deleted) != "[2026-12-10]" {
		t.Errorf("once the day moved on, Expire = %v, %v", deleted, err)
	}
	if diff := cmp.Diff([]string{"date=2026-12-17", "date=someday", "notes"}, left()); diff != "" {
		t.Errorf("at the end (-want +got):\n%s", diff)
	}
}

func TestBadDayExpired(t *testing.T) {
	now := time.Date(2026, 12, 8, 1, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		day       string
		retention time.Duration
		want      bool
	}{
		{"2026-11-30", 0, true}, // ended 2026-12-01T00:00, a week and an hour ago
		{"2026-12-01", 0, false},
		{"2026-12-06", 25 * time.Hour, false},
		{"2026-12-06", 24 * time.Hour, true},
		{"2026-12-06", time.Hour, true},
		{"2026-12-07", time.Hour, false}, // ended an hour ago: just not yet
		{"someday", time.Hour, false},
	} {
		if got := BadDayExpired(tc.day, now, tc.retention); got != tc.want {
			t.Errorf("BadDayExpired(%s, %s) = %v, want %v", tc.day, tc.retention, got, tc.want)
		}
	}
}

func TestBadRowID(t *testing.T) {
	for _, tc := range []struct {
		rec, want string
		ok        bool
	}{
		{"B" + `{"v":1,"id":"abc","x":1}`, "abc", true},
		{"B" + `{"id":"later","v":1}`, "later", true},
		{"B" + `{"v":1,"id":"a\"b"}`, `a"b`, true},
		{"B" + `{"v":1,"id":"a\u0041"}`, "aA", true},
		{"B" + `{"v":1,"id":"a`, "", false},
		{"E" + `{"v":1,"id":"a"}`, "", false},
		{"", "", false},
	} {
		got, err := event.BadRowID([]byte(tc.rec))
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("BadRowID(%q) = %q, %v; want %q", tc.rec, got, err, tc.want)
		}
	}
}

// BenchmarkBadFiles is the bad-row loader's part of a rejected event: a batch
// of 100 bad-row records of the reference size (about 1.6 KB) decoded and
// written as rows (before) or written as records (the loader's path now), with
// the fsync of each batch.
func BenchmarkBadFiles(b *testing.B) {
	row := badRowsFixture()[0]
	row.Payload = json.RawMessage(`{"schema":"iglu:com.acme/checkout_completed/jsonschema/1-2-9","data":{"event_id":"3f1c9a8e-2b4d-4c6e-9f1a-7b8c9d0e1f2a","shop_id":"shop_1042","timestamp":"2026-11-01T12:34:56.789Z","user_id":"u_8f3a2c91","email":"sealed_ajx6y4qkzt4ugxkq6l4a4c5ypkbddn7rkpn2qz4rf5yhhzwtzeh3x5vdlmbxwhhrhegyb4nt4","ip":"sealed_ajx6y4qkzt4ugxkq6l4a4c5ypkbddn7rkpn2qz4rf5yhhzwtzeh3x5vdlm","user_agent":"sealed_ajx6y4qkzt4ugxkq6l4a4c5ypkbddn7rkpn2qz4rf5yhhzwtzeh3x5vdlmbxwhhrhegyb4nt4ajx6y4qkzt4ugxkq6l4a4c5ypkbddn7rkpn2qz4rf5yhhzwtzeh3x5vdlmbxwhhrhegyb4nt4ajx6y4qkzt4ugxkq6l4a4c5ypkbddn7rkpn2qz4rf5yhhzwtzeh3x5vdlmbxwhhrhegyb4nt4","platform":"ios","app_version":"5.12.3","session_number":42,"order_total_cents":12999,"currency":"EUR","is_first_purchase":false,"coupon_code":null,"device":{"os":"iOS","os_version":"17.4.1","model":"iPhone15,2","locale":"de-DE"},"items":[{"sku":"SKU-10023","quantity":2,"price_cents":4999,"category":"shoes"},{"sku":"SKU-20411","quantity":1,"price_cents":3001,"category":"accessories"}]}}`)
	row.Sealed = []string{"/data/email", "/data/ip", "/data/user_agent"}
	ctx := context.Background()
	n := 0
	batch := func() [][]byte {
		recs := make([][]byte, 100)
		for i := range recs {
			n++
			r := row
			r.ID = "01a-" + strings.Repeat("0", 8) + time.Duration(n).String()
			recs[i], _ = event.AppendBadRowRaw(nil, &r)
		}
		return recs
	}
	for _, path := range []string{"rows", "records"} {
		b.Run(path, func(b *testing.B) {
			f, err := NewBadFiles(b.TempDir(), 0, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close(ctx)
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				recs := batch()
				b.StartTimer()
				if path == "records" {
					err = f.WriteBadRowRecords(ctx, recs)
				} else {
					var rows []event.BadRow
					for _, rec := range recs {
						_, r, derr := event.DecodeRecord(rec)
						if derr != nil {
							b.Fatal(derr)
						}
						rows = append(rows, *r)
					}
					err = f.WriteBadRows(ctx, rows)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/row")
		})
	}
}
