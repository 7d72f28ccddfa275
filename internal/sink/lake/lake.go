// Package lake is the Parquet lake sink: one table per contract MODEL, typed
// columns from the contract's stored shape and the envelope columns (the codegen
// IR, the same mapping the SQL DDL and dbt sources use), files under
// <dir>/<vendor>/<name>/<model>/date=YYYY-MM-DD/ written atomically, where the
// date is the UTC day of the event's received_at.
package lake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/accord-dev/accord/internal/codegen/ir"
	"github.com/accord-dev/accord/internal/contract"
	"github.com/accord-dev/accord/internal/event"
	"github.com/accord-dev/accord/internal/jsonscan"
	"github.com/accord-dev/accord/internal/sink"
)

// Contracts gives the current registry snapshot.
type Contracts interface {
	Snapshot() *contract.Snapshot
}

// Lake writes buffer records straight into Parquet files, one open file per
// partition (table and day of receipt), as row groups while they arrive
// (sink.Stream):
// Append converts each envelope record into typed column values without
// decoding it into Go values, and Commit finishes every open file, fsyncs it and
// renames it into place, so a reader never sees a partial file and the loader
// acknowledges the buffer only once the records are durable. File size and age
// are set by how much the loader appends between commits (sink.Loader's
// MaxBytes and Linger): that is the rotation policy. Memory is one row group per
// open file, not the records of a whole file.
//
// Redelivered envelopes are dropped by event id: the lake remembers the ids it
// published in a bounded window, seeded at start from the files written in the
// last SeedWindow, which covers every batch that could be redelivered after a
// crash, and the ids in its open files.
type Lake struct {
	dir       string
	contracts Contracts
	log       *slog.Logger
	seen      *sink.Seen

	mu       sync.Mutex
	irSnap   *contract.Snapshot
	irReg    *ir.Registry
	tables   map[*ir.Model]*table
	versions map[string]version // by schema URI
	parts    map[partKey]*part
	open     map[sink.IDHash]struct{} // the event ids in the open files (Seen.HashID)
	// last is the partition of the previous record and lastDay its day in
	// days since 1970: consecutive records mostly share one (records arrive in
	// the order the collector received them), which then costs neither
	// formatting the day nor a lookup in parts. Reset whenever parts loses a
	// partition.
	last    *part
	lastDay int64
	seq     uint64
	marks   []int
	text    []byte
	// spares are the tables given a spare writer by the last Commit.
	spares []*table
}

// scratch returns the content of a checked JSON string, valid until the next
// call.
func (l *Lake) scratch(s []byte) []byte {
	if _, plain, _ := jsonscan.String(s, 0); plain {
		return s[1 : len(s)-1]
	}
	l.text = jsonscan.AppendUnquoted(l.text[:0], s[1:len(s)-1])
	return l.text
}

// seenWindow is how many recent event ids the lake remembers. Redelivery only
// concerns records not yet durably acknowledged: at most what the loader appends
// between two commits (16 MiB of records, about 16,000 reference events, at most
// 131,072 records of 128 bytes), whose ids in the open files are checked apart,
// plus the records committed within the buffer's ack interval (1 s by default:
// about 70,000 reference events at the load test's rate).
const seenWindow = 1 << 17

// SeedWindow is how far back Open reads event ids of existing files.
const SeedWindow = 15 * time.Minute

// rowGroupRows is how many rows a file's row group holds at most: the pages of
// one row group (compressed, about 5 MB for 16,384 reference events) and one
// page buffer per column are what an open file keeps in memory.
var rowGroupRows = 16_384

// flushRows is how many rows are collected as values before they go to the
// column writers.
const flushRows = 256

// Open opens the lake under dir. Temporary files that a crashed process left
// behind are removed: their records were never acknowledged, so the buffer
// delivers them again.
func Open(dir string, contracts Contracts, log *slog.Logger) (*Lake, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("creating the lake folder: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Lake{dir: dir, contracts: contracts, log: log, seen: sink.NewSeen(seenWindow),
		parts: map[partKey]*part{}, open: map[sink.IDHash]struct{}{}}
	l.resetTables(nil, nil)
	if err := l.seed(time.Now().Add(-SeedWindow)); err != nil {
		return nil, err
	}
	return l, nil
}

