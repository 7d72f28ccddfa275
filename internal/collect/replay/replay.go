// Package replay sends bad rows back through the collector once what rejected
// them is fixed: a contract published or corrected, a limit raised, a retired
// contract restored. Each row's sealed personal data is unsealed (the vault
// audits it), its event is processed again as it was received (its event id,
// times and source kept; optionally as another schema version) and, when
// accepted, stored like any other event and delivered to every sink, which
// deduplicate on the event id. A ledger remembers the rows that were stored, so
// that a row is replayed once; a row rejected again stays a bad row, with
// nothing new written. docs/replay.md is the user's guide.
package replay

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/accord-dev/accord/internal/collect"
	"github.com/accord-dev/accord/internal/contract"
	"github.com/accord-dev/accord/internal/event"
	"github.com/accord-dev/accord/internal/sink"
	"github.com/accord-dev/accord/internal/vault"
)

// Processor runs replayed events through the collector (*collect.Pipeline).
type Processor interface {
	Reprocess(ctx context.Context, protocol string, evs []collect.Incoming, dryRun bool) ([]collect.Result, error)
}

// Unsealer opens the sealed values of bad rows (*vault.Vault).
type Unsealer interface {
	Unseal(ctx context.Context, actor string, sealed []string) ([]vault.Detokenized, error)
}

// KeyChecker says which sealed values' keys the vault still holds, opening
// none (*vault.Vault): a summary asks it where a replay would unseal.
type KeyChecker interface {
	CheckSealed(ctx context.Context, sealed []string) ([]error, error)
}

// Deps are what a Replayer works with.
type Deps struct {
	// BadDir is the bad-row folder (sink.BadFiles): <BadDir>/date=YYYY-MM-DD/*.ndjson.
	BadDir string
	// LedgerDir keeps the ledger of replayed rows: <LedgerDir>/date=YYYY-MM-DD.ndjson,
	// one per day of bad rows, deleted with that day's bad rows (Expire).
	LedgerDir string
	// Retention is bad_rows.retention (sink.DefaultBadRowRetention when 0): a
	// day past it is neither replayed nor summarised, even before its folder
	// is deleted (sink.BadDayExpired).
	Retention time.Duration
	Pipeline  Processor
	Unsealer  Unsealer
	// Keys tells a summary which rows' subjects were forgotten (Summarize);
	// nil: the summary says it did not ask.
	Keys KeyChecker
	// Resolvers map protocols to how their rows that name no schema are
	// replayed: rows that keep what the protocol resolves a contract from (a
	// Segment message whose name no contract declared, kept whole and
	// sealed). The resolver gets the row's data, unsealed, and what the row
	// keeps besides, and returns the event to process, or why the row cannot
	// be replayed.
	Resolvers map[string]Resolver
	Log       *slog.Logger
	// Metrics registers accord_replay_rows_total when set.
	Metrics prometheus.Registerer
	// Budget bounds the time of one Run (10 s when 0): a replay of many rows is
	// several runs, each resuming where the last stopped (Report.Next).
	Budget time.Duration
	Now    func() time.Time
}

// Resolver turns the data of a bad row that names no schema into the event
// to process; see Deps.Resolvers.
type Resolver func(data json.RawMessage, row collect.Incoming) (collect.Incoming, string)

