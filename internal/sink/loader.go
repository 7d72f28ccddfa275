package sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/accord-dev/accord/internal/buffer"
	"github.com/accord-dev/accord/internal/event"
)

// LoaderMetrics are the delivery series, labelled by sink name.
type LoaderMetrics struct {
	delivered *prometheus.CounterVec
	errors    *prometheus.CounterVec
	seconds   *prometheus.HistogramVec
}

// NewLoaderMetrics registers the delivery series on reg.
func NewLoaderMetrics(reg prometheus.Registerer) (*LoaderMetrics, error) {
	m := &LoaderMetrics{
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "accord_sink_records_total", Help: "Records delivered to a sink (envelopes or bad rows)."}, []string{"sink"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "accord_sink_errors_total", Help: "Failed batch writes to a sink; the batch is retried, never dropped."}, []string{"sink"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "accord_sink_batch_duration_seconds", Help: "Time to write one batch to a sink.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 9)}, []string{"sink"}),
	}
	for _, c := range []prometheus.Collector{m.delivered, m.errors, m.seconds} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Loader moves records from one buffer consumer into one destination: it reads a
// batch, decodes it, writes the envelopes (or the bad rows) it is responsible for,
// retries a failed write with capped exponential backoff until it succeeds or the
// loader stops, and acknowledges the batch only after the write succeeded. A batch
// is never dropped: while a sink is down the buffer fills, and the collector
// answers 503 once it is full.
type Loader struct {
	Name     string // the buffer consumer and metric label
	Buffer   buffer.Buffer
	Sink     Sink    // set for envelope destinations
	BadRows  BadRows // set for the dead-letter destination
	MaxBatch int
	Metrics  *LoaderMetrics
	Log      *slog.Logger
	// MaxBackoff caps the wait between retries (default 30s).
	MaxBackoff time.Duration
	// Linger lets the loader gather more records, up to MaxBatch, for at most this
	// long after the first one before writing: sinks that write files (the lake)
	// get fewer, larger files. Zero writes whatever one read returned.
	Linger time.Duration
}

// Run delivers until ctx ends, then returns nil; it returns an error only when the
// buffer holds a record it cannot decode or is corrupt, which needs an operator.
func (l *Loader) Run(ctx context.Context) error {
	if l.MaxBatch <= 0 {
		l.MaxBatch = 500
	}
	if l.MaxBackoff <= 0 {
		l.MaxBackoff = 30 * time.Second
	}
	for {
		batches, records, err := l.gather(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, buffer.ErrClosed) {
				return nil
			}
			return fmt.Errorf("reading the buffer for %s: %w", l.Name, err)
		}
		envs, bads, err := decode(records)
		if err != nil {
			return fmt.Errorf("sink %s: %w", l.Name, err)
		}
		n := len(envs)
		write := func(ctx context.Context) error {
			if l.Sink != nil && len(envs) > 0 {
				return l.Sink.WriteBatch(ctx, envs)
			}
			return nil
		}
		if l.BadRows != nil {
			n = len(bads)
			write = func(ctx context.Context) error {
				if len(bads) > 0 {
					return l.BadRows.WriteBadRows(ctx, bads)
				}
				return nil
			}
		}
		if err := l.retry(ctx, write); err != nil {
			return nil // ctx ended; the batches stay unacknowledged and are redelivered
		}
		l.Metrics.delivered.WithLabelValues(l.Name).Add(float64(n))
		for _, b := range batches {
			if err := l.Buffer.Ack(ctx, b); err != nil {
				if ctx.Err() != nil || errors.Is(err, buffer.ErrClosed) {
					return nil
				}
				return fmt.Errorf("acknowledging a batch for %s: %w", l.Name, err)
			}
		}
	}
}

// gather reads one batch, blocking, then more while Linger and MaxBatch allow.
func (l *Loader) gather(ctx context.Context) ([]buffer.Batch, [][]byte, error) {
	first, err := l.Buffer.Read(ctx, l.Name, l.MaxBatch)
	if err != nil {
		return nil, nil, err
	}
	batches, records := []buffer.Batch{first}, first.Records
	if l.Linger <= 0 {
		return batches, records, nil
	}
	lctx, cancel := context.WithTimeout(ctx, l.Linger)
	defer cancel()
	for len(records) < l.MaxBatch {
		b, err := l.Buffer.Read(lctx, l.Name, l.MaxBatch-len(records))
		if err != nil {
			if lctx.Err() != nil && ctx.Err() == nil {
				break // lingered long enough
			}
			return nil, nil, err
		}
		batches = append(batches, b)
		records = append(records, b.Records...)
	}
	return batches, records, nil
}

func (l *Loader) retry(ctx context.Context, write func(context.Context) error) error {
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		start := time.Now()
		err := write(ctx)
		l.Metrics.seconds.WithLabelValues(l.Name).Observe(time.Since(start).Seconds())
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		l.Metrics.errors.WithLabelValues(l.Name).Inc()
		if l.Log != nil {
			l.Log.Warn("writing a batch failed; retrying", "sink", l.Name, "attempt", attempt, "retry_in", backoff, "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, l.MaxBackoff)
	}
}

func decode(records [][]byte) ([]event.Envelope, []event.BadRow, error) {
	var envs []event.Envelope
	var bads []event.BadRow
	for i, rec := range records {
		e, b, err := event.DecodeRecord(rec)
		if err != nil {
			return nil, nil, fmt.Errorf("record %d of the batch: %w", i, err)
		}
		if e != nil {
			envs = append(envs, *e)
		} else {
			bads = append(bads, *b)
		}
	}
	return envs, bads, nil
}
