package buffer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Options configure a Disk buffer. The zero value of each field selects its
// default.
type Options struct {
	// MaxBytes bounds the records held for consumers: bytes (framing included) not
	// yet acknowledged by every consumer, plus appends in flight. An append that
	// would go beyond it fails with ErrFull. Disk use stays below MaxBytes plus
	// SegmentBytes. Default 1 GiB.
	MaxBytes int64
	// SegmentBytes is the size at which a new segment file is started; a segment
	// is deleted once every consumer has acknowledged all its records. Default 64 MiB.
	SegmentBytes int64
	// MaxRecordBytes is the largest record accepted. Default 4 MiB, or less when
	// SegmentBytes or MaxBytes is smaller.
	MaxRecordBytes int
	// MaxBatchDelay is how long the leader of a group commit (see Append) waits
	// before taking the queue, for more appends to share its fsync. 0, the
	// default, commits as soon as the previous fsync has finished: appends that
	// arrive during an fsync already share the next one, which is the best latency
	// and throughput on most disks.
	MaxBatchDelay time.Duration
	// AckInterval is how long an acknowledged position may stay in memory before
	// it is written to the offsets file. 0, the default, writes it (two fsyncs and
	// a rename) at every Ack. A positive interval makes the Acks that fall within
	// it share one write, started by a timer; Close writes whatever is pending.
	// After a crash a consumer reads again the records acknowledged in the last
	// interval: delivery stays at least once, and sinks drop the duplicates by
	// event id. Space is reclaimed when the positions are written. At most 1 minute.
	AckInterval time.Duration
	// Wants selects, per consumer name, the records that consumer reads: the
	// others come back as nil entries of Batch.Records, still counted, checked
	// and acknowledged with their batch, but neither copied nor kept. A consumer
	// that delivers one kind of record among many (the bad rows among the
	// envelopes) then costs a read of the file, not a copy of every record.
	// wants is called with the record's bytes, valid only during the call.
	Wants map[string]func(record []byte) bool
	// Transient names consumers whose records are valid only until that
	// consumer's next Read or Rewind: their reads reuse one buffer instead of
	// allocating one per read. For a consumer that copies what it reads (the
	// lake's column writers) before reading again.
	Transient []string
	// Prewrite writes segment files' space ahead of use: a goroutine writes a
	// blank file of SegmentBytes zeros, fsync'd, that becomes the next segment
	// at a roll. An append into written space changes no file metadata, so its
	// fsync writes the data alone: on ext4 here half the time and CPU of an
	// fsync that extends the file (docs/buffer.md, "Space written ahead"). A
	// blank costs a second write of every byte, in the background, so it is
	// written only for a segment filled by small commits (prewriteMaxCommit),
	// and up to two SegmentBytes more disk space (the active segment's unused
	// part and the blank).
	Prewrite bool
	// Consumers names the consumers ([a-z0-9_.-], at most 64 bytes), each with its
	// own committed position. A consumer new to the directory starts at the oldest
	// record still stored; a consumer left out forgets its position and no longer
	// holds back space. Default: one consumer named "default".
	Consumers []string
}

// DefaultMaxRecordBytes is the MaxRecordBytes that 0 selects (less when a
// segment or the buffer is smaller).
const DefaultMaxRecordBytes = 4 << 20

const (
	defaultMaxBytes     = 1 << 30
	defaultSegmentBytes = 64 << 20
	minSegmentBytes     = 1 << 10
	minMaxBytes         = 1 << 10
	maxSegmentBytes     = 1 << 32
	maxBatchDelayLimit  = time.Second
	maxAckInterval      = time.Minute
)

// DefaultConsumer is the consumer used when Options.Consumers is empty.
const DefaultConsumer = "default"

var consumerName = regexp.MustCompile(`^[a-z0-9_.-]{1,64}$`)

// withDefaults returns o with defaults filled in, or every problem found.
func (o Options) withDefaults() (Options, error) {
	var errs []error
	switch {
	case o.MaxBytes == 0:
		o.MaxBytes = defaultMaxBytes
	case o.MaxBytes < minMaxBytes:
		errs = append(errs, fmt.Errorf("MaxBytes is %d: it must be at least %d (0 selects %d)", o.MaxBytes, minMaxBytes, defaultMaxBytes))
	}
	switch {
	case o.SegmentBytes == 0:
		o.SegmentBytes = defaultSegmentBytes
	case o.SegmentBytes < minSegmentBytes || o.SegmentBytes > maxSegmentBytes:
		errs = append(errs, fmt.Errorf("SegmentBytes is %d: it must be between %d and %d (0 selects %d)", o.SegmentBytes, minSegmentBytes, maxSegmentBytes, defaultSegmentBytes))
	}
	fit := RecordFit(o.SegmentBytes, o.MaxBytes)
	switch {
	case o.MaxRecordBytes < 0:
		errs = append(errs, fmt.Errorf("MaxRecordBytes is %d: it must be positive (0 selects %d)", o.MaxRecordBytes, DefaultMaxRecordBytes))
	case o.MaxRecordBytes == 0:
		o.MaxRecordBytes = int(max(1, min(DefaultMaxRecordBytes, fit)))
	case int64(o.MaxRecordBytes) > fit:
		errs = append(errs, fmt.Errorf("MaxRecordBytes is %d: a record and its %d bytes of framing must fit in a segment (SegmentBytes %d, of which %d are the header) and in MaxBytes %d, so it may be at most %d", o.MaxRecordBytes, frameHeaderSize, o.SegmentBytes, segHeaderSize, o.MaxBytes, fit))
	}
	if o.MaxBatchDelay < 0 || o.MaxBatchDelay > maxBatchDelayLimit {
		errs = append(errs, fmt.Errorf("MaxBatchDelay is %s: it must be between 0 and %s", o.MaxBatchDelay, maxBatchDelayLimit))
	}
	if o.AckInterval < 0 || o.AckInterval > maxAckInterval {
		errs = append(errs, fmt.Errorf("AckInterval is %s: it must be between 0 and %s", o.AckInterval, maxAckInterval))
	}
	if len(o.Consumers) == 0 {
		o.Consumers = []string{DefaultConsumer}
	}
	seen := map[string]bool{}
	for _, name := range o.Consumers {
		switch {
		case !consumerName.MatchString(name):
			errs = append(errs, fmt.Errorf("consumer name %q: use 1 to 64 characters among a-z, 0-9, '_', '.' and '-'", name))
		case seen[name]:
			errs = append(errs, fmt.Errorf("consumer name %q is listed twice", name))
		}
		seen[name] = true
	}
	for name := range o.Wants {
		if !seen[name] {
			errs = append(errs, fmt.Errorf("Wants names consumer %q, which is not in Consumers", name))
		}
	}
	for _, name := range o.Transient {
		if !seen[name] {
			errs = append(errs, fmt.Errorf("Transient names consumer %q, which is not in Consumers", name))
		}
	}
	o.Consumers = slices.Clone(o.Consumers)
	if len(errs) > 0 {
		return o, fmt.Errorf("invalid buffer options: %w", errors.Join(errs...))
	}
	return o, nil
}

