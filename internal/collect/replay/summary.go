package replay

import (
	"bufio"
	"bytes"
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
	"github.com/accord-dev/accord/internal/event"
)

// Group is the bad rows of one day, reason and schema.
type Group struct {
	Date   string       `json:"date"`
	Reason event.Reason `json:"reason"`
	Schema string       `json:"schema"`
	Rows   int          `json:"rows"`
	// Replayable counts the rows a replay could restore once their cause is
	// fixed (their payload kept, personal data sealed, not replayed yet); the
	// others are in NotReplayable (with why, for the first of them) or
	// Replayed (stored by a replay already).
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
	Rows       int     `json:"rows"`
	Unreadable int     `json:"unreadable"`
	Groups     []Group `json:"groups"`
}

// Summarize reads the bad rows under badDir (from and to bound the days, as in
// a Request; empty: all) and groups them by day, reason and schema, with the
// replay ledger under ledgerDir. It reads files only: the collector may be
// running, and nothing is unsealed. resolvable are the protocols whose rows
// that name no schema the collector's replay resolves (Deps.Resolvers).
func Summarize(badDir, ledgerDir, from, to string, resolvable ...string) (Summary, error) {
	q := Request{From: from, To: to}
	if err := q.Validate(); err != nil {
		return Summary{}, err
	}
	resolvers := map[string]Resolver{}
	for _, p := range resolvable {
		// prepare only asks whether there is one; nothing is resolved here.
		resolvers[p] = func(_ json.RawMessage, row collect.Incoming) (collect.Incoming, string) {
			return row, "not resolved in a summary"
		}
	}
	x := &run{r: &Replayer{d: Deps{BadDir: badDir, LedgerDir: ledgerDir, Resolvers: resolvers}}, q: q}
	days, _, err := listDays(badDir, from, to)
	if err != nil {
		return Summary{}, err
	}
	sum := Summary{Groups: []Group{}}
	type key struct {
		reason event.Reason
		schema string
	}
	for _, day := range days {
		if err := x.startDay(day); err != nil {
			return Summary{}, err
		}
		groups := map[key]*Group{}
		failures := map[key]map[FailureCount]int{}
		files, err := filepath.Glob(filepath.Join(badDir, "date="+day, "*.ndjson"))
		if err != nil {
			return Summary{}, err
		}
		sort.Strings(files)
		for _, f := range files {
			_, err := eachLine(f, 0, func(_ int, line []byte) (bool, error) {
				var row event.BadRow
				if json.Unmarshal(line, &row) != nil || row.ID == "" {
					sum.Unreadable++
					return false, nil
				}
				sum.Rows++
				k := key{row.Reason, row.Schema}
				g := groups[k]
				if g == nil {
					g = &Group{Date: day, Reason: row.Reason, Schema: row.Schema, Failures: []FailureCount{}}
					groups[k], failures[k] = g, map[FailureCount]int{}
				}
				g.Rows++
				switch _, why := x.prepare(&row); {
				case x.ledger[row.ID]:
					g.Replayed++
				case why != "":
					g.NotReplayable++
					if g.Why == "" {
						g.Why = why
					}
				default:
					g.Replayable++
				}
				if len(row.Failures) > 0 {
					failures[k][FailureCount{Pointer: row.Failures[0].Pointer, Message: row.Failures[0].Message}]++
				}
				return false, nil
			})
			if err != nil {
				return Summary{}, err
			}
		}
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
		sum.Groups = append(sum.Groups, dayGroups...)
	}
	return sum, nil
}

// listDays lists the day folders of badDir between from and to (both
// included, empty: unbounded), oldest first, and every entry of badDir.
func listDays(badDir, from, to string) ([]string, []os.DirEntry, error) {
	entries, err := os.ReadDir(badDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading the bad-row folder: %w", err)
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
		if (from != "" && day < from) || (to != "" && day > to) {
			continue
		}
		days = append(days, day)
	}
	sort.Strings(days)
	return days, entries, nil
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
