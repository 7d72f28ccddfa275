package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/accord-dev/accord/internal/app"
	"github.com/accord-dev/accord/internal/codegen/codegentest"
	"github.com/accord-dev/accord/internal/codegen/golang"
	"github.com/accord-dev/accord/internal/codegen/python"
	"github.com/accord-dev/accord/internal/codegen/typescript"
)

// legacySignup is a retired contract, added to a copy of the example registry:
// the collector rejects its events as contract_retired, which no SDK can check.
const legacySignup = `$schema: https://json-schema.org/draft/2020-12/schema
self: {vendor: com.acme, name: legacy_signup, format: jsonschema, version: 1-0-0}
description: A signup as the old app sent it; no longer collected.
x-owner: {team: growth, contact: growth@acme.example}
x-lifecycle: {status: retired, retention: P30D, replaced_by: "iglu:com.acme/signup/jsonschema/1-0-0"}
x-privacy:
  controller: {field: /shop_id}
  subject: {field: /email}
type: object
additionalProperties: false
required: [email, shop_id]
properties:
  shop_id: {type: string, description: The shop the buyer signed up on.}
  email:
    type: string
    format: email
    description: The buyer's email address.
    x-pii: {kind: email, handling: tokenize}
`

// The SDK programs of TestSDKsSettleByAnswer take the collector's URL and a JSON
// array of batches, each an array of {"schema", "data"} events of signup and
// legacy_signup; they send each batch in one request from a client of its own,
// and print, per batch, the client's stats and every drop its callback was told
// about (codegentest.AnswerReport), as a JSON array.

const goAnswerProgram = `package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"example.com/sdkprogram/events"
)

type sent struct {
	Schema string          ` + "`json:\"schema\"`" + `
	Data   json.RawMessage ` + "`json:\"data\"`" + `
}

func main() {
	var batches [][]sent
	if err := json.Unmarshal([]byte(os.Args[2]), &batches); err != nil {
		panic(err)
	}
	reports := []any{}
	for _, batch := range batches {
		var mu sync.Mutex
		drops := []any{}
		c, err := events.New(events.Config{Endpoint: os.Args[1], BatchSize: len(batch), FlushInterval: time.Minute,
			OnDrop: func(d events.Drop) {
				mu.Lock()
				defer mu.Unlock()
				var rej any
				if r := d.Rejection; r != nil {
					rej = map[string]any{"status": r.Status, "event_id": r.EventID, "reason": r.Reason, "message": r.Message, "failures": r.Failures}
				}
				drops = append(drops, map[string]any{"reason": d.Reason, "schema": d.Event.SchemaURI(), "data": d.Event, "rejection": rej, "error": d.Err.Error()})
			}})
		if err != nil {
			panic(err)
		}
		for _, s := range batch {
			var e events.Event
			switch s.Schema {
			case events.SignupSchema:
				var v events.Signup
				err = json.Unmarshal(s.Data, &v)
				e = v
			case events.LegacySignupSchema:
				var v events.LegacySignup
				err = json.Unmarshal(s.Data, &v)
				e = v
			default:
				panic("unknown schema " + s.Schema)
			}
			if err != nil {
				panic(err)
			}
			if err := c.Track(e); err != nil {
				panic(fmt.Sprintf("Track(%s): %v", s.Schema, err))
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := c.Close(ctx); err != nil {
			panic(err)
		}
		cancel()
		st := c.Stats()
		mu.Lock()
		reports = append(reports, map[string]any{"drops": drops, "stats": map[string]uint64{"queued": st.Queued, "sent": st.Sent,
			"invalid": st.Invalid, "dropped": st.Dropped, "rejected": st.Rejected, "failed": st.Failed, "retries": st.Retries, "batches": st.Batches}})
		mu.Unlock()
	}
	if err := json.NewEncoder(os.Stdout).Encode(reports); err != nil {
		panic(err)
	}
}
`

const tsAnswerProgram = `import { AccordClient, LegacySignupSchema, SignupSchema, type Drop, type LegacySignup, type Signup } from "./events";

declare const process: { argv: string[]; exitCode?: number };

async function main(endpoint: string, arg: string): Promise<void> {
  const batches: Array<Array<{ schema: string; data: unknown }>> = JSON.parse(arg);
  const reports: unknown[] = [];
  for (const batch of batches) {
    const drops: unknown[] = [];
    const onDrop = (d: Drop): void => {
      const r = d.rejection;
      drops.push({
        reason: d.reason,
        schema: d.event.schema,
        data: d.event.data,
        rejection: r === undefined ? null : { status: r.status, event_id: r.eventId ?? "", reason: r.reason ?? "", message: r.message ?? "", failures: r.failures },
        error: d.error.message,
      });
    };
    const client = new AccordClient({ endpoint, batchSize: batch.length, flushIntervalMs: 60000, onDrop });
    for (const e of batch) {
      if (e.schema === SignupSchema) {
        client.trackSignup(e.data as Signup);
      } else if (e.schema === LegacySignupSchema) {
        client.trackLegacySignup(e.data as LegacySignup);
      } else {
        throw new Error("unknown schema " + e.schema);
      }
    }
    await client.close();
    reports.push({ stats: client.stats(), drops });
  }
  console.log(JSON.stringify(reports));
}

main(process.argv[2], process.argv[3]).catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
`

