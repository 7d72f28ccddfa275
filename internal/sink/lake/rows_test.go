package lake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/accord-dev/accord/internal/codegen/ir"
	"github.com/accord-dev/accord/internal/contract"
	"github.com/accord-dev/accord/internal/event"
	"github.com/accord-dev/accord/internal/jsonscan"
	"github.com/accord-dev/accord/internal/sink/sinktest"
)

type snapshot struct{ snap *contract.Snapshot }

func (s snapshot) Snapshot() *contract.Snapshot { return s.snap }

func loadExamples(tb testing.TB) snapshot {
	tb.Helper()
	snap, err := contract.LoadSnapshot("../../../examples/contracts")
	if err != nil {
		tb.Fatal(err)
	}
	return snapshot{snap}
}

// readRows reads every row of a Parquet file.
func readRows(tb testing.TB, data []byte) []parquet.Row {
	tb.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		tb.Fatal(err)
	}
	var out []parquet.Row
	for _, rg := range f.RowGroups() {
		rr := rg.Rows()
		buf := make([]parquet.Row, 64)
		for {
			n, err := rr.ReadRows(buf)
			for _, r := range buf[:n] {
				out = append(out, r.Clone())
			}
			if err != nil {
				break
			}
		}
		rr.Close()
	}
	return out
}

// oracleFile writes envelopes as the lake did before: a map per row through
// parquet-go's reflective writer.
func oracleFile(t *table, envs []event.Envelope) ([]byte, error) {
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[map[string]any](&buf, t.schema, parquet.Compression(&parquet.Zstd))
	for i := range envs {
		row, err := oracleRow(t, &envs[i])
		if err != nil {
			return nil, err
		}
		if err := func() (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("encoding rows: %v", r)
				}
			}()
			_, err = w.Write([]map[string]any{row})
			return err
		}(); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// lakeFile writes the envelopes' records through Append and Commit and returns