// Disk is a Buffer stored in segment files in one directory. It is safe for
// concurrent use; see Buffer for the contract of each method.
type Disk struct {
	dir  string
	opts Options
	lock *os.File

	mu         sync.Mutex
	segs       []*segment // by base; the last one is being appended to
	queue      []*request // appends waiting for the next commit
	spare      []*request // the previous queue's array, for reuse
	committing bool       // some Append is the leader (see lead)
	idle       *sync.Cond // signaled when committing becomes false
	inflight   int64      // bytes queued or being committed
	closed     bool
	failed     error         // sticky: the first write or fsync error
	notify     chan struct{} // closed and replaced after every commit
	fsyncs     uint64
	fsyncTime  time.Duration
	prewritten uint64 // segments started from a blank
	appended   uint64
	consumers  map[string]*consumer // fixed at Open
	order      []*consumer

	// Owned by the leader: the one Append goroutine committing at a time.
	active *segment
	wsize  int64  // bytes written to active, durable or not
	wcount uint64 // records written to active
	wbuf   []byte
	kicked bool   // the blank for the next segment was asked for, or not wanted
	syncs  uint64 // fsyncs of the active segment, for the size of its commits

	ackMu sync.Mutex // serializes writes of the offsets file
	// With Options.AckInterval, guarded by mu: the timer that will write the
	// positions acknowledged since the last write, and the error of the last
	// write it made, returned by the next Ack.
	ackTimer *time.Timer
	ackErr   error

	// torn is the torn write found by Open, if any.
	torn *tornWrite

	// reclaim deletes the segments every consumer has passed.
	reclaim *reclaimer
	// blank writes the next segment's space ahead (Options.Prewrite); nil
	// without it.
	blank *blanker
}

// tornWrite is the torn final write found in the last segment at Open.
type tornWrite struct {
	seg    *segment // its size is where the torn write starts
	reason string
	bytes  int64 // cut off
}

var _ Buffer = (*Disk)(nil)

// segment is one segment file.
type segment struct {
	base     uint64 // sequence number of the first record
	path     string
	f        *os.File
	startAbs int64 // framed bytes in the log before this segment (see position)
	// Durable extent, guarded by Disk.mu: records and file size up to the last
	// fsync.
	count uint64
	size  int64
	// prewritten, guarded by Disk.mu, is the file's size when it is longer than
	// size, its space written ahead with zeros (Options.Prewrite): only ever the
	// last segment, which is cut to size when the next one starts.
	prewritten int64
}

func (s *segment) endAbs() int64 { return s.startAbs + s.size - segHeaderSize }

// position is a place between two records of the log.
type position struct {
	seq uint64 // sequence number of the next record
	seg uint64 // base of the segment that off refers to
	off int64  // file offset in that segment
	abs int64  // framed bytes since the first segment present at Open
}

// consumer is the state of one named consumer.
type consumer struct {
	name string
	// reading holds a token while a Read of this consumer runs, so that Reads of
	// one consumer hand out disjoint batches; a channel, so that a waiting Read
	// still honors its context.
	reading chan struct{}
	// Guarded by Disk.mu.
	read    position            // next record to hand out
	acked   position            // end of the contiguous acknowledged prefix
	pending map[uint64]position // acknowledged batches past acked: first seq -> end
	durable position            // acked, as last written to the offsets file
	// With Options.Wants or Transient, owned by the Read holding the reading
	// token: the records' selection, the chunk the frames are read into
	// before the selected records are copied out, and the slice of records
	// found in it (a Transient consumer's Batch.Records).
	wants     func([]byte) bool
	transient bool
	scratch   []byte
	recs      [][]byte
}

// request is one Append call waiting for a commit. Its records are the
// caller's, not a copy: the leader copies them, each after its frame header,
// into its write chunk. An Append whose caller gives up before a leader took
// its request copies them first (see Append).
type request struct {
	records [][]byte
	heads   []byte // the records' frame headers, frameHeaderSize bytes each
	size    int64  // the frames' bytes
	// done receives the request's outcome, or first a call to lead.
	done chan outcome
	// Guarded by Disk.mu.
	lead      bool // it was sent the call to lead
	taken     bool // a leader is committing it: its records are being read
	abandoned bool // its Append returned early: it cannot be called to lead
}