// table is the Parquet schema and column plan of one MODEL table.
type table struct {
	model  *ir.Model
	schema *parquet.Schema
	leaves int
	// env are the envelope columns, data the data columns' plan.
	env  []envCol
	data *colPlan
	// spare is the writer and rows of the table's file published by the last
	// Commit, for its next file (see create): a new Parquet writer allocates
	// its column buffers again (about 1.3 MB a file for BenchmarkLoader's
	// table), and parquet-go's pools do not keep them across GCs. A spare not
	// taken before the next Commit is dropped (see Lake.spares), so that a
	// table seen once does not hold its buffers.
	spare *part
}

// envCol is one envelope column of a table: its Parquet leaf and the envelope
// member it stores (its ir.Column.Member).
type envCol struct {
	leaf   int
	member int
	typ    ir.Logical
	// def is the definition level of a value: 1 when the column is optional.
	def int
}

// memberIndex finds a member the lake reads by its path (memberPaths).
var memberIndex = func() map[string]int {
	m := make(map[string]int, numMembers)
	for i, p := range memberPaths {
		m[p] = i
	}
	return m
}()

// version is what the lake needs of one contract version.
type version struct {
	t   *table
	ver []byte // contract_version, e.g. 1-0-2
}

type partKey struct {
	t   *table
	day string
}

// part is a partition's open file.
type part struct {
	t    *table
	day  string
	dir  string
	f    *os.File
	w    *parquet.GenericWriter[any]
	cols []*parquet.ColumnWriter
	rows *rows
	// group counts the rows of the current row group.
	group int
	ids   []sink.IDHash
}

// WriteBatch writes the envelopes not written before, one file per partition.
// The loader uses Append and Commit; WriteBatch serves callers that hold
// decoded envelopes.
func (l *Lake) WriteBatch(ctx context.Context, batch []event.Envelope) error {
	recs := make([][]byte, len(batch))
	for i := range batch {
		rec, err := event.EncodeEnvelope(&batch[i])
		if err != nil {
			return err
		}
		recs[i] = rec
	}
	if _, err := l.Append(ctx, recs); err != nil {
		return err
	}
	return l.Commit(ctx)
}

// Append implements sink.Stream: it writes the envelope records among records
// (bad rows are not the lake's) to the open files of their partitions and
// returns how many it took. They are durable only after Commit. On an error
// every open file is discarded: the loader appends again what it has not
// committed.
func (l *Lake) Append(ctx context.Context, records [][]byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := ctx.Err(); err != nil {
		l.abortLocked()
		return 0, err
	}
	n := 0
	for i, rec := range records {
		if !event.IsEnvelopeRecord(rec) {
			continue
		}
		n++
		if err := l.appendLocked(rec); err != nil {
			l.abortLocked()
			return 0, fmt.Errorf("record %d of the batch: %w", i, err)
		}
	}
	for _, p := range l.parts {
		if err := p.flushRows(); err != nil {
			l.abortLocked()
			return 0, err
		}
	}
	return n, nil
}