// the one file published.
func lakeFile(tb testing.TB, reg Contracts, recs [][]byte) ([]byte, error) {
	tb.Helper()
	dir := tb.TempDir()
	l, err := Open(dir, reg, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := l.Append(context.Background(), recs); err != nil {
		return nil, err
	}
	if err := l.Commit(context.Background()); err != nil {
		return nil, err
	}
	files, err := filepath.Glob(filepath.Join(dir, "*", "*", "*", "*", "part-*.parquet"))
	if err != nil || len(files) != 1 {
		tb.Fatalf("want one published file, got %v (%v)", files, err)
	}
	return os.ReadFile(files[0])
}

// leafTypes gives the IR type of each leaf column of a table.
func leafTypes(t *table) map[int]ir.Logical {
	out := map[int]ir.Logical{}
	var walk func(n *colPlan)
	walk = func(n *colPlan) {
		switch {
		case n.elem != nil:
			walk(n.elem)
		case n.fields != nil:
			for _, f := range n.fields {
				walk(f)
			}
		default:
			out[n.leaf] = n.col.Type
		}
	}
	for _, f := range t.data.fields {
		walk(f)
	}
	for _, c := range t.env {
		if c.typ == ir.JSON {
			out[c.leaf] = ir.JSON
		}
	}
	return out
}

// sameJSON reports whether two texts are the same JSON value (the lake keeps
// JSON as it is stored; the old path re-encoded it with sorted keys).
func sameJSON(a, b []byte) bool {
	var x, y any
	da, db := json.NewDecoder(bytes.NewReader(a)), json.NewDecoder(bytes.NewReader(b))
	da.UseNumber()
	db.UseNumber()
	return da.Decode(&x) == nil && db.Decode(&y) == nil && reflect.DeepEqual(x, y)
}

// compareRows checks that the new rows hold what the old path wrote: the same
// values at the same levels, JSON text equal as JSON.
func compareRows(tb testing.TB, t *table, got, want []parquet.Row) {
	tb.Helper()
	types := leafTypes(t)
	if len(got) != len(want) {
		tb.Fatalf("%d rows, want %d", len(got), len(want))
	}
	for i := range want {
		if len(got[i]) != len(want[i]) {
			tb.Fatalf("row %d: %d values, want %d:\n got %v\nwant %v", i, len(got[i]), len(want[i]), got[i], want[i])
		}
		for j, w := range want[i] {
			g := got[i][j]
			if w.IsNull() && !g.IsNull() && g.Column() == w.Column() && g.RepetitionLevel() == w.RepetitionLevel() && isZero(g) {
				// The old path lost false, 0 and "" in nullable columns: parquet-go's
				// map writer stores an optional zero value as null.
				continue
			}
			if g.Column() != w.Column() || g.RepetitionLevel() != w.RepetitionLevel() || g.DefinitionLevel() != w.DefinitionLevel() || g.IsNull() != w.IsNull() {
				tb.Fatalf("row %d value %d: got %v (column %d, r%d d%d), want %v (column %d, r%d d%d)", i, j,
					g, g.Column(), g.RepetitionLevel(), g.DefinitionLevel(), w, w.Column(), w.RepetitionLevel(), w.DefinitionLevel())
			}
			if parquet.Equal(g, w) {
				continue
			}
			if typ := types[w.Column()]; (typ == ir.JSON || typ == ir.String) && sameJSON(g.ByteArray(), w.ByteArray()) {
				continue
			}
			tb.Fatalf("row %d column %d: got %q, want %q", i, w.Column(), g, w)
		}
	}
}

// complete reports whether data has a value for every column that is not
// nullable: the old path misplaced values when one was missing in a list.
func complete(cols []*ir.Column, data []byte) bool {
	var v any
	if json.Unmarshal(data, &v) != nil {
		return false
	}
	var ok func(cols []*ir.Column, v any) bool
	ok = func(cols []*ir.Column, v any) bool {
		m, _ := v.(map[string]any)
		for _, c := range cols {
			if c.Envelope {
				continue
			}
			fv := m[c.JSONName]
			switch {
			case fv == nil && !c.Nullable && c.Type != ir.List:
				return false
			case c.Type == ir.Record && fv != nil && !ok(c.Fields, fv):
				return false
			case c.Type == ir.List && c.Elem.Type == ir.Record:
				items, _ := fv.([]any)
				for _, it := range items {
					if !ok(c.Elem.Fields, it) {
						return false
					}
				}
			}
		}
		return true
	}
	return ok(cols, v)
}

func isZero(v parquet.Value) bool {
	switch v.Kind() {
	case parquet.Boolean:
		return !v.Boolean()
	case parquet.Int32, parquet.Int64:
		return v.Int64() == 0
	case parquet.Double:
		return v.Double() == 0
	case parquet.ByteArray:
		return len(v.ByteArray()) == 0
	}
	return false
}

func records(tb testing.TB, envs []event.Envelope) [][]byte {
	tb.Helper()
	recs := make([][]byte, len(envs))
	for i := range envs {
		rec, err := event.EncodeEnvelopeRaw(&envs[i])
		if err != nil {
			tb.Fatal(err)
		}
		recs[i] = rec
	}
	return recs
}

func checkoutTable(tb testing.TB, reg Contracts) *table {
	tb.Helper()
	l, err := Open(tb.TempDir(), reg, nil)
	if err != nil {
		tb.Fatal(err)
	}
	v, err := l.versionOf([]byte(sinktest.Schema))
	if err != nil {
		tb.Fatal(err)
	}
	return v.t
}

// tricky returns checkout envelopes whose data exercise every conversion.
func tricky() []event.Envelope {
	envs := sinktest.Envelopes(0, 12)
	data := []string{
		`{"email":"tok_\u00e9\"\\\/\ud83d\ude00 \ud800 x","ip":null,"user_agent":{"is_bot":true}}`,
		`{"items":[],"coupon_code":"C\n1","session_number":1.0,"order_total_cents":1e3}`,
		`{"items":[{"sku":"a","quantity":1,"price_cents":0},{"sku":"b","quantity":2,"price_cents":5,"category":null}],"device":{"os":"x","os":"last wins"}}`,
		`{"platform":{"b":1,"a":[true,null]},"app_version":12.50,"is_first_purchase":false}`,
		`{"timestamp":"2026-11-01T12:00:00.123456789+02:00","ip":{"masked":"1.2.0.0","country":"FR","city":"Lyon","region":"ARA"}}`,
		`{"user_id":"\u003cb\u003e","items":[{"sku":"s","quantity":-9223372036854775808,"price_cents":9223372036854775807}]}`,
	}
	for i, d := range data {
		var base, patch map[string]any
		_ = json.Unmarshal(envs[i].Data, &base)
		dec := json.NewDecoder(strings.NewReader(d))
		dec.UseNumber()
		if err := dec.Decode(&patch); err != nil {
			panic(err)
		}
		for k, v := range patch {
			base[k] = v
		}
		js, err := json.Marshal(base)
		if err != nil {
			panic(err)
		}
		// Splice the raw patch text where the encoder would lose its spelling.
		envs[i].Data = append(append(js[:len(js)-1:len(js)-1], ','), d[1:]...)
	}
	sent := envs[6].ReceivedAt
	envs[6].SentAt, envs[6].DeviceCreatedAt = &sent, &sent
	envs[7].Source.App, envs[7].Source.Platform = "shop", "web"
	envs[8].Contexts = []event.Entity{{Schema: "iglu:com.acme/ctx/jsonschema/1-0-0", Data: json.RawMessage(`{"k":"v","a":1}`)}}
	envs[9].EventID = "id with \"quotes\" and \u00e9"
	vouched := envs[10].ReceivedAt.Add(-time.Hour)
	envs[10].TrueTimestamp, envs[10].EventTime = &vouched, vouched
	envs[10].Source.Tracker = "js-4.1.0 \u00e9\""
	envs[11].Source.Tracker = "" // absent: null, as the other optional strings
	return envs
}

// TestRowsMatchDecodedPath checks the column writer against the old path
// (encoding/json, a map per row, reflective writer) on the conformance
// envelopes and on data that exercise escapes, repeated keys, nulls, empty
// lists, nested records, number spellings and JSON columns.
func TestRowsMatchDecodedPath(t *testing.T) {
	reg := loadExamples(t)
	tbl := checkoutTable(t, reg)
	for name, envs := range map[string][]event.Envelope{"conformance": sinktest.Envelopes(0, 50), "tricky": tricky()} {
		t.Run(name, func(t *testing.T) {
			want, err := oracleFile(tbl, envs)
			if err != nil {
				t.Fatal(err)
			}
			got, err := lakeFile(t, reg, records(t, envs))
			if err != nil {
				t.Fatal(err)
			}
			compareRows(t, tbl, readRows(t, got), readRows(t, want))
		})
	}
}

// TestRowGroups writes more rows than a row group holds: the file has several
// row groups and every row.
func TestRowGroups(t *testing.T) {
	defer func(n int) { rowGroupRows = n }(rowGroupRows)
	rowGroupRows = 300
	reg := loadExamples(t)
	envs := sinktest.Envelopes(0, 1000)
	for i := range envs { // one day
		envs[i].ReceivedAt = envs[0].ReceivedAt
	}
	got, err := lakeFile(t, reg, records(t, envs))
	if err != nil {
		t.Fatal(err)
	}
	f, err := parquet.OpenFile(bytes.NewReader(got), int64(len(got)))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.RowGroups()); n < 2 {
		t.Errorf("%d row groups, want several", n)
	}
	want, err := oracleFile(checkoutTable(t, reg), envs)
	if err != nil {
		t.Fatal(err)
	}
	compareRows(t, checkoutTable(t, reg), readRows(t, got), readRows(t, want))
}

