package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/accord-dev/accord/internal/event"
)

// BadFiles writes bad rows as NDJSON under <dir>/date=YYYY-MM-DD/, one file per
// process start and day, fsync'd after every batch; Expire deletes the day
// folders older than the retention.
type BadFiles struct {
	dir       string
	retention time.Duration
	log       *slog.Logger
	now       func() time.Time

	mu    sync.Mutex
	day   string
	f     *os.File
	seen  *Seen
	stamp string
}

// DefaultBadRowRetention is how long bad rows are kept when no retention is
// configured (bad_rows.retention).
const DefaultBadRowRetention = 7 * 24 * time.Hour

// BadDayExpired reports whether the bad rows of day (the YYYY-MM-DD of a day
// folder, UTC) have outlived retention (DefaultBadRowRetention when 0) at now:
// the last of them was received more than retention ago. Such a day is
// deleted by BadFiles.Expire, and until it is, nothing may read it as live
// rows (a summary, a replay): the personal data sealed in it must not be
// restored after the retention, whether or not the deletion has run yet. A
// name that is not a day never expires: it is no folder of bad rows.
func BadDayExpired(day string, now time.Time, retention time.Duration) bool {
	if retention <= 0 {
		retention = DefaultBadRowRetention
	}
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return false
	}
	return t.Add(24 * time.Hour).Before(now.Add(-retention))
}

// NewBadFiles writes under dir and keeps rows for retention
// (DefaultBadRowRetention when 0).
func NewBadFiles(dir string, retention time.Duration, log *slog.Logger) (*BadFiles, error) {
	if retention <= 0 {
		retention = DefaultBadRowRetention
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("creating bad-row folder: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &BadFiles{dir: dir, retention: retention, log: log, now: time.Now, seen: NewSeen(100_000),
		stamp: time.Now().UTC().Format("20060102T150405.000000000")}
	b.seedSeen()
	return b, nil
}

// seedSeen loads the ids of today's rows so that a redelivery after a restart is
// not written twice.
func (b *BadFiles) seedSeen() {
	day := b.now().UTC().Format(time.DateOnly)
	files, _ := filepath.Glob(filepath.Join(b.dir, "date="+day, "*.ndjson"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			var row struct {
				ID string `json:"id"`
			}
			if json.Unmarshal([]byte(line), &row) == nil && row.ID != "" {
				b.seen.Add(row.ID)
			}
		}
	}
}

// WriteBadRows appends the rows not written before and fsyncs.
func (b *BadFiles) WriteBadRows(ctx context.Context, rows []event.BadRow) error {
	var buf []byte
	ids := make([]string, 0, len(rows))
	for i := range rows {
		js, err := json.Marshal(&rows[i])
		if err != nil {
			return fmt.Errorf("encoding bad row: %w", err)
		}
		buf = append(append(buf, js...), '\n')
		ids = append(ids, rows[i].ID)
	}
	return b.write(buf, ids)
}

// WriteBadRowRecords appends the bad rows of buffer records (event.IsBadRowRecord)
// not written before, each record's JSON as it is, and fsyncs: the loader's
// path, which decodes nothing but each row's id.
func (b *BadFiles) WriteBadRowRecords(ctx context.Context, records [][]byte) error {
	var buf []byte
	ids := make([]string, 0, len(records))
	for _, rec := range records {
		id, err := event.BadRowID(rec)
		if err != nil {
			return err
		}
		buf = append(append(buf, rec[1:]...), '\n')
		ids = append(ids, id)
	}
	return b.write(buf, ids)
}

// write appends the lines of buf (one per id, in order) whose ids were not
// written before, and fsyncs.
func (b *BadFiles) write(buf []byte, ids []string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now().UTC()
	if err := b.rotate(now); err != nil {
		return err
	}
	out := buf[:0]
	var written []string
	for _, id := range ids {
		end := bytes.IndexByte(buf, '\n') + 1
		line := buf[:end]
		buf = buf[end:]
		if b.seen.Has(id) {
			continue
		}
		out = append(out, line...) // out never passes the line it copies
		written = append(written, id)
	}
	if len(out) == 0 {
		return nil
	}
	if _, err := b.f.Write(out); err != nil {
		return fmt.Errorf("writing bad rows: %w", err)
	}
	if err := b.f.Sync(); err != nil {
		return fmt.Errorf("syncing bad rows: %w", err)
	}
	for _, id := range written {
		b.seen.Add(id)
	}
	return nil
}

func (b *BadFiles) rotate(now time.Time) error {
	day := now.Format(time.DateOnly)
	if b.f != nil && b.day == day {
		return nil
	}
	if b.f != nil {
		if err := b.f.Close(); err != nil {
			return fmt.Errorf("closing bad-row file: %w", err)
		}
		b.f = nil
	}
	dir := filepath.Join(b.dir, "date="+day)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("creating bad-row folder: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "badrows-"+b.stamp+".ndjson"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("opening bad-row file: %w", err)
	}
	b.f, b.day = f, day
	return nil
}

// Expire deletes the day folders whose rows have outlived the retention
// (BadDayExpired), and returns their days. Nothing else deletes bad rows: the
// collector calls it when it starts and then on a timer, so that the personal
// data sealed in them is gone at the end of the retention whatever the
// traffic. A folder that cannot be deleted is named in the error and tried
// again at the next call.
func (b *BadFiles) Expire() ([]string, error) {
	entries, err := os.ReadDir(b.dir)
	if err != nil {
		return nil, fmt.Errorf("listing the bad-row folder: %w", err)
	}
	b.mu.Lock()
	writing := b.day // never the folder being written, whatever the clock says
	b.mu.Unlock()
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	now := b.now()
	var deleted []string
	var errs []error
	for _, e := range entries {
		day, ok := strings.CutPrefix(e.Name(), "date=")
		if !ok || !e.IsDir() || day == writing || !BadDayExpired(day, now, b.retention) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(b.dir, e.Name())); err != nil {
			errs = append(errs, fmt.Errorf("deleting expired bad rows %s: %w", e.Name(), err))
			continue
		}
		deleted = append(deleted, day)
		b.log.Info("deleted expired bad rows", "folder", e.Name(), "retention", b.retention)
	}
	return deleted, errors.Join(errs...)
}

// Close closes the current file.
func (b *BadFiles) Close(context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.f == nil {
		return nil
	}
	err := b.f.Close()
	b.f = nil
	return err
}
