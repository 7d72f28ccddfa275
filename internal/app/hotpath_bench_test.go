package app

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/accord-dev/accord/internal/collect"
	"github.com/accord-dev/accord/internal/event"
)

// The reference workload (shared/bench/README.md).
const (
	benchRegistry = "/work/shared/bench/contracts"
	benchEvent    = "/work/shared/bench/event.json"
)

// benchBatch returns n copies of the reference event with varied event ids and
// emails (100 distinct emails, so the vault serves cached subjects, as it does
// for returning customers).
func benchBatch(tb testing.TB, n int) []collect.Incoming {
	tb.Helper()
	raw, err := os.ReadFile(benchEvent)
	if err != nil {
		tb.Skipf("SKIPPING: the reference workload is not at %s: %v", benchEvent, err)
	}
	var ev struct {
		Schema string          `json:"schema"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		tb.Fatal(err)
	}
	const id, email = "3f1c9a8e-2b4d-4c6e-9f1a-7b8c9d0e1f2a", "jane.doe@example.com"
	if !strings.Contains(string(ev.Data), id) || !strings.Contains(string(ev.Data), email) {
		tb.Fatalf("the reference event changed: update benchBatch")
	}
	out := make([]collect.Incoming, n)
	for i := range out {
		data := string(ev.Data)
		if i > 0 {
			data = strings.Replace(data, id, fmt.Sprintf("3f1c9a8e-2b4d-4c6e-9f1a-%012d", i), 1)
			data = strings.Replace(data, email, fmt.Sprintf("jane.doe%d@example.com", i%100), 1)
		}
		out[i] = collect.Incoming{Schema: ev.Schema, Data: json.RawMessage(data)}
	}
	return out
}

// BenchmarkProcess is the collector's per-event cost on the reference event:
// validation, scrubbing (the embedded vault tokenizes the email), the envelope
// and one durable append to the disk buffer per call, on each path:
// bytes (validator fast, the default), decoded (validator fast as it was before
// the byte path: decode, scrub the tree, encode) and reference (validator
// reference). batch=100 shares one append (one fsync) between 100 events.
func BenchmarkProcess(b *testing.B) {
	r := newRig(b, benchRegistry)
	for _, n := range []int{1, 100} {
		batch := benchBatch(b, n)
		for _, path := range []string{pathBytes, pathDecoded, pathReference} {
			b.Run(fmt.Sprintf("path=%s/batch=%d", path, n), func(b *testing.B) {
				p := r.paths[path]
				ctx := context.Background()
				process := func() {
					res, err := p.Process(ctx, "native", batch, nil)
					if err != nil {
						b.Fatal(err)
					}
					if !res[0].Accepted() {
						b.Fatalf("rejected: %+v", res[0])
					}
				}
				process() // tokens, user agents and programs are cached from here on
				b.ReportAllocs()
				cpu0, ok := processCPU()
				for b.Loop() {
					process()
				}
				events := float64(b.N * n)
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/events, "ns/event")
				if cpu1, ok1 := processCPU(); ok && ok1 {
					// CPU time counts every goroutine (the buffer's writer, GC) but not
					// the wait for fsync or for a core on a loaded machine.
					b.ReportMetric(float64(cpu1-cpu0)/events, "cpu-ns/event")
				}
			})
		}
	}
}

// BenchmarkProcessSpeedup interleaves the byte path and the decoded path on
// batches of the reference event, so both see the same machine load, and
// reports their per-event times and the speedup (decoded / bytes).
func BenchmarkProcessSpeedup(b *testing.B) {
	r := newRig(b, benchRegistry)
	batch := benchBatch(b, 100)
	ctx := context.Background()
	var took, cpu [2]time.Duration
	paths := [2]*collect.Pipeline{r.paths[pathBytes], r.paths[pathDecoded]}
	for _, p := range paths {
		if _, err := p.Process(ctx, "native", batch, nil); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		for i, p := range paths {
			start := time.Now()
			cpu0, ok := processCPU()
			if _, err := p.Process(ctx, "native", batch, nil); err != nil {
				b.Fatal(err)
			}
			took[i] += time.Since(start)
			if cpu1, ok1 := processCPU(); ok && ok1 {
				cpu[i] += cpu1 - cpu0
			}
		}
	}
	events := float64(b.N * len(batch))
	b.ReportMetric(float64(took[0].Nanoseconds())/events, "bytes-ns/event")
	b.ReportMetric(float64(took[1].Nanoseconds())/events, "decoded-ns/event")
	b.ReportMetric(float64(took[1])/float64(took[0]), "speedup")
	if cpu[0] > 0 {
		b.ReportMetric(float64(cpu[0].Nanoseconds())/events, "bytes-cpu-ns/event")
		b.ReportMetric(float64(cpu[1].Nanoseconds())/events, "decoded-cpu-ns/event")
		b.ReportMetric(float64(cpu[1])/float64(cpu[0]), "cpu-speedup")
	}
}

// BenchmarkBadRows is the cost of a rejected event with personal data: the
// reference event under a version the registry lacks (schema_not_found), 100 to
// a request, its email, IP address and user agent sealed under its subject
// (path=bytes, the default) or redacted (path=redact, no vault). Sealing is a
// vault call per event, on keys cached after the first round.
func BenchmarkBadRows(b *testing.B) {
	r := newRig(b, benchRegistry)
	batch := benchBatch(b, 100)
	for i := range batch {
		batch[i].Schema = strings.Replace(batch[i].Schema, "/1-2-0", "/1-2-9", 1)
	}
	for _, path := range []string{pathBytes, pathRedact} {
		b.Run("path="+path, func(b *testing.B) {
			p := r.paths[path]
			ctx := context.Background()
			process := func() {
				res, err := p.Process(ctx, "native", batch, nil)
				if err != nil {
					b.Fatal(err)
				}
				if res[0].Accepted() || res[0].Reason != event.ReasonSchemaNotFound {
					b.Fatalf("want schema_not_found: %+v", res[0])
				}
			}
			process()
			b.ReportAllocs()
			cpu0, ok := processCPU()
			for b.Loop() {
				process()
			}
			events := float64(b.N * len(batch))
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/events, "ns/event")
			if cpu1, ok1 := processCPU(); ok && ok1 {
				b.ReportMetric(float64(cpu1-cpu0)/events, "cpu-ns/event")
			}
		})
	}
}
