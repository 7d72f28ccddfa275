package lake

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"

	"github.com/accord-dev/accord/internal/codegen/ir"
	"github.com/accord-dev/accord/internal/event"
	"github.com/accord-dev/accord/internal/sink/sinktest"
)

// fileRows reads a Parquet file's rows as maps of column name to value.
func fileRows(tb testing.TB, data []byte) []map[string]any {
	tb.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		tb.Fatal(err)
	}
	r := parquet.NewGenericReader[map[string]any](bytes.NewReader(data), f.Schema())
	defer r.Close()
	rows := make([]map[string]any, f.NumRows())
	for i := range rows {
		rows[i] = map[string]any{}
	}
	if n, err := r.Read(rows); n != len(rows) {
		tb.Fatalf("read %d of %d rows: %v", n, len(rows), err)
	}
	return rows
}

// TestEveryEnvelopeColumn writes an envelope with every member set and finds
// each in its envelope column: every column the IR gives the envelope (the
// same as the DDL's) is filled from its member, none left null, so the lake
// cannot drop an envelope field the tables declare.
func TestEveryEnvelopeColumn(t *testing.T) {
	reg := loadExamples(t)
	env := sinktest.Envelopes(0, 1)[0]
	sent, device, vouched := env.ReceivedAt.Add(-2*time.Second), env.ReceivedAt.Add(-3*time.Second), env.ReceivedAt.Add(-time.Hour)
	env.SentAt, env.DeviceCreatedAt, env.TrueTimestamp = &sent, &device, &vouched
	env.EventTime = event.DerivedTime(env.ReceivedAt, env.SentAt, env.DeviceCreatedAt, env.TrueTimestamp)
	env.Source = event.Source{Protocol: "snowplow", App: "shop", Platform: "web", Collector: "c1", Tracker: "js-4.1.0"}
	env.Contexts = []event.Entity{{Schema: "iglu:com.acme/ctx/jsonschema/1-0-0", Data: json.RawMessage(`{"k":"v"}`)}}
	for name, rec := range map[string][]byte{"raw encoder": records(t, []event.Envelope{env})[0], "json encoder": mustEncode(t, &env)} {
		t.Run(name, func(t *testing.T) {
			data, err := lakeFile(t, reg, [][]byte{rec})
			if err != nil {
				t.Fatal(err)
			}
			rows := fileRows(t, data)
			if len(rows) != 1 {
				t.Fatalf("%d rows, want 1", len(rows))
			}
			tbl := checkoutTable(t, reg)
			var stored []string
			for _, c := range tbl.model.Table.Columns {
				if !c.Envelope {
					continue
				}
				stored = append(stored, c.Member)
				if rows[0][c.Name] == nil {
					t.Errorf("envelope column %s (member %s) is null for an envelope that sets it", c.Name, c.Member)
				}
			}
			// Every envelope column of the current layout is in the table.
			for _, c := range ir.EnvelopeColumns() {
				if !slices.Contains(stored, c.Member) {
					t.Errorf("the table has no column for envelope member %s", c.Member)
				}
			}
			want := map[string]any{"source_tracker": "js-4.1.0", "source_platform": "web", "contract_version": "1-0-0"}
			for col, w := range want {
				if got := rows[0][col]; got != w {
					t.Errorf("%s = %v, want %v", col, got, w)
				}
			}
			for col, w := range map[string]time.Time{"true_timestamp": vouched, "event_time": vouched, "received_at": env.ReceivedAt, "sent_at": sent, "device_created_at": device} {
				if got := rows[0][col]; got != w.UnixMicro() {
					t.Errorf("%s = %v, want %v (%d µs)", col, got, w, w.UnixMicro())
				}
			}
		})
	}
}

func mustEncode(tb testing.TB, env *event.Envelope) []byte {
	tb.Helper()
	rec, err := event.EncodeEnvelope(env)
	if err != nil {
		tb.Fatal(err)
	}
	return rec
}

// TestPartitionByReceivedAt: the partition is the UTC day of received_at, the
// collector's clock, whatever time the producer gives the event: event times in
// the years 1 and 9999 (a device clock reset, a bogus timestamp) land in the
// day they were received and keep their event_time as a column.
func TestPartitionByReceivedAt(t *testing.T) {
	reg := loadExamples(t)
	envs := sinktest.Envelopes(0, 4)
	producer := []time.Time{
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(2026, 10, 31, 23, 0, 0, 0, time.FixedZone("", -2*3600)), // 11-01 in UTC, the day before where it was sent
		envs[3].EventTime,
	}
	for i := range envs {
		envs[i].EventTime = producer[i]
	}
	// Received at 00:30 on 11-02 in UTC, which is still 11-01 in New York.
	envs[3].ReceivedAt = time.Date(2026, 11, 1, 20, 30, 0, 0, time.FixedZone("", -4*3600))
	dir := t.TempDir()
	l, err := Open(dir, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.WriteBatch(context.Background(), envs); err != nil {
		t.Fatal(err)
	}
	table := filepath.Join(dir, "com.acme", "checkout_completed", "1")
	days, err := os.ReadDir(table)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range days {
		got = append(got, d.Name())
	}
	if diff := cmp.Diff([]string{"date=2026-11-01", "date=2026-11-02"}, got); diff != "" {
		t.Fatalf("partitions (-want +got):\n%s", diff)
	}
	times := map[string]any{}
	for _, day := range got {
		files, err := filepath.Glob(filepath.Join(table, day, "part-*.parquet"))
		if err != nil || len(files) != 1 {
			t.Fatalf("%s: files %v (%v), want one", day, files, err)
		}
		data, err := os.ReadFile(files[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range fileRows(t, data) {
			times[row["event_id"].(string)] = row["event_time"]
		}
	}
	for i, e := range envs {
		if got := times[e.EventID]; got != producer[i].UnixMicro() {
			t.Errorf("%s: event_time %v, want the producer's %v (%d µs)", e.EventID, got, producer[i], producer[i].UnixMicro())
		}
	}
}
