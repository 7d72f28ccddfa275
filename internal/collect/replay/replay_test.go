package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/accord-dev/accord/internal/collect"
	"github.com/accord-dev/accord/internal/event"
	"github.com/accord-dev/accord/internal/vault"
)

// fakePipeline accepts events whose data has "ok": true, and records them.
type fakePipeline struct {
	got  []collect.Incoming
	fail error
}

func (f *fakePipeline) Reprocess(_ context.Context, protocol string, evs []collect.Incoming, dryRun bool) ([]collect.Result, error) {
	if f.fail != nil {
		return nil, f.fail
	}
	out := make([]collect.Result, len(evs))
	for i, in := range evs {
		var d struct{ OK bool }
		_ = json.Unmarshal(in.Data, &d)
		out[i] = collect.Result{EventID: in.EventID, Schema: in.Schema, Status: collect.StatusAccepted}
		if !d.OK {
			out[i] = collect.Result{EventID: in.EventID, Schema: in.Schema, Status: collect.StatusRejected, Reason: event.ReasonSchemaViolation,
				Failures: []event.Failure{{Pointer: "/ok", Message: "must be true"}}}
		}
		if !dryRun && d.OK {
			f.got = append(f.got, in)
		}
	}
	return out, nil
}

// fakeUnsealer opens "sealed_" + base32-free test values: the JSON after the
// prefix "sealed_x" unless it is "sealed_xforgotten".
type fakeUnsealer struct{ calls int }

func (f *fakeUnsealer) Unseal(_ context.Context, actor string, sealed []string) ([]vault.Detokenized, error) {
	f.calls++
	out := make([]vault.Detokenized, len(sealed))
	for i, s := range sealed {
		out[i].Token = s
		if strings.Contains(s, "forgotten") {
			out[i].Err = vault.ErrForgotten
			continue
		}
		out[i].Value = `"opened"`
	}
	return out, nil
}