// Request says which bad rows to replay, and how.
type Request struct {
	// From and To bound the days of the rows (YYYY-MM-DD, both included; the
	// day the collector received the event, in UTC). Empty: every day kept.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Reasons keeps rows rejected for one of these reasons (empty: any).
	Reasons []event.Reason `json:"reasons,omitempty"`
	// Schemas keeps rows whose schema is one of these URIs, or starts with one
	// followed by "/" (iglu:com.acme/checkout matches every version of it).
	Schemas []string `json:"schemas,omitempty"`
	// IDs keeps the rows with these bad-row ids (the "id" of a bad row).
	IDs []string `json:"ids,omitempty"`
	// As replays events and contexts that name a schema (a key) as another
	// schema (its value): the fix is often a new version of the contract. A
	// key is the schema exactly as the bad row holds it, which need not be a
	// valid URI (a schema_uri_invalid row names what the producer sent); a
	// value must be one.
	As map[string]string `json:"as,omitempty"`
	// Limit bounds the rows this run considers (DefaultLimit when 0, at most
	// MaxLimit).
	Limit int `json:"limit,omitempty"`
	// After resumes a replay where an earlier run stopped (its Report.Next).
	After string `json:"after,omitempty"`
	// DryRun validates and reports, and stores nothing.
	DryRun bool `json:"dry_run,omitempty"`
}

// Limits of a run.
const (
	DefaultLimit = 10_000
	MaxLimit     = 100_000
	// MaxOutcomes bounds the rows a report lists one by one.
	MaxOutcomes = 1000
	// chunk is the number of events sent to the pipeline at once.
	chunk = 100
)

// Row statuses.
const (
	StatusAccepted        = "accepted"
	StatusRejected        = "rejected"
	StatusNotReplayable   = "not_replayable"
	StatusAlreadyReplayed = "already_replayed"
	StatusUnreadable      = "unreadable"
)

// Report is what a run did. Counts are of the rows considered.
type Report struct {
	DryRun          bool `json:"dry_run"`
	Rows            int  `json:"rows"`
	Accepted        int  `json:"accepted"`
	Rejected        int  `json:"rejected"`
	NotReplayable   int  `json:"not_replayable"`
	AlreadyReplayed int  `json:"already_replayed"`
	Unreadable      int  `json:"unreadable"`
	// Outcomes lists the rows that were not accepted (with a dry run, every
	// row), at most MaxOutcomes.
	Outcomes  []Outcome `json:"outcomes"`
	Truncated bool      `json:"truncated,omitempty"`
	// Next, when set, is where the next run resumes (Request.After): the run
	// stopped at its limit or its time budget before the last row.
	Next string `json:"next,omitempty"`
}

// Outcome is what happened to one bad row.
type Outcome struct {
	// ID is the bad row's id; Date its day folder.
	ID      string `json:"id,omitempty"`
	Date    string `json:"date"`
	Schema  string `json:"schema,omitempty"`
	EventID string `json:"event_id,omitempty"`
	Status  string `json:"status"`
	// Reason and Failures say why the event was rejected again.
	Reason   event.Reason    `json:"reason,omitempty"`
	Failures []event.Failure `json:"failures,omitempty"`
	// Why says why a row cannot be replayed.
	Why string `json:"why,omitempty"`
}

// Replayer replays bad rows; one run at a time.
type Replayer struct {
	d       Deps
	running sync.Mutex
	rows    *prometheus.CounterVec
}

// ErrBusy is returned by Run while another run is in progress.
var ErrBusy = errors.New("another replay is running; wait for it to finish")

// New returns a Replayer.
func New(d Deps) (*Replayer, error) {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Budget <= 0 {
		d.Budget = 10 * time.Second
	}
	r := &Replayer{d: d, rows: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "accord_replay_rows_total",
		Help: "Bad rows considered by replays (not dry runs), by outcome: accepted (stored), rejected (still a bad row), not_replayable, already_replayed, unreadable.",
	}, []string{"outcome"})}
	if d.Metrics != nil {
		if err := d.Metrics.Register(r.rows); err != nil {
			return nil, fmt.Errorf("registering the replay metrics: %w", err)
		}
	}
	return r, nil
}

