package sink

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/accord-dev/accord/internal/event"
)

// Stdout writes envelopes as NDJSON to a stream, for development: pipe it into jq.
type Stdout struct {
	mu   sync.Mutex
	out  io.Writer
	w    *bufio.Writer
	seen *Seen
}

// NewStdout writes to w (os.Stdout in accord serve).
func NewStdout(w io.Writer) *Stdout {
	return &Stdout{out: w, w: bufio.NewWriterSize(w, 64<<10), seen: NewSeen(100_000)}
}

// WriteBatch writes each envelope not written before as one JSON line.
func (s *Stdout) WriteBatch(ctx context.Context, batch []event.Envelope) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	enc := json.NewEncoder(s.w)
	var written []string
	for i := range batch {
		if s.seen.Has(batch[i].EventID) {
			continue
		}
		if err := enc.Encode(&batch[i]); err != nil {
			return s.failed(err)
		}
		written = append(written, batch[i].EventID)
	}
	if err := s.w.Flush(); err != nil {
		return s.failed(err)
	}
	for _, id := range written {
		s.seen.Add(id)
	}
	return nil
}

// failed drops what the batch left in the write buffer, whose error would
// otherwise stick to every later write: the loader writes the batch again.
func (s *Stdout) failed(err error) error {
	s.w.Reset(s.out)
	return fmt.Errorf("writing envelopes to stdout (is the program reading accord's output still there?): %w", err)
}

// Close flushes.
func (s *Stdout) Close(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Flush()
}
