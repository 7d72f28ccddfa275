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
			go func() { done <- l.Run(ctx, context.Background()) }()
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

// TestLoaderDrain checks a clean stop's delivery: once drain ends, a loader
// delivers what the buffer holds for it without lingering, commits a Stream's
// open records, acknowledges them and returns nil on its own, before ctx ends;
// for a Stream lingering an hour and a Sink alike, whether drain ends before
// the loader starts or while it holds records appended and not committed.
func TestLoaderDrain(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stream bool
		early  bool // drain ends before Run
	}{{"stream, drained while lingering", true, false}, {"stream, drained at start", true, true},
		{"sink, drained while waiting", false, false}, {"sink, drained at start", false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			buf, err := buffer.Open(t.TempDir(), buffer.Options{Consumers: []string{"out"}})
			if err != nil {
				t.Fatal(err)
			}
			defer buf.Close()
			appendN := func(from, n int) {
				t.Helper()
				for i := from; i < from+n; i++ {
					rec, err := event.EncodeEnvelopeRaw(&event.Envelope{V: 1, EventID: fmt.Sprintf("e%03d", i), Schema: "s", Data: []byte(`{}`)})
					if err != nil {
						t.Fatal(err)
					}
					if err := buf.Append(context.Background(), [][]byte{rec}); err != nil {
						t.Fatal(err)
					}
				}
			}
			m, err := sink.NewLoaderMetrics(prometheus.NewRegistry())
			if err != nil {
				t.Fatal(err)
			}
			s := &memStream{}
			var out syncBuffer
			l := &sink.Loader{Name: "out", Buffer: buf, Metrics: m, MaxBatch: 7, Linger: time.Hour}
			delivered := func() int {
				if tc.stream {
					got, _ := s.state()
					return len(got)
				}
				return out.lines()
			}
			if tc.stream {
				l.Sink = s
			} else {
				l.Sink = sink.NewStdout(&out)
				l.Linger = 0
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			drain, drained := context.WithCancel(context.Background())
			defer drained()
			appendN(0, 30)
			if tc.early {
				drained()
			}
			done := make(chan error, 1)
			go func() { done <- l.Run(ctx, drain) }()
			if !tc.early {
				if tc.stream {
					// The stream holds what it read, lingering: nothing committed.
					for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
						s.mu.Lock()
						open := len(s.open)
						s.mu.Unlock()
						if open == 30 {
							break
						}
						if time.Now().After(deadline) {
							t.Fatalf("the stream holds %d of 30 records after 10s", open)
						}
					}
				} else {
					for deadline := time.Now().Add(10 * time.Second); delivered() < 30; time.Sleep(time.Millisecond) {
						if time.Now().After(deadline) {
							t.Fatalf("%d of 30 records delivered after 10s", delivered())
						}
					}
				}
				if n := delivered(); tc.stream && n != 0 {
					t.Fatalf("%d records committed before the drain, with an hour's linger", n)
				}
				appendN(30, 12) // arrive while the collector finishes its last requests
				drained()
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-ctx.Done():
				t.Fatal("the loader did not return after the drain")
			}
			if ctx.Err() != nil {
				t.Fatal("the loader returned only when ctx ended")
			}
			want := 42
			if tc.early {
				want = 30
			}
			if n := delivered(); n != want {
				t.Errorf("%d records delivered, want %d", n, want)
			}
			st, err := buf.Stats()
			if err != nil {
				t.Fatal(err)
			}
			if st.Records != 0 {
				t.Errorf("%d records left unacknowledged in the buffer", st.Records)
			}
		})
	}
}

// syncBuffer collects the stdout sink's lines.
type syncBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *syncBuffer) lines() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.b {
		if c == '\n' {
			n++
		}
	}
	return n
}