// outcome is what an appender waits for: its result, or the call to lead the
// next commit.
type outcome struct {
	err  error
	lead bool
}

// Open opens the buffer in dir, creating dir if needed, and recovers it: a torn
// write at the end of the last segment (an append that was never acknowledged) is
// cut off; any other damage fails Open with a *CorruptError. Records not yet
// acknowledged by a consumer are read by it again. Only one process may have a
// directory open at a time.
func Open(dir string, opts Options) (*Disk, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("opening buffer: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, fmt.Errorf("opening buffer: %w", err)
	}
	d := &Disk{dir: dir, opts: opts, lock: lock, notify: make(chan struct{})}
	d.idle = sync.NewCond(&d.mu)
	if err := d.recover(); err != nil {
		return nil, errors.Join(fmt.Errorf("opening buffer %s: %w", dir, err), d.closeFiles())
	}
	d.reclaim = newReclaimer(dir)
	if opts.Prewrite {
		d.blank = newBlanker(dir, opts.SegmentBytes)
	}
	return d, nil
}

// recover loads the directory: segments, consumer positions, torn tail.
func (d *Disk) recover() error {
	if err := os.Remove(filepath.Join(d.dir, offsetsName+".tmp")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing stale temporary file: %w", err)
	}
	entries, err := os.ReadDir(d.dir)
	if err != nil {
		return fmt.Errorf("listing: %w", err)
	}
	reclaimed, err := removeReclaiming(d.dir, entries)
	if err != nil {
		return err
	}
	if err := removeBlank(d.dir); err != nil {
		return err
	}
	if reclaimed {
		if err := syncDir(d.dir); err != nil {
			return err
		}
	}
	var bases []uint64
	for _, e := range entries {
		if base, ok := parseSegmentName(e.Name()); ok {
			bases = append(bases, base)
		} else if strings.HasSuffix(e.Name(), segSuffix) {
			return fmt.Errorf("%s: unexpected file name: segment files are named after their first sequence number, 20 digits", e.Name())
		}
	}
	slices.Sort(bases)
	stored, haveOffsets, err := readOffsets(d.dir)
	if err != nil {
		return err
	}
	if len(bases) == 0 {
		if haveOffsets {
			return fmt.Errorf("%s exists but there is no segment file: records are missing; move the directory aside to start empty", offsetsName)
		}
		f, path, err := createSegment(d.dir, 0)
		if err != nil {
			return err
		}
		d.segs = []*segment{{base: 0, path: path, f: f, size: segHeaderSize}}
		return d.loadConsumers(stored, haveOffsets, nil, 0)
	}
	found, acked, err := d.loadSegments(bases, stored)
	if err != nil {
		return err
	}
	if err := d.loadConsumers(stored, haveOffsets, found, bases[0]); err != nil {
		return err
	}
	if t := d.torn; t != nil {
		if err := t.seg.f.Truncate(t.seg.size); err != nil {
			return fmt.Errorf("truncating torn write (%s) in %s at offset %d: %w", t.reason, t.seg.path, t.seg.size, err)
		}
		if err := t.seg.f.Sync(); err != nil {
			return fmt.Errorf("syncing %s: %w", t.seg.path, err)
		}
	}
	// Every consumer is past these segments: the process died between storing the
	// acknowledgment and deleting them.
	for _, base := range acked {
		if err := os.Remove(filepath.Join(d.dir, segmentName(base))); err != nil {
			return fmt.Errorf("removing acknowledged segment: %w", err)
		}
	}
	if len(acked) > 0 {
		return syncDir(d.dir)
	}
	return nil
}

// loadSegments opens and scans the segments named by bases. Segments that every
// consumer in stored has acknowledged are neither opened nor scanned: their bases
// are returned, for recover to delete once the stored positions have been
// checked. It also returns the file offsets of the records at the stored
// positions.
func (d *Disk) loadSegments(bases []uint64, stored map[string]uint64) (found map[uint64]int64, acked []uint64, err error) {
	// A consumer new to the directory starts at the oldest segment, so it keeps them
	// all.
	low := bases[len(bases)-1]
	for _, name := range d.opts.Consumers {
		off, ok := stored[name]
		if !ok {
			low = bases[0]
			break
		}
		low = min(low, off)
	}
	keep := 0
	for keep < len(bases)-1 && bases[keep+1] <= low {
		keep++
	}
	acked, bases = bases[:keep], bases[keep:]

	// Scan what is left, remembering where each consumer's next record starts.
	wanted := map[uint64]int64{}
	for _, off := range stored {
		wanted[off] = -1
	}
	var abs int64
	for i, base := range bases {
		last := i == len(bases)-1
		path := filepath.Join(d.dir, segmentName(base))
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return nil, nil, fmt.Errorf("opening segment: %w", err)
		}
		s := &segment{base: base, path: path, f: f, startAbs: abs}
		d.segs = append(d.segs, s)
		info, err := f.Stat()
		if err != nil {
			return nil, nil, fmt.Errorf("opening segment: %w", err)
		}
		seq := base
		res, err := scanSegment(f, info.Size(), path, base, last, func(off int64, _ frame) {
			if _, ok := wanted[seq]; ok {
				wanted[seq] = off
			}
			seq++
		})
		if err != nil {
			return nil, nil, err
		}
		switch {
		case res.headerTorn:
			// Created but never written to before the process died.
			if err := writeSegmentHeader(f, base); err != nil {
				return nil, nil, err
			}
			res.end = segHeaderSize
		case res.torn:
			// Truncated by recover, once the consumer positions are known to lie
			// before the torn write.
			d.torn = &tornWrite{seg: s, reason: res.tornReason, bytes: info.Size() - res.end}
		case res.zeroTail:
			s.prewritten = info.Size()
		}
		s.count, s.size = res.count, res.end
		abs = s.endAbs()
		if !last && base+s.count != bases[i+1] {
			return nil, nil, &CorruptError{Path: path, Offset: s.size, Reason: fmt.Sprintf("segment holds records %d to %d but the next segment starts at %d", base, base+s.count, bases[i+1])}
		}
	}
	return wanted, acked, nil
}

