package sink

import (
	"bytes"
	"context"
	"encoding/json"
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
// process start and day, fsync'd after every batch, and deletes day folders older
// than the retention.
type BadFiles struct {
	dir       string
	retention time.Duration
	log       *slog.Logger
	now       func() time.Time

	mu     sync.Mutex
	day    string
	f      *os.File
	seen   *Seen
	stamp  string
	lastGC time.Time
}

// NewBadFiles writes under dir and keeps rows for retention (7 days when 0).
func NewBadFiles(dir string, retention time.Duration, log *slog.Logger) (*BadFiles, error) {
	if retention <= 0 {
		retention = 7 * 24 * time.Hour
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
	if now.Sub(b.lastGC) > time.Hour {
		b.lastGC = now
		b.gc(now)
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

// gc deletes day folders older than the retention.
func (b *BadFiles) gc(now time.Time) {
	entries, err := os.ReadDir(b.dir)
	if err != nil {
		return
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	cutoff := now.Add(-b.retention)
	for _, e := range entries {
		day, ok := strings.CutPrefix(e.Name(), "date=")
		if !ok || !e.IsDir() {
			continue
		}
		t, err := time.Parse(time.DateOnly, day)
		if err != nil || !t.Add(24*time.Hour).Before(cutoff) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(b.dir, e.Name())); err != nil {
			b.log.Warn("deleting expired bad rows failed", "folder", e.Name(), "err", err)
		} else {
			b.log.Info("deleted expired bad rows", "folder", e.Name(), "retention", b.retention)
		}
	}
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