// FuzzRows gives the checkout table any data: the column writer must fail
// where the old path failed (invalid JSON, values of the wrong type) and
// otherwise write the same rows.
func FuzzRows(f *testing.F) {
	for _, e := range append(sinktest.Envelopes(0, 2), tricky()...) {
		f.Add([]byte(e.Data))
	}
	f.Add([]byte(`{"event_id":1}`))
	f.Add([]byte(`{"items":[{"quantity":"1"}]}`))
	f.Add([]byte(`{"timestamp":"yesterday"}`))
	f.Add([]byte(`[1,2]`))
	f.Add([]byte(`{"a":}`))
	reg := loadExamples(f)
	tbl := checkoutTable(f, reg)
	base := sinktest.Envelopes(0, 1)[0]
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			data = []byte("null") // what the encoders write for no data
		}
		env := base
		env.Data = data
		rec, err := event.EncodeEnvelopeRaw(&env)
		if err != nil {
			t.Skip()
		}
		var compact bytes.Buffer
		valid := json.Compact(&compact, data) == nil
		var want []byte
		var werr error
		if valid {
			env.Data = compact.Bytes()
			want, werr = oracleFile(tbl, []event.Envelope{env})
		}
		got, gerr := lakeFile(t, reg, [][]byte{rec})
		switch {
		case !valid && gerr == nil:
			t.Fatalf("invalid JSON written: %q", data)
		case !valid:
		case (werr == nil) != (gerr == nil):
			t.Fatalf("old path: %v, new path: %v", werr, gerr)
		case werr == nil && complete(tbl.model.Table.Columns, env.Data):
			compareRows(t, tbl, readRows(t, got), readRows(t, want))
		}
	})
}