// loadConsumers sets every consumer's position from stored (or the oldest record
// for a new consumer) and rewrites the offsets file when the set of consumers
// changed. oldest is the first sequence number on disk, for error messages.
func (d *Disk) loadConsumers(stored map[string]uint64, haveOffsets bool, found map[uint64]int64, oldest uint64) error {
	d.consumers = map[string]*consumer{}
	current := map[string]uint64{}
	for _, name := range d.opts.Consumers {
		seq, ok := stored[name]
		if !ok {
			seq = d.segs[0].base
		}
		p, err := d.positionOf(seq, found, oldest)
		if err != nil {
			return fmt.Errorf("consumer %q: %w", name, err)
		}
		c := &consumer{name: name, reading: make(chan struct{}, 1), read: p, acked: p, durable: p, pending: map[uint64]position{}, wants: d.opts.Wants[name],
			transient: slices.Contains(d.opts.Transient, name)}
		d.consumers[name] = c
		d.order = append(d.order, c)
		current[name] = seq
	}
	if haveOffsets && mapsEqual(current, stored) {
		return nil
	}
	return writeOffsets(d.dir, current)
}

func mapsEqual(a, b map[string]uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// positionOf returns the position of the record with sequence number seq, using
// the file offsets found while scanning.
func (d *Disk) positionOf(seq uint64, found map[uint64]int64, oldest uint64) (position, error) {
	end := d.endLocked()
	if seq < d.segs[0].base || seq > end.seq {
		return position{}, fmt.Errorf("its acknowledged position, record %d, is outside the records stored (%d to %d): segment files are missing or were cut short; move the buffer directory aside to start empty", seq, min(oldest, d.segs[0].base), end.seq)
	}
	if seq == end.seq {
		return end, nil
	}
	s := d.segmentOf(seq)
	if seq == s.base {
		return position{seq: seq, seg: s.base, off: segHeaderSize, abs: s.startAbs}, nil
	}
	off, ok := found[seq]
	if !ok || off < 0 {
		return position{}, fmt.Errorf("record %d was not found while scanning %s", seq, s.path)
	}
	return position{seq: seq, seg: s.base, off: off, abs: s.startAbs + off - segHeaderSize}, nil
}

// endLocked returns the position after the last durable record.
func (d *Disk) endLocked() position {
	s := d.segs[len(d.segs)-1]
	return position{seq: s.base + s.count, seg: s.base, off: s.size, abs: s.endAbs()}
}

// segmentOf returns the segment holding record seq, which must be stored.
func (d *Disk) segmentOf(seq uint64) *segment {
	i := sort.Search(len(d.segs), func(i int) bool { return d.segs[i].base > seq })
	return d.segs[i-1]
}

// locateLocked returns the segment and file offset of the record at p, or
// ok=false when p is at the end of the durable log.
func (d *Disk) locateLocked(p position) (s *segment, off int64, ok bool, err error) {
	if p.seq >= d.endLocked().seq {
		return nil, 0, false, nil
	}
	s = d.segmentOf(p.seq)
	switch {
	case s.base == p.seg:
		return s, p.off, true, nil
	case s.base == p.seq:
		// p is the end of the previous segment: the record opens this one.
		return s, segHeaderSize, true, nil
	}
	return nil, 0, false, fmt.Errorf("buffer: internal error: position %d in segment %d does not match segment %d", p.seq, p.seg, s.base)
}

// usedLocked is the capacity in use: bytes the slowest consumer has not durably
// acknowledged, plus appends in flight.
func (d *Disk) usedLocked() int64 {
	end := d.endLocked()
	low := end.abs
	for _, c := range d.order {
		low = min(low, c.durable.abs)
	}
	return end.abs - low + d.inflight
}

// Append implements Buffer.
//
// Group commit works by leader and followers, with no goroutine of its own: the
// Append that finds no commit running becomes the leader and commits, in its own
// goroutine, everything queued (one write, one fsync); Appends that arrive
// meanwhile queue up as followers. After each commit the leader answers the
// appends it committed and, if more are queued, calls the first follower to lead
// the next commit. A lone appender therefore pays no goroutine hand-off, and under
// load every fsync is shared by all the appends that queued during the previous
// one.
func (d *Disk) Append(ctx context.Context, records [][]byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(records) == 0 {
		return nil
	}
	size := 0
	for i, r := range records {
		if len(r) > d.opts.MaxRecordBytes {
			return &RecordTooLargeError{Index: i, Size: len(r), Max: d.opts.MaxRecordBytes}
		}
		size += frameHeaderSize + len(r)
	}
	if int64(size) > d.opts.MaxBytes {
		return fmt.Errorf("%w: %d records take %d bytes, more than the buffer's capacity (%d); append fewer at a time", ErrTooLarge, len(records), size, d.opts.MaxBytes)
	}
	now := time.Now().UnixNano()
	pooled := headsPool.Get().(*[]byte)
	heads := (*pooled)[:0]
	for _, r := range records {
		heads = appendFrameHeader(heads, r, now)
	}
	req := &request{records: records, heads: heads, size: int64(size), done: make(chan outcome, 1)}
	// Once the request is answered the leader is done with its headers: they go
	// back to the pool. An abandoned request's stay with the queue.
	answered := func(err error) error {
		if cap(req.heads) <= maxPooledHeads {
			*pooled = req.heads[:0]
			headsPool.Put(pooled)
		}
		return err
	}

	d.mu.Lock()
	switch {
	case d.closed:
		d.mu.Unlock()
		return answered(ErrClosed)
	case d.failed != nil:
		d.mu.Unlock()
		return answered(fmt.Errorf("buffer: refusing appends after an earlier write failure (reopen the buffer to recover): %w", d.failed))
	case d.usedLocked()+int64(size) > d.opts.MaxBytes:
		d.mu.Unlock()
		return answered(ErrFull)
	}
	d.inflight += int64(size)
	d.queue = append(d.queue, req)
	leader := !d.committing
	d.committing = true
	d.mu.Unlock()

	if leader {
		d.lead()
	}
	cancel := ctx.Done()
	for {
		select {
		case o := <-req.done:
			if !o.lead {
				return answered(o.err)
			}
			d.lead() // our own outcome follows
		case <-cancel:
			d.mu.Lock()
			if !req.lead && !req.taken {
				// Still queued: the leader that takes it will read copies, since
				// the caller may reuse its records once Append returns.
				req.records = copyRecords(req.records)
				req.abandoned = true
				d.mu.Unlock()
				return ctx.Err()
			}
			// Called to lead (the queued appends depend on us now), or being
			// committed (its records are being read): wait for the outcome.
			d.mu.Unlock()
			cancel = nil
		}
	}
}

// copyRecords returns a copy of records in one allocation.
func copyRecords(records [][]byte) [][]byte {
	n := 0
	for _, r := range records {
		n += len(r)
	}
	buf := make([]byte, 0, n)
	out := make([][]byte, len(records))
	for i, r := range records {
		buf = append(buf, r...)
		out[i] = buf[len(buf)-len(r) : len(buf) : len(buf)]
	}
	return out
}

// headsPool recycles the frame headers of appends (see Append); larger ones are
// left to the GC.
var headsPool = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledHeads = 64 << 10

// lead commits the queued appends, answers them, and then hands the next commit
// to a waiting follower, or ends the leadership when none is queued. Exactly one
// goroutine runs lead at a time.
func (d *Disk) lead() {
	if d.opts.MaxBatchDelay > 0 {
		time.Sleep(d.opts.MaxBatchDelay)
	}
	for {
		d.mu.Lock()
		reqs := d.queue
		d.queue, d.spare = d.spare[:0], nil
		for _, r := range reqs {
			r.taken = true
		}
		err := d.failed
		d.mu.Unlock()

		if err == nil {
			err = d.commit(reqs)
		}
		var size int64
		for _, r := range reqs {
			size += r.size
		}

		d.mu.Lock()
		d.inflight -= size
		if err != nil && d.failed == nil {
			d.failed = err
		}
		for i, r := range reqs {
			r.done <- outcome{err: err}
			reqs[i] = nil
		}
		d.spare = reqs[:0]
		if len(d.queue) == 0 {
			d.committing = false
			d.idle.Broadcast()
			d.mu.Unlock()
			return
		}
		for _, r := range d.queue {
			if !r.abandoned {
				r.lead = true
				r.done <- outcome{lead: true}
				d.mu.Unlock()
				return
			}
		}
		// Only appends whose callers gave up are queued: commit them ourselves.
		d.mu.Unlock()
	}
}

// commit writes the frames of reqs to the log (each record after its header),
// rolling to new segments as needed, and fsyncs. Once it returns nil every
// frame is durable and visible to readers.
func (d *Disk) commit(reqs []*request) error {
	if d.active == nil {
		d.mu.Lock()
		d.active = d.segs[len(d.segs)-1]
		d.wsize, d.wcount = d.active.size, d.active.count
		d.mu.Unlock()
	}
	d.wbuf = d.wbuf[:0]
	for _, r := range reqs {
		for i, rec := range r.records {
			// A frame goes to the active segment if it fits, or if the segment
			// is empty (a frame larger than a segment gets one of its own).
			size := int64(frameHeaderSize + len(rec))
			if d.wsize+int64(len(d.wbuf))+size > d.opts.SegmentBytes && (d.wcount > 0 || len(d.wbuf) > 0) {
				if err := d.roll(); err != nil {
					return err
				}
			}
			if err := d.write(r.heads[i*frameHeaderSize : (i+1)*frameHeaderSize]); err != nil {
				return err
			}
			if err := d.write(rec); err != nil {
				return err
			}
			d.wcount++
		}
	}
	if written := d.wsize + int64(len(d.wbuf)); d.blank != nil && !d.kicked && written > d.opts.SegmentBytes/2 {
		// Half full: a blank for the next segment, if the commits (this one
		// included) are small enough for it to pay (see prewriteMaxCommit).
		if (written-segHeaderSize)/int64(d.syncs+1) < prewriteMaxCommit {
			d.blank.kick()
		}
		d.kicked = true
	}
	return d.sync()
}

// write queues bytes of frames (a header, a record) for the active segment,
// writing them out in large chunks.
func (d *Disk) write(frames []byte) error {
	const chunk = 1 << 20
	if len(d.wbuf)+len(frames) <= chunk {
		d.wbuf = append(d.wbuf, frames...)
		return nil
	}
	if err := d.flush(); err != nil {
		return err
	}
	if len(frames) <= chunk {
		d.wbuf = append(d.wbuf, frames...)
		return nil
	}
	if _, err := d.active.f.WriteAt(frames, d.wsize); err != nil {
		return fmt.Errorf("buffer: writing %s: %w", d.active.path, err)
	}
	d.wsize += int64(len(frames))
	return nil
}

func (d *Disk) flush() error {
	if len(d.wbuf) == 0 {
		return nil
	}
	if _, err := d.active.f.WriteAt(d.wbuf, d.wsize); err != nil {
		return fmt.Errorf("buffer: writing %s: %w", d.active.path, err)
	}
	d.wsize += int64(len(d.wbuf))
	d.wbuf = d.wbuf[:0]
	return nil
}

// sync makes everything written to the active segment durable, then publishes it
// to readers.
func (d *Disk) sync() error {
	if err := d.flush(); err != nil {
		return err
	}
	d.mu.Lock()
	unchanged := d.wsize == d.active.size
	d.mu.Unlock()
	if unchanged {
		return nil
	}
	start := time.Now()
	if err := d.active.f.Sync(); err != nil {
		return fmt.Errorf("buffer: syncing %s: %w", d.active.path, err)
	}
	took := time.Since(start)
	d.mu.Lock()
	d.syncs++
	d.appended += d.wcount - d.active.count
	d.active.size, d.active.count = d.wsize, d.wcount
	d.fsyncs++
	d.fsyncTime += took
	close(d.notify)
	d.notify = make(chan struct{})
	d.mu.Unlock()
	return nil
}

// roll makes the active segment durable and starts the next one: the blank
// written ahead when one is ready (Options.Prewrite), else a new file.
func (d *Disk) roll() error {
	if err := d.sync(); err != nil {
		return err
	}
	if d.active.prewritten > d.wsize {
		// Only the last segment may end in zeros (recovery reads them as the end
		// of its records): cut them off before the next segment exists.
		if err := d.active.f.Truncate(d.wsize); err != nil {
			return fmt.Errorf("buffer: cutting the unused space off %s: %w", d.active.path, err)
		}
		if err := d.active.f.Sync(); err != nil {
			return fmt.Errorf("buffer: syncing %s: %w", d.active.path, err)
		}
		d.mu.Lock()
		d.active.prewritten = 0
		d.mu.Unlock()
	}
	base := d.active.base + d.wcount
	var (
		f          *os.File
		path       string
		prewritten int64
		err        error
	)
	if d.blank != nil {
		if f = d.blank.take(); f != nil {
			path, prewritten = filepath.Join(d.dir, segmentName(base)), d.opts.SegmentBytes
			err = d.adoptBlank(f, path, base)
		}
	}
	if f == nil {
		f, path, err = createSegment(d.dir, base)
	}
	if err != nil {
		return fmt.Errorf("buffer: %w", err)
	}
	s := &segment{base: base, path: path, f: f, startAbs: d.active.endAbs(), size: segHeaderSize, prewritten: prewritten}
	d.mu.Lock()
	if prewritten > 0 {
		d.prewritten++
	}
	d.segs = append(d.segs, s)
	d.mu.Unlock()
	d.active, d.wsize, d.wcount, d.kicked, d.syncs = s, segHeaderSize, 0, false, 0
	return nil
}

// adoptBlank makes the blank f the segment file for base at path: its header
// written and fsync'd, then the file renamed and the directory fsync'd, so
// that a segment file is never seen without its header.
func (d *Disk) adoptBlank(f *os.File, path string, base uint64) error {
	fail := func(err error) error { return errors.Join(err, f.Close()) }
	if _, err := f.WriteAt(encodeSegmentHeader(base), 0); err != nil {
		return fail(fmt.Errorf("writing header of %s: %w", f.Name(), err))
	}
	if err := f.Sync(); err != nil {
		return fail(fmt.Errorf("syncing %s: %w", f.Name(), err))
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		return fail(fmt.Errorf("creating segment: %s exists already (%v)", path, err))
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fail(fmt.Errorf("creating segment: %w", err))
	}
	if err := syncDir(d.dir); err != nil {
		return fail(err)
	}
	return nil
}

// RecordFit is the largest MaxRecordBytes that Options with these
// SegmentBytes and MaxBytes (0 for their defaults) accept: a record and its
// framing must fit in one segment, after its header, and in the buffer.
func RecordFit(segmentBytes, maxBytes int64) int64 {
	if segmentBytes == 0 {
		segmentBytes = defaultSegmentBytes
	}
	if maxBytes == 0 {
		maxBytes = defaultMaxBytes
	}
	return min(segmentBytes-segHeaderSize-frameHeaderSize, maxBytes-frameHeaderSize)
}

// Read implements Buffer.
func (d *Disk) Read(ctx context.Context, consumer string, max int) (Batch, error) {
	if max <= 0 {
		return Batch{}, fmt.Errorf("buffer: reading %d records: max must be positive", max)
	}
	c, ok := d.consumers[consumer]
	if !ok {
		return Batch{}, fmt.Errorf("%w: %q", ErrUnknownConsumer, consumer)
	}
	select {
	case c.reading <- struct{}{}:
		defer func() { <-c.reading }()
	case <-ctx.Done():
		return Batch{}, ctx.Err()
	}
	for {
		d.mu.Lock()
		if d.closed {
			d.mu.Unlock()
			return Batch{}, ErrClosed
		}
		p := c.read
		s, off, ok, err := d.locateLocked(p)
		if err != nil {
			d.mu.Unlock()
			return Batch{}, err
		}
		if !ok {
			wait := d.notify
			d.mu.Unlock()
			select {
			case <-ctx.Done():
				return Batch{}, ctx.Err()
			case <-wait:
				continue
			}
		}
		// The records between off and s.size are durable and immutable, and s
		// cannot be deleted while this consumer has not acknowledged them.
		limit, avail := s.size, s.base+s.count-p.seq
		d.mu.Unlock()

		recs, end, err := c.readFrames(s.f, s.path, off, limit, min(uint64(max), avail))
		if err != nil {
			d.mu.Lock()
			closed := d.closed
			d.mu.Unlock()
			if closed {
				return Batch{}, ErrClosed
			}
			return Batch{}, err
		}
		next := position{seq: p.seq + uint64(len(recs)), seg: s.base, off: end, abs: s.startAbs + end - segHeaderSize}
		d.mu.Lock()
		c.read = next
		d.mu.Unlock()
		return Batch{Consumer: consumer, First: p.seq, Records: recs, owner: d, count: uint64(len(recs)), end: next}, nil
	}
}

// readFrames reads up to n records (at least one) of the segment in r, named path,
// from off, stopping at limit or after about readChunk bytes. It returns the records
// and the offset after them.
func readFrames(r io.ReaderAt, path string, off, limit int64, n uint64) ([][]byte, int64, error) {
	return readFramesInto(r, path, off, limit, n, make([]byte, min(limit-off, readChunk)), nil)
}

// readFrames is readFrames for this consumer. With a selection (Options.Wants)
// the chunk is read into the consumer's scratch buffer and only the selected
// records are copied out, into one allocation; the others are nil. A Transient
// consumer gets slices of the scratch buffer itself.
func (c *consumer) readFrames(r io.ReaderAt, path string, off, limit int64, n uint64) ([][]byte, int64, error) {
	if c.wants == nil && !c.transient {
		return readFrames(r, path, off, limit, n)
	}
	size := int(min(limit-off, readChunk))
	if cap(c.scratch) < size {
		c.scratch = make([]byte, size)
	}
	recs, end, err := readFramesInto(r, path, off, limit, n, c.scratch[:size], c.recs[:0])
	if cap(recs) > cap(c.recs) {
		c.recs = recs[:0]
	}
	if err != nil || c.wants == nil {
		// Transient: the records are slices of the scratch buffer, in the
		// consumer's slice, both reused by its next read.
		return recs, end, err
	}
	total := 0
	for i, rec := range recs {
		if c.wants(rec) {
			total += len(rec)
		} else {
			recs[i] = nil
		}
	}
	// The caller keeps what it gets: copies of the selected records, in a
	// slice of their own, exactly as long.
	kept := make([]byte, 0, total)
	out := make([][]byte, len(recs))
	for i, rec := range recs {
		if rec != nil {
			at := len(kept)
			kept = append(kept, rec...)
			out[i] = kept[at:len(kept):len(kept)]
		}
	}
	clear(recs) // no references into the scratch buffer are left behind
	return out, end, nil
}

// readFramesInto is readFrames reading the chunk into buf (min(limit-off,
// readChunk) bytes) and appending the records to recs; the records returned are
// slices of buf, except a record larger than the chunk, read into its own
// allocation.
func readFramesInto(r io.ReaderAt, path string, off, limit int64, n uint64, buf []byte, recs [][]byte) ([][]byte, int64, error) {
	if _, err := r.ReadAt(buf, off); err != nil {
		return nil, off, fmt.Errorf("buffer: reading %s: %w", path, err)
	}
	for uint64(len(recs)) < n && len(buf) > 0 {
		f, st := decodeFrame(buf)
		if st == frameShortPayload && len(recs) == 0 && off+int64(f.size) <= limit {
			// A record larger than the chunk: read it whole.
			buf = make([]byte, f.size)
			if _, err := r.ReadAt(buf, off); err != nil {
				return nil, off, fmt.Errorf("buffer: reading %s: %w", path, err)
			}
			f, st = decodeFrame(buf)
		}
		if (st == frameShortHeader || st == frameShortPayload) && len(recs) > 0 && off+int64(len(buf)) < limit {
			break // the rest is beyond this chunk
		}
		if st != frameOK {
			return nil, off, &CorruptError{Path: path, Offset: off, Reason: st.String()}
		}
		recs = append(recs, f.payload[:len(f.payload):len(f.payload)])
		buf = buf[f.size:]
		off += int64(f.size)
	}
	return recs, off, nil
}

// Ack implements Buffer.
func (d *Disk) Ack(ctx context.Context, b Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if b.owner == nil && b.count == 0 {
		return nil // the zero Batch
	}
	if b.owner != d {
		return ErrForeignBatch
	}
	c, ok := d.consumers[b.Consumer]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownConsumer, b.Consumer)
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return ErrClosed
	}
	switch {
	case b.end.seq <= c.acked.seq:
		d.mu.Unlock()
		return nil // acknowledged before
	case b.First < c.acked.seq || b.end.seq > c.read.seq || b.end.seq != b.First+b.count:
		d.mu.Unlock()
		return fmt.Errorf("%w: records %d to %d overlap acknowledged ones (up to %d) or were not read", ErrForeignBatch, b.First, b.end.seq, c.acked.seq)
	case b.First > c.acked.seq:
		c.pending[b.First] = b.end
		d.mu.Unlock()
		return nil
	}
	c.acked = b.end
	for {
		next, ok := c.pending[c.acked.seq]
		if !ok {
			break
		}
		delete(c.pending, c.acked.seq)
		c.acked = next
	}
	if d.opts.AckInterval == 0 {
		d.mu.Unlock()
		return d.persistAcks()
	}
	err := d.ackErr
	d.ackErr = nil
	if d.ackTimer == nil {
		d.ackTimer = time.AfterFunc(d.opts.AckInterval, d.flushAcks)
	}
	d.mu.Unlock()
	return err
}

