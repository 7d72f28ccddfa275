package vault

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Buckets of the embedded store (layout 3). Keys are binary; nothing in any bucket is
// a subject, a controller or a value in plain text. A (controller, subject) costs two
// rows, its index entry and its key record, and its first tokens live inside the key
// record; see docs/vault.md for the sizes.
var (
	bucketMeta    = []byte("meta")    // "fingerprint" -> master key fingerprint; "layout" -> "3"
	bucketIndex   = []byte("index")   // index key (see indexKey) -> key number (uvarint) or layout-2 key id (8 bytes)
	bucketRecords = []byte("records") // key id -> key record (see below) or tombstone; appended in key number order
	bucketTokens  = []byte("tokens")  // key id || 8-byte MAC prefix -> sealed value, for tokens that do not fit in the key record
	bucketAudit   = []byte("audit")   // big-endian seq -> JSON AuditEntry

	// Buckets of older layouts, which OpenBolt migrates. Layout 1: "keys" held key id
	// -> wrapped key, "forgotten" key id -> "" (tombstone), and every token was in
	// "tokens". Layout 2: "pairs" held pair id (24 bytes) -> random key id.
	bucketV1Keys      = []byte("keys")
	bucketV1Forgotten = []byte("forgotten")
	bucketV2Pairs     = []byte("pairs")

	metaFingerprint = []byte("fingerprint")
	metaLayout      = []byte("layout")
)

// boltLayout is the layout of the files OpenBolt writes, recorded under metaLayout.
// Files without the record are of layout 1 or 2 and are migrated when opened.
const boltLayout = "3"

// A key record, the value of a key id in the records bucket, starts with a header
// byte h:
//
//	h = 0:           a tombstone (a forget destroyed the key); nothing follows
//	h = 0x80 | n:    wrapped key (n bytes) || mapping ...   (layout 3: version 2 tokens)
//	h = n < 0x80:    wrapped key (n bytes) || mapping ...   (layout 2: version 1 tokens)
//	mapping = 8-byte MAC prefix || uvarint len(sealed) || sealed value
//
// The header's top bit says which token version the key issues, at no extra byte.
// Keeping a key's first tokens in its record saves each of them a row (its 16-byte
// bbolt element header and its 8-byte key id), and a forget rewrites one row per key
// instead of a row per token in a bucket of its own. Tokens that would make the record
// longer than maxRecordLen go to the tokens bucket instead, so a subject with many
// values never makes its record large.
const (
	maxRecordLen    = 512
	recordTombstone = 0
	recordCurrent   = 0x80
	maxWrappedLen   = 0x7f
)

// tombstone is the value of a destroyed key's record. It is never modified.
var tombstone = []byte{recordTombstone}

// errCorruptRecord means a key record does not parse: the file was altered or damaged.
var errCorruptRecord = errors.New("corrupt key record")

// isTombstone reports whether the record v marks a destroyed key.
func isTombstone(v []byte) bool { return len(v) == 1 && v[0] == recordTombstone }

// newRecord encodes a live record holding wrapped and no mapping yet; tokenV1 marks a
// key of layout 2 or older, which issues version 1 tokens.
func newRecord(wrapped []byte, tokenV1 bool) ([]byte, error) {
	if len(wrapped) == 0 || len(wrapped) > maxWrappedLen {
		return nil, fmt.Errorf("a wrapped key of %d bytes does not fit a key record (1-%d)", len(wrapped), maxWrappedLen)
	}
	h := byte(len(wrapped))
	if !tokenV1 {
		h |= recordCurrent
	}
	rec := make([]byte, 0, 1+len(wrapped)+64)
	return append(append(rec, h), wrapped...), nil
}

// splitRecord returns the wrapped key and the encoded mappings of a live record, and
// whether the key issues version 1 tokens.
func splitRecord(v []byte) (wrapped, mappings []byte, tokenV1 bool, err error) {
	if len(v) < 2 {
		return nil, nil, false, errCorruptRecord
	}
	n := int(v[0] &^ recordCurrent)
	if n == 0 || n > len(v)-1 {
		return nil, nil, false, errCorruptRecord
	}
	return v[1 : 1+n], v[1+n:], v[0]&recordCurrent == 0, nil
}

