package codegentest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/accord-dev/accord/internal/collect"
	"github.com/accord-dev/accord/internal/event"
)

// RetryAfterCaseHeader names the header with which an SDK's Retry-After test tells
// the RetryAfterServer which case a request belongs to.
const RetryAfterCaseHeader = "X-Accord-Case"

// The Retry-After cases. Each client of the test sends one event with its case in
// RetryAfterCaseHeader, a tiny minimum backoff and, except in RetryAfterCapped, a
// maximum backoff of seconds; in RetryAfterCapped, a maximum of at most 200 ms.
const (
	// RetryAfterSeconds answers 503 with "Retry-After: 1".
	RetryAfterSeconds = "seconds"
	// RetryAfterDate answers 429 with an HTTP date 2 s ahead (1 to 2 s away, as
	// the date has whole seconds).
	RetryAfterDate = "date"
	// RetryAfterCapped answers 503 with "Retry-After: 3600", which the client must
	// cap at its maximum backoff.
	RetryAfterCapped = "capped"
)

// RetryAfterServer answers the first request of each case with a status and a
// Retry-After header, and every later one as the collector answers a batch it
// accepts whole (200, each event accepted); it records when the requests
// arrive, so that a test can check that a client waited as asked.
type RetryAfterServer struct {
	mu       sync.Mutex
	arrivals map[string][]time.Time
}

// NewRetryAfterServer starts a RetryAfterServer on 127.0.0.1, stopped when the
// test ends, and returns it with its base URL.
func NewRetryAfterServer(t testing.TB) (*RetryAfterServer, string) {
	t.Helper()
	s := &RetryAfterServer{arrivals: map[string][]time.Time{}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv.URL
}

func (s *RetryAfterServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := r.Header.Get(RetryAfterCaseHeader)
	s.mu.Lock()
	s.arrivals[c] = append(s.arrivals[c], time.Now())
	first := len(s.arrivals[c]) == 1
	s.mu.Unlock()
	if !first {
		// The collector's answer, every event accepted: the clients settle
		// their events by it.
		batch, _, err := readBatch(r)
		if err != nil {
			collect.WriteError(w, &collect.RequestError{Status: http.StatusBadRequest, Reason: event.ReasonMalformedJSON, Msg: err.Error()})
			return
		}
		results := make([]collect.Result, len(batch))
		for i, ev := range batch {
			results[i] = collect.Result{EventID: event.NewID(), Schema: ev.Schema, Status: collect.StatusAccepted}
		}
		collect.WriteResults(w, results)
		return
	}
	switch c {
	case RetryAfterSeconds:
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
	case RetryAfterDate:
		w.Header().Set("Retry-After", time.Now().Add(2*time.Second).UTC().Format(http.TimeFormat))
		w.WriteHeader(http.StatusTooManyRequests)
	case RetryAfterCapped:
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(http.StatusServiceUnavailable)
	default:
		http.Error(w, "unknown case "+c, http.StatusBadRequest)
	}
}

// Check verifies what arrived once the clients of every case are closed: two
// requests per case, the retry of RetryAfterSeconds and RetryAfterDate at least
// 900 ms after the first request (a client that ignored the header would have
// retried within milliseconds). RetryAfterCapped is checked by the client having
// finished at all: without the cap it would wait an hour.
func (s *RetryAfterServer) Check(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range []string{RetryAfterSeconds, RetryAfterDate, RetryAfterCapped} {
		a := s.arrivals[c]
		if len(a) != 2 {
			t.Errorf("case %s: %d requests, want the first and one retry", c, len(a))
			continue
		}
		if gap := a[1].Sub(a[0]); c != RetryAfterCapped && gap < 900*time.Millisecond {
			t.Errorf("case %s: retried after %v, want at least the ~1 s that Retry-After asked", c, gap)
		}
	}
}

// CheckRetryStats checks the output of an SDK's Retry-After script: a JSON object
// of each case's client stats, each with one event sent after one retry.
func CheckRetryStats(t testing.TB, out []byte) {
	t.Helper()
	var stats map[string]map[string]int
	if err := json.Unmarshal(out, &stats); err != nil {
		t.Fatalf("the script printed %q: %v", out, err)
	}
	for _, c := range []string{RetryAfterSeconds, RetryAfterDate, RetryAfterCapped} {
		if s := stats[c]; s["sent"] != 1 || s["retries"] != 1 || s["failed"]+s["rejected"]+s["dropped"] != 0 {
			t.Errorf("case %s: stats %v, want 1 sent after 1 retry", c, s)
		}
	}
}
