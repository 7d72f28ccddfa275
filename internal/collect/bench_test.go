package collect_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/accord-dev/accord/internal/buffer"
	"github.com/accord-dev/accord/internal/collect"
	"github.com/accord-dev/accord/internal/collect/loadtest"
	"github.com/accord-dev/accord/internal/collect/native"
	"github.com/accord-dev/accord/internal/contract"
	"github.com/accord-dev/accord/internal/event"
	"github.com/accord-dev/accord/internal/registry"
	"github.com/accord-dev/accord/internal/scrub"
	"github.com/accord-dev/accord/internal/sink/lake"
	"github.com/accord-dev/accord/internal/vault"
)

// The benchmarks below split the collector's per-event cost on the reference
// workload (ACCORD_BENCH_DIR) into its stages, with the real parts: the fast
// validator, the scrubber with the embedded vault, the fsync'd disk buffer.
// docs/performance.md gives the split measured with
//
//	go test ./internal/collect -run '^$' -bench . -benchtime 2s
//
// Every op is one event (a batch benchmark divides by its events), so the stages
// add up to the pipeline's cost; compare them as ratios within one run.

// rig is a pipeline's parts on the reference workload.
type rig struct {
	tmpl     *loadtest.Template
	reg      *registry.Registry
	compiled *contract.Compiled
	scrubber *scrub.Scrubber
	vault    *vault.Vault
	buf      *buffer.Disk
	pipeline *collect.Pipeline
}

func newRig(b *testing.B) *rig {
	b.Helper()
	dir := loadtest.Dir(b)
	r := &rig{tmpl: loadtest.Load(b, dir)}
	log := slog.New(slog.DiscardHandler)
	var err error
	if r.reg, err = registry.New(registry.Config{Dir: filepath.Join(dir, "contracts"), PollInterval: -1}, log); err != nil {
		b.Fatal(err)
	}
	key, err := contract.ParseURI("iglu:com.acme/checkout_completed/jsonschema/1-2-0")
	if err != nil {
		b.Fatal(err)
	}
	var ok bool
	if r.compiled, ok = r.reg.Snapshot().Get(key); !ok {
		b.Fatalf("the reference registry has no %s", key)
	}
	data := b.TempDir()
	v, err := vault.Open(context.Background(), vault.Config{Store: vault.StoreEmbedded}, data, log)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = v.Close() })
	r.vault = v
	secret, err := scrub.EnsureHashSecretFile(data)
	if err != nil {
		b.Fatal(err)
	}
	if r.scrubber, err = scrub.New(scrub.Config{HashSecretFile: secret}, scrub.Deps{Tokenizer: v}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = r.scrubber.Close() })
	if r.buf, err = buffer.Open(filepath.Join(data, "buffer"), buffer.Options{Consumers: []string{"lake"}}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = r.buf.Close() })
	r.pipeline = r.newPipeline(b, r.buf)
	return r
}

func (r *rig) newPipeline(b *testing.B, buf buffer.Buffer) *collect.Pipeline {
	b.Helper()
	m, err := collect.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	p, err := collect.NewPipeline(collect.Deps{Contracts: r.reg, Validator: collect.NewFastValidator(),
		Scrubber: scrubber{r.scrubber}, Buffer: buf, Metrics: m, Instance: "bench", Limits: collect.DefaultLimits,
		StoreWrites: r.vault.StoreWrites})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// warm tokenizes every buyer once, so that measurements find their vault keys
// cached (the steady state); BenchmarkPipeline/new_subject measures the other case.
func (r *rig) warm(b *testing.B) {
	b.Helper()
	for _, body := range r.tmpl.WarmupBodies(100) {
		if _, err := process(r.pipeline, body); err != nil {
			b.Fatal(err)
		}
	}
}

// process decodes and processes one body and fails unless every event was
// accepted; it returns the number of events.
func process(p *collect.Pipeline, body []byte) (int, error) {
	evs, err := native.Decode(body, collect.DefaultLimits)
	if err != nil {
		return 0, err
	}
	res, err := p.Process(context.Background(), native.Protocol, evs, nil)
	if err != nil {
		return 0, err
	}
	for _, x := range res {
		if !x.Accepted() {
			return 0, fmt.Errorf("event rejected: %s %+v", x.Reason, x.Failures)
		}
	}
	return len(evs), nil
}

// scrubber fits scrub.Scrubber to collect.SpanScrubber, as internal/app does, so
// that accepted events take the byte path.
type scrubber struct{ s *scrub.Scrubber }

func (a scrubber) Scrub(ctx context.Context, c *contract.Contract, data any) (any, []event.Applied, error) {
	applied, err := a.s.Scrub(ctx, c, data)
	if err != nil {
		return nil, nil, err
	}
	out := make([]event.Applied, len(applied))
	for i, ap := range applied {
		out[i] = event.Applied(ap)
	}
	return data, out, nil
}

func (a scrubber) Captures(c *contract.Contract) ([]string, bool) {
	p, err := a.s.Plan(c)
	if err != nil {
		return nil, false
	}
	return p.Captures()
}

func (a scrubber) ScrubBytes(ctx context.Context, c *contract.Contract, data []byte, spans collect.Spans, into []byte, dst []event.Applied) ([]byte, []event.Applied, bool, error) {
	p, err := a.s.Plan(c)
	if err != nil {
		return nil, nil, false, nil
	}
	out, applied, err := p.ScrubBytesTo(ctx, into, dst, "", data, spans)
	switch {
	case errors.Is(err, scrub.ErrUseTree):
		return nil, nil, false, nil
	case err != nil:
		return nil, nil, true, err
	}
	return out, applied, true, nil
}

func (a scrubber) Seal(ctx context.Context, c *contract.Contract, data any) (any, []string, []string) {
	sealed, redacted, err := a.s.Seal(ctx, c, data)
	if err != nil {
		return nil, nil, nil
	}
	return data, sealed, redacted
}

// nullBuffer accepts every append at once: the pipeline's CPU cost without the
// buffer's write and fsync.
type nullBuffer struct{ buffer.Buffer }

func (nullBuffer) Append(context.Context, [][]byte) error { return nil }

// perEvent reports the per-event time of a batch benchmark in ns/event.
func perEvent(b *testing.B, events int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(events), "ns/event")
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	if start, ok := cpuStarts.Load(b); ok {
		b.ReportMetric(float64((processCPU(b)-start.(time.Duration)).Nanoseconds())/float64(events), "cpu-ns/event")
	}
}

