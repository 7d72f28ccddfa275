// Package buffer is the durable queue between collection and delivery.
//
// The collector acknowledges an event to its producer only after Append has
// returned nil for it; loader goroutines Read batches, deliver them to a sink and
// then Ack them. Delivery is at-least-once: a record that was read but not
// acknowledged is read again after a restart. Records are opaque byte slices (encoded
// envelopes): the buffer knows nothing about events.
//
// Disk, opened with Open, is the embedded implementation: segment files of
// checksummed records in one directory, with group commit so that many concurrent
// appends share one fsync. docs/buffer.md describes its guarantees and format.
package buffer

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Buffer is a durable, bounded queue of opaque records read by named consumers.
//
// Append is called by many goroutines at once (one per HTTP request). Read and Ack
// are called by loader goroutines; calls for different consumers run independently,
// and concurrent Reads for the same consumer hand out disjoint batches. Stats may be
// called at any time. All methods may run concurrently with each other; after Close
// returns, every other method returns ErrClosed.
type Buffer interface {
	// Append stores records, in order, and returns nil only when every one of them is
	// durable (on disk and fsync'd for Disk): only then may the producer be told that
	// its events were accepted. It returns ErrFull when storing them would exceed the
	// buffer's capacity (answer 503 with Retry-After; nothing was stored),
	// ErrTooLarge when a record or the whole call can never fit, ErrClosed after
	// Close, and ctx.Err() if ctx ends first, in which case the records may or may not
	// have been stored (the producer retries, and duplicates are allowed); when ctx
	// ends while a commit is already writing the records, Append waits for it and
	// returns its outcome. Any other error is an I/O failure: the records are not
	// acknowledged. Append may read records until it returns, and does not keep
	// them after that: the caller may reuse them then.
	Append(ctx context.Context, records [][]byte) error

	// Read returns the next batch of at most max records for consumer, in append
	// order, blocking until at least one record is available or ctx ends. A batch
	// may hold fewer than max records even when more are available. Records that a
	// consumer has read but not acknowledged are returned again after the buffer is
	// reopened. It returns ErrUnknownConsumer for a name the buffer was not opened
	// with, ctx.Err() when ctx ends, ErrClosed after Close, and an error matching
	// ErrCorrupt when stored data fails its checksum: the consumer then stays at
	// that record (data is never skipped silently).
	Read(ctx context.Context, consumer string, max int) (Batch, error)

	// Ack marks every record of batch as delivered for the batch's consumer, after
	// the sink has durably accepted them. Batches may be acknowledged in any order:
	// a consumer's committed position advances over the contiguous prefix of
	// acknowledged batches, and when Ack returns nil that position is durable, or,
	// with Options.AckInterval, will be within the interval (a
	// batch acknowledged ahead of an earlier, unacknowledged one is delivered again
	// after a restart unless the earlier one is acknowledged first). A record's space
	// is reclaimed once every consumer has passed it. Acknowledging a batch again is
	// a no-op. It returns ErrClosed after Close, ErrForeignBatch for a batch that
	// this buffer did not return, and any other error when the position could not
	// be stored.
	Ack(ctx context.Context, batch Batch) error

	// Rewind makes the consumer's next Read start again at its first
	// unacknowledged record, as a restart would: a loader whose sink lost what it
	// had not committed reads those records again instead of keeping a copy.
	// Batches acknowledged out of order beyond that record are read again too. It
	// waits for a Read of the consumer in progress, and returns ErrUnknownConsumer,
	// ErrClosed after Close, or ctx.Err().
	Rewind(ctx context.Context, consumer string) error

	// Stats reports the backlog, for gauges and for health checks.
	Stats() (Stats, error)

	// Close stops accepting appends, waits for appends already queued to be
	// committed (their callers get their results) and releases the buffer's files.
	// Blocked Reads return ErrClosed. Calling Close again returns nil.
	Close() error
}

