// Package lake is the Parquet lake sink: one table per contract MODEL, typed
// columns from the contract's stored shape (the codegen IR, the same mapping the
// SQL DDL and dbt sources use), files under
// <dir>/<vendor>/<name>/<model>/date=YYYY-MM-DD/ written atomically.
package lake

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
	"strconv"
	"sync"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/accord-dev/accord/internal/codegen/ir"
	"github.com/accord-dev/accord/internal/contract"
	"github.com/accord-dev/accord/internal/event"
	"github.com/accord-dev/accord/internal/sink"
)

// Contracts gives the current registry snapshot.
type Contracts interface {
	Snapshot() *contract.Snapshot
}

// Lake writes each batch as one Parquet file per partition (table and day),
// written to a temporary name, fsync'd and renamed, so a reader never sees a
// partial file. File size and age are set by how much the loader gathers per batch
// (sink.Loader's MaxBatch and Linger): that is the rotation policy.
//
// Redelivered envelopes are dropped by event id: the lake remembers the ids it
// wrote in a bounded window, seeded at start from the files written in the last
// SeedWindow, which covers every batch that could be redelivered after a crash.
type Lake struct {
	dir       string
	contracts Contracts
	log       *slog.Logger
	seen      *sink.Seen

	mu     sync.Mutex
	irSnap *contract.Snapshot
	irReg  *ir.Registry
	tables map[*ir.Model]*table
	seq    uint64
}

// seenWindow is how many recent event ids the lake remembers (about 29 MB when
// full; a million would take about 114 MB). Redelivery only concerns records
// gathered but not yet acknowledged, at most one loader batch (16,384 records), so
// this covers it many times over.
const seenWindow = 1 << 18

// SeedWindow is how far back Open reads event ids of existing files.
const SeedWindow = 15 * time.Minute

// Open opens the lake under dir.
func Open(dir string, contracts Contracts, log *slog.Logger) (*Lake, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("creating the lake folder: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Lake{dir: dir, contracts: contracts, log: log, seen: sink.NewSeen(seenWindow), tables: map[*ir.Model]*table{}}
	if err := l.seed(time.Now().Add(-SeedWindow)); err != nil {
		return nil, err
	}
	return l, nil
}

// table is the Parquet schema of one MODEL table.
type table struct {
	model  *ir.Model
	cols   []*ir.Column
	schema *parquet.Schema
}

// WriteBatch writes the envelopes not written before, one file per partition.
func (l *Lake) WriteBatch(ctx context.Context, batch []event.Envelope) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	type partKey struct {
		t   *table
		day string
	}
	parts := map[partKey][]*event.Envelope{}
	inBatch := map[string]bool{}
	for i := range batch {
		e := &batch[i]
		if l.seen.Has(e.EventID) || inBatch[e.EventID] {
			continue
		}
		t, err := l.tableFor(e.Schema)
		if err != nil {
			return err
		}
		k := partKey{t, e.EventTime.UTC().Format(time.DateOnly)}
		parts[k] = append(parts[k], e)
		inBatch[e.EventID] = true
	}
	keys := make([]partKey, 0, len(parts))
	for k := range parts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.t.model.Vendor+a.t.model.Name != b.t.model.Vendor+b.t.model.Name {
			return a.t.model.Vendor+a.t.model.Name < b.t.model.Vendor+b.t.model.Name
		}
		return a.day < b.day
	})
	for _, k := range keys {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := l.writeFile(k.t, k.day, parts[k]); err != nil {
			return err
		}
		// Remembered per published file, so that a retry after a later partition
		// failed does not write this one again.
		for _, e := range parts[k] {
			l.seen.Add(e.EventID)
		}
	}
	return nil
}

// Close has nothing to flush: every batch is complete on disk when WriteBatch returns.
func (l *Lake) Close(context.Context) error { return nil }

// Partition returns the folder of a table's day: <dir>/<vendor>/<name>/<model>/date=<day>.
func (l *Lake) Partition(vendor, name string, model int, day string) string {
	return filepath.Join(l.dir, vendor, name, strconv.Itoa(model), "date="+day)
}

// rowChunk is how many rows are built before they are handed to the Parquet
// writer, which keeps them in compact column buffers: a gathered batch never
// exists as one map per row all at once.
const rowChunk = 256