const pyAnswerProgram = `import json
import sys
from dataclasses import asdict
from typing import Any, Dict, List

from events import AccordClient, Drop, LegacySignup, Signup


def main(endpoint: str, arg: str) -> None:
    batches: List[List[Dict[str, Any]]] = json.loads(arg)
    reports: List[Dict[str, Any]] = []
    for batch in batches:
        drops: List[Dict[str, Any]] = []

        def on_drop(d: Drop) -> None:
            r = d.rejection
            rejection = None
            if r is not None:
                rejection = {
                    "status": r.status,
                    "event_id": r.event_id or "",
                    "reason": r.reason or "",
                    "message": r.message or "",
                    "failures": [asdict(f) for f in r.failures],
                }
            drops.append(
                {"reason": d.reason, "schema": d.event["schema"], "data": d.event["data"], "rejection": rejection, "error": str(d.error)}
            )

        client = AccordClient(endpoint, batch_size=len(batch), flush_interval=60, on_drop=on_drop)
        for e in batch:
            if e["schema"] == Signup.SCHEMA:
                client.track_signup(Signup(**e["data"]))
            elif e["schema"] == LegacySignup.SCHEMA:
                client.track_legacy_signup(LegacySignup(**e["data"]))
            else:
                raise SystemExit("unknown schema " + e["schema"])
        if not client.close(timeout=30):
            raise SystemExit("close timed out")
        reports.append({"stats": asdict(client.stats()), "drops": drops})
    print(json.dumps(reports))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
`

