package collect_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
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
		Scrubber: scrubber{r.scrubber}, Buffer: buf, Metrics: m, Instance: "bench", Limits: collect.DefaultLimits})
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
	res, err := p.Process(context.Background(), native.Protocol, evs)
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

func (a scrubber) ScrubBytes(ctx context.Context, c *contract.Contract, data []byte, spans collect.Spans) ([]byte, []event.Applied, bool, error) {
	p, err := a.s.Plan(c)
	if err != nil {
		return nil, nil, false, nil
	}
	out, applied, err := p.ScrubBytes(ctx, nil, "", data, spans)
	switch {
	case errors.Is(err, scrub.ErrUseTree):
		return nil, nil, false, nil
	case err != nil:
		return nil, nil, true, err
	}
	return out, applied, true, nil
}

func (a scrubber) Redact(c *contract.Contract, data any) (any, []string) {
	redacted, err := a.s.Redact(c, data)
	if err != nil {
		return nil, nil
	}
	return data, redacted
}

// nullBuffer accepts every append at once: the pipeline's CPU cost without the
// buffer's write and fsync.
type nullBuffer struct{ buffer.Buffer }

func (nullBuffer) Append(context.Context, [][]byte) error { return nil }

// perEvent reports the per-event time of a batch benchmark in ns/event.
func perEvent(b *testing.B, events int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(events), "ns/event")
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
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
	b.Run("nobuffer/new_subject", func(b *testing.B) {
		fresh, err := loadtest.New([]byte(eventOf(r.tmpl)), 1<<40, "0000beef")
		if err != nil {
			b.Fatal(err)
		}
		var n uint64
		var body []byte
		events := 0
		for b.Loop() {
			body = fresh.AppendBody(body[:0], 1, 0, &n)
			k, err := process(nop, body)
			if err != nil {
				b.Fatal(err)
			}
			events += k
		}
		perEvent(b, events)
	})
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
		b.ReportAllocs()
		for b.Loop() {
			if _, err := native.Decode(body, collect.DefaultLimits); err != nil {
				b.Fatal(err)
			}
		}
		perEvent(b, b.N*batch)
	})
	// limits: the depth and string-length scan of each event's data.
	b.Run("limits", func(b *testing.B) {
		for b.Loop() {
			for i := range evs {
				if err := collect.DefaultLimits.CheckBody(evs[i].Data, 0); err != nil {
					b.Fatal(err)
				}
			}
		}
		perEvent(b, b.N*batch)
	})
	// validate is what the pipeline calls: the fast program's verdict, then the
	// decode into a tree for the scrubber; validate/fastval and validate/tree are
	// its two halves.
	b.Run("validate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for i := range evs {
				if _, f, err := fv.Validate(r.compiled, evs[i].Data); err != nil || len(f) > 0 {
					b.Fatal(err, f)
				}
			}
		}
		perEvent(b, b.N*batch)
	})
	b.Run("validate/tree", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for i := range evs {
				if _, err := contract.DecodeJSON(evs[i].Data); err != nil {
					b.Fatal(err)
				}
			}
		}
		perEvent(b, b.N*batch)
	})
	// scrub: the email tokenized (vault key cached), ip and user agent obfuscated.
	trees := make([]map[string]any, batch)
	for i := range evs {
		v, err := contract.DecodeJSON(evs[i].Data)
		if err != nil {
			b.Fatal(err)
		}
		trees[i] = v.(map[string]any)
	}
	pii := make([][3]any, batch)
	for i, t := range trees {
		pii[i] = [3]any{t["email"], t["ip"], t["user_agent"]}
	}
	restore := func() {
		for i, t := range trees {
			t["email"], t["ip"], t["user_agent"] = pii[i][0], pii[i][1], pii[i][2]
		}
	}
	b.Run("scrub", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			restore()
			for _, t := range trees {
				if _, err := r.scrubber.Scrub(ctx, r.compiled.Contract, t); err != nil {
					b.Fatal(err)
				}
			}
		}
		perEvent(b, b.N*batch)
	})
	// envelope: the scrubbed tree to JSON, wrapped in the envelope record.
	restore()
	applied := make([][]event.Applied, batch)
	for i, t := range trees {
		_, ap, err := scrubber{r.scrubber}.Scrub(ctx, r.compiled.Contract, t)
		if err != nil {
			b.Fatal(err)
		}
		applied[i] = ap
	}
	received := time.Now().UTC()
	records := make([][]byte, batch)
	b.Run("envelope", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for i, t := range trees {
				data, err := json.Marshal(t)
				if err != nil {
					b.Fatal(err)
				}
				env := &event.Envelope{V: event.EnvelopeVersion, EventID: event.NewID(), Schema: r.compiled.Key.URI(),
					ReceivedAt: received, EventTime: received, Data: data, Scrubbed: applied[i],
					Source:     event.Source{Protocol: native.Protocol, Collector: "bench"},
					Validation: event.Validation{Outcome: "valid", Validator: "fast"}}
				if records[i], err = event.EncodeEnvelope(env); err != nil {
					b.Fatal(err)
				}
			}
		}
		perEvent(b, b.N*batch)
	})
	// buffer: one durable Append of the batch's 100 records (one write, one fsync).
	b.Run("buffer", func(b *testing.B) {
		for b.Loop() {
			if err := r.buf.Append(ctx, records); err != nil {
				b.Fatal(err)
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
		b.ReportAllocs()
		for b.Loop() {
			req := httptest.NewRequest(http.MethodPost, "/v1/events", strings.NewReader(string(body)))
			if _, err := collect.ReadBody(req, collect.DefaultLimits.MaxBodyBytes); err != nil {
				b.Fatal(err)
			}
			collect.WriteResults(discardWriter{}, results)
		}
		perEvent(b, b.N*batch)
	})
	// loader: what delivering costs beside the collector, on the same cores:
	// decoding the buffer records and writing them to the lake (Parquet, zstd,
	// fsync'd), in batches of 100 (the lake's loader gathers up to 65,536).
	lk, err := lake.Open(filepath.Join(b.TempDir(), "lake"), r.reg, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("loader/decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, rec := range records {
				if _, _, err := event.DecodeRecord(rec); err != nil {
					b.Fatal(err)
				}
			}
		}
		perEvent(b, b.N*batch)
	})
	b.Run("loader/lake", func(b *testing.B) {
		const lakeBatch = 1000
		envs := make([]event.Envelope, lakeBatch)
		for i := range envs {
			e, _, err := event.DecodeRecord(records[i%batch])
			if err != nil {
				b.Fatal(err)
			}
			envs[i] = *e
		}
		var seq uint64
		for b.Loop() {
			for i := range envs {
				seq++
				envs[i].EventID = r.tmpl.EventID(2, seq)
			}
			if err := lk.WriteBatch(ctx, envs); err != nil {
				b.Fatal(err)
			}
		}
		perEvent(b, b.N*lakeBatch)
	})
}

// discardWriter is an http.ResponseWriter that drops the answer.
type discardWriter struct{}

func (discardWriter) Header() http.Header         { return http.Header{} }
func (discardWriter) Write(p []byte) (int, error) { return io.Discard.Write(p) }
func (discardWriter) WriteHeader(int)             {}