// Index keys. The index is found by a pair's id, and a forget of a subject under
// every controller scans the entries that start with the subject's id, so an index
// key is the first indexSubjectLen bytes of the subject id and the 8-byte tag of the
// pair: 20 bytes instead of the pair id's 24. Two subjects share a 12-byte prefix with
// odds of about n^2/2^97 among n subjects (1 in 10^11 at a billion); two pairs of one
// subject share a tag with odds of 2^-64.
const indexSubjectLen = 12

func indexKey(pair PairID) []byte {
	k := make([]byte, 0, indexSubjectLen+len(pair)-len(SubjectID{}))
	return append(append(k, pair[:indexSubjectLen]...), pair[len(SubjectID{}):]...)
}

// maxKeyNumber bounds the key numbers the store assigns: an index entry holds a number
// as a uvarint of at most 7 bytes, which tells it apart from an 8-byte key id of
// layout 2. 2^49 keys is over 500 trillion.
const maxKeyNumber = 1<<49 - 1

// keyNumber returns the number that id holds, if it is one the store could assign.
func keyNumber(id KeyID) (uint64, bool) {
	n := binary.BigEndian.Uint64(id[:])
	return n, n != 0 && n <= maxKeyNumber
}

// indexValue encodes id for the index: a key number as a uvarint (3 bytes for the
// first two million keys), any other id as its 8 bytes.
func indexValue(id KeyID) []byte {
	if n, ok := keyNumber(id); ok {
		return binary.AppendUvarint(nil, n)
	}
	return bytes.Clone(id[:])
}

// indexID decodes an index value.
func indexID(v []byte) (KeyID, error) {
	var id KeyID
	if len(v) == len(id) {
		return KeyID(v), nil
	}
	n, k := binary.Uvarint(v)
	if k <= 0 || k != len(v) || n > maxKeyNumber {
		return id, errors.New("corrupt index entry")
	}
	binary.BigEndian.PutUint64(id[:], n)
	return id, nil
}

// recordsFill is the records bucket's FillPercent. New keys get increasing numbers,
// so records are appended at the end of the B+tree: bbolt's default (0.5) would leave
// every page it splits half empty for good, where 1.0 fills it. Records are written
// once and never grow (see putMappings), so a full page does not split again.
const recordsFill = 1.0

// recordsBucket returns tx's records bucket, set to fill its pages when tx writes.
func recordsBucket(tx *bolt.Tx) *bolt.Bucket {
	b := tx.Bucket(bucketRecords)
	if tx.Writable() {
		b.FillPercent = recordsFill
	}
	return b
}

// eachMapping calls fn with the MAC prefix and the sealed value of each mapping in
// the encoded mappings m, until fn returns false.
func eachMapping(m []byte, fn func(prefix, sealed []byte) bool) error {
	for len(m) > 0 {
		if len(m) < tokenMACPrefix+1 {
			return errCorruptRecord
		}
		prefix := m[:tokenMACPrefix]
		n, k := binary.Uvarint(m[tokenMACPrefix:])
		if k <= 0 || n > uint64(len(m)-tokenMACPrefix-k) {
			return errCorruptRecord
		}
		start := tokenMACPrefix + k
		if !fn(prefix, m[start:start+int(n)]) {
			return nil
		}
		m = m[start+int(n):]
	}
	return nil
}

// findMapping returns the sealed value stored inline for mac, or nil.
func findMapping(m []byte, mac MAC) ([]byte, error) {
	var found []byte
	err := eachMapping(m, func(prefix, sealed []byte) bool {
		if bytes.Equal(prefix, mac[:tokenMACPrefix]) {
			found = sealed
			return false
		}
		return true
	})
	return found, err
}

// tokenMACPrefix is how much of a token's MAC the tokens bucket keys by: enough to
// tell apart the few values of one subject (a collision has odds of 2^-64 per pair
// of values and shows as errValueMismatch), 8 bytes shorter than the whole MAC.
const tokenMACPrefix = 8

