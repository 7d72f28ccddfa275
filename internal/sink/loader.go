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
// answers 503 once it is full. A Sink that is also a Stream (the lake) gets the
// records undecoded as they are read, and the batches are acknowledged after
// the Stream's commit; a failed append or commit rewinds the consumer.
type Loader struct {
	Name    string // the buffer consumer and metric label
	Buffer  buffer.Buffer
	Sink    Sink    // set for envelope destinations
	BadRows BadRows // set for the dead-letter destination
	// MaxBatch caps the records of one read (default 500).
	MaxBatch int
	Metrics  *LoaderMetrics
	Log      *slog.Logger
	// MaxBackoff caps the wait between retries (default 30s).
	MaxBackoff time.Duration
	// Linger lets the loader gather more records, up to MaxBatch, for at most this
	// long after the first one before writing: sinks that write files (the lake)
	// get fewer, larger files. Zero writes whatever one read returned. For a
	// Stream, it is how long after the first appended record the loader commits.
	Linger time.Duration
	// MaxBytes is, for a Stream, how many bytes of records the loader appends
	// before it commits (default 16 MiB). It keeps none of them: after a failure
	// it reads them again from the buffer (Buffer.Rewind).
	MaxBytes int64
}

// Stream is a Sink that takes buffer records as they are read, without the
// loader decoding them, and makes them durable in its own units (files) when
// told to: the loader appends what it reads and commits once MaxBytes of
// records or Linger has passed, then acknowledges every batch it appended. One
// loader goroutine calls Append and Commit, never at once.
type Stream interface {
	Sink
	// Append takes the envelope records among records (bad rows are skipped) and
	// returns how many it took; they are not durable until Commit returns nil.
	// It keeps no reference to records once it returns: the loader's next read
	// may reuse their memory (buffer.Options.Transient).
	// After an error, everything appended since the last successful Commit is
	// discarded, and the loader appends it again.
	Append(ctx context.Context, records [][]byte) (int, error)
	// Commit makes every record appended since the last Commit durable. After an
	// error, what was not made durable is discarded, as for Append.
	Commit(ctx context.Context) error
}

// DrainIdle is how long a draining loader waits on an empty read before it
// takes the buffer as delivered: nothing is appended any more by then, so a
// read that finds nothing for this long has reached the end.
const DrainIdle = 100 * time.Millisecond

// Run delivers until drain ends, then delivers what the buffer still holds for
// it without lingering (a Stream's open files are committed as soon as the
// buffer has nothing more) and returns nil: the collector ends drain once it
// takes no more events, so that a clean stop leaves every acknowledged event in
// the sinks. ctx ending stops it at once at any point, leaving what it has not
// acknowledged in the buffer for the next start. Run returns an error only when
// the buffer holds a record it cannot decode or is corrupt, which needs an
// operator.
func (l *Loader) Run(ctx, drain context.Context) error {
	if l.MaxBatch <= 0 {
		l.MaxBatch = 500
	}
	if l.MaxBackoff <= 0 {
		l.MaxBackoff = 30 * time.Second
	}
	r := newReads(ctx, drain)
	defer r.stop()
	if s, ok := l.Sink.(Stream); ok && l.BadRows == nil {
		return l.stream(ctx, r, s)
	}
	for {
		batches, records, err := l.gather(ctx, r)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, buffer.ErrClosed) || r.caughtUp(err) {
				return nil
			}
			if r.drainStarted(err) {
				continue
			}
			return fmt.Errorf("reading the buffer for %s: %w", l.Name, err)
		}
		var envs []event.Envelope
		var bads []event.BadRow
		raw, isRaw := l.BadRows.(BadRowRecords)
		if isRaw {
			records = badRowRecords(records)
		} else if envs, bads, err = decode(records, l.BadRows != nil); err != nil {
			return fmt.Errorf("sink %s: %w", l.Name, err)
		}
		n := len(envs)
		write := func(ctx context.Context) error {
			if l.Sink != nil && len(envs) > 0 {
				return l.Sink.WriteBatch(ctx, envs)
			}
			return nil
		}
		switch {
		case isRaw:
			n = len(records)
			write = func(ctx context.Context) error {
				if len(records) > 0 {
					return raw.WriteBadRowRecords(ctx, records)
				}
				return nil
			}
		case l.BadRows != nil:
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
		if stop, err := l.ack(ctx, batches); stop {
			return err
		}
	}
}