func (l *Lake) appendLocked(rec []byte) error {
	// The data object is written to its partition's columns while the envelope
	// is parsed, as soon as the members that choose the partition (event_id,
	// schema, received_at) have been read (the encoders write them first): the
	// object is scanned once, not once to find its end and again for its
	// values. A record whose members come otherwise has its data written after
	// the parse.
	var (
		e     envelope
		d     dest
		state int       // what was decided during the parse: nothing, dropped or written
		keys  [3][]byte // the event_id, schema and received_at that decided it
	)
	const (
		none = iota
		dropped
		written
	)
	onData := func(start int) (int, error) {
		if state == written { // data again: the last one counts, after the parse
			d.p.rows.rollback(l.marks)
			state = none
			return -1, nil
		}
		if state == dropped || e.m[mEventID] == nil || e.m[mSchema] == nil || e.m[mReceivedAt] == nil {
			return -1, nil
		}
		var dup bool
		var err error
		if d, dup, err = l.dest(&e); err != nil || dup {
			if dup {
				state, keys = dropped, [3][]byte{e.m[mEventID], e.m[mSchema], e.m[mReceivedAt]}
			}
			return -1, err
		}
		l.marks = d.p.rows.mark(l.marks)
		end, err := d.p.rows.record(d.p.t.data, rec, start, 0)
		if err != nil {
			d.p.rows.rollback(l.marks)
			return end, fmt.Errorf("event %s of %s: %w", e.m[mEventID], e.m[mSchema], err)
		}
		state, keys = written, [3][]byte{e.m[mEventID], e.m[mSchema], e.m[mReceivedAt]}
		return end, nil
	}
	if err := e.parse(rec, onData); err != nil {
		if state == written {
			d.p.rows.rollback(l.marks)
		}
		return err
	}
	if state != none && !(bytes.Equal(keys[0], e.m[mEventID]) && bytes.Equal(keys[1], e.m[mSchema]) && bytes.Equal(keys[2], e.m[mReceivedAt])) {
		// A member that chose the partition came again after the data.
		if state == written {
			d.p.rows.rollback(l.marks)
		}
		state = none
	}
	switch state {
	case dropped:
		return nil
	case none:
		var dup bool
		var err error
		if d, dup, err = l.dest(&e); err != nil || dup {
			return err
		}
		l.marks = d.p.rows.mark(l.marks)
		if err := d.p.t.data.write(d.p.rows, &e); err != nil {
			d.p.rows.rollback(l.marks)
			return fmt.Errorf("event %s of %s: %w", e.m[mEventID], e.m[mSchema], err)
		}
	}
	p := d.p
	if err := p.t.row(p.rows, &e, d.receivedAt, d.v.ver); err != nil {
		p.rows.rollback(l.marks)
		return fmt.Errorf("event %s of %s: %w", e.m[mEventID], e.m[mSchema], err)
	}
	p.rows.n++
	l.open[d.id] = struct{}{}
	p.ids = append(p.ids, d.id)
	if p.rows.n >= flushRows {
		return p.flushRows()
	}
	return nil
}

// dest is where a record's row goes.
type dest struct {
	id         sink.IDHash
	v          version
	receivedAt time.Time
	p          *part
}

// dest finds the partition of the envelope's row from its event_id, schema and
// received_at, or reports that its id was stored before (dup). The partition is
// the UTC day of received_at, the collector's clock, as in the generated DDL:
// event_time is the producer's estimate and may be any day (a device clock off
// by years would otherwise create partitions that day-based retention keeps for
// as long).
func (l *Lake) dest(e *envelope) (d dest, dup bool, err error) {
	d.id = l.seen.HashID(l.scratch(e.m[mEventID]))
	if _, open := l.open[d.id]; open || l.seen.HasHash(d.id) {
		return d, true, nil
	}
	if d.v, err = l.versionOf(l.scratch(e.m[mSchema])); err != nil {
		return d, false, err
	}
	if d.receivedAt, err = parseTime(l.scratch(e.m[mReceivedAt])); err != nil {
		return d, false, fmt.Errorf("event %s: received_at: %w", e.m[mEventID], err)
	}
	d.receivedAt = d.receivedAt.UTC()
	p, dayNum := l.last, unixDay(d.receivedAt)
	if p == nil || p.t != d.v.t || l.lastDay != dayNum {
		day := d.receivedAt.Format(time.DateOnly)
		var ok bool
		if p, ok = l.parts[partKey{d.v.t, day}]; !ok {
			if p, err = l.create(d.v.t, day); err != nil {
				return d, false, err
			}
			l.parts[partKey{d.v.t, day}] = p
		}
		l.last, l.lastDay = p, dayNum
	}
	d.p = p
	return d, false, nil
}

// flushRows hands the collected values to the column writers and ends the row
// group when it is full.
func (p *part) flushRows() error {
	n := p.rows.n
	if err := p.rows.flush(p.cols); err != nil {
		return fmt.Errorf("writing %s rows: %w", p.t.model.Table.Name, err)
	}
	if p.group += n; p.group >= rowGroupRows {
		if err := p.w.Flush(); err != nil {
			return fmt.Errorf("writing a %s row group: %w", p.t.model.Table.Name, err)
		}
		p.group = 0
	}
	return nil
}