// TestSDKsSettleByAnswer is the audit's reproduction, in each SDK, against
// accord serve: the Go, TypeScript and Python SDKs generated from the example
// registry plus a retired contract send a batch of a valid signup, one with
// zero values, one whose shop_id breaks the contract's pattern and one of the
// retired contract (the collector answers 200: one accepted, three rejected),
// then a batch of the last two (answered 400). Each SDK must count the accepted
// event as sent and each rejected one as rejected, report each rejected one to
// its drop callback with the collector's reason, failures and event id (the
// id of the bad row the collector stored) and an error that holds none of the
// event's values, and retry none.
func TestSDKsSettleByAnswer(t *testing.T) {
	reg := t.TempDir()
	if err := os.CopyFS(reg, os.DirFS(registryDir)); err != nil {
		t.Fatal(err)
	}
	legacy := filepath.Join(reg, "com.acme", "legacy_signup", "jsonschema")
	if err := os.MkdirAll(legacy, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(legacy, "1-0-0.yaml"), []byte(legacySignup), 0o644); err != nil {
		t.Fatal(err)
	}
	ir := codegentest.Load(t, reg)
	data := t.TempDir()
	base, stop := startApp(t, data, func(c *app.Config) { c.Registry = reg })
	defer stop()

	const (
		signup  = "iglu:com.acme/signup/jsonschema/1-0-0"
		retired = "iglu:com.acme/legacy_signup/jsonschema/1-0-0"
	)
	type ev struct {
		Schema string         `json:"schema"`
		Data   map[string]any `json:"data"`
	}
	valid := ev{signup, map[string]any{"shop_id": "shop_77", "email": "sdk.user@example.com"}}
	zero := ev{signup, map[string]any{"shop_id": "", "email": ""}}
	pattern := ev{signup, map[string]any{"shop_id": "nope", "email": "sdk2@example.com"}}
	old := ev{retired, map[string]any{"shop_id": "shop_1", "email": "x@example.com"}}
	batches, err := json.Marshal([][]ev{{valid, zero, pattern, old}, {pattern, old}})
	if err != nil {
		t.Fatal(err)
	}
	// What each batch's drops must say, in order: the event, the answer's
	// status, the collector's reason, the pointers of its failures and whether
	// the answer names the event's id (every rejection does: one refused
	// before validation, as of a retired contract, gets one assigned).
	type want struct {
		ev       ev
		status   int
		reason   string
		pointers []string
		id       bool
	}
	wants := [][]want{
		{{zero, 200, "schema_violation", []string{"/email", "/shop_id"}, true}, {pattern, 200, "schema_violation", []string{"/shop_id"}, true}, {old, 200, "contract_retired", []string{""}, true}},
		{{pattern, 400, "schema_violation", []string{"/shop_id"}, true}, {old, 400, "contract_retired", []string{""}, true}},
	}
	wantStats := []map[string]int{
		{"queued": 4, "sent": 1, "rejected": 3, "batches": 1},
		{"queued": 2, "rejected": 2},
	}
	values := []string{"sdk.user@example.com", "sdk2@example.com", "x@example.com", "nope"}

	programs := map[string]func(t *testing.T) codegentest.Program{
		"go": func(t *testing.T) codegentest.Program {
			files, err := golang.Generate(ir, golang.Options{Package: "events"})
			if err != nil {
				t.Fatal(err)
			}
			return codegentest.GoProgram(t, files, goAnswerProgram)
		},
		"typescript": func(t *testing.T) codegentest.Program {
			files, err := typescript.Generate(ir)
			if err != nil {
				t.Fatal(err)
			}
			return codegentest.NodeProgram(t, files, "answer.ts", tsAnswerProgram)
		},
		"python": func(t *testing.T) codegentest.Program {
			files, err := python.Generate(ir)
			if err != nil {
				t.Fatal(err)
			}
			return codegentest.PythonProgram(t, files, "answer.py", pyAnswerProgram)
		},
	}
	rejectedIDs := map[string]string{} // event id -> reason, of every SDK
	reported := map[string]int{}       // reason -> events reported rejected
	for _, lang := range []string{"go", "typescript", "python"} {
		t.Run(lang, func(t *testing.T) {
			prog := programs[lang](t)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			out := codegentest.Output(t, prog.Command(ctx, base, string(batches)))
			var reports []codegentest.AnswerReport
			if err := json.Unmarshal(out, &reports); err != nil {
				t.Fatalf("the %s program printed %q: %v", lang, out, err)
			}
			if len(reports) != len(wants) {
				t.Fatalf("%d reports, want %d: %s", len(reports), len(wants), out)
			}
			for b, rep := range reports {
				for _, k := range []string{"queued", "sent", "invalid", "dropped", "rejected", "failed", "retries", "batches"} {
					if rep.Stats[k] != wantStats[b][k] {
						t.Errorf("batch %d: stats %v, want %v (zero where not named)", b, rep.Stats, wantStats[b])
						break
					}
				}
				if len(rep.Drops) != len(wants[b]) {
					t.Errorf("batch %d: drops %+v, want %d", b, rep.Drops, len(wants[b]))
					continue
				}
				for i, d := range rep.Drops {
					w := wants[b][i]
					r := d.Rejection
					if d.Reason != "rejected" || r == nil || d.Schema != w.ev.Schema || !jsonEqual(d.Data, w.ev.Data) {
						t.Errorf("batch %d, drop %d: %+v, want the rejection of %v", b, i, d, w.ev)
						continue
					}
					var pointers []string
					for _, f := range r.Failures {
						pointers = append(pointers, f.Pointer)
					}
					slices.Sort(pointers)
					if r.Status != w.status || r.Reason != w.reason || (r.EventID != "") != w.id || !slices.Equal(pointers, w.pointers) {
						t.Errorf("batch %d, drop %d: rejection %+v, want status %d, reason %s, failures at %q, an event id: %v", b, i, r, w.status, w.reason, w.pointers, w.id)
					}
					if !strings.Contains(d.Error, r.EventID) || !strings.Contains(d.Error, w.reason) {
						t.Errorf("batch %d, drop %d: error %q does not name the event id and the reason", b, i, d.Error)
					}
					for _, v := range values {
						if strings.Contains(d.Error, v) {
							t.Errorf("batch %d, drop %d: error %q holds the event's value %q", b, i, d.Error, v)
						}
					}
					reported[w.reason]++
					if r.EventID != "" {
						rejectedIDs[r.EventID] = w.reason
					}
				}
			}
		})
	}

	// Every event an SDK reported rejected is a bad row of the collector, under
	// the id and the reason the SDK was told.
	var rows map[string]string
	var reasons map[string]int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		rows, reasons = badRowReasons(t, data)
		if maps.Equal(reasons, reported) {
			break
		}
	}
	if !maps.Equal(reasons, reported) {
		t.Errorf("bad rows by reason %v, want the rejections the SDKs reported, %v", reasons, reported)
	}
	for id, reason := range rejectedIDs {
		if rows[id] != reason {
			t.Errorf("event %s, reported to the SDK as %s: bad row reason %q", id, reason, rows[id])
		}
	}
}

// badRowReasons reads the bad rows of the data folder: their reasons by event
// id, and how many have each reason.
func badRowReasons(t *testing.T, data string) (map[string]string, map[string]int) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(data, "bad", "date=*", "*.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	out, reasons := map[string]string{}, map[string]int{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			var row struct {
				EventID string `json:"event_id"`
				Reason  string `json:"reason"`
			}
			if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
				t.Fatalf("%s: a bad row that is not JSON: %v", f, err)
			}
			reasons[row.Reason]++
			if row.EventID != "" {
				out[row.EventID] = row.Reason
			}
		}
		if err := fh.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return out, reasons
}

// jsonEqual compares two values as JSON.
func jsonEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}