// maxWriteBatch bounds the writes that share one transaction (and one fsync).
const maxWriteBatch = 256

// BoltOptions configure OpenBolt.
type BoltOptions struct {
	// ScrubDelay is how long after a forget the store zeroes the file's free pages,
	// so that destroyed keys do not linger in pages bbolt freed but did not overwrite.
	// Forgets in between share one scrub. 0 means DefaultScrubDelay.
	ScrubDelay time.Duration
	// LockTimeout is how long OpenBolt waits for another process to release the file.
	// 0 means one second.
	LockTimeout time.Duration
}

// DefaultScrubDelay is the default BoltOptions.ScrubDelay.
const DefaultScrubDelay = time.Second

// BoltStore is the embedded Store: one bbolt file, opened by one process at a time.
//
// Writes go through one goroutine that commits whatever writes are waiting in a single
// transaction (group commit), so concurrent tokenizes of new subjects share an fsync
// instead of paying one each, and a lone write is never delayed.
type BoltStore struct {
	db         *bolt.DB
	file       *os.File // the same file, for scrubbing free pages
	scrubDelay time.Duration

	// readers is held shared by every read transaction and exclusively by a scrub,
	// which may only zero pages that no open transaction can still read.
	readers sync.RWMutex

	// lastKey is the last key number handed out by NextKeyID.
	lastKey atomic.Uint64

	ops     chan *boltOp
	scrubs  chan chan error
	quit    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

type boltOp struct {
	// fn runs inside a write transaction. It returns an error only when the storage
	// fails; outcomes such as "key forgotten" go to the caller through its closure, and
	// fn must not have written anything when it reports one. fn may run twice (once in
	// a batch that failed, then alone), so it resets its outcome first.
	fn     func(tx *bolt.Tx) error
	forget bool // schedules a scrub
	done   chan error
}

// ErrInUse is the error (wrapped) of opening an embedded vault file that
// another process holds open.
var ErrInUse = errors.New("another process has it open")

// OpenBolt opens (creating when needed) the embedded store at path.
func OpenBolt(path string, opts BoltOptions) (*BoltStore, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:      cmpOr(opts.LockTimeout, time.Second),
		FreelistType: bolt.FreelistMapType,
		// Every commit would otherwise write the list of free pages too: one more
		// page (more when many pages are free) on the fsync path of every tokenize of
		// a new subject and every forget. Without it, opening the file walks the
		// tree to find the free pages, as etcd does.
		NoFreelistSync: true,
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("opening the vault file %s: %w (only one accord process may use an embedded vault; use the postgres store to share one)", path, ErrInUse)
	}
	if err != nil {
		return nil, fmt.Errorf("opening the vault file %s: %w", path, err)
	}
	var lastKey uint64
	err = db.Update(func(tx *bolt.Tx) error {
		if err := migrate(tx); err != nil {
			return err
		}
		lastKey = tx.Bucket(bucketRecords).Sequence()
		return nil
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("initialising the vault file %s: %w", path, err), db.Close())
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("opening the vault file %s for scrubbing: %w", path, err), db.Close())
	}
	s := &BoltStore{
		db:         db,
		file:       f,
		scrubDelay: cmpOr(opts.ScrubDelay, DefaultScrubDelay),
		ops:        make(chan *boltOp),
		scrubs:     make(chan chan error),
		quit:       make(chan struct{}),
		stopped:    make(chan struct{}),
	}
	s.lastKey.Store(lastKey)
	go s.loop()
	return s, nil
}

// migrate creates the buckets of a new file, or brings a file of layout 1 or 2 to
// layout 3, in the transaction that opens the file: a crash leaves the file in one
// layout or the other. A file of a later layout is refused.
func migrate(tx *bolt.Tx) error {
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return fmt.Errorf("creating bucket %s: %w", bucketMeta, err)
	}
	switch layout := meta.Get(metaLayout); {
	case string(layout) == boltLayout:
		return nil
	case layout != nil:
		return fmt.Errorf("the file is in layout %q, which this version of accord does not know (it writes layout %s); open it with the accord that wrote it, or a later one", layout, boltLayout)
	}
	for _, b := range [][]byte{bucketIndex, bucketRecords, bucketTokens, bucketAudit} {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return fmt.Errorf("creating bucket %s: %w", b, err)
		}
	}
	if err := migrateV1(tx); err != nil {
		return err
	}
	if err := migrateV2(tx); err != nil {
		return err
	}
	return meta.Put(metaLayout, []byte(boltLayout))
}