// Commit implements sink.Stream: it finishes every open file, fsyncs it and
// renames it into its partition. When it fails, the files published before the
// failure stay (their ids are remembered) and the others are discarded.
func (l *Lake) Commit(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	parts := make([]*part, 0, len(l.parts))
	for _, p := range l.parts {
		parts = append(parts, p)
	}
	sort.Slice(parts, func(i, j int) bool {
		a, b := parts[i], parts[j]
		if a.t.model.Table.Name != b.t.model.Table.Name {
			return a.t.model.Table.Name < b.t.model.Table.Name
		}
		return a.day < b.day
	})
	// The spares of the last Commit that no file took since are dropped.
	for _, t := range l.spares {
		t.spare = nil
	}
	clear(l.spares) // nor does the list keep tables of an older snapshot
	l.spares = l.spares[:0]
	dirs := map[string]bool{}
	for _, p := range parts {
		if err := ctx.Err(); err != nil {
			l.abortLocked()
			return err
		}
		if len(p.ids) == 0 {
			// Opened for a record whose row went elsewhere (see appendLocked):
			// no file to publish.
			p.f.Close()
			os.Remove(p.f.Name())
			delete(l.parts, partKey{p.t, p.day})
			l.last = nil
			continue
		}
		if err := l.publish(p); err != nil {
			l.abortLocked()
			return err
		}
		delete(l.parts, partKey{p.t, p.day})
		l.last = nil
		dirs[p.dir] = true
		// Remembered per published file, so that a retry after a later partition
		// failed does not write this one again.
		for _, id := range p.ids {
			l.seen.AddHash(id)
			delete(l.open, id)
		}
	}
	for dir := range dirs {
		if err := syncDir(dir); err != nil {
			l.abortLocked()
			return err
		}
	}
	return nil
}

// Close discards the open files: what they hold was never committed, so the
// buffer delivers it again.
func (l *Lake) Close(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.abortLocked()
	return nil
}

func (l *Lake) abortLocked() {
	for k, p := range l.parts {
		p.f.Close()
		os.Remove(p.f.Name())
		delete(l.parts, k)
	}
	l.last = nil
	clear(l.open)
}

// unixDay is the day of t (UTC) in days since 1970-01-01.
func unixDay(t time.Time) int64 {
	s := t.Unix()
	d := s / 86400
	if s%86400 < 0 {
		d--
	}
	return d
}

// Partition returns the folder of a table's day: <dir>/<vendor>/<name>/<model>/date=<day>.
func (l *Lake) Partition(vendor, name string, model int, day string) string {
	return filepath.Join(l.dir, vendor, name, strconv.Itoa(model), "date="+day)
}

func (l *Lake) create(t *table, day string) (*part, error) {
	dir := l.Partition(t.model.Vendor, t.model.Name, t.model.Number, day)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("creating partition: %w", err)
	}
	f, err := os.CreateTemp(dir, ".tmp-*.parquet")
	if err != nil {
		return nil, fmt.Errorf("creating lake file: %w", err)
	}
	if sp := t.spare; sp != nil {
		t.spare = nil
		sp.w.Reset(f)
		return &part{t: t, day: day, dir: dir, f: f, w: sp.w, cols: sp.w.ColumnWriters(), rows: sp.rows}, nil
	}
	w := parquet.NewGenericWriter[any](f, t.schema, parquet.Compression(lakeZstd))
	return &part{t: t, day: day, dir: dir, f: f, w: w, cols: w.ColumnWriters(), rows: newRows(t.leaves)}, nil
}

