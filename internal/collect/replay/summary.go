package replay

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/accord-dev/accord/internal/collect"
	"github.com/accord-dev/accord/internal/contract"
	"github.com/accord-dev/accord/internal/event"
	"github.com/accord-dev/accord/internal/sink"
)

// Group is the bad rows of one day, reason and schema.
type Group struct {
	Date   string       `json:"date"`
	Reason event.Reason `json:"reason"`
	Schema string       `json:"schema"`
	Rows   int          `json:"rows"`
	// Replayable counts the rows a replay could restore once their cause is
	// fixed (their payload kept, personal data sealed under a subject the
	// vault has not forgotten, not replayed yet); the others are in
	// NotReplayable (with why, for the first of them) or Replayed (stored by a
	// replay already).
	Replayable    int    `json:"replayable"`
	NotReplayable int    `json:"not_replayable"`
	Why           string `json:"why,omitempty"`
	Replayed      int    `json:"replayed"`
	// Failures counts the rows by their first failure (pointer and message),
	// most frequent first, at most 5.
	Failures []FailureCount `json:"failures"`
}

// FailureCount is how many rows failed first with one pointer and message.
type FailureCount struct {
	Pointer string `json:"pointer"`
	Message string `json:"message"`
	Rows    int    `json:"rows"`
}

// Summary groups the bad rows of a folder.
type Summary struct {
	// Dir is the bad-row folder counted, as an absolute path: a collector
	// asked for a summary says which folder it keeps.
	Dir        string `json:"dir"`
	Rows       int    `json:"rows"`
	Unreadable int    `json:"unreadable"`
	// Unchecked counts the rows counted replayable whose sealed personal data
	// the vault was not asked about, UncheckedWhy says why: those of them whose
	// subject was forgotten cannot be replayed after all. 0 when the vault
	// answered for every row.
	Unchecked    int     `json:"unchecked"`
	UncheckedWhy string  `json:"unchecked_why,omitempty"`
	Groups       []Group `json:"groups"`
}

// SummaryDeps are what Summarize reads.
type SummaryDeps struct {
	// BadDir, LedgerDir, Retention and Now are those of a Replayer's Deps.
	BadDir    string
	LedgerDir string
	Retention time.Duration
	Now       func() time.Time
	// Resolvable are the protocols whose rows that name no schema a replay
	// resolves again (the keys of Deps.Resolvers).
	Resolvable []string
	// Keys is asked whether the key of each sealed value still exists, so that
	// the rows of forgotten subjects are told as not replayable; nil, or when
	// it fails, those rows are counted in Summary.Unchecked instead.
	Keys KeyChecker
}

// summaryChunk is the number of rows whose sealed values one call to the
// vault checks.
const summaryChunk = 1000