// cpuStarts holds each benchmark's process CPU time when it started (see
// startCPU).
var cpuStarts sync.Map

// startCPU notes the process's CPU time, so that perEvent also reports the CPU
// time (getrusage: every goroutine, the buffer's writer and the GC included) per
// event: on a shared machine it is the figure to compare, the wall clock also
// counts waiting for a core and for fsync.
func startCPU(b *testing.B) { cpuStarts.Store(b, processCPU(b)) }

func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPipeline is Process (after native.Decode) on the reference event:
// one event per request and batches of 100, with the fsync'd disk buffer and with
// a buffer that accepts at once (the CPU cost alone); sequential (one request at
// a time: every request waits for its own fsync) and parallel (32 requests at
// once share fsyncs through group commit); and with a new buyer in every event
// (the vault creates a key per event, a durable write).
func BenchmarkPipeline(b *testing.B) {
	r := newRig(b)
	r.warm(b)
	nop := r.newPipeline(b, nullBuffer{})
	for _, bc := range []struct {
		name     string
		p        *collect.Pipeline
		batch    int
		parallel bool
	}{
		{"disk/single", r.pipeline, 1, false},
		{"disk/single/parallel32", r.pipeline, 1, true},
		{"disk/batch100", r.pipeline, 100, false},
		{"disk/batch100/parallel32", r.pipeline, 100, true},
		{"nobuffer/single", nop, 1, false},
		{"nobuffer/batch100", nop, 100, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			startCPU(b)
			var streams, events atomic.Int64
			b.ReportAllocs()
			if bc.parallel {
				b.SetParallelism(16)
				b.RunParallel(func(pb *testing.PB) {
					stream := uint64(streams.Add(1))
					var n uint64
					var body []byte
					for pb.Next() {
						body = r.tmpl.AppendBody(body[:0], bc.batch, stream, &n)
						k, err := process(bc.p, body)
						if err != nil {
							b.Error(err)
							return
						}
						events.Add(int64(k))
					}
				})
			} else {
				var n uint64
				var body []byte
				for b.Loop() {
					body = r.tmpl.AppendBody(body[:0], bc.batch, 0, &n)
					k, err := process(bc.p, body)
					if err != nil {
						b.Fatal(err)
					}
					events.Add(int64(k))
				}
			}
			perEvent(b, int(events.Load()))
		})
	}
	// Buyers never seen: a vault key is created (a durable store commit) for
	// each, one request at a time. every is how often a buyer is new: 1 for
	// every event, 10 for one event in ten (the others cached).
	for _, bc := range []struct {
		name         string
		batch, every int
	}{{"nobuffer/new_subject", 1, 1}, {"nobuffer/new_subjects_batch100", 100, 1}, {"nobuffer/new_subjects_1in10_batch100", 100, 10}} {
		b.Run(bc.name, func(b *testing.B) {
			newSubjects(b, r, nop, bc.batch, bc.every)
		})
	}
}

var newSubjectRuns atomic.Uint32