// publish finishes p's file and renames it into place (the folder is synced by
// the caller).
func (l *Lake) publish(p *part) error {
	if err := p.flushRows(); err != nil {
		return err
	}
	if err := p.w.Close(); err != nil {
		return fmt.Errorf("finishing lake file: %w", err)
	}
	if err := p.f.Sync(); err != nil {
		return fmt.Errorf("syncing lake file: %w", err)
	}
	if err := p.f.Close(); err != nil {
		return fmt.Errorf("closing lake file: %w", err)
	}
	l.seq++
	name := fmt.Sprintf("part-%s-%06d.parquet", time.Now().UTC().Format("20060102T150405.000000000"), l.seq)
	if err := os.Rename(p.f.Name(), filepath.Join(p.dir, name)); err != nil {
		return fmt.Errorf("publishing lake file: %w", err)
	}
	// The writer finished its file cleanly: the table's next file reuses it.
	// A part that failed or was discarded is not kept, whatever its state.
	p.t.spare = &part{w: p.w, rows: p.rows}
	l.spares = append(l.spares, p.t)
	return nil
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

// versionOf returns the table of a contract version, rebuilding the IR when the
// registry swapped its snapshot.
func (l *Lake) versionOf(uri []byte) (version, error) {
	snap := l.contracts.Snapshot()
	if snap != l.irSnap {
		reg, err := ir.Build(snap)
		if err != nil {
			return version{}, fmt.Errorf("mapping contracts to lake tables: %w", err)
		}
		l.resetTables(snap, reg)
	}
	if v, ok := l.versions[string(uri)]; ok {
		return v, nil
	}
	key, err := contract.ParseURI(string(uri))
	if err != nil {
		return version{}, fmt.Errorf("envelope schema: %w", err)
	}
	m := l.irReg.Model(key.Vendor, key.Name, key.Version.Model)
	if m == nil {
		return version{}, fmt.Errorf("no contract %s in the registry for the lake (was it removed while events were buffered? restore it)", uri)
	}
	t, ok := l.tables[m]
	if !ok {
		if t, err = newTable(m); err != nil {
			return version{}, err
		}
		l.tables[m] = t
	}
	v := version{t: t, ver: []byte(key.Version.String())}
	l.versions[string(uri)] = v
	return v, nil
}

// resetTables forgets the plans of the previous snapshot; files already open
// keep theirs.
func (l *Lake) resetTables(snap *contract.Snapshot, reg *ir.Registry) {
	l.irSnap, l.irReg = snap, reg
	l.tables, l.versions = map[*ir.Model]*table{}, map[string]version{}
}

func newTable(m *ir.Model) (*table, error) {
	schema := parquet.NewSchema(m.Table.Name, group(m.Table.Columns))
	t := &table{model: m, schema: schema, leaves: len(schema.Columns())}
	for _, c := range m.Table.Columns {
		if !c.Envelope {
			continue
		}
		member, ok := memberIndex[c.Member]
		// contexts is the one member kept as JSON; the others are strings or times.
		if !ok || (c.Type == ir.JSON) != (member == mContexts) || c.Type != ir.JSON && c.Type != ir.String && c.Type != ir.Timestamp {
			return nil, fmt.Errorf("envelope column %s (%s of envelope member %q) is not known to the lake; update internal/sink/lake/envelope.go with internal/codegen/ir", c.Name, c.Type, c.Member)
		}
		leaf, ok := schema.Lookup(c.Name)
		if !ok {
			return nil, fmt.Errorf("lake schema has no column %s", c.Name)
		}
		ec := envCol{leaf: leaf.ColumnIndex, member: member, typ: c.Type}
		if c.Nullable {
			ec.def = 1
		}
		t.env = append(t.env, ec)
	}
	var err error
	if t.data, err = compileColumns(schema, m.Table.Columns); err != nil {
		return nil, fmt.Errorf("planning %s: %w", m.Table.Name, err)
	}
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

// row writes the envelope's columns of its row (the data's are written apart,
// colPlan.write); receivedAt is received_at as dest parsed it, ver the
// contract_version.
func (t *table) row(r *rows, e *envelope, receivedAt time.Time, ver []byte) error {
	for _, c := range t.env {
		v := e.m[c.member]
		switch {
		case c.member == mSchema: // contract_version: the version of the schema URI
			r.add(c.leaf, parquet.ByteArrayValue(ver), 0, c.def)
			continue
		case v == nil || c.def == 1 && c.typ == ir.String && len(v) == 2: // "" is absent for optional members
			if c.def == 0 {
				return fmt.Errorf("%s missing", memberPaths[c.member])
			}
			r.add(c.leaf, parquet.Value{}, 0, 0)
			continue
		}
		switch c.typ {
		case ir.Timestamp:
			at := receivedAt
			if c.member != mReceivedAt {
				var err error
				if at, err = parseTime(r.str(v)); err != nil {
					return fmt.Errorf("%s: %w", memberPaths[c.member], err)
				}
			}
			r.add(c.leaf, parquet.Int64Value(at.UnixMicro()), 0, c.def)
		case ir.String:
			r.add(c.leaf, parquet.ByteArrayValue(r.str(v)), 0, c.def)
		default: // JSON (contexts), as the record holds it
			r.add(c.leaf, parquet.ByteArrayValue(v), 0, c.def)
		}
	}
	return nil
}

// seed remembers the event ids of files written since since, and removes the
// temporary files of a process that stopped before committing them.
func (l *Lake) seed(since time.Time) error {
	var errs []error
	_ = filepath.WalkDir(l.dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".parquet" {
			return nil
		}
		if base := filepath.Base(path); base[0] == '.' {
			if strings.HasPrefix(base, ".tmp-") {
				if err := os.Remove(path); err != nil {
					errs = append(errs, fmt.Errorf("removing an uncommitted lake file: %w", err))
				}
			}
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
