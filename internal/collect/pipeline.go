// Package collect turns incoming events into validated, scrubbed envelopes and bad
// rows, and acknowledges them only once they are durable. Each ingest protocol
// (native, snowplow, segment) lives in its own subpackage, decodes its requests
// into Incoming events and hands them to one Pipeline.
package collect

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/accord-dev/accord/internal/buffer"
	"github.com/accord-dev/accord/internal/contract"
	"github.com/accord-dev/accord/internal/contract/fastval"
	"github.com/accord-dev/accord/internal/event"
	"github.com/accord-dev/accord/internal/jsonscan"
)

// Incoming is one event as a protocol decoded it, before validation.
type Incoming struct {
	// Schema is the Iglu URI the producer named.
	Schema string
	// Data is the event's payload, a JSON object.
	Data json.RawMessage
	// Contexts are the entities attached to the event.
	Contexts []event.Entity
	// EventID is the producer's event id, if it sent one.
	EventID                                string
	SentAt, DeviceCreatedAt, TrueTimestamp *time.Time
	App, Platform, Tracker                 string
	// Reject, when set, rejects the event before validation: the protocol could
	// not decode it.
	Reject *Rejection
	// RawText is the event as received when it could not be decoded (it is
	// not JSON, or not of its protocol's shape), for the bad row.
	RawText string
	// RawInner are texts that RawText holds encoded (a Snowplow event's ue_pr
	// and co, and what its ue_px and cx decode to), for the bad row to find
	// the contracts they name: RawText is not kept when it or one of them
	// names a contract with personal data.
	RawInner []string
	// Named are schema references that the request around an event that
	// could not be decoded names (SchemaRefs of the whole body, for a line of
	// a body read as NDJSON, which may be a fragment of a broken JSON
	// document): RawText is not kept when one names a contract with personal
	// data either.
	Named []string
	// LimitsChecked says that the decoder has checked Data and the contexts'
	// data against the depth and string limits (they were cut from a body that
	// Limits.CheckBody found covers them): the pipeline does not scan them again.
	LimitsChecked bool
	// Received, when set, is when the collector first received the event (a
	// replayed bad row's): the envelope keeps it instead of the request's time.
	Received time.Time
	// SealAll, with Reject, keeps the event's values sealed in its bad row
	// under a data subject its protocol knows, though no contract says which
	// of them are personal (a Segment message whose event name no contract
	// declares): see SealScope. Without it, the bad row of an event that
	// names no contract keeps Data as it is.
	SealAll *SealScope
}

// SealScope says how the bad row of an event that names no contract keeps its
// data: every value at or inside the members of Data at the pointers Under is
// sealed under Controller and Subject (redacted when it cannot be), the rest
// is kept as it is. Data must be a JSON object, and the event has no contexts.
type SealScope struct {
	Controller, Subject string
	Under               []string
}

// AllSealer is a Scrubber that can seal the values of an event that names no
// contract (Incoming.SealAll), in place, in a decoded JSON object.
type AllSealer interface {
	SealAll(ctx context.Context, controller, subject string, data any, under []string) (sealed, redacted []string)
}

// Rejection is why an event cannot be accepted.
type Rejection struct {
	Reason   event.Reason
	Failures []event.Failure
}

// Result is the collector's answer for one event.
type Result struct {
	EventID  string          `json:"event_id,omitempty"`
	Schema   string          `json:"schema,omitempty"`
	Status   string          `json:"status"`
	Reason   event.Reason    `json:"reason,omitempty"`
	Failures []event.Failure `json:"failures,omitempty"`
	Warnings []string        `json:"warnings,omitempty"`
}

// Accepted reports whether the event was accepted.
func (r Result) Accepted() bool { return r.Status == StatusAccepted }

// Result statuses.
const (
	StatusAccepted = "accepted"
	StatusRejected = "rejected"
)

// Contracts gives the current registry snapshot; the registry swaps it on reload.
type Contracts interface {
	Snapshot() *contract.Snapshot
}

// Scrubber handles the personal data of an entity as its contract says.
type Scrubber interface {
	// Scrub returns data in its stored shape (it may rewrite data in place) and
	// what was applied to it. An error carries a fixed reason (see ReasonOf) and
	// never a PII value; an error that is Retryable (the vault is unavailable)
	// refuses the request with 503 instead of dead-lettering the event.
	Scrub(ctx context.Context, c *contract.Contract, data any) (any, []event.Applied, error)
	// Seal returns data with every PII field replaced, for bad rows: by its
	// value sealed under the event's data subject (so that the event can be
	// replayed, see package replay) where it can, else by a placeholder; and the
	// pointers it sealed and those it redacted. It may rewrite data in place, and
	// never fails.
	Seal(ctx context.Context, c *contract.Contract, data any) (out any, sealed, redacted []string)
}

// SpanScrubber is a Scrubber that can also scrub an entity on its bytes: the
// collector's hot path for valid events, which are then never decoded into a
// tree nor encoded again. Both methods are called concurrently.
type SpanScrubber interface {
	Scrubber
	// Captures returns the JSON pointers ("*" for every array item) whose spans
	// ScrubBytes reads for contract c, and false when c's entities must take the
	// decoded path (Scrub). It returns the same slice for one contract version;
	// callers must not modify it.
	Captures(c *contract.Contract) ([]string, bool)
	// ScrubBytes returns data, which is valid against c, in its stored shape as
	// JSON, and what was applied: the same as Scrub on the decoded data.
	// spans.Capture(i) holds the spans of Captures(c)[i]. ok is false when this
	// entity must take the decoded path after all (see scrub.ErrUseTree); errors
	// are Scrub's. The output is data itself when nothing changed, else it is
	// written at the start of into (grown as needed), a buffer the caller reuses
	// once the output is encoded; applied is appended to dst likewise.
	ScrubBytes(ctx context.Context, c *contract.Contract, data []byte, spans Spans, into []byte, dst []event.Applied) (out []byte, applied []event.Applied, ok bool, err error)
}

// ByteSealer is a Scrubber that can also seal a bad row's entity on its bytes,
// without decoding it: Seal's answer, appended to dst as compact JSON. ok is
// false (and nothing appended) when it cannot; Seal answers then.
type ByteSealer interface {
	SealBytes(ctx context.Context, c *contract.Contract, dst, data []byte) (out []byte, sealed, redacted []string, ok bool)
}

// Spans are the byte spans a validator captured in an entity's data
// (*fastval.Result implements it).
type Spans interface {
	Capture(i int) []fastval.Span
	RepeatedKeys() bool
	// HasWhitespace reports whitespace between tokens: the stored bytes are
	// compacted then.
	HasWhitespace() bool
}

// Validator checks an entity's JSON bytes against its compiled contract and
// returns the decoded value for the next stages.
type Validator interface {
	Name() string
	Validate(c *contract.Compiled, data []byte) (any, []contract.Failure, error)
}

// ReferenceValidator decodes with santhosh-tekuri/jsonschema and validates the tree.
type ReferenceValidator struct{}

// Name is "reference".
func (ReferenceValidator) Name() string { return "reference" }