// Validate checks a request before anything is read, with messages that say
// what to send instead.
func (q *Request) Validate() error {
	for name, d := range map[string]string{"from": q.From, "to": q.To} {
		if d == "" {
			continue
		}
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			return fmt.Errorf("%q must be a day as YYYY-MM-DD, got %q", name, clip(d))
		}
	}
	if q.From != "" && q.To != "" && q.To < q.From {
		return fmt.Errorf(`"to" (%s) is before "from" (%s)`, q.To, q.From)
	}
	if q.Limit < 0 || q.Limit > MaxLimit {
		return fmt.Errorf(`"limit" must be between 1 and %d (0: %d)`, MaxLimit, DefaultLimit)
	}
	for from, to := range q.As {
		if from == "" || len(from) > maxAsFrom {
			return fmt.Errorf(`"as" maps a schema as bad rows name it (1 to %d bytes) to a schema URI; got an empty or longer one`, maxAsFrom)
		}
		if _, err := contract.ParseURI(to); err != nil {
			return fmt.Errorf(`"as" maps a schema as bad rows name it to a schema URI: %v`, err)
		}
	}
	if q.After != "" {
		if _, err := parseCursor(q.After); err != nil {
			return err
		}
	}
	return nil
}

// Run replays the rows the request selects, in the order they were written,
// until the last one, the request's limit or the time budget. actor is who
// asked, for the vault's audit log.
func (r *Replayer) Run(ctx context.Context, actor string, q Request) (Report, error) {
	if err := q.Validate(); err != nil {
		return Report{}, err
	}
	if !r.running.TryLock() {
		return Report{}, ErrBusy
	}
	defer r.running.Unlock()
	if q.Limit == 0 {
		q.Limit = DefaultLimit
	}
	run := &run{r: r, q: q, actor: actor + " (replay)", rep: Report{DryRun: q.DryRun, Outcomes: []Outcome{}},
		deadline: r.d.Now().Add(r.d.Budget)}
	err := run.all(ctx)
	r.d.Log.Info("replay", "actor", actor, "dry_run", q.DryRun, "rows", run.rep.Rows, "accepted", run.rep.Accepted,
		"rejected", run.rep.Rejected, "not_replayable", run.rep.NotReplayable, "already_replayed", run.rep.AlreadyReplayed,
		"unreadable", run.rep.Unreadable, "next", run.rep.Next != "", "err", err)
	return run.rep, err
}

// RunAll runs Run until the rows the request selects are done, calling
// progress after each run, and returns their sum: a replay in this process
// (accord bad replay --offline), as Client.ReplayAll is one through a collector.
func (r *Replayer) RunAll(ctx context.Context, actor string, q Request, progress func(Report)) (Report, error) {
	return runAll(ctx, q, func(ctx context.Context, q Request) (Report, error) { return r.Run(ctx, actor, q) }, progress)
}

// run is one Run's state.
type run struct {
	r        *Replayer
	q        Request
	actor    string
	rep      Report
	deadline time.Time
	ledger   map[string]bool // ids of the current day's replayed rows
	pending  []*pendingRow
	day      string
}

// pendingRow is a row waiting for its chunk to be processed.
type pendingRow struct {
	out      Outcome
	protocol string
	in       collect.Incoming
	doc      map[string]any // the payload, sealed values still in it
	sealed   []string       // pointers into doc
	resolve  Resolver       // for a row that names no schema
}

// cursor is a position in the bad rows: a day, a file of it and a line.
type cursor struct {
	day, file string
	line      int
}

func (c cursor) String() string { return c.day + "/" + c.file + ":" + strconv.Itoa(c.line) }