// migrateV2 moves the pair index of layout 2, if tx holds one, to the index of layout
// 3 (20-byte keys, see indexKey). Its entries keep their random 8-byte key ids, whose
// records keep their layout-2 header and so go on issuing version 1 tokens: every
// token issued before the migration stays the token of its value, and resolves. New
// keys are numbered from 1 and issue version 2 tokens. The records are not rewritten,
// so the migration costs one pass over the pair index.
func migrateV2(tx *bolt.Tx) error {
	pairs := tx.Bucket(bucketV2Pairs)
	if pairs == nil {
		return nil
	}
	index := tx.Bucket(bucketIndex)
	err := pairs.ForEach(func(k, v []byte) error {
		if len(k) != len(PairID{}) || len(v) != len(KeyID{}) {
			return fmt.Errorf("pair index entry %x: %w", k, errCorruptRecord)
		}
		return index.Put(indexKey(PairID(k)), v)
	})
	if err != nil {
		return fmt.Errorf("migrating the pair index: %w", err)
	}
	if err := tx.DeleteBucket(bucketV2Pairs); err != nil {
		return fmt.Errorf("migrating the pair index: %w", err)
	}
	return nil
}

// migrateV1 moves a file of the first layout, if tx holds one, to layout 2: each
// wrapped key becomes a key record without inline mappings (its tokens stay in the
// tokens bucket, which keeps their format), each tombstone a tombstone record; the
// pair index stays for migrateV2. The old buckets' pages are freed, and zeroed by
// the next scrub.
func migrateV1(tx *bolt.Tx) error {
	keys := tx.Bucket(bucketV1Keys)
	if keys == nil {
		return nil
	}
	records := recordsBucket(tx)
	err := keys.ForEach(func(id, wrapped []byte) error {
		rec, err := newRecord(wrapped, true)
		if err != nil {
			return fmt.Errorf("key %x: %w", id, err)
		}
		return records.Put(id, rec)
	})
	if err != nil {
		return fmt.Errorf("migrating keys: %w", err)
	}
	if forgotten := tx.Bucket(bucketV1Forgotten); forgotten != nil {
		err := forgotten.ForEach(func(id, _ []byte) error {
			return records.Put(id, tombstone)
		})
		if err != nil {
			return fmt.Errorf("migrating tombstones: %w", err)
		}
		if err := tx.DeleteBucket(bucketV1Forgotten); err != nil {
			return fmt.Errorf("migrating tombstones: %w", err)
		}
	}
	if err := tx.DeleteBucket(bucketV1Keys); err != nil {
		return fmt.Errorf("migrating keys: %w", err)
	}
	return nil
}

// Path returns the path of the bbolt file.
func (s *BoltStore) Path() string { return s.db.Path() }

// Close waits for the writes in flight, scrubs the file if a forget is not scrubbed
// yet, and closes it.
func (s *BoltStore) Close() error {
	s.once.Do(func() { close(s.quit) })
	<-s.stopped
	return errors.Join(s.file.Close(), s.db.Close())
}

// loop is the single writer.
func (s *BoltStore) loop() {
	defer close(s.stopped)
	var scrubTimer *time.Timer
	var scrubC <-chan time.Time
	scrubDue := false
	for {
		select {
		case op := <-s.ops:
			batch := []*boltOp{op}
		drain:
			for len(batch) < maxWriteBatch {
				select {
				case op := <-s.ops:
					batch = append(batch, op)
				default:
					break drain
				}
			}
			if s.commit(batch) && !scrubDue {
				scrubDue = true
				scrubTimer = time.NewTimer(s.scrubDelay)
				scrubC = scrubTimer.C
			}
		case <-scrubC:
			scrubDue, scrubC = false, nil
			// A failed background scrub is retried by the next forget or by Close;
			// there is no caller to return it to.
			_ = s.scrub()
		case done := <-s.scrubs:
			if scrubTimer != nil {
				scrubTimer.Stop()
			}
			scrubDue, scrubC = false, nil
			done <- s.scrub()
		case <-s.quit:
			if scrubDue {
				scrubTimer.Stop()
				_ = s.scrub()
			}
			return
		}
	}
}

