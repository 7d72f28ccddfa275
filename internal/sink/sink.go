// Package sink delivers envelopes from the buffer to destinations. A Sink only
// writes; batching, retries, backoff and acknowledgment live once, in the Loader.
package sink

import (
	"context"

	"github.com/accord-dev/accord/internal/event"
)

// Sink writes batches of envelopes to one destination. WriteBatch returns only
// when every envelope is durably accepted or ctx ends; it must tolerate
// redelivery: an envelope whose event id it has already stored is not stored
// twice. WriteBatch is called by one loader goroutine at a time; Close is called
// once, after the last WriteBatch returned.
type Sink interface {
	WriteBatch(ctx context.Context, batch []event.Envelope) error
	Close(ctx context.Context) error
}

// BadRows writes rejected events to a dead-letter destination, with the same
// contract as Sink.
type BadRows interface {
	WriteBadRows(ctx context.Context, rows []event.BadRow) error
	Close(ctx context.Context) error
}

// BadRowRecords is a BadRows that also takes bad rows as their buffer records
// (event.IsBadRowRecord), as the loader reads them: it writes them without
// their being decoded and encoded again, with the same contract.
type BadRowRecords interface {
	BadRows
	WriteBadRowRecords(ctx context.Context, records [][]byte) error
}