// newSubjects processes requests of batch events in which every every-th
// buyer is new; the others are the warmed-up buyers of r.tmpl.
func newSubjects(b *testing.B, r *rig, p *collect.Pipeline, batch, every int) {
	startCPU(b)
	// A stream of buyers per run (run<<40 + n*65537 never repeats within 2^60
	// buyers), so that -count and b.Loop's ramp-up never meet a buyer twice.
	run := uint64(newSubjectRuns.Add(1))
	fresh, err := loadtest.New([]byte(eventOf(r.tmpl)), 1<<60, fmt.Sprintf("%08x", run))
	if err != nil {
		b.Fatal(err)
	}
	var n, warm uint64
	var body []byte
	events := 0
	for b.Loop() {
		body = body[:0]
		if batch > 1 {
			body = append(body, '[')
		}
		for i := range batch {
			if i > 0 {
				body = append(body, ',')
			}
			if i%every == every-1 {
				n++
				body = fresh.AppendEvent(body, run<<40, n)
			} else {
				warm++
				body = r.tmpl.AppendEvent(body, run<<40, warm)
			}
		}
		if batch > 1 {
			body = append(body, ']')
		}
		k, err := process(p, body)
		if err != nil {
			b.Fatal(err)
		}
		events += k
	}
	perEvent(b, events)
}

// eventOf is one event of t, as a template source.
func eventOf(t *loadtest.Template) string {
	return string(t.AppendEvent(nil, 0, 1))
}