// commit runs batch in one transaction, or each op alone if that fails, so that one
// failing op does not fail the others. It reports whether a forget committed.
func (s *BoltStore) commit(batch []*boltOp) (forgot bool) {
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, op := range batch {
			if err := op.fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && len(batch) > 1 {
		for _, op := range batch {
			err := s.db.Update(op.fn)
			forgot = forgot || (err == nil && op.forget)
			op.done <- err
		}
		return forgot
	}
	for _, op := range batch {
		forgot = forgot || (err == nil && op.forget)
		op.done <- err
	}
	return forgot
}

// write runs fn in a write transaction shared with other waiting writes. Once fn is
// handed to the writer it runs to the end: write then returns its outcome even if ctx
// ends, since reporting failure for a committed forget would be a lie.
func (s *BoltStore) write(ctx context.Context, forget bool, fn func(tx *bolt.Tx) error) error {
	op := &boltOp{fn: fn, forget: forget, done: make(chan error, 1)}
	select {
	case s.ops <- op:
	case <-s.quit:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-op.done
}

func (s *BoltStore) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-s.quit:
		return ErrClosed
	default:
	}
	s.readers.RLock()
	defer s.readers.RUnlock()
	return s.db.View(fn)
}

// Scrub zeroes every free page of the file now. The store does it on its own shortly
// after each forget (BoltOptions.ScrubDelay); Scrub is for tests and tools that must
// know it is done.
func (s *BoltStore) Scrub(ctx context.Context) error {
	done := make(chan error, 1)
	select {
	case s.scrubs <- done:
	case <-s.quit:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-done
}

// scrub zeroes the free pages of the file. bbolt never overwrites a page in place: a
// deleted key stays in the old copy of its page, now free, until bbolt reuses it. With
// no read transaction open (readers is held exclusively), a write transaction starts
// by releasing every pending page, so every page bbolt reports free is read by no one
// and safe to overwrite; the transaction's commit then fsyncs the file.
func (s *BoltStore) scrub() error {
	s.readers.Lock()
	defer s.readers.Unlock()
	pageSize := s.db.Info().PageSize
	zero := make([]byte, pageSize)
	buf := make([]byte, pageSize)
	err := s.db.Update(func(tx *bolt.Tx) error {
		pages := int(tx.Size() / int64(pageSize))
		for id := 2; id < pages; {
			info, err := tx.Page(id)
			if err != nil {
				return fmt.Errorf("reading page %d: %w", id, err)
			}
			if info == nil {
				break
			}
			if info.Type != "free" {
				id += 1 + info.OverflowCount
				continue
			}
			off := int64(id) * int64(pageSize)
			if _, err := s.file.ReadAt(buf, off); err != nil {
				return fmt.Errorf("reading free page %d: %w", id, err)
			}
			if !bytes.Equal(buf, zero) {
				if _, err := s.file.WriteAt(zero, off); err != nil {
					return fmt.Errorf("zeroing free page %d: %w", id, err)
				}
			}
			id++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("scrubbing the vault file: %w", err)
	}
	return nil
}

// BindMasterKey implements Store.
func (s *BoltStore) BindMasterKey(ctx context.Context, fingerprint []byte) error {
	var mismatch bool
	err := s.write(ctx, false, func(tx *bolt.Tx) error {
		mismatch = false
		b := tx.Bucket(bucketMeta)
		got := b.Get(metaFingerprint)
		if got == nil {
			return b.Put(metaFingerprint, fingerprint)
		}
		mismatch = !bytes.Equal(got, fingerprint)
		return nil
	})
	if err != nil {
		return err
	}
	if mismatch {
		return ErrWrongMasterKey
	}
	return nil
}

// liveRecord returns the record of key id, or ErrForgotten or ErrNotFound when the
// key is not live.
func liveRecord(tx *bolt.Tx, id []byte) ([]byte, error) {
	v := recordsBucket(tx).Get(id)
	switch {
	case v == nil:
		return nil, ErrNotFound
	case isTombstone(v):
		return nil, ErrForgotten
	}
	return v, nil
}

// readKey returns the live key of id from the record v.
func readKey(id KeyID, v []byte) (KeyRecord, error) {
	wrapped, _, tokenV1, err := splitRecord(v)
	if err != nil {
		return KeyRecord{}, fmt.Errorf("key %s: %w", id, err)
	}
	return KeyRecord{ID: id, Wrapped: bytes.Clone(wrapped), TokenV1: tokenV1}, nil
}

// keyByPair reads the live key of pair from tx, or returns ErrNotFound.
func keyByPair(tx *bolt.Tx, pair PairID) (KeyRecord, error) {
	v := tx.Bucket(bucketIndex).Get(indexKey(pair))
	if v == nil {
		return KeyRecord{}, ErrNotFound
	}
	id, err := indexID(v)
	if err != nil {
		return KeyRecord{}, err
	}
	rec, err := liveRecord(tx, id[:])
	if err != nil {
		return KeyRecord{}, fmt.Errorf("the index names key %s, which is not live", id)
	}
	key, err := readKey(id, rec)
	key.Pair = pair
	return key, err
}

// KeyByPair implements Store.
func (s *BoltStore) KeyByPair(ctx context.Context, pair PairID) (KeyRecord, error) {
	var rec KeyRecord
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		rec, err = keyByPair(tx, pair)
		return err
	})
	return rec, err
}

// NextKeyID implements KeyIDAllocator: key numbers count up from 1, in memory (this
// process alone writes the file), and the records bucket's sequence keeps the highest
// one stored, from which the count resumes when the file is opened again.
func (s *BoltStore) NextKeyID() (KeyID, error) {
	var id KeyID
	n := s.lastKey.Add(1)
	if n > maxKeyNumber {
		return id, fmt.Errorf("the vault has used all %d key numbers", uint64(maxKeyNumber))
	}
	binary.BigEndian.PutUint64(id[:], n)
	return id, nil
}

// CreateKey implements Store.
func (s *BoltStore) CreateKey(ctx context.Context, rec KeyRecord, mappings []Mapping) (KeyRecord, error) {
	fresh, err := newRecord(rec.Wrapped, rec.TokenV1)
	if err != nil {
		return KeyRecord{}, err
	}
	var live KeyRecord
	var taken bool
	err = s.write(ctx, false, func(tx *bolt.Tx) error {
		live, taken = KeyRecord{}, false
		records := recordsBucket(tx)
		switch k, err := keyByPair(tx, rec.Pair); {
		case err == nil:
			live = k
			return nil
		case !errors.Is(err, ErrNotFound):
			return err
		}
		if records.Get(rec.ID[:]) != nil {
			taken = true
			return nil
		}
		if n, ok := keyNumber(rec.ID); ok && n > records.Sequence() {
			if err := records.SetSequence(n); err != nil {
				return err
			}
		}
		if err := putMappings(tx, rec.ID, bytes.Clone(fresh), true, mappings); err != nil {
			return err
		}
		if err := tx.Bucket(bucketIndex).Put(indexKey(rec.Pair), indexValue(rec.ID)); err != nil {
			return err
		}
		live = rec
		return nil
	})
	if err != nil {
		return KeyRecord{}, err
	}
	if taken {
		return KeyRecord{}, ErrKeyIDTaken
	}
	return live, nil
}

func tokenKey(id KeyID, mac MAC) []byte {
	k := make([]byte, 0, len(id)+tokenMACPrefix)
	return append(append(k, id[:]...), mac[:tokenMACPrefix]...)
}

// lookupMapping returns the sealed value of mac under key id, whose record is rec,
// from the record or else the tokens bucket; nil if none is stored. The result is
// only valid in tx.
func lookupMapping(tx *bolt.Tx, id KeyID, rec []byte, mac MAC) ([]byte, error) {
	_, inline, _, err := splitRecord(rec)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", id, err)
	}
	v, err := findMapping(inline, mac)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", id, err)
	}
	if v != nil {
		return v, nil
	}
	return tx.Bucket(bucketTokens).Get(tokenKey(id, mac)), nil
}