// TestAppendKeepsNoRecord: the lake copies what it needs during Append, so the
// loader's buffer reads may reuse their memory (buffer.Options.Transient).
// Every record is overwritten right after its Append; the file must still hold
// the rows of the records as they were.
func TestAppendKeepsNoRecord(t *testing.T) {
	defer func(n int) { rowGroupRows = n }(rowGroupRows)
	rowGroupRows = 40 // row groups end between Appends, and within them
	reg := loadExamples(t)
	envs := append(sinktest.Envelopes(0, 100), tricky()...)
	for i := range envs { // one partition, one file; tricky() reuses ids
		envs[i].ReceivedAt = envs[0].ReceivedAt
		envs[i].EventID = fmt.Sprintf("%s-%d", envs[i].EventID, i)
	}
	recs := records(t, envs)
	dir := t.TempDir()
	l, err := Open(dir, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for start := 0; start < len(recs); start += 7 {
		chunk := recs[start:min(start+7, len(recs))]
		if _, err := l.Append(context.Background(), chunk); err != nil {
			t.Fatal(err)
		}
		for _, r := range chunk {
			for i := range r {
				r[i] = 'x'
			}
		}
	}
	if err := l.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*", "*", "*", "*", "part-*.parquet"))
	if err != nil || len(files) != 1 {
		t.Fatalf("want one published file, got %v (%v)", files, err)
	}
	got, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	tbl := checkoutTable(t, reg)
	want, err := oracleFile(tbl, envs)
	if err != nil {
		t.Fatal(err)
	}
	compareRows(t, tbl, readRows(t, got), readRows(t, want))
}

// TestEnvelopeMemberOrders: the data is written while the envelope is parsed
// when event_id, schema and received_at come first (as the encoders write
// them), and after the parse otherwise; either way the row is the one of the
// envelope as decoded (the last of repeated members counts), and a duplicate is
// dropped.
func TestEnvelopeMemberOrders(t *testing.T) {
	reg := loadExamples(t)
	tbl := checkoutTable(t, reg)
	env := sinktest.Envelopes(0, 1)[0]
	rec := records(t, []event.Envelope{env})[0]
	at := bytes.Index(rec, []byte(`,"data":`))
	end, err := jsonscan.Value(rec, at+len(`,"data":`))
	if at < 0 || err != nil {
		t.Fatalf("no data member in %s (%v)", rec, err)
	}
	dataMember := string(rec[at+1 : end]) // "data":{...}
	withoutData := string(rec[:at]) + string(rec[end:])
	other := env
	other.EventID = "00000000-0000-4000-8000-999999999999"
	later := env
	later.ReceivedAt = time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	retimed := env
	retimed.EventTime = time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		rec  string
		want []event.Envelope // the rows, as decoded
	}{
		{"data first", `E{` + dataMember + `,` + withoutData[2:], []event.Envelope{env}},
		{"data twice", strings.Replace(string(rec), `"data":`, `"data":{"shop_id":"decoy","items":[]},"data":`, 1), []event.Envelope{env}},
		{"event_id again after the data", strings.TrimSuffix(string(rec), "}") + `,"event_id":"` + other.EventID + `"}`, []event.Envelope{other}},
		{"received_at again after the data, another day", strings.TrimSuffix(string(rec), "}") + `,"received_at":"2026-11-03T10:00:00Z"}`, []event.Envelope{later}},
		{"event_time again after the data", strings.TrimSuffix(string(rec), "}") + `,"event_time":"2026-11-03T10:00:00Z"}`, []event.Envelope{retimed}},
		{"source again after the data", strings.TrimSuffix(string(rec), "}") + `,"source":{"protocol":"native","collector":"sinktest","tracker":"late/1"}}`, []event.Envelope{tracked(env, "late/1")}},
		{"the same record twice", string(rec), []event.Envelope{env}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs := [][]byte{[]byte(tc.rec)}
			if tc.name == "the same record twice" {
				recs = append(recs, []byte(tc.rec))
			}
			got, err := lakeFile(t, reg, recs)
			if err != nil {
				t.Fatal(err)
			}
			want, err := oracleFile(tbl, tc.want)
			if err != nil {
				t.Fatal(err)
			}
			compareRows(t, tbl, readRows(t, got), readRows(t, want))
		})
	}
}

