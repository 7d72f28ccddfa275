package snowplow

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/accord-dev/accord/internal/buffer"
	"github.com/accord-dev/accord/internal/collect"
	"github.com/accord-dev/accord/internal/contract"
	"github.com/accord-dev/accord/internal/event"
	"github.com/accord-dev/accord/internal/scrub"
	"github.com/accord-dev/accord/internal/vault"
)

// examples is the bundled registry, which holds the Snowplow built-in contracts.
const examples = "../../../examples/contracts"

// consumer is the buffer consumer the tests read records as.
const consumer = "test"

// snapshot serves one registry snapshot.
type snapshot struct{ s *contract.Snapshot }

func (s snapshot) Snapshot() *contract.Snapshot { return s.s }

// scrubber fits scrub.Scrubber to collect.Scrubber, as accord serve does.
type scrubber struct{ s *scrub.Scrubber }

func (a scrubber) Scrub(ctx context.Context, c *contract.Contract, data any) (any, []event.Applied, error) {
	applied, err := a.s.Scrub(ctx, c, data)
	if err != nil {
		return nil, nil, reasonError{err}
	}
	out := make([]event.Applied, len(applied))
	for i, ap := range applied {
		out[i] = event.Applied(ap)
	}
	return data, out, nil
}

func (a scrubber) Seal(ctx context.Context, c *contract.Contract, data any) (any, []string, []string) {
	sealed, redacted, err := a.s.Seal(ctx, c, data)
	if err != nil {
		return "<withheld>", nil, []string{""}
	}
	return data, sealed, redacted
}

type reasonError struct{ err error }

func (e reasonError) Error() string   { return e.err.Error() }
func (e reasonError) Unwrap() error   { return e.err }
func (e reasonError) Reason() string  { return scrub.ReasonOf(e.err) }
func (e reasonError) Retryable() bool { return scrub.ReasonOf(e.err) == scrub.ReasonTokenizeFailed }

// rig is a real collector: the bundled registry, the fast validator, the
// scrubber with an embedded vault, a disk buffer, and the Snowplow routes served
// on a loopback port.
type rig struct {
	url      string
	buf      *buffer.Disk
	pipeline *collect.Pipeline
}

type rigOptions struct {
	access      collect.Access
	paths       []string
	bufferBytes int64
	limits      *collect.Limits // collect.DefaultLimits when nil
}

func newRig(tb testing.TB, o rigOptions) *rig {
	tb.Helper()
	ctx := context.Background()
	snap, err := contract.LoadSnapshot(examples)
	if err != nil {
		tb.Fatal(err)
	}
	buf, err := buffer.Open(tb.TempDir(), buffer.Options{MaxBytes: o.bufferBytes, Consumers: []string{consumer}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := buf.Close(); err != nil {
			tb.Error(err)
		}
	})
	v, err := vault.Open(ctx, vault.Config{Store: vault.StoreEmbedded}, tb.TempDir(), nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := v.Close(); err != nil {
			tb.Error(err)
		}
	})
	s, err := scrub.New(scrub.Config{HashSecret: "snowplow-test-hash-secret-0123456789abcdef"}, scrub.Deps{Tokenizer: v})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Error(err)
		}
	})
	m, err := collect.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		tb.Fatal(err)
	}
	lim := collect.DefaultLimits
	if o.limits != nil {
		lim = *o.limits
	}
	p, err := collect.NewPipeline(collect.Deps{Contracts: snapshot{snap}, Validator: collect.NewFastValidator(), Scrubber: scrubber{s},
		Buffer: buf, Metrics: m, Instance: "test-collector", Limits: lim})
	if err != nil {
		tb.Fatal(err)
	}
	h, err := New(p, o.access, o.paths)
	if err != nil {
		tb.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Routes(mux)
	srv := httptest.NewServer(mux) // listens on 127.0.0.1
	tb.Cleanup(srv.Close)
	return &rig{url: srv.URL, buf: buf, pipeline: p}
}

// records reads and acknowledges every record appended so far.
func (r *rig) records(tb testing.TB) (envs []*event.Envelope, bad []*event.BadRow, raw []string) {
	tb.Helper()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		b, err := r.buf.Read(ctx, consumer, 1000)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			return envs, bad, raw
		}
		if err != nil {
			tb.Fatal(err)
		}
		for _, rec := range b.Records {
			e, br, err := event.DecodeRecord(rec)
			if err != nil {
				tb.Fatal(err)
			}
			raw = append(raw, string(rec))
			if e != nil {
				envs = append(envs, e)
			} else {
				bad = append(bad, br)
			}
		}
		if err := r.buf.Ack(context.Background(), b); err != nil {
			tb.Fatal(err)
		}
	}
}