// Validate decodes data and checks it.
func (ReferenceValidator) Validate(c *contract.Compiled, data []byte) (any, []contract.Failure, error) {
	v, err := contract.DecodeJSON(data)
	if err != nil {
		return nil, nil, err
	}
	return v, c.Validate(v), nil
}

// Pipeline validates, scrubs, envelopes and durably buffers events. It is safe for
// concurrent use by every protocol handler.
type Pipeline struct {
	contracts Contracts
	validator Validator
	scrubber  Scrubber
	// spanScrubber is scrubber when it can scrub bytes (the byte path), else nil.
	spanScrubber SpanScrubber
	buf          buffer.Buffer
	metrics      *Metrics
	log          *slog.Logger
	instance     string
	limits       Limits
	now          func() time.Time
	storeWrites  func() uint64
	bodies       *Bodies
	// folded indexes the families of the snapshot it names by lower-case
	// vendor and name, for the family lookup (see family); built on first
	// use after each reload.
	folded atomic.Pointer[foldedFamilies]
}

// Deps are what a Pipeline needs.
type Deps struct {
	Contracts Contracts
	Validator Validator
	Scrubber  Scrubber
	Buffer    buffer.Buffer
	Metrics   *Metrics
	Log       *slog.Logger
	// Instance names this collector in envelopes.
	Instance string
	Limits   Limits
	// StoreWrites, when set, counts the writes tokenizations asked of the
	// vault's durable store (vault.Vault.StoreWrites). Process watches it to
	// spread a request over workers when its buyers are new (see maxWorkers).
	StoreWrites func() uint64
}

