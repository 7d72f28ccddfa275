package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/accord-dev/accord/internal/event"
)

// FuzzReplayInput feeds what a replay reads from outside: a line of a bad-row
// file (which anyone with access to the data folder can edit) and the body of
// a replay request. Neither may panic, and every row considered is counted once.
func FuzzReplayInput(f *testing.F) {
	const sealedSeed = "sealed_aeaqcaibaeaqcaibaeaqcaibaeaqcaibaeaqcaibaeaqcaib"
	for _, l := range []string{
		row("r1", event.ReasonSchemaNotFound, `{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{"ok":true,"e":"`+sealedSeed+`"}}`, "/data/e"),
		row("r2", event.ReasonSchemaViolation, `{"schema":"iglu:com.acme/a/jsonschema/1-0-0","data":{"ok":false},"contexts":[{"schema":"iglu:a/b/jsonschema/1-0-0","data":{}}]}`),
		row("r3", event.ReasonSchemaNotFound, `{"schema":"","data":{"values_withheld":true}}`),
		row("r4", event.ReasonSchemaNotFound, `[1,2]`, "/0"),
		`{"id":"x","payload_withheld":"secret"}`, `{"id":"y","payload":{"schema":"iglu:a/b/jsonschema/1-0-0","data":1},"sealed":["/data"]}`,
		"", "{", "null",
	} {
		for _, q := range []string{`{}`, `{"from":"2026-12-01","to":"2026-12-02","as":{"iglu:a/b/jsonschema/1-0-0":"iglu:a/b/jsonschema/1-1-0"}}`,
			`{"after":"2026-12-01/f.ndjson:3","limit":5}`, `{"limit":-1}`, `{"after":"x"}`} {
			f.Add([]byte(l), []byte(q))
		}
	}
	dir := f.TempDir()
	p := &fakePipeline{}
	r, err := New(Deps{BadDir: filepath.Join(dir, "bad"), LedgerDir: filepath.Join(dir, "replay"), Pipeline: p,
		Unsealer: sealer{&fakeUnsealer{}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line, body []byte) {
		var q Request
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if dec.Decode(&q) == nil {
			_ = q.Validate()
		}
		p.got = p.got[:0]
		x := &run{r: r, q: Request{Limit: DefaultLimit}, actor: "fuzz", rep: Report{Outcomes: []Outcome{}},
			deadline: time.Now().Add(time.Minute)}
		x.day, x.ledger = "2026-12-01", map[string]bool{}
		if err := x.row(context.Background(), "2026-12-01", line); err != nil {
			t.Fatal(err)
		}
		if err := x.flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		rep := x.rep
		if sum := rep.Accepted + rep.Rejected + rep.NotReplayable + rep.AlreadyReplayed + rep.Unreadable; sum != rep.Rows || rep.Rows > 1 {
			t.Fatalf("%d rows, outcomes sum to %d: %s", rep.Rows, sum, fmt.Sprint(rep))
		}
		if rep.Accepted != len(p.got) {
			t.Fatalf("%d accepted, %d stored", rep.Accepted, len(p.got))
		}
	})
}
