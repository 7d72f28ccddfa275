package sink_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/accord-dev/accord/internal/buffer"
	"github.com/accord-dev/accord/internal/event"
	"github.com/accord-dev/accord/internal/sink"
)

// memStream is a Stream that keeps committed records in memory and fails the
// commits and appends it is told to fail.
type memStream struct {
	mu          sync.Mutex
	open        []string
	committed   []string
	failCommits int
	failAppends int
	okAppends   int // appends that succeed before the failures start
	commits     int
}

func (m *memStream) WriteBatch(context.Context, []event.Envelope) error {
	return errors.New("the loader must use Append and Commit")
}
func (m *memStream) Close(context.Context) error { return nil }

func (m *memStream) Append(_ context.Context, recs [][]byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.okAppends > 0 {
		m.okAppends--
	} else if m.failAppends > 0 {
		m.failAppends--
		m.open = nil
		return 0, errors.New("append failed")
	}
	n := 0
	for _, r := range recs {
		if event.IsEnvelopeRecord(r) {
			m.open = append(m.open, string(r))
			n++
		}
	}
	return n, nil
}

func (m *memStream) Commit(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failCommits > 0 {
		m.failCommits--
		m.open = nil
		return errors.New("commit failed")
	}
	m.commits++
	m.committed = append(m.committed, m.open...)
	m.open = nil
	return nil
}

func (m *memStream) state() (committed []string, commits int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.committed...), m.commits
}

// TestLoaderStream checks the loader's Stream path: every envelope record is
// committed once, in order, despite failed appends and commits (the loader
// appends the uncommitted records again), bad rows are left out, commits follow
// MaxBytes, and the buffer is acknowledged only up to what was committed.
func TestLoaderStream(t *testing.T) {
	for _, tc := range []struct {
		name                                string
		failAppends, failCommits, okAppends int
	}{{"clean", 0, 0, 0}, {"failed first append", 1, 0, 0}, {"failed append after two", 2, 0, 2}, {"failed commits", 0, 2, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			buf, err := buffer.Open(t.TempDir(), buffer.Options{Consumers: []string{"lake"}})
			if err != nil {
				t.Fatal(err)
			}
			defer buf.Close()
			var want []string
			for i := range 40 {
				e := &event.Envelope{V: 1, EventID: fmt.Sprintf("e%02d", i), Schema: "s", Data: []byte(`{}`)}
				rec, err := event.EncodeEnvelopeRaw(e)
				if err != nil {
					t.Fatal(err)
				}
				bad, err := event.EncodeBadRow(&event.BadRow{V: 1, ID: fmt.Sprint(i), Reason: event.ReasonMalformedJSON})
				if err != nil {
					t.Fatal(err)
				}
				if err := buf.Append(context.Background(), [][]byte{rec, bad}); err != nil {
					t.Fatal(err)
				}
				want = append(want, string(rec))
			}
			m, err := sink.NewLoaderMetrics(prometheus.NewRegistry())
			if err != nil {
				t.Fatal(err)
			}
			s := &memStream{failAppends: tc.failAppends, failCommits: tc.failCommits, okAppends: tc.okAppends}
			// Ten records per read; a commit every 25 envelope records' bytes.
			l := &sink.Loader{Name: "lake", Buffer: buf, Sink: s, Metrics: m, MaxBatch: 10,
				MaxBytes: int64(25 * len(want[0])), Linger: time.Hour, MaxBackoff: time.Millisecond}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- l.Run(ctx) }()
			// Poll: the buffer must never be acknowledged past what was committed
			// (Stats read before the commits: acknowledged then <= committed now),
			// and the commits and their acks must reach at least 20 envelopes.
			deadline := time.Now().Add(10 * time.Second)
			for {
				st, err := buf.Stats()
				if err != nil {
					t.Fatal(err)
				}
				got, _ := s.state()
				if min := int64(2 * (len(want) - len(got))); st.Records < min {
					t.Fatalf("%d records left in the buffer with %d of %d envelopes committed: acknowledged before the commit", st.Records, len(got), len(want))
				} else if st.Records == min && len(got) >= 20 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d records left in the buffer with %d of %d envelopes committed after 10s", st.Records, len(got), len(want))
				}
				time.Sleep(2 * time.Millisecond)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			got, commits := s.state()
			// Linger is an hour: only MaxBytes can have started the commits.
			if commits == 0 {
				t.Fatal("no commit")
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("record %d: got %q, want %q", i, got[i], want[i])
				}
			}
		})
	}
}