// Rewind implements Buffer.
func (d *Disk) Rewind(ctx context.Context, consumer string) error {
	c, ok := d.consumers[consumer]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownConsumer, consumer)
	}
	select {
	case c.reading <- struct{}{}:
		defer func() { <-c.reading }()
	case <-ctx.Done():
		return ctx.Err()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	c.read = c.acked
	clear(c.pending)
	return nil
}

// flushAcks is the AckInterval timer: it writes the positions acknowledged since
// the last write and keeps an error for the next Ack.
func (d *Disk) flushAcks() {
	d.mu.Lock()
	d.ackTimer = nil
	d.mu.Unlock()
	if err := d.persistAcks(); err != nil && !errors.Is(err, ErrClosed) {
		d.mu.Lock()
		d.ackErr = err
		d.mu.Unlock()
	}
}

// persistAcks writes every consumer's acknowledged position to the offsets file,
// then deletes the segments that every consumer has passed.
func (d *Disk) persistAcks() error {
	d.ackMu.Lock()
	defer d.ackMu.Unlock()
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed {
		return ErrClosed
	}
	return d.storeAcks()
}

// storeAcks is persistAcks without the check for Close; the caller holds ackMu.
func (d *Disk) storeAcks() error {
	d.mu.Lock()
	offs := map[string]uint64{}
	acked := make([]position, len(d.order))
	changed := false
	for i, c := range d.order {
		offs[c.name] = c.acked.seq
		acked[i] = c.acked
		changed = changed || c.acked.seq != c.durable.seq
	}
	d.mu.Unlock()
	if !changed {
		return nil // an Ack running concurrently wrote this one too
	}
	if err := writeOffsets(d.dir, offs); err != nil {
		return fmt.Errorf("buffer: %w", err)
	}

	d.mu.Lock()
	low := acked[0].seq
	for i, c := range d.order {
		c.durable = acked[i]
		low = min(low, acked[i].seq)
	}
	n := 0
	for n < len(d.segs)-1 && d.segs[n+1].base <= low {
		n++
	}
	gone := slices.Clone(d.segs[:n])
	d.segs = slices.Delete(d.segs, 0, n)
	d.mu.Unlock()

	// The reclaimer deletes them in the background, a few MiB at a time (see
	// reclaim.go); a failure of an earlier deletion is reported here.
	err := d.reclaim.takeErr()
	if len(gone) > 0 {
		err = errors.Join(err, d.reclaim.add(gone))
	}
	if err != nil {
		return fmt.Errorf("buffer: acknowledgment stored, but reclaiming space failed (retried at next Open): %w", err)
	}
	return nil
}