// PutMappings implements Store. It first checks in a read transaction, so that
// mappings already stored cost no write and no fsync.
func (s *BoltStore) PutMappings(ctx context.Context, id KeyID, mappings []Mapping) error {
	var missing []Mapping
	err := s.view(ctx, func(tx *bolt.Tx) error {
		rec, err := liveRecord(tx, id[:])
		if err != nil {
			return err
		}
		for _, m := range mappings {
			v, err := lookupMapping(tx, id, rec, m.MAC)
			if err != nil {
				return err
			}
			if v == nil {
				missing = append(missing, m)
			}
		}
		return nil
	})
	if err != nil || len(missing) == 0 {
		return err
	}
	var gone error
	err = s.write(ctx, false, func(tx *bolt.Tx) error {
		gone = nil
		rec, err := liveRecord(tx, id[:])
		if err != nil {
			gone = err
			return nil
		}
		return putMappings(tx, id, rec, false, missing)
	})
	if err != nil {
		return err
	}
	return gone
}

// putMappings stores under key id, whose record is rec, the mappings not stored yet.
// When grow is set, rec is the record of a key being created (a copy the caller hands
// over), which takes them while it stays within maxRecordLen and is then written; the
// others, and every mapping of a key created earlier, go to the tokens bucket. A
// record is thus never rewritten larger: records are appended to full pages (see
// recordsFill), where one that grew would split its page and leave a nearly empty one
// behind for good.
func putMappings(tx *bolt.Tx, id KeyID, rec []byte, grow bool, mappings []Mapping) error {
	tokens := tx.Bucket(bucketTokens)
	for _, m := range mappings {
		v, err := lookupMapping(tx, id, rec, m.MAC)
		if err != nil {
			return err
		}
		if v != nil {
			continue
		}
		var n [binary.MaxVarintLen64]byte
		if !grow || len(rec)+tokenMACPrefix+binary.PutUvarint(n[:], uint64(len(m.Sealed)))+len(m.Sealed) > maxRecordLen {
			if err := tokens.Put(tokenKey(id, m.MAC), m.Sealed); err != nil {
				return err
			}
			continue
		}
		rec = append(rec, m.MAC[:tokenMACPrefix]...)
		rec = binary.AppendUvarint(rec, uint64(len(m.Sealed)))
		rec = append(rec, m.Sealed...)
	}
	if !grow {
		return nil
	}
	return recordsBucket(tx).Put(id[:], rec)
}