// Batch is a run of consecutive records read by one consumer.
type Batch struct {
	// Consumer is the name of the consumer that read the batch.
	Consumer string
	// First is the sequence number of Records[0]; record i has sequence First+i.
	// Sequence numbers are assigned at append time, increase by one per record and are
	// never reused, so sinks may use them to drop duplicates after a redelivery.
	First uint64
	// Records are the stored records. They belong to the caller, who may drop
	// them (set Records to nil) before Ack: Ack knows the batch by its sequence
	// numbers, not by its records.
	Records [][]byte

	owner *Disk
	count uint64 // records read
	end   position
}

// Stats describes the backlog of a buffer.
type Stats struct {
	// Records and Bytes are what the slowest consumer has not yet acknowledged
	// (Bytes counts record framing too), and OldestAge is how long ago the oldest of
	// those records was appended (0 when there is none).
	Records   int64
	Bytes     int64
	OldestAge time.Duration
	// CapacityBytes is the configured MaxBytes; appends fail with ErrFull once
	// UsedBytes and theirs would exceed it.
	CapacityBytes int64
	// UsedBytes is the capacity in use as Append counts it: what the slowest
	// consumer has not durably acknowledged (with an AckInterval, an
	// acknowledgment not yet written still holds its space, so UsedBytes can
	// exceed Bytes) plus appends in flight. Health checks compare it with
	// CapacityBytes.
	UsedBytes int64
	// InflightBytes are appends accepted but not yet committed.
	InflightBytes int64
	// DiskBytes is the size of all segment files, space written ahead and the
	// blank included (Options.Prewrite), Segments their number.
	DiskBytes int64
	Segments  int
	// Appended counts records committed and Fsyncs the segment fsyncs made since
	// Open; Fsyncs grows much more slowly than Appended thanks to group commit.
	Appended uint64
	Fsyncs   uint64
	// FsyncTime is the time spent in those fsyncs: FsyncTime/Fsyncs is the mean
	// fsync, the floor of an append's latency.
	FsyncTime time.Duration
	// Prewritten counts the segments started from a blank written ahead, and
	// PrewriteFailures the blanks that could not be written (a full disk: the
	// next segment then grows as without Options.Prewrite), since Open.
	Prewritten       uint64
	PrewriteFailures uint64
	// TornBytes is the size of the torn final write that Open cut off the last
	// segment: appends of a process that died before they were acknowledged.
	TornBytes int64
	// Consumers holds the backlog of each consumer, in the order of
	// Options.Consumers.
	Consumers []ConsumerStats
}

// ConsumerStats is the backlog of one consumer: records it has not acknowledged.
type ConsumerStats struct {
	Name      string
	Records   int64
	Bytes     int64
	OldestAge time.Duration
}

var (
	// ErrFull means an append would exceed the buffer's capacity. Nothing was
	// stored; retry after consumers have caught up (HTTP 503 with Retry-After).
	ErrFull = errors.New("buffer: full")
	// ErrTooLarge means a record, or a single Append call, is larger than the buffer
	// could ever hold; retrying cannot help (HTTP 413).
	ErrTooLarge = errors.New("buffer: too large")
	// ErrClosed means the buffer was closed.
	ErrClosed = errors.New("buffer: closed")
	// ErrInUse (wrapped) means Open found the folder locked by another
	// process.
	ErrInUse = errors.New("buffer: in use by another process")
)

// RecordTooLargeError is the ErrTooLarge of an Append whose record Index has
// Size bytes, more than the Max a record may have.
type RecordTooLargeError struct {
	Index, Size, Max int
}

func (e *RecordTooLargeError) Error() string {
	return fmt.Sprintf("%v: record %d has %d bytes, more than MaxRecordBytes (%d)", ErrTooLarge, e.Index, e.Size, e.Max)
}

// Unwrap makes the error match ErrTooLarge.
func (e *RecordTooLargeError) Unwrap() error { return ErrTooLarge }

var (
	// ErrUnknownConsumer means Read or Ack named a consumer that the buffer was not
	// opened with.
	ErrUnknownConsumer = errors.New("buffer: unknown consumer")
	// ErrForeignBatch means Ack got a batch that this buffer did not return, or one
	// that overlaps records already acknowledged.
	ErrForeignBatch = errors.New("buffer: batch not from this buffer")
	// ErrCorrupt matches every *CorruptError.
	ErrCorrupt = errors.New("buffer: corrupt data")
)