func (l *Lake) writeFile(t *table, day string, envs []*event.Envelope) error {
	dir := l.Partition(t.model.Vendor, t.model.Name, t.model.Number, day)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("creating partition: %w", err)
	}
	l.seq++
	name := fmt.Sprintf("part-%s-%06d.parquet", time.Now().UTC().Format("20060102T150405.000000000"), l.seq)
	tmp, err := os.CreateTemp(dir, ".tmp-*.parquet")
	if err != nil {
		return fmt.Errorf("creating lake file: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	w := parquet.NewGenericWriter[map[string]any](tmp, t.schema, parquet.Compression(&parquet.Zstd))
	rows := make([]map[string]any, 0, min(rowChunk, len(envs)))
	for i, e := range envs {
		row, err := t.row(e)
		if err != nil {
			tmp.Close()
			return fmt.Errorf("event %s of %s: %w", e.EventID, e.Schema, err)
		}
		rows = append(rows, row)
		if len(rows) == cap(rows) || i == len(envs)-1 {
			if _, err := writeRows(w, rows); err != nil {
				tmp.Close()
				return fmt.Errorf("writing %s rows: %w", t.model.Table.Name, err)
			}
			clear(rows)
			rows = rows[:0]
		}
	}
	if err := w.Close(); err != nil {
		tmp.Close()
		return fmt.Errorf("finishing lake file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("syncing lake file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("closing lake file: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("publishing lake file: %w", err)
	}
	return syncDir(dir)
}

// writeRows writes rows, turning a panic of the encoder on an unexpected value
// into an error: bad data must not take the process down.
func writeRows(w *parquet.GenericWriter[map[string]any], rows []map[string]any) (n int, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("encoding rows: %v", r)
		}
	}()
	return w.Write(rows)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}

// tableFor returns the table of a contract version, rebuilding the IR when the
// registry swapped its snapshot.
func (l *Lake) tableFor(uri string) (*table, error) {
	key, err := contract.ParseURI(uri)
	if err != nil {
		return nil, fmt.Errorf("envelope schema: %w", err)
	}
	snap := l.contracts.Snapshot()
	if snap != l.irSnap {
		reg, err := ir.Build(snap)
		if err != nil {
			return nil, fmt.Errorf("mapping contracts to lake tables: %w", err)
		}
		l.irSnap, l.irReg, l.tables = snap, reg, map[*ir.Model]*table{}
	}
	m := l.irReg.Model(key.Vendor, key.Name, key.Version.Model)
	if m == nil {
		return nil, fmt.Errorf("no contract %s in the registry for the lake (was it removed while events were buffered? restore it)", uri)
	}
	if t, ok := l.tables[m]; ok {
		return t, nil
	}
	t := &table{model: m, cols: m.Table.Columns, schema: parquet.NewSchema(m.Table.Name, group(m.Table.Columns))}
	l.tables[m] = t
	return t, nil
}

// group maps columns to a Parquet group.
func group(cols []*ir.Column) parquet.Group {
	g := parquet.Group{}
	for _, c := range cols {
		g[c.Name] = node(c)
	}
	return g
}

func node(c *ir.Column) parquet.Node {
	var n parquet.Node
	switch c.Type {
	case ir.String:
		n = parquet.String()
	case ir.Int64:
		n = parquet.Int(64)
	case ir.Float64:
		n = parquet.Leaf(parquet.DoubleType)
	case ir.Bool:
		n = parquet.Leaf(parquet.BooleanType)
	case ir.Timestamp:
		n = parquet.Timestamp(parquet.Microsecond)
	case ir.Date:
		n = parquet.Date()
	case ir.Record:
		n = group(c.Fields)
	case ir.List:
		n = parquet.List(node(c.Elem))
	default:
		n = parquet.JSON()
	}
	if c.Nullable || c.Type == ir.List {
		n = parquet.Optional(n)
	}
	return n
}

// row maps an envelope to a row of its table.
func (t *table) row(e *event.Envelope) (map[string]any, error) {
	var data map[string]any
	dec := json.NewDecoder(bytes.NewReader(e.Data))
	dec.UseNumber() // integers beyond 2^53 stay exact
	if err := dec.Decode(&data); err != nil {
		return nil, fmt.Errorf("decoding envelope data: %w", err)
	}
	key, _ := contract.ParseURI(e.Schema)
	row := map[string]any{}
	for _, c := range t.cols {
		if !c.Envelope {
			continue
		}
		var v any
		switch c.Name {
		case ir.ColEventID:
			v = e.EventID
		case ir.ColContractVersion:
			v = key.Version.String()
		case ir.ColEventTime:
			v = e.EventTime.UTC().UnixMicro()
		case ir.ColReceivedAt:
			v = e.ReceivedAt.UTC().UnixMicro()
		case "sent_at":
			v = optTime(e.SentAt)
		case "device_created_at":
			v = optTime(e.DeviceCreatedAt)
		case "source_protocol":
			v = e.Source.Protocol
		case "source_app":
			v = optString(e.Source.App)
		case "source_platform":
			v = optString(e.Source.Platform)
		case "source_collector":
			v = e.Source.Collector
		case "contexts":
			if len(e.Contexts) > 0 {
				js, err := json.Marshal(e.Contexts)
				if err != nil {
					return nil, fmt.Errorf("encoding contexts: %w", err)
				}
				v = string(js)
			}
		default:
			return nil, fmt.Errorf("envelope column %s is not known to the lake; update internal/sink/lake with internal/codegen/ir", c.Name)
		}
		if v != nil {
			row[c.Name] = v
		}
	}
	for _, c := range t.cols {
		if c.Envelope {
			continue
		}
		v, err := value(c, data[c.JSONName])
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", c.Name, err)
		}
		if v != nil {
			row[c.Name] = v
		}
	}
	return row, nil
}

func optTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().UnixMicro()
}

func optString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// value converts one decoded JSON value to the Go value of its column; nil stays nil.
func value(c *ir.Column, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch c.Type {
	case ir.String:
		if s, ok := v.(string); ok {
			return s, nil
		}
		js, err := json.Marshal(v)
		return string(js), err
	case ir.Int64:
		n, ok := v.(json.Number)
		if !ok {
			return nil, fmt.Errorf("not an integer")
		}
		i, err := n.Int64()
		if err != nil {
			f, ferr := n.Float64() // 1.0 is an integer in JSON Schema
			if ferr != nil || f != float64(int64(f)) {
				return nil, fmt.Errorf("not a 64-bit integer")
			}
			i = int64(f)
		}
		return i, nil
	case ir.Float64:
		n, ok := v.(json.Number)
		if !ok {
			return nil, fmt.Errorf("not a number")
		}
		f, err := n.Float64()
		if err != nil {
			return nil, fmt.Errorf("not a finite number")
		}
		return f, nil
	case ir.Bool:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("not a boolean")
		}
		return b, nil
	case ir.Timestamp:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("not a date-time string")
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, fmt.Errorf("not an RFC 3339 date-time")
		}
		return t.UTC().UnixMicro(), nil
	case ir.Date:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("not a date string")
		}
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return nil, fmt.Errorf("not a date YYYY-MM-DD")
		}
		return int32(t.Unix() / 86400), nil
	case ir.Record:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("not an object")
		}
		out := map[string]any{}
		for _, f := range c.Fields {
			fv, err := value(f, m[f.JSONName])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.Name, err)
			}
			if fv != nil {
				out[f.Name] = fv
			}
		}
		return out, nil
	case ir.List:
		arr, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("not an array")
		}
		out := make([]any, 0, len(arr))
		for i, item := range arr {
			iv, err := value(c.Elem, item)
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			out = append(out, iv)
		}
		return out, nil
	default:
		js, err := json.Marshal(v)
		return string(js), err
	}
}

// seed remembers the event ids of files written since since.
func (l *Lake) seed(since time.Time) error {
	var errs []error
	_ = filepath.WalkDir(l.dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".parquet" || filepath.Base(path)[0] == '.' {
			return nil
		}
		info, err := d.Info()
		if err != nil || info.ModTime().Before(since) {
			return nil
		}
		ids, err := ReadEventIDs(path)
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		for _, id := range ids {
			l.seen.Add(id)
		}
		return nil
	})
	return errors.Join(errs...)
}

// ReadEventIDs reads the event_id column of a lake file.
func ReadEventIDs(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	col, ok := pf.Schema().Lookup(ir.ColEventID)
	if !ok {
		return nil, fmt.Errorf("reading %s: no event_id column", path)
	}
	var ids []string
	for _, rg := range pf.RowGroups() {
		pages := rg.ColumnChunks()[col.ColumnIndex].Pages()
		for {
			p, err := pages.ReadPage()
			if err != nil {
				break
			}
			vals := make([]parquet.Value, p.NumValues())
			n, _ := p.Values().ReadValues(vals)
			for _, v := range vals[:n] {
				ids = append(ids, v.String())
			}
		}
		pages.Close()
	}
	return ids, nil
}