// Mappings implements Store.
func (s *BoltStore) Mappings(ctx context.Context, id KeyID, macs []MAC) (KeyRecord, [][]byte, error) {
	var rec KeyRecord
	var sealed [][]byte
	err := s.view(ctx, func(tx *bolt.Tx) error {
		v, err := liveRecord(tx, id[:])
		if err != nil {
			return err
		}
		// The embedded store does not keep the pair of a key by its id (a forget
		// finds keys through the index): rec.Pair is left zero.
		if rec, err = readKey(id, v); err != nil {
			return err
		}
		sealed = make([][]byte, len(macs))
		for i, m := range macs {
			found, err := lookupMapping(tx, id, v, m)
			if err != nil {
				return err
			}
			if found != nil {
				sealed[i] = bytes.Clone(found)
			}
		}
		return nil
	})
	return rec, sealed, err
}

// countMappings counts the mappings stored inline in the live record v.
func countMappings(v []byte) (int, error) {
	_, inline, _, err := splitRecord(v)
	if err != nil {
		return 0, err
	}
	n := 0
	err = eachMapping(inline, func(_, _ []byte) bool { n++; return true })
	return n, err
}

// Forget implements Store. The keys of a subject are the index entries that start
// with its SubjectID's first indexSubjectLen bytes. Each destroyed key's record, with the tokens inside it,
// is replaced by a tombstone in place, so a forget rewrites the pages of the pair
// index entries, of the records and of the audit entry, and touches the tokens bucket
// only for subjects with more tokens than fit in their records.
func (s *BoltStore) Forget(ctx context.Context, req ForgetRequest) (ForgetOutcome, error) {
	var out ForgetOutcome
	err := s.write(ctx, true, func(tx *bolt.Tx) error {
		out = ForgetOutcome{}
		index := tx.Bucket(bucketIndex)
		var doomed [][]byte
		if req.Pair != nil {
			doomed = append(doomed, indexKey(*req.Pair))
		} else {
			prefix := req.Subject[:indexSubjectLen]
			c := index.Cursor()
			for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
				doomed = append(doomed, bytes.Clone(k))
			}
		}
		for _, k := range doomed {
			v := index.Get(k)
			if v == nil {
				continue
			}
			id, err := indexID(v)
			if err != nil {
				return err
			}
			out.Keys = append(out.Keys, id)
			if err := index.Delete(k); err != nil {
				return err
			}
		}
		records, tokens := recordsBucket(tx), tx.Bucket(bucketTokens)
		for _, id := range out.Keys {
			if v, err := liveRecord(tx, id[:]); err == nil {
				n, err := countMappings(v)
				if err != nil {
					return fmt.Errorf("key %s: %w", id, err)
				}
				out.Tokens += n
			}
			if err := records.Put(id[:], tombstone); err != nil {
				return err
			}
			var overflow [][]byte
			c := tokens.Cursor()
			for k, _ := c.Seek(id[:]); k != nil && bytes.HasPrefix(k, id[:]); k, _ = c.Next() {
				overflow = append(overflow, bytes.Clone(k))
			}
			for _, k := range overflow {
				if err := tokens.Delete(k); err != nil {
					return err
				}
			}
			out.Tokens += len(overflow)
		}
		e := req.Audit
		e.Keys, e.Tokens = len(out.Keys), out.Tokens
		return appendAudit(tx, &e)
	})
	if err != nil {
		return ForgetOutcome{}, err
	}
	return out, nil
}