// BenchmarkStage isolates each stage of the per-event path on batches of 100
// events, reported per event.
func BenchmarkStage(b *testing.B) {
	r := newRig(b)
	r.warm(b)
	const batch = 100
	var n uint64
	body := r.tmpl.AppendBody(nil, batch, 1, &n)
	evs, err := native.Decode(body, collect.DefaultLimits)
	if err != nil {
		b.Fatal(err)
	}
	fv := collect.NewFastValidator()
	ctx := context.Background()

	// decode: the native protocol's framing, from body to Incoming events.
	b.Run("decode", func(b *testing.B) {
		startCPU(b)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := native.Decode(body, collect.DefaultLimits); err != nil {
				b.Fatal(err)
			}
		}
		perEvent(b, b.N*batch)
	})
	// limits: the depth and string-length scan of each event's data, which the
	// pipeline skips for events whose body's check covered them
	// (Incoming.LimitsChecked, native events in a body nested no deeper than
	// an event may be).
	b.Run("limits", func(b *testing.B) {
		startCPU(b)
		for b.Loop() {
			for i := range evs {
				if _, err := collect.DefaultLimits.CheckBody(evs[i].Data, 0); err != nil {
					b.Fatal(err)
				}
			}
		}
		perEvent(b, b.N*batch)
	})
	// validate: the fast program with the captures the scrubber needs (the byte
	// path), one pass over each event's bytes.
	caps, ok := scrubber{r.scrubber}.Captures(r.compiled.Contract)
	if !ok {
		b.Fatal("the reference contract does not take the byte path")
	}
	b.Run("validate", func(b *testing.B) {
		startCPU(b)
		b.ReportAllocs()
		for b.Loop() {
			for i := range evs {
				spans, release := fv.ValidateSpans(r.compiled, evs[i].Data, caps)
				if spans == nil {
					b.Fatal("the reference event needs the decoded path")
				}
				release()
			}
		}
		perEvent(b, b.N*batch)
	})
	// scrub: on the bytes, the email tokenized (vault key cached), ip and user
	// agent obfuscated, spliced into a copy of the event.
	spans := make([]collect.Spans, batch)
	for i := range evs {
		var release func()
		if spans[i], release = fv.ValidateSpans(r.compiled, evs[i].Data, caps); spans[i] == nil {
			b.Fatal("the reference event needs the decoded path")
		}
		defer release()
	}
	stored := make([][]byte, batch)
	applied := make([][]event.Applied, batch)
	b.Run("scrub", func(b *testing.B) {
		startCPU(b)
		b.ReportAllocs()
		for b.Loop() {
			for i := range evs {
				out, ap, ok, err := scrubber{r.scrubber}.ScrubBytes(ctx, r.compiled.Contract, evs[i].Data, spans[i], nil, nil)
				if err != nil || !ok {
					b.Fatal(err, ok)
				}
				stored[i], applied[i] = out, ap
			}
		}
		perEvent(b, b.N*batch)
	})
	// envelope: the stored data wrapped in the envelope record, without
	// reflection (event.EncodeEnvelopeRaw).
	received := time.Now().UTC()
	records := make([][]byte, batch)
	b.Run("envelope", func(b *testing.B) {
		startCPU(b)
		b.ReportAllocs()
		for b.Loop() {
			for i := range stored {
				env := &event.Envelope{V: event.EnvelopeVersion, EventID: r.tmpl.EventID(3, uint64(i)), Schema: r.compiled.Key.URI(),
					ReceivedAt: received, EventTime: received, Data: stored[i], Scrubbed: applied[i],
					Source:     event.Source{Protocol: native.Protocol, Collector: "bench"},
					Validation: event.Validation{Outcome: "valid", Validator: "fast"}}
				var err error
				if records[i], err = event.EncodeEnvelopeRaw(env); err != nil {
					b.Fatal(err)
				}
			}
		}
		perEvent(b, b.N*batch)
	})
	// buffer: one durable Append of the batch's 100 records (one write, one fsync).
	// Every 1,000 appends (about 100 MB) the records are read and acknowledged
	// with the timer stopped and their CPU left out, so that a fast run does not
	// fill the buffer's 1 GiB; what reading costs belongs to the loader.
	b.Run("buffer", func(b *testing.B) {
		startCPU(b)
		n := 0
		for b.Loop() {
			if err := r.buf.Append(ctx, records); err != nil {
				b.Fatal(err)
			}
			if n++; n%1000 == 0 {
				b.StopTimer()
				before := processCPU(b)
				drainBuffer(ctx, b, r.buf, "lake")
				start, _ := cpuStarts.Load(b)
				cpuStarts.Store(b, start.(time.Duration)+processCPU(b)-before)
				b.StartTimer()
			}
		}
		perEvent(b, b.N*batch)
	})
	// http: answering (the per-event results as JSON) and reading the body, on
	// top of what a bare net/http server costs (BenchmarkServe in internal/app).
	results := make([]collect.Result, batch)
	for i := range results {
		results[i] = collect.Result{EventID: r.tmpl.EventID(1, uint64(i)), Schema: r.compiled.Key.URI(), Status: collect.StatusAccepted}
	}
	b.Run("http", func(b *testing.B) {
		bodies := collect.NewBodies(collect.DefaultLimits, nil)
		startCPU(b)
		b.ReportAllocs()
		for b.Loop() {
			req := httptest.NewRequest(http.MethodPost, "/v1/events", strings.NewReader(string(body)))
			got, err := bodies.Read(req)
			if err != nil {
				b.Fatal(err)
			}
			got.Release()
			collect.WriteResults(discardWriter{}, results)
		}
		perEvent(b, b.N*batch)
	})
	// loader: what delivering costs beside the collector, on the same cores: the
	// lake's loader takes the buffer records as they are read and writes them
	// into Parquet columns (zstd), one file of 1,000 events committed (fsync'd,
	// renamed) at a time.
	lk, err := lake.Open(filepath.Join(b.TempDir(), "lake"), r.reg, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("loader", func(b *testing.B) {
		startCPU(b)
		const perFile = 1000
		recs := make([][]byte, perFile)
		for i := range recs {
			env := &event.Envelope{V: event.EnvelopeVersion, EventID: r.tmpl.EventID(2, uint64(i)), Schema: r.compiled.Key.URI(),
				ReceivedAt: received, EventTime: received, Data: stored[i%batch], Scrubbed: applied[i%batch],
				Source:     event.Source{Protocol: native.Protocol, Collector: "bench"},
				Validation: event.Validation{Outcome: "valid", Validator: "fast"}}
			if recs[i], err = event.EncodeEnvelopeRaw(env); err != nil {
				b.Fatal(err)
			}
		}
		iter := 0
		b.ReportAllocs()
		for b.Loop() {
			iter++
			for _, rec := range recs { // fresh event ids, so that the lake's dedup keeps them
				copy(rec[len(`E{"v":1,"event_id":"`):], fmt.Sprintf("%08x", iter))
			}
			if _, err := lk.Append(ctx, recs); err != nil {
				b.Fatal(err)
			}
			if err := lk.Commit(ctx); err != nil {
				b.Fatal(err)
			}
		}
		perEvent(b, b.N*perFile)
	})
}

// drainBuffer reads and acknowledges everything the consumer has not read yet.
func drainBuffer(ctx context.Context, b *testing.B, buf buffer.Buffer, consumer string) {
	for {
		st, err := buf.Stats()
		if err != nil {
			b.Fatal(err)
		}
		if st.Records == 0 {
			return
		}
		batch, err := buf.Read(ctx, consumer, 4096)
		if err != nil {
			b.Fatal(err)
		}
		if err := buf.Ack(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
}

// discardWriter is an http.ResponseWriter that drops the answer.
type discardWriter struct{}

func (discardWriter) Header() http.Header         { return http.Header{} }
func (discardWriter) Write(p []byte) (int, error) { return io.Discard.Write(p) }
func (discardWriter) WriteHeader(int)             {}