// ack acknowledges delivered batches; stop says the loader must return err
// (nil when ctx ended or the buffer closed: the rest is delivered again).
func (l *Loader) ack(ctx context.Context, batches []buffer.Batch) (stop bool, err error) {
	for _, b := range batches {
		if err := l.Buffer.Ack(ctx, b); err != nil {
			if ctx.Err() != nil || errors.Is(err, buffer.ErrClosed) {
				return true, nil
			}
			return true, fmt.Errorf("acknowledging a batch for %s: %w", l.Name, err)
		}
	}
	return false, nil
}

// stream delivers to a Stream: the records of each batch read are appended at
// once and then dropped; the batches are acknowledged after the commit that makes
// them durable. When an append or a commit fails (the stream then discards what
// it had not committed), the loader rewinds its consumer and, after a backoff,
// reads those records again from the buffer: it keeps no copy of them.
func (l *Loader) stream(ctx context.Context, r *reads, s Stream) error {
	if l.MaxBytes <= 0 {
		l.MaxBytes = 16 << 20
	}
	var (
		pending  []buffer.Batch // appended, not committed; records dropped
		bytes    int64
		taken    int
		deadline time.Time
		backoff  = 100 * time.Millisecond
		attempt  int
	)
	// failed rewinds after a failed append or commit; stop says to return err.
	failed := func(what string, cause error) (stop bool, err error) {
		attempt++
		l.Metrics.errors.WithLabelValues(l.Name).Inc()
		if l.Log != nil {
			l.Log.Warn(what+" failed; reading the uncommitted records again from the buffer", "sink", l.Name, "attempt", attempt, "retry_in", backoff, "err", cause)
		}
		clear(pending)
		pending, bytes, taken = pending[:0], 0, 0
		if err := l.Buffer.Rewind(ctx, l.Name); err != nil {
			if ctx.Err() != nil || errors.Is(err, buffer.ErrClosed) {
				return true, nil
			}
			return true, fmt.Errorf("rewinding the buffer for %s: %w", l.Name, err)
		}
		select {
		case <-ctx.Done():
			return true, nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, l.MaxBackoff)
		return false, nil
	}
	for {
		var linger time.Time
		if len(pending) > 0 {
			linger = deadline
		}
		rctx, done := r.next(linger)
		b, err := l.Buffer.Read(rctx, l.Name, l.MaxBatch)
		done()
		caughtUp := false
		// A read that ended with its context (not ctx) ended a linger, started
		// the drain or, draining, found the buffer empty.
		switch {
		case err == nil:
			for _, rec := range b.Records {
				bytes += int64(len(rec))
			}
			n, err := s.Append(ctx, b.Records)
			b.Records = nil
			if err != nil {
				if stop, err := failed("appending to a sink", err); stop {
					return err
				}
				continue
			}
			if len(pending) == 0 {
				deadline = time.Now().Add(l.Linger)
			}
			pending = append(pending, b)
			taken += n
			// Draining, the loader appends until the buffer has nothing more.
			if bytes < l.MaxBytes && (r.draining || l.Linger > 0 && time.Now().Before(deadline)) {
				continue
			}
		case ctx.Err() != nil || errors.Is(err, buffer.ErrClosed):
			return nil // what was appended is not acknowledged: it is delivered again
		case !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded):
			return fmt.Errorf("reading the buffer for %s: %w", l.Name, err)
		case r.caughtUp(err):
			if len(pending) == 0 {
				return nil
			}
			caughtUp = true
		case r.drainStarted(err) && len(pending) == 0:
			continue
		}
		// Lingered long enough, enough bytes, or the buffer drained: commit.
		start := time.Now()
		err = s.Commit(ctx)
		l.Metrics.seconds.WithLabelValues(l.Name).Observe(time.Since(start).Seconds())
		if err != nil {
			if ctx.Err() != nil {
				return nil // not acknowledged: delivered again
			}
			if stop, err := failed("committing to a sink", err); stop {
				return err
			}
			continue
		}
		backoff, attempt = 100*time.Millisecond, 0
		l.Metrics.delivered.WithLabelValues(l.Name).Add(float64(taken))
		if stop, err := l.ack(ctx, pending); stop {
			return err
		}
		clear(pending)
		pending, bytes, taken = pending[:0], 0, 0
		if caughtUp {
			return nil
		}
	}
}