// sealedValues returns two values a vault sealed: replay sees one opened and
// the other forgotten (see sealer).
func sealedValues(t *testing.T) (string, string) {
	t.Helper()
	ctx := context.Background()
	store, err := vault.OpenBolt(filepath.Join(t.TempDir(), "vault.db"), vault.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := vault.New(ctx, store, vault.Options{MasterKey: make([]byte, vault.MasterKeyLen)})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	s, err := v.Seal(ctx, "c", "s", []string{"x", "forgotten"})
	if err != nil {
		t.Fatal(err)
	}
	forgottenValue = s[1]
	return s[0], s[1]
}

var forgottenValue string

type sealer struct{ *fakeUnsealer }

func (s sealer) Unseal(ctx context.Context, actor string, sealed []string) ([]vault.Detokenized, error) {
	for i := range sealed {
		if sealed[i] == forgottenValue {
			sealed[i] = "forgotten"
		}
	}
	return s.fakeUnsealer.Unseal(ctx, actor, sealed)
}

func writeRows(t *testing.T, dir, day string, lines ...string) {
	t.Helper()
	d := filepath.Join(dir, "date="+day)
	if err := os.MkdirAll(d, 0o750); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(d, "badrows-1.ndjson"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, l := range lines {
		if _, err := f.WriteString(l); err != nil {
			t.Fatal(err)
		}
	}
}

func row(id string, reason event.Reason, payload string, sealed ...string) string {
	r := event.BadRow{V: 1, ID: id, ReceivedAt: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), Reason: reason,
		Schema: "iglu:com.acme/a/jsonschema/1-0-0", EventID: "ev-" + id, Source: event.Source{Protocol: "snowplow", App: "shop"},
		Failures: []event.Failure{}, Payload: json.RawMessage(payload), Sealed: sealed}
	b, _ := json.Marshal(r)
	return string(b) + "\n"
}

// testNow is the tests' clock unless they set theirs: the rows they write
// (2026-12-01 to 03) are within the default retention then, whatever day the
// tests run.
var testNow = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

func newTestReplayer(t *testing.T, p Processor, now func() time.Time) (*Replayer, string) {
	t.Helper()
	if now == nil {
		now = func() time.Time { return testNow }
	}
	dir := t.TempDir()
	r, err := New(Deps{BadDir: filepath.Join(dir, "bad"), LedgerDir: filepath.Join(dir, "replay"), Pipeline: p,
		Unsealer: sealer{&fakeUnsealer{}}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return r, filepath.Join(dir, "bad")
}

func statuses(rep Report) []string {
	var out []string
	for _, o := range rep.Outcomes {
		out = append(out, o.ID+" "+o.Status)
	}
	return out
}

func TestRun(t *testing.T) {
	sealedValue, forgottenValue := sealedValues(t)
	p := &fakePipeline{}
	r, bad := newTestReplayer(t, p, nil)
	ok := `{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{"ok":true,"email":%q},"contexts":[{"schema":"iglu:com.acme/c/jsonschema/1-0-0","data":{"ip":%q}}]}`
	writeRows(t, bad, "2026-12-01",
		row("r1", event.ReasonSchemaNotFound, fmt.Sprintf(ok, sealedValue, sealedValue), "/data/email", "/contexts/0/data/ip"),
		row("r2", event.ReasonSchemaViolation, `{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{"ok":false}}`),
		row("r3", event.ReasonSchemaNotFound, fmt.Sprintf(ok, forgottenValue, sealedValue), "/data/email", "/contexts/0/data/ip"),
		row("r4", event.ReasonDuplicateEventInBatch, `{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{"ok":true}}`),
		"not a bad row\n",
		row("r5", event.ReasonSchemaNotFound, `{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{"ok":true}}`, "/data/email"),
	)
	writeRows(t, bad, "2026-12-02",
		row("r6", event.ReasonSchemaViolation, `{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{"ok":true}}`),
		`{"v":1,"id":"r7-half-written","reason":"schema_`) // no newline: being written

	rep, err := r.Run(context.Background(), "test", Request{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"r2 rejected", "r3 not_replayable", "r4 not_replayable", " unreadable", "r5 not_replayable"}
	if diff := cmp.Diff(want, statuses(rep)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s\n%+v", diff, rep)
	}
	if rep.Rows != 7 || rep.Accepted != 2 || rep.Rejected != 1 || rep.NotReplayable != 3 || rep.Unreadable != 1 || rep.Next != "" {
		t.Errorf("report %+v", rep)
	}
	if len(p.got) != 2 {
		t.Fatalf("stored %d events, want 2", len(p.got))
	}
	in := p.got[0]
	if in.EventID != "ev-r1" || in.App != "shop" || !in.Received.Equal(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)) ||
		string(in.Data) != `{"email":"opened","ok":true}` || string(in.Contexts[0].Data) != `{"ip":"opened"}` {
		t.Errorf("replayed event %+v data %s", in, in.Data)
	}

	// Again: the stored rows are in the ledger; the others are tried again.
	rep, err = r.Run(context.Background(), "test", Request{From: "2026-12-01", To: "2026-12-01"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.AlreadyReplayed != 1 || rep.Accepted != 0 || rep.Rows != 6 || len(p.got) != 2 {
		t.Errorf("second run: %+v", rep)
	}
	// Filters: by id, by reason, by schema family, and a rename.
	for _, tc := range []struct {
		q    Request
		rows int
	}{
		{Request{IDs: []string{"r2"}}, 1},
		{Request{Reasons: []event.Reason{event.ReasonDuplicateEventInBatch}}, 1},
		{Request{Schemas: []string{"iglu:com.acme/a"}}, 6},
		{Request{Schemas: []string{"iglu:com.acme/b"}}, 0},
		{Request{From: "2026-12-02"}, 1},
	} {
		rep, err := r.Run(context.Background(), "test", tc.q)
		if err != nil || rep.Rows != tc.rows {
			t.Errorf("%+v: %d rows (%v), want %d", tc.q, rep.Rows, err, tc.rows)
		}
	}
	rep, _ = r.Run(context.Background(), "test", Request{IDs: []string{"r2"}, As: map[string]string{
		"iglu:com.acme/a/jsonschema/1-0-0": "iglu:com.acme/a/jsonschema/1-1-0"}, DryRun: true})
	if len(rep.Outcomes) != 1 || rep.Outcomes[0].Schema != "iglu:com.acme/a/jsonschema/1-1-0" {
		t.Errorf("renamed dry run: %+v", rep)
	}
	// A row whose producer named its schema wrongly (schema_uri_invalid) is
	// replayed under the right name.
	typo := "iglu:com.acme/a/jsonschema/1.0.0 "
	writeRows(t, bad, "2026-12-03", row("r8", event.ReasonSchemaURIInvalid, `{"schema":"iglu:com.acme/a/jsonschema/1.0.0 ","data":{"ok":true}}`))
	stored := len(p.got)
	rep, err = r.Run(context.Background(), "test", Request{IDs: []string{"r8"}, As: map[string]string{typo: "iglu:com.acme/a/jsonschema/1-0-0"}})
	if err != nil || rep.Accepted != 1 || len(p.got) != stored+1 || p.got[stored].Schema != "iglu:com.acme/a/jsonschema/1-0-0" {
		t.Errorf("replay of a mistyped schema: %+v %v", rep, err)
	}
}

// TestRunResumes stops at the limit and at the time budget and goes on from
// Next, each row once.
func TestRunResumes(t *testing.T) {
	p := &fakePipeline{}
	clock := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	r, bad := newTestReplayer(t, p, func() time.Time { clock = clock.Add(time.Second); return clock })
	for day := 1; day <= 3; day++ {
		var lines []string
		for i := range 5 {
			lines = append(lines, row(fmt.Sprintf("d%d-%d", day, i), event.ReasonSchemaNotFound, `{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{"ok":true}}`))
		}
		writeRows(t, bad, fmt.Sprintf("2026-12-0%d", day), lines...)
	}
	q := Request{Limit: 4}
	var runs, rows int
	for {
		rep, err := r.Run(context.Background(), "test", q)
		if err != nil {
			t.Fatal(err)
		}
		runs++
		rows += rep.Rows
		if rep.Next == "" {
			break
		}
		q.After = rep.Next
		if runs > 10 {
			t.Fatal("the replay does not end")
		}
	}
	if runs != 4 || rows != 15 || len(p.got) != 15 {
		t.Errorf("%d runs, %d rows, %d stored; want 4, 15, 15", runs, rows, len(p.got))
	}
	// The budget (10 s; the clock moves 1 s per reading) stops a run too.
	r.d.Budget = 3 * time.Second
	rep, err := r.Run(context.Background(), "test", Request{})
	if err != nil || rep.Next == "" || rep.Rows >= 15 {
		t.Errorf("budgeted run: %+v %v", rep, err)
	}
}

func TestRunStopsOnPipelineError(t *testing.T) {
	p := &fakePipeline{fail: errors.New("buffer full")}
	r, bad := newTestReplayer(t, p, nil)
	writeRows(t, bad, "2026-12-01", row("r1", event.ReasonSchemaNotFound, `{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{"ok":true}}`))
	if _, err := r.Run(context.Background(), "test", Request{}); err == nil || !strings.Contains(err.Error(), "buffer full") {
		t.Fatalf("err = %v", err)
	}
	p.fail = nil
	rep, err := r.Run(context.Background(), "test", Request{})
	if err != nil || rep.Accepted != 1 {
		t.Fatalf("after the error: %+v %v", rep, err)
	}
}

func TestRequestValidate(t *testing.T) {
	for _, tc := range []struct {
		q    Request
		want string
	}{
		{Request{From: "yesterday"}, `"from" must be a day as YYYY-MM-DD`},
		{Request{From: "2026-12-02", To: "2026-12-01"}, `"to" (2026-12-01) is before "from"`},
		{Request{Limit: MaxLimit + 1}, `"limit" must be between`},
		{Request{As: map[string]string{"iglu:a/b/jsonschema/1-0-0": "nope"}}, `"as" maps a schema as bad rows name it to a schema URI`},
		{Request{As: map[string]string{"": "iglu:a/b/jsonschema/1-0-0"}}, `got an empty or longer one`},
		{Request{As: map[string]string{strings.Repeat("x", maxAsFrom+1): "iglu:a/b/jsonschema/1-0-0"}}, `got an empty or longer one`},
		{Request{After: "../../etc/passwd:1"}, `"after" must be the "next"`},
		{Request{After: "2026-12-01/x/y:1"}, `"after" must be the "next"`},
	} {
		err := tc.q.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.q, err, tc.want)
		}
	}
	if err := (&Request{From: "2026-12-01", After: "2026-12-01/badrows-1.ndjson:3"}).Validate(); err != nil {
		t.Error(err)
	}
	// A malformed URI as a schema_uri_invalid row names it maps to a valid one.
	if err := (&Request{As: map[string]string{"iglu:com.acme/a/jsonschema/1.0.0 ": "iglu:com.acme/a/jsonschema/1-0-0"}}).Validate(); err != nil {
		t.Error(err)
	}
}

func TestSummarize(t *testing.T) {
	r, bad := newTestReplayer(t, &fakePipeline{}, nil)
	ok := `{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{"ok":true}}`
	writeRows(t, bad, "2026-12-01",
		row("a1", event.ReasonSchemaNotFound, ok), row("a2", event.ReasonSchemaNotFound, ok),
		row("a3", event.ReasonDuplicateEventInBatch, ok), "junk\n")
	writeRows(t, bad, "2026-12-02", row("b1", event.ReasonSchemaViolation, `{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{"ok":false}}`))
	if _, err := r.Run(context.Background(), "test", Request{IDs: []string{"a1"}}); err != nil {
		t.Fatal(err)
	}
	sum, err := r.Summarize(t.Context(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	type g struct {
		Date, Reason                          string
		Rows, Replayable, NotReplay, Replayed int
	}
	var got []g
	for _, x := range sum.Groups {
		got = append(got, g{x.Date, string(x.Reason), x.Rows, x.Replayable, x.NotReplayable, x.Replayed})
	}
	want := []g{{"2026-12-01", "schema_not_found", 2, 1, 0, 1}, {"2026-12-01", "duplicate_event_in_batch", 1, 0, 1, 0},
		{"2026-12-02", "schema_violation", 1, 1, 0, 0}}
	if diff := cmp.Diff(want, got); diff != "" || sum.Rows != 4 || sum.Unreadable != 1 {
		t.Errorf("groups (-want +got):\n%s\n%+v", diff, sum)
	}
	if sum, err := r.Summarize(t.Context(), "2026-12-02", ""); err != nil || sum.Rows != 1 {
		t.Errorf("from 2026-12-02: %+v %v", sum, err)
	}
	if _, err := r.Summarize(t.Context(), "12/02", ""); err == nil {
		t.Error("a wrong day was accepted")
	}
	if abs, _ := filepath.Abs(bad); sum.Dir != abs {
		t.Errorf("the summary names the folder %q, want %q", sum.Dir, abs)
	}
}

// TestExpiredDaysAreNotRead: a day whose rows outlived the retention is
// neither replayed nor summarised, even while its folder is still there (the
// deletion runs on a timer); Expire deletes the ledgers of such days and of
// days whose rows are gone. The clock is the test's.
func TestExpiredDaysAreNotRead(t *testing.T) {
	clock := time.Date(2026, 12, 8, 23, 0, 0, 0, time.UTC)
	p := &fakePipeline{}
	r, bad := newTestReplayer(t, p, func() time.Time { return clock })
	r.d.Retention = 24 * time.Hour
	ok := `{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{"ok":true}}`
	writeRows(t, bad, "2026-12-06", row("old", event.ReasonSchemaNotFound, ok))
	writeRows(t, bad, "2026-12-07", row("kept", event.ReasonSchemaNotFound, ok), row("kept-2", event.ReasonSchemaNotFound, ok))
	// 2026-12-06 ended 2026-12-07T00:00: a day of retention later it expired.
	// Its ledger, and that of a day whose folder is gone, go too.
	for _, day := range []string{"2026-12-06", "2026-12-07", "2026-12-05"} {
		if err := os.MkdirAll(r.d.LedgerDir, 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(r.d.LedgerDir, "date="+day+".ndjson"), []byte(`{"id":"kept-2"}`+"\n"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := r.Summarize(t.Context(), "", "")
	if err != nil || sum.Rows != 2 || len(sum.Groups) != 1 || sum.Groups[0].Date != "2026-12-07" || sum.Groups[0].Replayed != 1 {
		t.Errorf("summary: %+v %v; want the kept day's 2 rows only", sum, err)
	}
	rep, err := r.Run(t.Context(), "test", Request{DryRun: true, From: "2026-12-01"})
	if err != nil || rep.Rows != 2 || statuses(rep)[0] != "kept accepted" {
		t.Errorf("dry run: %+v %v; want the kept day's rows only", rep, err)
	}
	// A cursor into the expired day resumes at the next day kept.
	rep, err = r.Run(t.Context(), "test", Request{After: "2026-12-06/badrows-1.ndjson:0"})
	if err != nil || rep.Rows != 2 || rep.Accepted != 1 || len(p.got) != 1 || p.got[0].EventID != "ev-kept" {
		t.Errorf("replay from a cursor in the expired day: %+v %v, stored %d", rep, err, len(p.got))
	}
	deleted, err := r.Expire()
	if err != nil || fmt.Sprint(deleted) != "[2026-12-05 2026-12-06]" {
		t.Errorf("Expire deleted %v (%v), want the ledgers of 2026-12-05 and 2026-12-06", deleted, err)
	}
	ledgers, _ := filepath.Glob(filepath.Join(r.d.LedgerDir, "*"))
	if len(ledgers) != 1 || filepath.Base(ledgers[0]) != "date=2026-12-07.ndjson" {
		t.Errorf("ledgers left: %v", ledgers)
	}
	// An hour earlier the day was kept.
	clock = time.Date(2026, 12, 7, 23, 0, 0, 0, time.UTC)
	if sum, err := r.Summarize(t.Context(), "", ""); err != nil || sum.Rows != 3 {
		t.Errorf("summary within the retention: %+v %v", sum, err)
	}
}

// fakeKeys answers CheckSealed from a vault, or fails.
type fakeKeys struct {
	v     *vault.Vault
	fail  error
	calls int
}

func (f *fakeKeys) CheckSealed(ctx context.Context, sealed []string) ([]error, error) {
	f.calls++
	if f.fail != nil {
		return nil, f.fail
	}
	return f.v.CheckSealed(ctx, sealed)
}

// TestSummarizeForgotten: the summary asks the vault whether each sealed
// value's key still exists, and counts the rows of forgotten subjects as not
// replayable, saying why as a replay does; it unseals nothing (no audit).
// Without a vault, or with one that fails, it counts them replayable and says
// how many it could not check, and why.
func TestSummarizeForgotten(t *testing.T) {
	ctx := t.Context()
	store, err := vault.OpenBolt(filepath.Join(t.TempDir(), "vault.db"), vault.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := vault.New(ctx, store, vault.Options{MasterKey: make([]byte, vault.MasterKeyLen)})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	gone, err := v.Seal(ctx, "shop", "gone@example.com", []string{"gone@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	kept, err := v.Seal(ctx, "shop", "kept@example.com", []string{"kept@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Forget(ctx, "test", "gone@example.com", ""); err != nil {
		t.Fatal(err)
	}
	r, bad := newTestReplayer(t, &fakePipeline{}, nil)
	r.d.Unsealer = v
	sealed := `{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{"ok":true,"email":%q}}`
	writeRows(t, bad, "2026-12-01",
		row("f1", event.ReasonSchemaNotFound, fmt.Sprintf(sealed, gone[0]), "/data/email"),
		row("k1", event.ReasonSchemaNotFound, fmt.Sprintf(sealed, kept[0]), "/data/email"),
		row("f2", event.ReasonSchemaNotFound, fmt.Sprintf(sealed, gone[0]), "/data/email"),
		row("plain", event.ReasonSchemaNotFound, `{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{"ok":true}}`),
		row("dup", event.ReasonDuplicateEventInBatch, fmt.Sprintf(sealed, gone[0]), "/data/email"))
	const forgottenWhy = "the event's data subject was forgotten: its personal data is gone, and the event with it"
	type counts struct {
		Replayable, NotReplayable, Unchecked int
		Why, UncheckedWhy                    string
	}
	of := func(sum Summary) counts {
		c := counts{Unchecked: sum.Unchecked, UncheckedWhy: sum.UncheckedWhy}
		for _, g := range sum.Groups {
			c.Replayable += g.Replayable
			c.NotReplayable += g.NotReplayable
			if g.Reason == event.ReasonSchemaNotFound {
				c.Why = g.Why
			}
		}
		return c
	}
	for _, tc := range []struct {
		name string
		keys KeyChecker
		want counts
	}{
		{"the vault asked", &fakeKeys{v: v}, counts{Replayable: 2, NotReplayable: 3, Why: forgottenWhy}},
		{"no vault", nil, counts{Replayable: 4, NotReplayable: 1, Unchecked: 3, UncheckedWhy: "no vault was asked"}},
		{"the vault fails", &fakeKeys{fail: errors.New("the vault is held by another process")},
			counts{Replayable: 4, NotReplayable: 1, Unchecked: 3, UncheckedWhy: "the vault could not be asked: the vault is held by another process"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r.d.Keys = tc.keys
			sum, err := r.Summarize(ctx, "", "")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, of(sum)); diff != "" {
				t.Errorf("summary (-want +got):\n%s\n%+v", diff, sum)
			}
			// The replay says the same of the rows it cannot open.
			rep, err := r.Run(ctx, "test", Request{DryRun: true, IDs: []string{"f1"}})
			if err != nil || len(rep.Outcomes) != 1 || rep.Outcomes[0].Why != forgottenWhy {
				t.Errorf("the replay's why: %+v %v", rep, err)
			}
		})
	}
	k := &fakeKeys{v: v}
	r.d.Keys = k
	before, err := v.Audit(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Summarize(ctx, "", ""); err != nil || k.calls != 1 {
		t.Errorf("%d calls to the vault for 3 rows with sealed values (%v), want 1", k.calls, err)
	}
	after, err := v.Audit(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("a summary left audit entries: %+v", after[len(before):])
	}
}