// Stats implements Buffer.
func (d *Disk) Stats() (Stats, error) {
	now := time.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return Stats{}, ErrClosed
	}
	end := d.endLocked()
	st := Stats{
		CapacityBytes: d.opts.MaxBytes,
		UsedBytes:     d.usedLocked(),
		InflightBytes: d.inflight,
		Segments:      len(d.segs),
		Appended:      d.appended,
		Fsyncs:        d.fsyncs,
		FsyncTime:     d.fsyncTime,
	}
	for _, s := range d.segs {
		st.DiskBytes += max(s.size, s.prewritten)
	}
	st.Prewritten = d.prewritten
	if d.blank != nil {
		st.DiskBytes += d.blank.bytes()
		st.PrewriteFailures = d.blank.failed()
	}
	if d.torn != nil {
		st.TornBytes = d.torn.bytes
	}
	for _, c := range d.order {
		cs := ConsumerStats{Name: c.name, Records: int64(end.seq - c.acked.seq), Bytes: end.abs - c.acked.abs}
		s, off, ok, err := d.locateLocked(c.acked)
		if err != nil {
			return Stats{}, err
		}
		if ok {
			h := make([]byte, frameHeaderSize)
			if _, err := s.f.ReadAt(h, off); err != nil {
				return Stats{}, fmt.Errorf("buffer: reading %s: %w", s.path, err)
			}
			f, fst := decodeFrame(h)
			if fst != frameOK && fst != frameShortPayload {
				return Stats{}, &CorruptError{Path: s.path, Offset: off, Reason: fst.String()}
			}
			cs.OldestAge = max(0, now.Sub(time.Unix(0, f.unixNano)))
		}
		st.Consumers = append(st.Consumers, cs)
		if cs.Bytes >= st.Bytes {
			st.Records, st.Bytes = cs.Records, cs.Bytes
		}
		st.OldestAge = max(st.OldestAge, cs.OldestAge)
	}
	return st, nil
}

// Close implements Buffer.
func (d *Disk) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	for d.committing {
		d.idle.Wait() // until every queued append has been answered
	}
	if d.ackTimer != nil {
		d.ackTimer.Stop() // if it already fired, its write finds the buffer closed
		d.ackTimer = nil
	}
	d.mu.Unlock()

	d.ackMu.Lock()
	defer d.ackMu.Unlock()
	// Positions acknowledged within the last AckInterval.
	stored := d.storeAcks()
	d.mu.Lock()
	close(d.notify) // wakes blocked Reads, which then see closed
	d.mu.Unlock()
	var reclaimed, blank error
	if err := d.reclaim.close(); err != nil {
		reclaimed = fmt.Errorf("buffer: reclaiming space failed (retried at next Open): %w", err)
	}
	if d.blank != nil {
		blank = d.blank.close()
	}
	return errors.Join(stored, reclaimed, blank, d.closeFiles())
}

// closeFiles closes the segment files and releases the directory lock.
func (d *Disk) closeFiles() error {
	var errs []error
	for _, s := range d.segs {
		if err := s.f.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := d.lock.Close(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("closing buffer: %w", errors.Join(errs...))
	}
	return nil
}
