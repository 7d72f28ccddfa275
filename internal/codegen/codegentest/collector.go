package codegentest

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/accord-dev/accord/internal/contract"
)

// Collector is a minimal stand-in for Accord's collector that the SDK round trips
// send to: it takes JSON arrays of self-describing events on POST /v1/events,
// gzipped or not, and validates each against the registry with
// contract.Compiled.Validate. Every invalid event fails the test.
type Collector struct {
	t    testing.TB
	snap *contract.Snapshot

	mu       sync.Mutex
	valid    map[string]int // schema URI -> valid events
	gzipped  int
	requests atomic.Int64
	// Status, when set before the first request, answers request n (1-based)
	// with the status code it returns, unless 0.
	Status func(n int64) int
}

// NewCollector starts a collector for the registry on 127.0.0.1, stopped when the
// test ends, and returns it with its base URL.
func NewCollector(t testing.TB, snap *contract.Snapshot) (*Collector, string) {
	t.Helper()
	c := &Collector{t: t, snap: snap, valid: map[string]int{}}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return c, srv.URL
}

// Valid returns how many valid events arrived, by schema URI.
func (c *Collector) Valid() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.valid)
}

// Total returns how many valid events arrived.
func (c *Collector) Total() int {
	n := 0
	for _, v := range c.Valid() {
		n += v
	}
	return n
}

// Gzipped returns how many requests were gzipped.
func (c *Collector) Gzipped() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gzipped
}

// Requests returns how many requests arrived.
func (c *Collector) Requests() int64 { return c.requests.Load() }

// ServeHTTP implements http.Handler.
func (c *Collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := c.requests.Add(1)
	if c.Status != nil {
		if code := c.Status(n); code != 0 {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "try again", code)
			return
		}
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v1/events" {
		c.fail("unexpected %s %s", r.Method, r.URL.Path)
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		c.fail("Content-Type %q, want application/json", ct)
	}
	var body io.Reader = r.Body
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			c.fail("gunzip: %v", err)
			http.Error(w, "bad gzip", http.StatusBadRequest)
			return
		}
		body = zr
		c.mu.Lock()
		c.gzipped++
		c.mu.Unlock()
	case "":
	default:
		c.fail("Content-Encoding %q", enc)
	}
	data, err := io.ReadAll(body)
	if err != nil {
		c.fail("reading body: %v", err)
		return
	}
	var batch []struct {
		Schema string          `json:"schema"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(data, &batch); err != nil {
		c.fail("body is not a JSON array of events: %v", err)
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	for _, ev := range batch {
		key, err := contract.ParseURI(ev.Schema)
		if err != nil {
			c.fail("schema %q: %v", ev.Schema, err)
			continue
		}
		comp, ok := c.snap.Get(key)
		if !ok {
			c.fail("schema %s is not in the registry", key)
			continue
		}
		failures, err := comp.ValidateJSON(ev.Data)
		if err != nil || len(failures) > 0 {
			c.fail("%s: %s is invalid: %v %v", key, ev.Data, failures, err)
			continue
		}
		c.mu.Lock()
		c.valid[ev.Schema]++
		c.mu.Unlock()
	}
	w.WriteHeader(http.StatusOK)
}

func (c *Collector) fail(format string, args ...any) {
	c.t.Errorf("collector: %s", fmt.Sprintf(format, args...))
}