func appendAudit(tx *bolt.Tx, e *AuditEntry) error {
	b := tx.Bucket(bucketAudit)
	// Entries are only ever appended, so a full page never gets another entry: split
	// pages full rather than half full.
	b.FillPercent = 1
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	e.Seq = seq
	v, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encoding an audit entry: %w", err)
	}
	return b.Put(binary.BigEndian.AppendUint64(nil, seq), v)
}

// AppendAudit implements Store.
func (s *BoltStore) AppendAudit(ctx context.Context, e AuditEntry) error {
	return s.write(ctx, false, func(tx *bolt.Tx) error {
		e := e
		return appendAudit(tx, &e)
	})
}

// Audit implements Store.
func (s *BoltStore) Audit(ctx context.Context, after uint64, limit int) ([]AuditEntry, error) {
	var out []AuditEntry
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAudit).Cursor()
		for k, v := c.Seek(binary.BigEndian.AppendUint64(nil, after+1)); k != nil && len(out) < limit; k, v = c.Next() {
			var e AuditEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decoding audit entry %x: %w", k, err)
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// Stats implements Store. It walks every record, so it takes time proportional to
// the store's size.
func (s *BoltStore) Stats(ctx context.Context) (StoreStats, error) {
	var st StoreStats
	err := s.view(ctx, func(tx *bolt.Tx) error {
		err := recordsBucket(tx).ForEach(func(id, v []byte) error {
			if isTombstone(v) {
				st.Forgotten++
				return nil
			}
			n, err := countMappings(v)
			if err != nil {
				return fmt.Errorf("key %x: %w", id, err)
			}
			st.Keys++
			st.Tokens += int64(n)
			return nil
		})
		if err != nil {
			return err
		}
		st.Tokens += int64(tx.Bucket(bucketTokens).Stats().KeyN)
		st.Audit = int64(tx.Bucket(bucketAudit).Stats().KeyN)
		st.Bytes = tx.Size()
		return nil
	})
	return st, err
}