// NewPipeline builds a pipeline; Contracts, Buffer, Scrubber and Metrics are required.
func NewPipeline(d Deps) (*Pipeline, error) {
	var errs []error
	if d.Contracts == nil {
		errs = append(errs, errors.New("collect: no contracts"))
	}
	if d.Buffer == nil {
		errs = append(errs, errors.New("collect: no buffer"))
	}
	if d.Scrubber == nil {
		errs = append(errs, errors.New("collect: no scrubber"))
	}
	if d.Metrics == nil {
		errs = append(errs, errors.New("collect: no metrics"))
	}
	if err := d.Limits.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if d.Validator == nil {
		d.Validator = ReferenceValidator{}
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	ss, _ := d.Scrubber.(SpanScrubber)
	return &Pipeline{contracts: d.Contracts, validator: d.Validator, scrubber: d.Scrubber, spanScrubber: ss, buf: d.Buffer,
		metrics: d.Metrics, log: d.Log, instance: d.Instance, limits: d.Limits, now: time.Now, storeWrites: d.StoreWrites,
		bodies: NewBodies(d.Limits, d.Metrics)}, nil
}

// ReadBody reads a request's body within the limits on bodies (see Bodies);
// the caller gives it back with Body.Release.
func (p *Pipeline) ReadBody(r *http.Request) (*Body, error) { return p.bodies.Read(r) }

// Limits returns the pipeline's limits, for protocol decoders.
func (p *Pipeline) Limits() Limits { return p.limits }

// Snapshot returns the registry snapshot in use now, for protocols that resolve
// contracts themselves (Segment calls name an event, not a schema). It may be nil
// before the registry has loaded.
func (p *Pipeline) Snapshot() *contract.Snapshot { return p.contracts.Snapshot() }

// Process validates and scrubs every event, appends the accepted envelopes and the
// bad rows to the buffer in one durable append, and returns one result per event.
// It returns a *RequestError when nothing could be stored (buffer full, I/O error):
// then no event is acknowledged and the producer should retry.
//
// release, when not nil, is called once, as soon as Process no longer reads evs
// (their bytes are in the records then, and the results hold copies): before the
// wait for the append to be durable, or before Process returns early. The
// caller gives back there what evs point into (the request body, pooled
// events), so that the requests waiting for an fsync, most of them under load,
// hold only their records (see docs/performance.md, "Sixth pass").
func (p *Pipeline) Process(ctx context.Context, protocol string, evs []Incoming, release func()) ([]Result, error) {
	return p.process(ctx, protocol, evs, release, modeCollect)
}

// Reprocess is Process for events that were rejected before and are in bad rows
// already (a replay, see package replay): an event accepted now is stored as an
// envelope; one rejected again gets its result but no new bad row. With dryRun
// nothing is stored. Neither counts in the collector's metrics.
func (p *Pipeline) Reprocess(ctx context.Context, protocol string, evs []Incoming, dryRun bool) ([]Result, error) {
	if dryRun {
		return p.process(ctx, protocol, evs, nil, modeDryRun)
	}
	return p.process(ctx, protocol, evs, nil, modeReplay)
}

// Modes of process.
const (
	modeCollect = iota // store envelopes and bad rows, count them
	modeReplay         // store envelopes only
	modeDryRun         // store nothing
)

func (p *Pipeline) process(ctx context.Context, protocol string, evs []Incoming, release func(), mode int) ([]Result, error) {
	// done calls release once: before the durable wait, or on the way out.
	done := func() {
		if release != nil {
			release()
			release = nil
		}
	}
	defer done()
	received := p.now().UTC()
	snap := p.contracts.Snapshot()
	results := make([]Result, len(evs))
	// The envelopes are written one after the other into pooled buffers:
	// Append copies them, and nothing else keeps them.
	bufs := workBufsPool.Get().(*workBufs)
	outs := bufs.outcomes(len(evs))
	var spreadBufs []*workBufs // the workers' when the request was spread
	defer func() {
		bufs.release()
		for _, b := range spreadBufs {
			b.release()
		}
	}()
	var failure *vaultFailure
	i := 0
	for i < len(evs) {
		var writes uint64
		if p.storeWrites != nil {
			writes = p.storeWrites()
		}
		if failure = p.oneAt(ctx, snap, protocol, received, evs, i, results, outs, bufs); failure != nil {
			break
		}
		i++
		if p.storeWrites != nil && p.storeWrites() != writes {
			// A buyer new to the vault: spread the rest (see maxWorkers). The
			// workers' buffers hold their records until Append has copied them.
			spreadBufs, failure = p.spread(ctx, snap, protocol, received, evs, i, results, outs)
			break
		}
	}
	if failure != nil {
		p.log.Warn("refusing a request: the vault is unavailable", "schema", failure.schema, "err", failure.err)
		return nil, &RequestError{Status: http.StatusServiceUnavailable, Reason: "vault_unavailable",
			Msg: "personal data could not be tokenized right now; retry after the Retry-After delay"}
	}
	records := bufs.records[:0]
	for i, o := range outs {
		if o.rec != nil && (mode == modeCollect || results[i].Accepted()) {
			records = append(records, o.rec)
		}
	}
	bufs.records = records
	done()
	if mode == modeDryRun || (mode == modeReplay && len(records) == 0) {
		return results, nil
	}
	start := time.Now()
	if err := p.buf.Append(ctx, records); err != nil {
		p.metrics.bufferErrors.Inc()
		var tooBig *buffer.RecordTooLargeError
		switch {
		case errors.Is(err, buffer.ErrFull):
			return nil, &RequestError{Status: http.StatusServiceUnavailable, Reason: "buffer_full",
				Msg: "the collector's buffer is full while sinks catch up; retry after the Retry-After delay"}
		case errors.As(err, &tooBig):
			// Within the body limit, an event grew past a record once
			// enveloped (scrubbed fields, sealed values): say so, not that
			// the body was too large.
			return nil, &RequestError{Status: http.StatusRequestEntityTooLarge, Reason: event.ReasonPayloadTooLarge,
				Msg: fmt.Sprintf("an event of the request takes %d bytes once stored (enveloped, its personal data scrubbed or sealed), more than the %d bytes the buffer stores as one record; send it smaller, or raise buffer.segment_bytes (a record must fit in one segment)", tooBig.Size, tooBig.Max)}
		case errors.Is(err, buffer.ErrTooLarge):
			return nil, tooLarge(p.limits.MaxBodyBytes)
		case ctx.Err() != nil:
			return nil, &RequestError{Status: http.StatusServiceUnavailable, Reason: "cancelled", Msg: "the request ended before its events were stored; retry"}
		default:
			p.log.Error("appending to the buffer failed", "err", err, "events", len(records))
			return nil, &RequestError{Status: http.StatusServiceUnavailable, Reason: "buffer_error", Msg: "the collector could not store the events; retry"}
		}
	}
	if mode == modeCollect {
		p.metrics.ackSeconds.Observe(time.Since(start).Seconds())
		p.countEvents(protocol, results, outs)
	}
	return results, nil
}

// countEvents adds a request's events to accord_collector_events_total, one
// Add per run of events with the same labels (a batch is mostly one run), so
// that the labels are looked up once per run rather than once per event.
func (p *Pipeline) countEvents(protocol string, results []Result, outs []outcome) {
	for i := 0; i < len(results); {
		r, schema := results[i], outs[i].schema
		j := i + 1
		for j < len(results) && outs[j].schema == schema && results[j].Status == r.Status && results[j].Reason == r.Reason {
			j++
		}
		p.metrics.events.WithLabelValues(protocol, schema, r.Status, string(r.Reason)).Add(float64(j - i))
		i = j
	}
}

// outcome is what Process keeps of one event besides its Result: its record,
// and the contract label of its metric.
type outcome struct {
	rec    []byte
	schema string
}

// oneAt processes evs[i] into results[i] and outs[i], or returns the vault
// failure that stops the request.
func (p *Pipeline) oneAt(ctx context.Context, snap *contract.Snapshot, protocol string, received time.Time, evs []Incoming, i int, results []Result, outs []outcome, bufs *workBufs) *vaultFailure {
	rec, res, schemaLabel, err := p.one(ctx, snap, protocol, received, &evs[i], bufs)
	if err != nil {
		return &vaultFailure{schema: schemaLabel, err: err}
	}
	results[i], outs[i] = res, outcome{rec: rec, schema: schemaLabel}
	return nil
}

// spread processes evs[from:] on up to maxWorkers goroutines, each with its
// own buffers, which it returns for the caller to release once the records in
// them are no longer needed, with the first vault failure, if any.
func (p *Pipeline) spread(ctx context.Context, snap *contract.Snapshot, protocol string, received time.Time, evs []Incoming, from int, results []Result, outs []outcome) ([]*workBufs, *vaultFailure) {
	rest := len(evs) - from
	if rest == 0 {
		return nil, nil
	}
	workers := requestWorkers(rest)
	if workers > 1 {
		p.metrics.spread.Inc()
	}
	bufs := make([]*workBufs, workers)
	for w := range bufs {
		bufs[w] = workBufsPool.Get().(*workBufs)
	}
	var (
		failed atomic.Pointer[vaultFailure]
		wg     sync.WaitGroup
	)
	// Worker w takes a contiguous share, so that workers do not write to the same
	// cache lines of results and outs.
	work := func(w int) {
		for j := from + w*rest/workers; j < from+(w+1)*rest/workers && failed.Load() == nil; j++ {
			if f := p.oneAt(ctx, snap, protocol, received, evs, j, results, outs, bufs[w]); f != nil {
				failed.CompareAndSwap(nil, f)
				return
			}
		}
	}
	for w := 1; w < workers; w++ {
		spreadHelpers.goWith(&wg, func() { work(w) })
	}
	work(0)
	wg.Wait()
	return bufs, failed.Load()
}

// vaultFailure is the error that stops a request's workers (see Process).
type vaultFailure struct {
	schema string
	err    error
}

// maxWorkers: a request's events are processed one after the other until one
// of them had to write to the vault's durable store (Deps.StoreWrites grew): a
// buyer never seen before, whose key is created with a commit (an fsync). A
// key read again after its cache entry expired does not count: spreading does
// not make reads cheaper. The
// rest of the request is then spread, an event per worker up to maxWorkers
// (spreadHelpers), so that the other new buyers ask for their keys at the same
// time and the store creates them in one or two commits instead of one each.
// With four events per worker and at most 16 workers, a request of 100 new
// buyers took 92-98 µs of CPU per event and 8,900-9,300 events/s, against
// 77-81 µs and 13,800-14,500 events/s now
// (BenchmarkPipeline/nobuffer/new_subjects_batch100, one request at a time;
// concurrent requests already shared commits). The warm path is not spread: on
// two cores that cost 40% more CPU per event (BenchmarkPipeline/nobuffer/batch100).
const (
	eventsPerWorker = 1
	maxWorkers      = 100
)

func requestWorkers(events int) int {
	return max(1, min(maxWorkers, events/eventsPerWorker))
}

// workBufs are one worker's buffers for a request (see Process): arena holds
// the envelopes it encoded, one after the other; scrubbed holds the scrubbed
// data of the event being processed, until its envelope is encoded, and
// compact that data without its spaces when it had some; env is that
// event's envelope until it is encoded (the encoders take a pointer, so a
// fresh one would be a heap allocation per event), and applied the storage of
// its list of what was scrubbed.
type workBufs struct {
	arena []byte
	scrubBufs
	env event.Envelope
	// outs and records are the request's (Process's bufs only): each event's
	// outcome, and the records handed to the buffer.
	outs    []outcome
	records [][]byte
}

// scrubBufs are where scrubData writes: scrubbed holds its output, and compact
// that output without its spaces when it had some, until the envelope is
// encoded; applied is the storage of its list of what was scrubbed (the
// envelope's Scrubbed). A zero scrubBufs allocates what it needs.
type scrubBufs struct {
	scrubbed, compact []byte
	applied           []event.Applied
}

// outcomes returns n zero outcomes in w's storage.
func (w *workBufs) outcomes(n int) []outcome {
	if cap(w.outs) < n {
		w.outs = make([]outcome, n)
	}
	w.outs = w.outs[:n]
	return w.outs
}

var workBufsPool = sync.Pool{New: func() any { return new(workBufs) }}

// maxPooledBuf bounds the buffers kept for reuse: one that grew past it (a
// request of large events) is left to the GC.
const maxPooledBuf = 4 << 20

// maxPooledOutcomes bounds likewise the outcomes and records kept: those of a
// request of more events are left to the GC.
const maxPooledOutcomes = 4096

func (w *workBufs) release() {
	if cap(w.arena) > maxPooledBuf {
		w.arena = nil
	}
	if cap(w.scrubbed) > maxPooledBuf {
		w.scrubbed = nil
	}
	if cap(w.compact) > maxPooledBuf {
		w.compact = nil
	}
	w.arena, w.scrubbed, w.compact = w.arena[:0], w.scrubbed[:0], w.compact[:0]
	w.env = event.Envelope{} // nothing of a request's events outlives it
	clear(w.applied[:cap(w.applied)])
	w.applied = w.applied[:0]
	if cap(w.outs) > maxPooledOutcomes {
		w.outs, w.records = nil, nil
	}
	clear(w.outs[:cap(w.outs)])
	clear(w.records[:cap(w.records)])
	w.outs, w.records = w.outs[:0], w.records[:0]
	workBufsPool.Put(w)
}

// one turns one incoming event into its buffer record and result. A valid
// event's record is appended to bufs.arena.
func (p *Pipeline) one(ctx context.Context, snap *contract.Snapshot, protocol string, received time.Time, in *Incoming, bufs *workBufs) ([]byte, Result, string, error) {
	if !in.Received.IsZero() {
		received = in.Received
	}
	src := event.Source{Protocol: protocol, App: in.App, Platform: in.Platform, Collector: p.instance, Tracker: in.Tracker}
	bad := func(c *contract.Compiled, reason event.Reason, failures []event.Failure, eventID string) ([]byte, Result, string, error) {
		if eventID == "" {
			// Every answer and bad row names its event, as an envelope would:
			// rejected before validation found the data's event_id, it is
			// looked up here, else one is assigned.
			if eventID = dataEventID(in.Data); eventID == "" {
				eventID = event.NewID()
			}
		}
		label := "unknown"
		if c != nil {
			label = c.URI()
		}
		row := p.badRow(ctx, snap, c, in, src, received, reason, failures, eventID)
		start := len(bufs.arena)
		var rec []byte
		var err error
		if bufs.arena, err = event.AppendBadRowRaw(bufs.arena, row); err != nil {
			p.log.Error("encoding a bad row failed", "err", err, "schema", label)
		} else {
			rec = bufs.arena[start:len(bufs.arena):len(bufs.arena)]
		}
		return rec, Result{EventID: eventID, Schema: in.Schema, Status: StatusRejected, Reason: reason, Failures: failures}, label, nil
	}
	if in.Reject != nil {
		var c *contract.Compiled
		if key, err := contract.ParseURI(in.Schema); err == nil {
			c, _ = snap.Get(key)
		}
		return bad(c, in.Reject.Reason, in.Reject.Failures, in.EventID)
	}
	c, rej := p.resolve(snap, in.Schema, "")
	if rej != nil {
		return bad(c, rej.Reason, rej.Failures, in.EventID)
	}
	var warnings []string
	if w := deprecation(c, received); w != "" {
		warnings = append(warnings, w)
	}
	if !in.LimitsChecked {
		if err := p.limits.scanLimits(in.Data); err != nil {
			return bad(c, event.ReasonLimitExceeded, []event.Failure{{Message: err.Error()}}, in.EventID)
		}
	}
	if f, invalid := utf8Failure(in.Data, ""); invalid {
		return bad(c, event.ReasonInvalidUTF8, []event.Failure{f}, in.EventID)
	}
	// The byte path: a valid event is validated with the spans the scrubber
	// needs, and scrubbed on its bytes; it is never decoded.
	spans, eventIDCap, fv := p.validateBytes(c, in.Data)
	if spans != nil {
		defer fv.release(spans)
	}
	var data any
	eventID := in.EventID
	if spans != nil {
		if eventID == "" {
			eventID = capturedString(in.Data, spans.Capture(eventIDCap))
		}
	} else {
		var failures []contract.Failure
		var err error
		data, failures, err = p.validator.Validate(c, in.Data)
		if err != nil {
			// Said as for every body (the decoder's words are its own).
			return bad(c, event.ReasonMalformedJSON, []event.Failure{{Message: "data is not valid JSON: " + NotJSON(in.Data)}}, in.EventID)
		}
		if eventID == "" {
			if m, ok := data.(map[string]any); ok {
				eventID, _ = m["event_id"].(string)
			}
		}
		if len(failures) > 0 {
			if eventID == "" {
				eventID = event.NewID()
			}
			return bad(c, event.ReasonSchemaViolation, toEventFailures(failures, ""), eventID)
		}
	}
	if eventID == "" {
		eventID = event.NewID()
	}
	// Entities take the byte path too when they can; the others are decoded.
	type ctxEntity struct {
		c     *contract.Compiled
		raw   []byte
		data  any             // decoded, off the byte path
		spans *fastval.Result // on the byte path
	}
	entities := make([]ctxEntity, 0, len(in.Contexts))
	var ctxFailures []event.Failure
	ctxReason := event.ReasonContextViolation
	for _, ent := range in.Contexts {
		cc, rej := p.resolve(snap, ent.Schema, ent.Schema)
		if rej != nil {
			ctxFailures = append(ctxFailures, rej.Failures...)
			if rej.Reason == event.ReasonContractRetired {
				ctxReason = rej.Reason
			}
			continue
		}
		if w := deprecation(cc, received); w != "" {
			warnings = append(warnings, w)
		}
		if !in.LimitsChecked {
			if err := p.limits.scanLimits(ent.Data); err != nil {
				ctxFailures = append(ctxFailures, event.Failure{Entity: ent.Schema, Message: err.Error()})
				continue
			}
		}
		if f, invalid := utf8Failure(ent.Data, ent.Schema); invalid {
			ctxFailures = append(ctxFailures, f)
			if ctxReason == event.ReasonContextViolation {
				ctxReason = event.ReasonInvalidUTF8
			}
			continue
		}
		if res, _, fv := p.validateBytes(cc, ent.Data); res != nil {
			defer fv.release(res)
			entities = append(entities, ctxEntity{c: cc, raw: ent.Data, spans: res})
			continue
		}
		v, f, err := p.validator.Validate(cc, ent.Data)
		if err != nil {
			ctxFailures = append(ctxFailures, event.Failure{Entity: ent.Schema, Message: "context data is not valid JSON: " + NotJSON(ent.Data)})
			continue
		}
		ctxFailures = append(ctxFailures, toEventFailures(f, ent.Schema)...)
		entities = append(entities, ctxEntity{c: cc, raw: ent.Data, data: v})
	}
	if len(ctxFailures) > 0 {
		return bad(c, ctxReason, ctxFailures, eventID)
	}

	bufs.env = event.Envelope{
		V: event.EnvelopeVersion, EventID: eventID, Schema: c.URI(), ReceivedAt: received,
		SentAt: in.SentAt, DeviceCreatedAt: in.DeviceCreatedAt, TrueTimestamp: in.TrueTimestamp,
		EventTime:  event.DerivedTime(received, in.SentAt, in.DeviceCreatedAt, in.TrueTimestamp),
		Source:     src,
		Validation: event.Validation{Outcome: "valid", Validator: p.validator.Name()},
	}
	env := &bufs.env
	var captured Spans // nil unless validated on the byte path (not a nil *fastval.Result)
	if spans != nil {
		captured = spans
	}
	stored, applied, onBytes, err := p.scrubData(ctx, c, in.Data, data, captured, &bufs.scrubBufs)
	if err != nil {
		if retryable(err) {
			return nil, Result{}, c.URI(), err
		}
		if errors.Is(err, errEncoding) {
			return bad(c, event.ReasonScrubFailed, []event.Failure{{Message: "encoding the scrubbed event failed"}}, eventID)
		}
		return bad(c, ReasonOf(err), []event.Failure{{Message: err.Error()}}, eventID)
	}
	env.Data, env.Scrubbed = stored, applied
	for _, ent := range entities {
		var entSpans Spans
		if ent.spans != nil {
			entSpans = ent.spans
		}
		var eb scrubBufs // the entity's stored data must outlive the next one's
		stored, applied, _, err := p.scrubData(ctx, ent.c, ent.raw, ent.data, entSpans, &eb)
		if err != nil {
			if retryable(err) {
				return nil, Result{}, c.URI(), err
			}
			if errors.Is(err, errEncoding) {
				return bad(c, event.ReasonScrubFailed, []event.Failure{{Entity: ent.c.URI(), Message: "encoding the scrubbed context failed"}}, eventID)
			}
			f := event.Failure{Entity: ent.c.URI(), Message: err.Error()}
			return bad(c, ReasonOf(err), []event.Failure{f}, eventID)
		}
		for i := range applied {
			applied[i].Entity = ent.c.URI()
		}
		env.Scrubbed = append(env.Scrubbed, applied...)
		env.Contexts = append(env.Contexts, event.Entity{Schema: ent.c.URI(), Data: stored})
	}
	var rec []byte
	if onBytes {
		// Data and contexts are compact JSON (the validated bytes with scrubbed
		// values spliced in, encoder output): embedded without another scan. The
		// decoded path keeps the reference encoder, as it was.
		start := len(bufs.arena)
		if bufs.arena, err = event.AppendEnvelopeRaw(bufs.arena, env); err == nil {
			rec = bufs.arena[start:len(bufs.arena):len(bufs.arena)]
		}
	} else {
		rec, err = event.EncodeEnvelope(env)
	}
	if cap(env.Scrubbed) > cap(bufs.applied) {
		bufs.applied = env.Scrubbed[:0] // grown by the contexts': reuse that
	}
	if err != nil {
		return bad(c, event.ReasonScrubFailed, []event.Failure{{Message: "encoding the envelope failed"}}, eventID)
	}
	return rec, Result{EventID: eventID, Schema: env.Schema, Status: StatusAccepted, Warnings: warnings}, env.Schema, nil
}

// utf8Failure is the failure of data (an event's, or the context entity's)
// that is not valid UTF-8: decoded, its invalid bytes would read as U+FFFD,
// changing the value the producer sent without a word, so the event is
// rejected (invalid_utf8) and its bad row keeps the data with U+FFFD in their
// place, for a replay that accepts the replacement.
func utf8Failure(data []byte, entity string) (event.Failure, bool) {
	e, invalid := jsonscan.FindInvalidUTF8(data)
	if !invalid {
		return event.Failure{}, false
	}
	return event.Failure{Entity: entity, Pointer: e.Pointer, Message: e.Message()}, true
}

// errEncoding marks a scrubbed event that could not be encoded as JSON.
var errEncoding = errors.New("encoding the scrubbed event failed")

// validateBytes validates data against c on the byte path: with the spans
// the scrubber reads for c and /event_id captured (eventIDCap is the capture
// index of /event_id), to give back to fv with release. It returns a nil
// result when data must take the decoded path: it is invalid, or c or its
// scrubbing is outside the byte path.
func (p *Pipeline) validateBytes(c *contract.Compiled, data []byte) (res *fastval.Result, eventIDCap int, fv *FastValidator) {
	fv, ok := p.validator.(*FastValidator)
	if !ok || p.spanScrubber == nil {
		return nil, 0, nil
	}
	caps, ok := p.spanScrubber.Captures(c.Contract)
	if !ok {
		return nil, 0, nil
	}
	res, eventIDCap = fv.validateSpans(c, data, caps)
	return res, eventIDCap, fv
}

// scrubData returns an event's (or an entity's) data in its stored shape: on
// its bytes when it was validated with spans and the scrubber can (onBytes; the
// data is then compact JSON), else decoded (data is the decoded event, or nil
// to decode raw now), scrubbed and encoded. It writes into bufs.
func (p *Pipeline) scrubData(ctx context.Context, c *contract.Compiled, raw []byte, data any, spans Spans, bufs *scrubBufs) (stored json.RawMessage, applied []event.Applied, onBytes bool, err error) {
	if spans != nil {
		out, applied, ok, err := p.spanScrubber.ScrubBytes(ctx, c.Contract, raw, spans, bufs.scrubbed[:0], bufs.applied[:0])
		if err != nil {
			return nil, nil, false, err
		}
		if ok {
			if len(out) > 0 && len(raw) > 0 && &out[0] != &raw[0] {
				bufs.scrubbed = out[:0] // written into it (and maybe grown): reuse it for the next event
			}
			if spans.HasWhitespace() {
				// The envelope embeds data as is, so it must be compact. Most
				// producers send compact JSON; Python's json.dumps (Segment's and
				// RudderStack's Python libraries) puts a space after every ':'
				// and ','. out is valid JSON: the validated bytes with scrubbed
				// values spliced in.
				bufs.compact = jsonscan.AppendCompact(bufs.compact[:0], out)
				out = bufs.compact
			}
			return out, applied, true, nil
		}
	}
	if data == nil {
		if data, err = contract.DecodeJSON(raw); err != nil {
			// Cannot happen: the event was validated.
			return nil, nil, false, fmt.Errorf("%w: %w", errEncoding, err)
		}
	}
	scrubbed, applied, err := p.scrubber.Scrub(ctx, c.Contract, data)
	if err != nil {
		return nil, nil, false, err
	}
	js, err := json.Marshal(scrubbed)
	if err != nil {
		return nil, nil, false, fmt.Errorf("%w: %w", errEncoding, err)
	}
	return js, applied, false, nil
}

// capturedString returns the string at the first span, as the decoded event
// would hold it, or "" when there is none or it is not a string.
func capturedString(data []byte, spans []fastval.Span) string {
	if len(spans) == 0 {
		return ""
	}
	b := data[spans[0].Start:spans[0].End]
	if len(b) < 2 || b[0] != '"' {
		return ""
	}
	if body := b[1 : len(b)-1]; bytes.IndexByte(body, '\\') < 0 && utf8.Valid(body) {
		return string(body)
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return ""
	}
	return s
}

// retryable reports whether a stage failed for a passing reason (a vault outage),
// so the producer should retry rather than the event be dead-lettered.
func retryable(err error) bool {
	var r interface{ Retryable() bool }
	return errors.As(err, &r) && r.Retryable()
}

// resolve finds the compiled contract an entity names. entity is "" for the
// event itself and the context's URI otherwise, for the failure's Entity field.
func (p *Pipeline) resolve(snap *contract.Snapshot, uri, entity string) (*contract.Compiled, *Rejection) {
	key, err := contract.ParseURI(uri)
	if err != nil {
		// What is wrong with the URI, then the family it seems to name.
		msg := err.Error() + p.familyHint(snap, uri)
		return nil, &Rejection{Reason: event.ReasonSchemaURIInvalid, Failures: []event.Failure{{Entity: entity, Pointer: "", Message: msg}}}
	}
	c, ok := snap.Get(key)
	if !ok {
		msg := fmt.Sprintf("no contract %s in the registry", key)
		if vs := snap.Versions(key.Family()); len(vs) > 0 {
			msg += fmt.Sprintf("; known versions: %s", versionList(vs))
		} else {
			msg += p.familyHint(snap, uri)
		}
		return nil, &Rejection{Reason: event.ReasonSchemaNotFound, Failures: []event.Failure{{Entity: entity, Message: msg}}}
	}
	if c.Lifecycle.Status == contract.StatusRetired {
		msg := fmt.Sprintf("contract %s is retired and accepts no events", key)
		if c.Lifecycle.ReplacedBy != "" {
			msg += "; send " + c.Lifecycle.ReplacedBy + " instead"
		}
		return c, &Rejection{Reason: event.ReasonContractRetired, Failures: []event.Failure{{Entity: entity, Message: msg}}}
	}
	return c, nil
}

// deprecation is the warning an event of a deprecated contract gets, received
// at now: its sunset date (the last day it is meant to take events) still to
// come, or passed.
func deprecation(c *contract.Compiled, now time.Time) string {
	if c.Lifecycle.Status != contract.StatusDeprecated {
		return ""
	}
	msg := fmt.Sprintf("contract %s is deprecated", c.Key)
	if s := c.Lifecycle.Sunset; s != "" {
		// The contract loader checked the date.
		if day, err := time.Parse(time.DateOnly, s); err == nil && !now.UTC().Before(day.AddDate(0, 0, 1)) {
			msg += "; its sunset date " + s + " has passed: it may be retired, and its events refused, at any time"
		} else {
			msg += " and will be retired after " + s
		}
	}
	if c.Lifecycle.ReplacedBy != "" {
		msg += "; move to " + c.Lifecycle.ReplacedBy
	}
	return msg
}

// dataEventID is the "event_id" string member of data, when data is a JSON
// object that has one (a rejected event's, read without its contract).
func dataEventID(data []byte) string {
	i := jsonscan.Space(data, 0)
	if i >= len(data) || data[i] != '{' {
		return ""
	}
	id := ""
	_, _ = jsonscan.Members(data, i, func(key []byte, plain bool, s, end int) error {
		if plain && string(key) == "event_id" && data[s] == '"' && id == "" {
			id = jsonscan.Unquote(data[s:end])
		}
		return nil
	}, 0)
	if len(id) > maxRejectedID || !utf8.ValidString(id) {
		return "" // not an id worth keeping: the caller assigns one
	}
	return id
}

// maxRejectedID bounds the event_id a rejected event's data gives its answer
// and bad row: the data may have been rejected for its size.
const maxRejectedID = 256

// familyHint names the family of the registry that uri, which the registry
// does not hold, seems to name (see family), and its versions; "" when it
// names none.
func (p *Pipeline) familyHint(snap *contract.Snapshot, uri string) string {
	vs := p.family(snap, uri)
	if len(vs) == 0 {
		return ""
	}
	newest := vs[len(vs)-1]
	return fmt.Sprintf("; the registry has %s/%s in versions %s (the newest is %s)", newest.Key.Vendor, newest.Key.Name, versionList(vs), newest.URI())
}

func versionList(vs []*contract.Compiled) string {
	s := ""
	for i, v := range vs {
		if i > 0 {
			s += ", "
		}
		s += v.Key.Version.String()
	}
	return s
}

func toEventFailures(fs []contract.Failure, entity string) []event.Failure {
	out := make([]event.Failure, len(fs))
	for i, f := range fs {
		out[i] = event.Failure{Pointer: f.Pointer, Keyword: f.Keyword, KeywordLocation: f.KeywordLocation, Message: f.Message, Entity: entity}
	}
	return out
}

// badRow builds the bad row of a rejected event, sealing (else redacting) every
// field its contract marks as PII.
func (p *Pipeline) badRow(ctx context.Context, snap *contract.Snapshot, c *contract.Compiled, in *Incoming, src event.Source, received time.Time, reason event.Reason, failures []event.Failure, eventID string) *event.BadRow {
	row := &event.BadRow{V: event.EnvelopeVersion, ID: event.NewID(), ReceivedAt: received, Reason: reason,
		Schema: in.Schema, EventID: eventID, Source: src, Failures: failures,
		SentAt: in.SentAt, DeviceCreatedAt: in.DeviceCreatedAt, TrueTimestamp: in.TrueTimestamp}
	if row.Failures == nil {
		row.Failures = []event.Failure{}
	}
	if in.Data == nil {
		if rc := p.personalIn(snap, c, in); rc != nil {
			// Text that could not be decoded cannot be redacted field by
			// field: keep none of it.
			what := "could not be decoded"
			if reason == event.ReasonMalformedJSON {
				what = "is not valid JSON"
			}
			row.PayloadWithheld = fmt.Sprintf("the event %s and names %s, which has personal-data fields; its %d bytes are not kept", what, rc.Key, len(in.RawText))
			return row
		}
		row.PayloadText = in.RawText
		if len(row.PayloadText) > event.MaxBadPayloadText {
			row.PayloadText = row.PayloadText[:event.MaxBadPayloadText]
		}
		return row
	}
	if in.SealAll != nil {
		return p.sealAllRow(ctx, row, in)
	}
	// Data that is not JSON cannot be sealed field by field: with personal data
	// in its contract, keep none of it.
	rc := p.redactionContract(snap, c, in.Schema)
	if replacesPII(rc) && !isJSON(in.Data) {
		row.PayloadWithheld = fmt.Sprintf("the event's data is not valid JSON and %s has personal-data fields; its %d bytes are not kept", rc.Key, len(in.Data))
		return row
	}
	ctxContracts := make([]*contract.Compiled, len(in.Contexts))
	for i, ent := range in.Contexts {
		ctxContracts[i] = p.redactionContract(snap, nil, ent.Schema)
		if replacesPII(ctxContracts[i]) && !isJSON(ent.Data) {
			row.PayloadWithheld = fmt.Sprintf("a context's data is not valid JSON and %s has personal-data fields; the event is not kept", ctxContracts[i].Key)
			return row
		}
	}
	// The payload is {"schema":…,"data":…,"contexts":[…]}, written as compact
	// JSON for event.AppendBadRowRaw to embed.
	payload := append(make([]byte, 0, len(in.Data)+64), `{"schema":`...)
	payload = event.AppendString(payload, in.Schema)
	payload = append(payload, `,"data":`...)
	var sealed, redacted []string
	var ok bool
	if payload, sealed, redacted, ok = p.appendSealed(ctx, payload, rc, in.Data); !ok {
		return row
	}
	for _, s := range sealed {
		row.Sealed = append(row.Sealed, "/data"+s)
	}
	row.Redacted = redacted
	if len(in.Contexts) > 0 {
		payload = append(payload, `,"contexts":[`...)
		for i, ent := range in.Contexts {
			if i > 0 {
				payload = append(payload, ',')
			}
			payload = append(payload, `{"schema":`...)
			payload = event.AppendString(payload, ent.Schema)
			payload = append(payload, `,"data":`...)
			if payload, sealed, redacted, ok = p.appendSealed(ctx, payload, ctxContracts[i], ent.Data); !ok {
				row.Sealed, row.Redacted = nil, nil
				return row
			}
			for _, s := range sealed {
				row.Sealed = append(row.Sealed, "/contexts/"+strconv.Itoa(i)+"/data"+s)
			}
			for _, r := range redacted {
				row.Redacted = append(row.Redacted, ent.Schema+"#"+r)
			}
			payload = append(payload, '}')
		}
		payload = append(payload, ']')
	}
	row.Payload = append(payload, '}')
	return row
}

// sealAllRow fills the payload of row, the bad row of in, with in's data
// sealed as in.SealAll says; when it cannot be, the payload is withheld.
func (p *Pipeline) sealAllRow(ctx context.Context, row *event.BadRow, in *Incoming) *event.BadRow {
	as, ok := p.scrubber.(AllSealer)
	v, err := contract.DecodeJSON(in.Data)
	doc, isObject := v.(map[string]any)
	if !ok || err != nil || !isObject || len(in.Contexts) > 0 {
		row.PayloadWithheld = "the event names no contract and its values could not be sealed, so they are not kept"
		return row
	}
	sealed, redacted := as.SealAll(ctx, in.SealAll.Controller, in.SealAll.Subject, doc, in.SealAll.Under)
	js, err := json.Marshal(struct {
		Schema string `json:"schema"`
		Data   any    `json:"data"`
	}{in.Schema, doc})
	if err != nil {
		row.PayloadWithheld = "the event names no contract and its values could not be encoded once sealed, so they are not kept"
		return row
	}
	row.Payload = js
	for _, s := range sealed {
		row.Sealed = append(row.Sealed, "/data"+s)
	}
	row.Redacted = redacted
	return row
}

// appendSealed appends raw, sealed (else redacted) with c's PII annotations
// (see seal), to dst as compact JSON. When c marks nothing to replace, raw's own
// bytes are appended, compacted, if they are JSON in valid UTF-8, instead of
// being decoded and encoded again. (Only then: with personal data in the
// contract, a member repeated with null last would leave a value that the
// decoded tree does not see.)
func (p *Pipeline) appendSealed(ctx context.Context, dst []byte, c *contract.Compiled, raw json.RawMessage) (out []byte, sealed, redacted []string, ok bool) {
	if !replacesPII(c) && utf8.Valid(raw) {
		if _, _, err := jsonscan.Document(raw); err == nil {
			return jsonscan.AppendCompact(dst, raw), nil, nil, true
		}
	}
	if bs, isBS := p.scrubber.(ByteSealer); isBS && c != nil {
		if out, sealed, redacted, ok := bs.SealBytes(ctx, c.Contract, dst, raw); ok {
			return out, sealed, redacted, true
		}
	}
	data, sealed, redacted := p.seal(ctx, c, raw)
	js, err := json.Marshal(data)
	if err != nil {
		return dst, nil, nil, false
	}
	return append(dst, js...), sealed, redacted, true
}

// personalIn returns a contract with personal data that in, an event that
// could not be decoded, names (c, else its schema, else any schema member in
// its text or in the texts its text holds encoded), or nil when it names
// none.
func (p *Pipeline) personalIn(snap *contract.Snapshot, c *contract.Compiled, in *Incoming) *contract.Compiled {
	personal := func(rc *contract.Compiled) bool { return rc != nil && len(rc.PII()) > 0 }
	if rc := p.redactionContract(snap, c, in.Schema); personal(rc) {
		return rc
	}
	var found *contract.Compiled
	seen := map[string]bool{in.Schema: true}
	look := func(ref string) bool {
		if !seen[ref] {
			seen[ref] = true
			if rc := p.redactionContract(snap, nil, ref); personal(rc) {
				found = rc
			}
		}
		return found == nil
	}
	for i := -1; i < len(in.RawInner) && found == nil; i++ {
		text := in.RawText
		if i >= 0 {
			text = in.RawInner[i]
		}
		schemasIn(text, look)
	}
	for _, ref := range in.Named {
		if !look(ref) {
			break
		}
	}
	return found
}

// maxNamed bounds the distinct references SchemaRefs returns.
const maxNamed = 64

// SchemaRefs returns the distinct values of the "schema" members of text, a
// request body that could not be read whole, read as schemasIn reads an
// event (at most maxNamed of them, in order): for Incoming.Named.
func SchemaRefs(text []byte) []string {
	var refs []string
	schemasIn(string(text), func(ref string) bool {
		if !slices.Contains(refs, ref) {
			refs = append(refs, ref)
		}
		return len(refs) < maxNamed
	})
	return refs
}

// maxSchemaRef bounds the strings schemasIn takes for schema references: a
// longer one is none.
const maxSchemaRef = 1024

// schemasIn calls yield with the value of every "schema" member in text, an
// event that could not be decoded (JSON cut short or broken, or not of its
// protocol's shape), until yield returns false. It reads as far as it can:
// strings are told apart from what is around them (so that a "schema" inside
// a string value is not one), member names are matched without regard to
// case (as Snowplow's wrappers are read), escapes are undone, and a string
// cut short ends the reading.
func schemasIn(text string, yield func(string) bool) {
	for i := 0; ; {
		q := strings.IndexByte(text[i:], '"')
		if q < 0 {
			return
		}
		start := i + q
		end := quoteEnd(text, start)
		if end < 0 {
			return
		}
		i = end
		j := skipSpace(text, end)
		if j >= len(text) || text[j] != ':' {
			continue
		}
		if j = skipSpace(text, j+1); j >= len(text) || text[j] != '"' || end-start > 64 || !strings.EqualFold(unquoteLoose(text[start:end]), "schema") {
			continue
		}
		vend := quoteEnd(text, j)
		if vend < 0 {
			return
		}
		i = vend
		if vend-j <= maxSchemaRef+2 && !yield(unquoteLoose(text[j:vend])) {
			return
		}
	}
}

// quoteEnd returns the end of the JSON string whose opening quote is at
// s[i]: past its closing quote, or -1 when it has none.
func quoteEnd(s string, i int) int {
	for j := i + 1; j < len(s); j += 2 {
		k := strings.IndexAny(s[j:], `"\`)
		if k < 0 {
			return -1
		}
		if j += k; s[j] == '"' {
			return j + 1
		}
		// A backslash: the next byte is escaped (j += 2).
	}
	return -1
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// unquoteLoose returns the content of tok, a string with its quotes as
// quoteEnd found it: decoded as JSON when it is valid JSON, else with each
// backslash dropped and the byte after it kept.
func unquoteLoose(tok string) string {
	content := tok[1 : len(tok)-1]
	if strings.IndexByte(content, '\\') < 0 {
		return content
	}
	b := []byte(tok)
	if end, _, err := jsonscan.String(b, 0); err == nil && end == len(b) {
		return string(jsonscan.AppendUnquoted(nil, b[1:len(b)-1]))
	}
	out := make([]byte, 0, len(content))
	for i := 0; i < len(content); i++ {
		if content[i] == '\\' && i+1 < len(content) {
			i++
		}
		out = append(out, content[i])
	}
	return string(out)
}

// redactionContract picks the contract whose PII annotations redact a bad
// row: c, the one the event named, else the one uri names, else the newest
// version of the family that uri names or seems to name (see family), so
// that a producer sending a wrong version, or a URI that is not one but
// plainly names a family, does not put personal data into bad rows in plain
// text.
func (p *Pipeline) redactionContract(snap *contract.Snapshot, c *contract.Compiled, uri string) *contract.Compiled {
	if c != nil {
		return c
	}
	if key, err := contract.ParseURI(uri); err == nil {
		if c, ok := snap.Get(key); ok {
			return c
		}
	}
	if vs := p.family(snap, uri); len(vs) > 0 {
		return vs[len(vs)-1]
	}
	return nil
}

// family is the family lookup: the versions, oldest first, of the family of
// the registry that the reference uri names or seems to name, nil when it
// names none. uri is read leniently (contract.LooseFamilies); the first
// candidate the registry holds counts, its vendor and name as written or
// else in any case.
func (p *Pipeline) family(snap *contract.Snapshot, uri string) []*contract.Compiled {
	folded := p.foldedOf(snap)
	for f := range contract.LooseFamilies(uri) {
		if vs := snap.Versions(f); len(vs) > 0 {
			return vs
		}
		if ff, ok := folded.fams[foldFamily(f)]; ok {
			return snap.Versions(ff)
		}
	}
	// Last, the family whose vendor and name, letters and digits only, the
	// URI's letters and digits hold (the longest, if several): a zero-width
	// or full-width character, a percent-escape, "sign-up" for "signup", or
	// ":" and "." for "/" still name it.
	if sk := skeleton(uri); sk != "" {
		for _, fs := range folded.skels {
			if strings.Contains(sk, fs.skel) {
				return snap.Versions(fs.f)
			}
		}
	}
	return nil
}

// foldedFamilies indexes the families of snap by lower-case vendor and name,
// and by their skeletons (see skeleton), longest first. Of families whose
// names differ only in case, the index keeps one whose newest version has
// personal data, if one has: a bad row's lookup must not miss personal data
// for the case of a letter.
type foldedFamilies struct {
	snap  *contract.Snapshot
	fams  map[contract.Family]contract.Family
	skels []skeletonFamily
}

type skeletonFamily struct {
	skel string
	f    contract.Family
}

// minSkeleton is the shortest family skeleton the last lookup matches within
// a URI: shorter ones would be found in URIs that do not name them.
const minSkeleton = 6

// skeleton is s read as a reader of it would: percent-escapes undone, in
// Unicode compatibility form (full-width letters become ASCII), lower case,
// letters and digits only (zero-width and other invisible characters,
// punctuation and separators left out).
func skeleton(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		s = u
	}
	s = norm.NFKC.String(s)
	var b strings.Builder
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

func foldFamily(f contract.Family) contract.Family {
	return contract.Family{Vendor: strings.ToLower(f.Vendor), Name: strings.ToLower(f.Name), Format: f.Format}
}

// foldedOf returns the index of snap's families, built once per snapshot.
func (p *Pipeline) foldedOf(snap *contract.Snapshot) *foldedFamilies {
	if ff := p.folded.Load(); ff != nil && ff.snap == snap {
		return ff
	}
	ff := &foldedFamilies{snap: snap, fams: map[contract.Family]contract.Family{}}
	for _, f := range snap.Families() {
		k := foldFamily(f)
		if prev, ok := ff.fams[k]; !ok || !replacesPII(newestOf(snap, prev)) && replacesPII(newestOf(snap, f)) {
			ff.fams[k] = f
		}
		if sk := skeleton(f.Vendor + f.Name); len(sk) >= minSkeleton {
			ff.skels = append(ff.skels, skeletonFamily{sk, f})
		}
	}
	// Longest first; of equal skeletons, one with personal data first.
	slices.SortStableFunc(ff.skels, func(a, b skeletonFamily) int {
		if d := len(b.skel) - len(a.skel); d != 0 {
			return d
		}
		pa, pb := replacesPII(newestOf(snap, a.f)), replacesPII(newestOf(snap, b.f))
		switch {
		case pa && !pb:
			return -1
		case pb && !pa:
			return 1
		}
		return strings.Compare(a.skel, b.skel)
	})
	p.folded.Store(ff)
	return ff
}

func newestOf(snap *contract.Snapshot, f contract.Family) *contract.Compiled {
	vs := snap.Versions(f)
	if len(vs) == 0 {
		return nil
	}
	return vs[len(vs)-1]
}

func isJSON(raw []byte) bool {
	_, _, err := jsonscan.Document(raw)
	return err == nil
}

// replacesPII reports whether a bad row of contract c has fields to seal or
// redact: personal data whose handling is not keep.
func replacesPII(c *contract.Compiled) bool {
	if c == nil {
		return false
	}
	for _, f := range c.Fields {
		if f.PII != nil && f.PII.Handling != contract.HandlingKeep {
			return true
		}
	}
	return false
}

// seal decodes raw and seals (else redacts) it with c's PII annotations. Without a
// contract nothing is known to be PII and the value is kept; when raw is not
// JSON it is kept as a string only if short.
func (p *Pipeline) seal(ctx context.Context, c *contract.Compiled, raw json.RawMessage) (any, []string, []string) {
	v, err := contract.DecodeJSON(raw)
	if err != nil {
		s := string(raw)
		if len(s) > event.MaxBadPayloadText {
			s = s[:event.MaxBadPayloadText]
		}
		return s, nil, nil
	}
	if c == nil {
		return v, nil, nil
	}
	return p.scrubber.Seal(ctx, c.Contract, v)
}

// ReasonOf returns the fixed reason an error carries, or scrub_failed.
func ReasonOf(err error) event.Reason {
	var r interface{ Reason() string }
	if errors.As(err, &r) {
		return event.Reason(r.Reason())
	}
	return event.ReasonScrubFailed
}