// reads gives a loader's buffer reads their context: until drain ends, one
// that ends with drain (a read waiting for records wakes up); after, one that
// ends DrainIdle after the read starts, so that an empty buffer ends the loader.
type reads struct {
	ctx, live context.Context
	stop      func() bool
	draining  bool
}

func newReads(ctx, drain context.Context) *reads {
	live, cancel := context.WithCancel(ctx)
	after := context.AfterFunc(drain, cancel)
	return &reads{ctx: ctx, live: live, stop: func() bool { cancel(); return after() }}
}

// next returns the context of the next read, ending at deadline when it is
// not zero (a Stream's linger; while draining the loader does not linger);
// done must be called once the read returns.
func (r *reads) next(deadline time.Time) (ctx context.Context, done context.CancelFunc) {
	if !r.draining && r.live.Err() != nil && r.ctx.Err() == nil {
		r.draining = true
	}
	switch {
	case r.draining:
		return context.WithTimeout(r.ctx, DrainIdle)
	case deadline.IsZero():
		return r.live, func() {}
	}
	return context.WithDeadline(r.live, deadline)
}

// drainStarted reports whether a read failed only because drain ended while it
// waited: the loader goes on, draining.
func (r *reads) drainStarted(err error) bool {
	return !r.draining && r.ctx.Err() == nil && r.live.Err() != nil && errors.Is(err, context.Canceled)
}

// caughtUp reports whether a read made while draining found nothing for
// DrainIdle: the buffer holds nothing more for the loader.
func (r *reads) caughtUp(err error) bool {
	return r.draining && r.ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded)
}

// gather reads one batch, blocking, then more while Linger and MaxBatch allow
// (while draining, only what is there).
func (l *Loader) gather(ctx context.Context, r *reads) ([]buffer.Batch, [][]byte, error) {
	rctx, done := r.next(time.Time{})
	first, err := l.Buffer.Read(rctx, l.Name, l.MaxBatch)
	done()
	if err != nil {
		return nil, nil, err
	}
	batches, records := []buffer.Batch{first}, first.Records
	if l.Linger <= 0 || r.draining {
		return batches, records, nil
	}
	lctx, cancel := context.WithTimeout(r.live, l.Linger)
	defer cancel()
	for len(records) < l.MaxBatch {
		b, err := l.Buffer.Read(lctx, l.Name, l.MaxBatch-len(records))
		if err != nil {
			if lctx.Err() != nil && ctx.Err() == nil {
				break // lingered long enough, or drain ended: deliver what was read
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

// badRowRecords returns the bad-row records of a batch (records may be a
// buffer batch's own slice: it is not changed).
func badRowRecords(records [][]byte) [][]byte {
	out := make([][]byte, 0, len(records))
	for _, rec := range records {
		if event.IsBadRowRecord(rec) {
			out = append(out, rec)
		}
	}
	return out
}

// decode decodes the records this loader delivers: the bad rows for the
// dead-letter destination, else the envelopes; the others are skipped undecoded.
func decode(records [][]byte, badRows bool) ([]event.Envelope, []event.BadRow, error) {
	var envs []event.Envelope
	var bads []event.BadRow
	for i, rec := range records {
		// nil: a record the buffer did not copy for this consumer (Options.Wants).
		if rec == nil || badRows && event.IsEnvelopeRecord(rec) || !badRows && event.IsBadRowRecord(rec) {
			continue
		}
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