func parseCursor(s string) (cursor, error) {
	bad := fmt.Errorf(`"after" must be the "next" of an earlier replay report (DAY/FILE:LINE), got %q`, clip(s))
	day, rest, ok := strings.Cut(s, "/")
	if !ok {
		return cursor{}, bad
	}
	file, line, ok := strings.Cut(rest, ":")
	n, err := strconv.Atoi(line)
	if !ok || err != nil || n < 0 || strings.ContainsAny(file, `/\`) || file == "" {
		return cursor{}, bad
	}
	if _, err := time.Parse(time.DateOnly, day); err != nil {
		return cursor{}, bad
	}
	return cursor{day: day, file: file, line: n}, nil
}

func (x *run) all(ctx context.Context) error {
	days, err := x.days()
	if err != nil {
		return err
	}
	var after cursor
	if x.q.After != "" {
		after, _ = parseCursor(x.q.After)
	}
	for _, day := range days {
		if day < after.day {
			continue
		}
		if err := x.startDay(day); err != nil {
			return err
		}
		files, err := filepath.Glob(filepath.Join(x.r.d.BadDir, "date="+day, "*.ndjson"))
		if err != nil {
			return err
		}
		sort.Strings(files)
		for _, f := range files {
			name := filepath.Base(f)
			from := 0
			if day == after.day {
				if name < after.file {
					continue
				}
				if name == after.file {
					from = after.line
				}
			}
			stop, err := x.file(ctx, day, f, from)
			if err != nil || stop {
				return errors.Join(err, x.flush(ctx))
			}
		}
		if err := x.flush(ctx); err != nil {
			return err
		}
	}
	return nil
}

// days lists the day folders in the request's range that the retention
// keeps, oldest first.
func (x *run) days() ([]string, error) {
	return listDays(x.r.d.BadDir, x.q.From, x.q.To, x.r.d.Now(), x.r.d.Retention)
}

// file replays the rows of one file from line from; stop says the run is over
// (limit or budget), with Next set.
func (x *run) file(ctx context.Context, day, path string, from int) (stop bool, err error) {
	name := filepath.Base(path)
	return eachLine(path, from, func(line int, b []byte) (bool, error) {
		if x.rep.Rows >= x.q.Limit || !x.r.d.Now().Before(x.deadline) || ctx.Err() != nil {
			x.rep.Next = cursor{day: day, file: name, line: line}.String()
			return true, nil
		}
		return false, x.row(ctx, day, b)
	})
}

// row considers one line of a bad-row file.
func (x *run) row(ctx context.Context, day string, line []byte) error {
	var row event.BadRow
	var p *pendingRow
	if err := json.Unmarshal(line, &row); err != nil || row.ID == "" {
		// A line that is not a bad row is reported unless the request
		// selects rows by what such a line does not say.
		if len(x.q.IDs) > 0 || len(x.q.Reasons) > 0 || len(x.q.Schemas) > 0 {
			return nil
		}
		p = &pendingRow{out: Outcome{Date: day, Status: StatusUnreadable, Why: "the line is not a bad row (JSON with an id)"}}
	} else {
		if !x.selects(&row) {
			return nil
		}
		out := Outcome{ID: row.ID, Date: day, Schema: row.Schema, EventID: row.EventID}
		var why string
		switch {
		case x.ledger[row.ID]:
			p, out.Status = &pendingRow{}, StatusAlreadyReplayed
		default:
			if p, why = x.prepare(&row); why != "" {
				p, out.Status, out.Why = &pendingRow{}, StatusNotReplayable, why
			}
		}
		p.out = out
	}
	// Every row waits for its chunk, so that the report lists rows in the
	// order they were written.
	x.rep.Rows++
	x.pending = append(x.pending, p)
	if len(x.pending) >= chunk {
		return x.flush(ctx)
	}
	return nil
}

func (x *run) selects(row *event.BadRow) bool {
	if len(x.q.IDs) > 0 && !slices.Contains(x.q.IDs, row.ID) {
		return false
	}
	if len(x.q.Reasons) > 0 && !slices.Contains(x.q.Reasons, row.Reason) {
		return false
	}
	if len(x.q.Schemas) > 0 && !slices.ContainsFunc(x.q.Schemas, func(s string) bool {
		return row.Schema == s || strings.HasPrefix(row.Schema, strings.TrimSuffix(s, "/")+"/")
	}) {
		return false
	}
	return true
}

// notReplayable are reasons whose events a replay cannot restore.
var notReplayable = map[event.Reason]string{
	event.ReasonDuplicateEventInBatch: "an earlier event of the same request had the same event id and was stored; this one is its duplicate",
	event.ReasonTimestampInvalid:      "the producer's timestamp was invalid and is not kept, so the event's time cannot be restored; the producer must send it again",
}

// prepare turns a row into the pipeline's input, its sealed values still
// sealed, or says why it cannot be replayed.
func (x *run) prepare(row *event.BadRow) (*pendingRow, string) {
	if why, ok := notReplayable[row.Reason]; ok {
		return nil, why
	}
	switch {
	case row.PayloadWithheld != "":
		return nil, "the event was not kept: " + row.PayloadWithheld
	case len(row.Payload) == 0 && row.PayloadText != "":
		return nil, textOnlyWhy(row)
	case len(row.Payload) == 0:
		return nil, "the row keeps no event"
	case len(row.Redacted) > 0:
		return nil, fmt.Sprintf("personal data was redacted, not sealed, at %s (the event named no data controller or subject, or could not be sealed): its values are gone; the producer must send the event again", strings.Join(row.Redacted, ", "))
	}
	v, err := contract.DecodeJSON(row.Payload)
	doc, ok := v.(map[string]any)
	if err != nil || !ok {
		return nil, "the row's payload is not a self-describing event"
	}
	protocol := row.Source.Protocol
	if protocol == "" {
		protocol = "native"
	}
	schema, _ := doc["schema"].(string)
	// A row that names no schema is replayed only when its protocol can
	// resolve it again from what it kept, sealed (its resolver says whether it
	// can, once the values are open).
	resolve := x.r.d.Resolvers[protocol]
	if schema == "" && (resolve == nil || len(row.Sealed) == 0) {
		return nil, "the row names no schema (the producer named none, or an event name no contract declared, kept without its values), so nothing says which contract the event follows; the producer must send it again"
	}
	if _, ok := doc["data"]; !ok {
		return nil, "the row's payload has no data"
	}
	for _, ptr := range row.Sealed {
		if s, ok := contract.At(doc, ptr).(string); !ok || !vault.IsSealed(s) {
			return nil, fmt.Sprintf("the row lists %s as sealed, but no sealed value is there", ptr)
		}
	}
	id := row.EventID
	if id == "" {
		id = row.ID
	}
	p := &pendingRow{protocol: protocol, doc: doc, sealed: row.Sealed, in: collect.Incoming{
		EventID: id, SentAt: row.SentAt, DeviceCreatedAt: row.DeviceCreatedAt, TrueTimestamp: row.TrueTimestamp,
		App: row.Source.App, Platform: row.Source.Platform, Tracker: row.Source.Tracker, Received: row.ReceivedAt,
	}}
	if schema == "" {
		p.resolve = resolve
	}
	return p, ""
}

// flush unseals the pending rows' values, processes them and records the
// outcomes.
func (x *run) flush(ctx context.Context) error {
	rows := x.pending
	x.pending = nil
	if len(rows) == 0 {
		return nil
	}
	if err := x.unseal(ctx, rows); err != nil {
		return err
	}
	byProtocol := map[string][]*pendingRow{}
	var order []string
	for _, p := range rows {
		if p.out.Status != "" {
			continue // decided already, or could not be unsealed
		}
		if err := x.build(p); err != "" {
			p.out.Status, p.out.Why = StatusNotReplayable, err
			continue
		}
		if _, ok := byProtocol[p.protocol]; !ok {
			order = append(order, p.protocol)
		}
		byProtocol[p.protocol] = append(byProtocol[p.protocol], p)
	}
	var stored []Outcome
	for _, proto := range order {
		ps := byProtocol[proto]
		evs := make([]collect.Incoming, len(ps))
		for i, p := range ps {
			evs[i] = p.in
		}
		results, err := x.r.d.Pipeline.Reprocess(ctx, proto, evs, x.q.DryRun)
		if err != nil {
			// Nothing of this call was stored: its rows stay to be replayed.
			return errors.Join(fmt.Errorf("stopped: %w", err), x.record(stored))
		}
		for i, res := range results {
			p := ps[i]
			p.out.EventID = res.EventID
			if res.Accepted() {
				p.out.Status = StatusAccepted
				if !x.q.DryRun {
					stored = append(stored, p.out)
				}
				continue
			}
			p.out.Status, p.out.Reason, p.out.Failures = StatusRejected, res.Reason, res.Failures
		}
	}
	if err := x.record(stored); err != nil {
		return err
	}
	for _, p := range rows {
		x.add(p.out)
	}
	return nil
}

// unseal opens every pending row's sealed values in one vault call and puts
// them back into the rows' payloads; a row with a value that cannot be opened
// is not replayable.
func (x *run) unseal(ctx context.Context, rows []*pendingRow) error {
	var sealed []string
	for _, p := range rows {
		for _, ptr := range p.sealed {
			sealed = append(sealed, contract.At(p.doc, ptr).(string))
		}
	}
	if len(sealed) == 0 {
		return nil
	}
	if x.r.d.Unsealer == nil {
		for _, p := range rows {
			if len(p.sealed) > 0 {
				p.out.Status, p.out.Why = StatusNotReplayable, "no vault to unseal the row's personal data with"
			}
		}
		return nil
	}
	opened, err := x.r.d.Unsealer.Unseal(ctx, x.actor, sealed)
	if err != nil {
		return fmt.Errorf("stopped: unsealing personal data: %w", err)
	}
	i := 0
	for _, p := range rows {
		for _, ptr := range p.sealed {
			o := opened[i]
			i++
			if p.out.Status != "" {
				continue
			}
			switch {
			case o.Err != nil:
				p.out.Status, p.out.Why = StatusNotReplayable, sealedWhy(o.Err, ptr)
			default:
				v, err := contract.DecodeJSON([]byte(o.Value))
				if err == nil {
					err = contract.SetAt(p.doc, ptr, v)
				}
				if err != nil {
					p.out.Status, p.out.Why = StatusNotReplayable, fmt.Sprintf("the sealed value at %s is not a JSON value", ptr)
				}
			}
		}
	}
	return nil
}

// sealedWhy says why a row whose sealed value at ptr cannot be opened (err,
// from the vault) cannot be replayed; a summary says the same.
func sealedWhy(err error, ptr string) string {
	if errors.Is(err, vault.ErrForgotten) {
		return "the event's data subject was forgotten: its personal data is gone, and the event with it"
	}
	return fmt.Sprintf("the sealed value at %s cannot be opened (altered, or sealed by another vault)", ptr)
}

// maxAsFrom bounds a schema named on the left of an "as" mapping, so that a
// request cannot carry mappings of any size.
const maxAsFrom = 2048

// build fills the row's Incoming from its unsealed payload, renaming schemas as
// the request says.
func (x *run) build(p *pendingRow) string {
	rename := func(s string) string {
		if to, ok := x.q.As[s]; ok {
			return to
		}
		return s
	}
	data, err := json.Marshal(p.doc["data"])
	if err != nil {
		return "the row's data cannot be encoded"
	}
	if p.resolve != nil {
		in, why := p.resolve(data, p.in)
		if why != "" {
			return why
		}
		p.in = in
		p.in.Schema = rename(in.Schema)
		p.out.Schema = p.in.Schema
		return ""
	}
	schema, _ := p.doc["schema"].(string)
	p.in.Schema = rename(schema)
	p.out.Schema = p.in.Schema
	p.in.Data = data
	if cs, ok := p.doc["contexts"].([]any); ok {
		for _, c := range cs {
			m, ok := c.(map[string]any)
			s, _ := m["schema"].(string)
			if !ok || s == "" {
				return "a context of the row is not a self-describing entity"
			}
			d, err := json.Marshal(m["data"])
			if err != nil {
				return "a context's data cannot be encoded"
			}
			p.in.Contexts = append(p.in.Contexts, event.Entity{Schema: rename(s), Data: d})
		}
	}
	return ""
}

// add counts an outcome and lists it when the report lists such rows.
func (x *run) add(o Outcome) {
	switch o.Status {
	case StatusAccepted:
		x.rep.Accepted++
	case StatusRejected:
		x.rep.Rejected++
	case StatusNotReplayable:
		x.rep.NotReplayable++
	case StatusAlreadyReplayed:
		x.rep.AlreadyReplayed++
	case StatusUnreadable:
		x.rep.Unreadable++
	}
	if !x.q.DryRun {
		x.r.rows.WithLabelValues(o.Status).Inc()
	}
	if o.Status == StatusAccepted && !x.q.DryRun {
		return
	}
	if len(x.rep.Outcomes) >= MaxOutcomes {
		x.rep.Truncated = true
		return
	}
	x.rep.Outcomes = append(x.rep.Outcomes, o)
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// ledgerEntry is one line of a ledger: a row whose event a replay stored.
type ledgerEntry struct {
	ID         string    `json:"id"`
	EventID    string    `json:"event_id"`
	Schema     string    `json:"schema"`
	ReplayedAt time.Time `json:"replayed_at"`
}

func (x *run) ledgerPath(day string) string {
	return filepath.Join(x.r.d.LedgerDir, "date="+day+".ndjson")
}

// startDay reads the ledger of a day's rows.
func (x *run) startDay(day string) error {
	x.day, x.ledger = day, map[string]bool{}
	f, err := os.Open(x.ledgerPath(day))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the replay ledger: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e ledgerEntry
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.ID != "" {
			x.ledger[e.ID] = true
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading the replay ledger: %w", err)
	}
	return nil
}

// record appends the stored rows to the day's ledger, durably: their events are
// in the buffer already, so a crash before this line replays them again, which
// the sinks' deduplication on event id absorbs.
func (x *run) record(stored []Outcome) error {
	if len(stored) == 0 {
		return nil
	}
	if err := os.MkdirAll(x.r.d.LedgerDir, 0o750); err != nil {
		return fmt.Errorf("creating the replay ledger folder: %w", err)
	}
	f, err := os.OpenFile(x.ledgerPath(x.day), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("opening the replay ledger: %w", err)
	}
	var buf []byte
	now := x.r.d.Now().UTC()
	for _, o := range stored {
		js, err := json.Marshal(ledgerEntry{ID: o.ID, EventID: o.EventID, Schema: o.Schema, ReplayedAt: now})
		if err != nil {
			return errors.Join(err, f.Close())
		}
		buf = append(append(buf, js...), '\n')
		x.ledger[o.ID] = true
	}
	_, err = f.Write(buf)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing the replay ledger: %w", err)
	}
	return nil
}

// Expire deletes the ledgers of days whose bad rows have outlived the
// retention or are gone, and returns their days. The collector calls it with
// sink.BadFiles.Expire, when it starts and then on a timer: a ledger names
// the rows (ids, event ids, schemas) of its day, and goes with them.
func (r *Replayer) Expire() ([]string, error) {
	ledgers, err := filepath.Glob(filepath.Join(r.d.LedgerDir, "date=*.ndjson"))
	if err != nil {
		return nil, fmt.Errorf("listing the replay ledgers: %w", err)
	}
	now := r.d.Now()
	var deleted []string
	var errs []error
	for _, l := range ledgers {
		day := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(l), "date="), ".ndjson")
		if !sink.BadDayExpired(day, now, r.d.Retention) {
			_, err := os.Stat(filepath.Join(r.d.BadDir, "date="+day))
			if !errors.Is(err, os.ErrNotExist) {
				continue // kept, or not known to be gone
			}
		}
		if err := os.Remove(l); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("deleting the replay ledger %s: %w", filepath.Base(l), err))
			continue
		}
		deleted = append(deleted, day)
		r.d.Log.Info("deleted the replay ledger of expired bad rows", "file", filepath.Base(l))
	}
	return deleted, errors.Join(errs...)
}