// TestReusedWriter publishes several files of one table from one lake, the
// later ones through the writer of the file before (table.spare): each file
// must be byte for byte the file a fresh lake writes from the same records,
// also after a commit that was given up half way.
func TestReusedWriter(t *testing.T) {
	defer func(n int) { rowGroupRows = n }(rowGroupRows)
	rowGroupRows = 300 // files of several row groups, and a writer reset in the middle of one
	reg := loadExamples(t)
	batch := func(first, n int) [][]byte {
		envs := sinktest.Envelopes(first, n)
		for i := range envs { // one day: one file per commit
			envs[i].ReceivedAt = envs[0].ReceivedAt
		}
		return records(t, envs)
	}
	dir := t.TempDir()
	l, err := Open(dir, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var published []string
	commit := func(recs [][]byte) []byte {
		t.Helper()
		if _, err := l.Append(ctx, recs); err != nil {
			t.Fatal(err)
		}
		if err := l.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		files, err := filepath.Glob(filepath.Join(dir, "*", "*", "*", "*", "part-*.parquet"))
		if err != nil {
			t.Fatal(err)
		}
		var added []string
		for _, f := range files {
			if !slices.Contains(published, f) {
				added = append(added, f)
			}
		}
		if len(added) != 1 {
			t.Fatalf("want one new file, got %v", added)
		}
		published = append(published, added[0])
		data, err := os.ReadFile(added[0])
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	spare := func() *part {
		v, err := l.versionOf([]byte(sinktest.Schema))
		if err != nil {
			t.Fatal(err)
		}
		return v.t.spare
	}

	first := batch(0, 700)
	if got, want := commit(first), mustLakeFile(t, reg, first); !bytes.Equal(got, want) {
		t.Fatal("the first file differs from a fresh lake's")
	}
	kept := spare()
	if kept == nil {
		t.Fatal("the published file's writer was not kept for the next one")
	}
	for i, recs := range [][][]byte{batch(1000, 450), batch(2000, 1)} {
		got := commit(recs)
		if want := mustLakeFile(t, reg, recs); !bytes.Equal(got, want) {
			t.Fatalf("file %d, written by a reused writer, differs from a fresh lake's", i+2)
		}
		if i == 0 && (spare() == nil || spare().w != kept.w) {
			t.Fatal("the second file did not reuse the first one's writer")
		}
	}
	// A file given up half way (Close before Commit) does not give its writer
	// back; the next file is still whole.
	if _, err := l.Append(ctx, batch(3000, 350)); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	recs := batch(4000, 20)
	if got, want := commit(recs), mustLakeFile(t, reg, recs); !bytes.Equal(got, want) {
		t.Fatal("the file after an abandoned one differs from a fresh lake's")
	}
	// A Commit without a file of the table drops its spare.
	if spare() == nil {
		t.Fatal("no spare after a published file")
	}
	if err := l.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if spare() != nil {
		t.Fatal("a table without a file in the last Commit still holds a spare writer")
	}
}

// tracked is env with its source's tracker set.
func tracked(env event.Envelope, tracker string) event.Envelope {
	env.Source.Tracker = tracker
	return env
}

func mustLakeFile(tb testing.TB, reg Contracts, recs [][]byte) []byte {
	tb.Helper()
	data, err := lakeFile(tb, reg, recs)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}