// Summarize counts the bad rows of the days from..to (as in a Request; empty:
// every day the retention keeps) by day, reason and schema, as a replay would
// judge them now: replayed already (the ledger), not replayable (and why, for
// the first), or replayable once their cause is fixed. It reads files, and asks
// the vault (d.Keys) only whether the key each sealed value was sealed under
// still exists: nothing is unsealed, so a summary needs no audit and releases
// no value. The collector may be running.
func Summarize(ctx context.Context, d SummaryDeps, from, to string) (Summary, error) {
	q := Request{From: from, To: to}
	if err := q.Validate(); err != nil {
		return Summary{}, err
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	resolvers := map[string]Resolver{}
	for _, p := range d.Resolvable {
		// prepare only asks whether there is one; nothing is resolved here.
		resolvers[p] = func(_ json.RawMessage, row collect.Incoming) (collect.Incoming, string) {
			return row, "not resolved in a summary"
		}
	}
	dir, err := filepath.Abs(d.BadDir)
	if err != nil {
		return Summary{}, fmt.Errorf("finding the bad-row folder: %w", err)
	}
	s := &summarizer{keys: d.Keys, sum: Summary{Dir: dir, Groups: []Group{}},
		x: &run{r: &Replayer{d: Deps{BadDir: d.BadDir, LedgerDir: d.LedgerDir, Resolvers: resolvers}}, q: q}}
	if s.keys == nil {
		s.sum.UncheckedWhy = "no vault was asked"
	}
	days, err := listDays(d.BadDir, from, to, d.Now(), d.Retention)
	if err != nil {
		return Summary{}, err
	}
	for _, day := range days {
		if err := s.day(ctx, day); err != nil {
			return Summary{}, err
		}
	}
	if s.sum.Unchecked == 0 {
		s.sum.UncheckedWhy = ""
	}
	return s.sum, nil
}

// Summarize is Summarize on the replayer's folders, retention, resolvers and
// vault: the collector's summary (GET /v1/bad/summary).
func (r *Replayer) Summarize(ctx context.Context, from, to string) (Summary, error) {
	var resolvable []string
	for p := range r.d.Resolvers {
		resolvable = append(resolvable, p)
	}
	return Summarize(ctx, SummaryDeps{BadDir: r.d.BadDir, LedgerDir: r.d.LedgerDir, Retention: r.d.Retention, Now: r.d.Now,
		Resolvable: resolvable, Keys: r.d.Keys}, from, to)
}

// summarizer is one Summarize's state.
type summarizer struct {
	x       *run // its prepare and ledger judge the rows as a replay does
	keys    KeyChecker
	sum     Summary
	pending []summaryRow
}

// summaryRow is a row whose group is known and whose count waits for the
// vault's answer about its sealed values, so that rows are counted in the
// order they were written (the first why is the first row's).
type summaryRow struct {
	g        *Group
	replayed bool
	why      string
	ptrs     []string // the sealed values' pointers, when replayable so far
	sealed   []string // their values
}

type groupKey struct {
	reason event.Reason
	schema string
}

// day counts the rows of one day folder.
func (s *summarizer) day(ctx context.Context, day string) error {
	if err := s.x.startDay(day); err != nil {
		return err
	}
	groups := map[groupKey]*Group{}
	failures := map[groupKey]map[FailureCount]int{}
	files, err := filepath.Glob(filepath.Join(s.x.r.d.BadDir, "date="+day, "*.ndjson"))
	if err != nil {
		return err
	}
	sort.Strings(files)
	for _, f := range files {
		_, err := eachLine(f, 0, func(_ int, line []byte) (bool, error) {
			var row event.BadRow
			if json.Unmarshal(line, &row) != nil || row.ID == "" {
				s.sum.Unreadable++
				return false, nil
			}
			s.sum.Rows++
			k := groupKey{row.Reason, row.Schema}
			g := groups[k]
			if g == nil {
				g = &Group{Date: day, Reason: row.Reason, Schema: row.Schema, Failures: []FailureCount{}}
				groups[k], failures[k] = g, map[FailureCount]int{}
			}
			g.Rows++
			sr := summaryRow{g: g, replayed: s.x.ledger[row.ID]}
			if !sr.replayed {
				var p *pendingRow
				if p, sr.why = s.x.prepare(&row); sr.why == "" {
					sr.ptrs = p.sealed
					for _, ptr := range p.sealed {
						sr.sealed = append(sr.sealed, contract.At(p.doc, ptr).(string)) // prepare checked it is one
					}
				}
			}
			s.pending = append(s.pending, sr)
			if len(row.Failures) > 0 {
				failures[k][FailureCount{Pointer: row.Failures[0].Pointer, Message: row.Failures[0].Message}]++
			}
			if len(s.pending) >= summaryChunk {
				s.flush(ctx)
			}
			return false, nil
		})
		if err != nil {
			return err
		}
	}
	s.flush(ctx)
	var dayGroups []Group
	for k, g := range groups {
		for fc, n := range failures[k] {
			fc.Rows = n
			g.Failures = append(g.Failures, fc)
		}
		sort.Slice(g.Failures, func(i, j int) bool {
			a, b := g.Failures[i], g.Failures[j]
			if a.Rows != b.Rows {
				return a.Rows > b.Rows
			}
			return a.Pointer+a.Message < b.Pointer+b.Message
		})
		if len(g.Failures) > 5 {
			g.Failures = g.Failures[:5]
		}
		dayGroups = append(dayGroups, *g)
	}
	sort.Slice(dayGroups, func(i, j int) bool {
		a, b := dayGroups[i], dayGroups[j]
		if a.Rows != b.Rows {
			return a.Rows > b.Rows
		}
		return string(a.Reason)+a.Schema < string(b.Reason)+b.Schema
	})
	s.sum.Groups = append(s.sum.Groups, dayGroups...)
	return nil
}

// flush asks the vault about the pending rows' sealed values in one call and
// counts the rows. When the vault cannot answer, it is not asked again: the
// rows it would have judged are counted replayable and Unchecked.
func (s *summarizer) flush(ctx context.Context) {
	rows := s.pending
	s.pending = nil
	var sealed []string
	for _, r := range rows {
		sealed = append(sealed, r.sealed...)
	}
	var found []error
	if len(sealed) > 0 && s.keys != nil {
		var err error
		found, err = s.keys.CheckSealed(ctx, sealed)
		if err == nil && len(found) != len(sealed) {
			err = fmt.Errorf("the vault answered for %d sealed values of %d", len(found), len(sealed))
		}
		if err != nil {
			found, s.keys = nil, nil
			s.sum.UncheckedWhy = "the vault could not be asked: " + err.Error()
		}
	}
	i := 0
	for _, r := range rows {
		why := r.why
		if found != nil {
			for j, ptr := range r.ptrs {
				if err := found[i+j]; err != nil && why == "" {
					why = sealedWhy(err, ptr)
				}
			}
		}
		i += len(r.ptrs)
		switch {
		case r.replayed:
			r.g.Replayed++
		case why != "":
			r.g.NotReplayable++
			if r.g.Why == "" {
				r.g.Why = why
			}
		default:
			r.g.Replayable++
			if len(r.ptrs) > 0 && found == nil {
				s.sum.Unchecked++
			}
		}
	}
}

// listDays lists the day folders of badDir between from and to (both
// included, empty: unbounded) that the retention keeps at now, oldest first:
// a day past it is not read, even before it is deleted.
func listDays(badDir, from, to string, now time.Time, retention time.Duration) ([]string, error) {
	entries, err := os.ReadDir(badDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the bad-row folder: %w", err)
	}
	var days []string
	for _, e := range entries {
		day, ok := strings.CutPrefix(e.Name(), "date=")
		if !ok || !e.IsDir() {
			continue
		}
		if _, err := time.Parse(time.DateOnly, day); err != nil {
			continue
		}
		if (from != "" && day < from) || (to != "" && day > to) || sink.BadDayExpired(day, now, retention) {
			continue
		}
		days = append(days, day)
	}
	sort.Strings(days)
	return days, nil
}

// eachLine calls f with the number and bytes of each complete, non-blank line
// of a file from line from on, until f says stop; a last line without its
// newline is still being written, and is left for later.
func eachLine(path string, from int, f func(line int, b []byte) (stop bool, err error)) (stopped bool, err error) {
	fh, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("opening bad rows: %w", err)
	}
	defer fh.Close()
	br := bufio.NewReaderSize(fh, 64<<10)
	for n := 0; ; n++ {
		b, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("reading bad rows: %w", err)
		}
		if n < from {
			continue
		}
		if b = bytes.TrimSpace(b); len(b) == 0 {
			continue
		}
		if stop, err := f(n, b); stop || err != nil {
			return stop, err
		}
	}
}
