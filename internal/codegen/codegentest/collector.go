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

	"github.com/accord-dev/accord/internal/collect"
	"github.com/accord-dev/accord/internal/contract"
	"github.com/accord-dev/accord/internal/event"
)

// Collector is a stand-in for Accord's collector that the SDK round trips send
// to: it takes JSON arrays of self-describing events on POST /v1/events, gzipped
// or not, judges each against the registry as the collector's pipeline does
// (schema_uri_invalid, schema_not_found, contract_retired, schema_violation
// with the contract's failures) and answers with the collector's own answer
// writer, collect.WriteResults: 200 with a result per event, 400 when every
// event was rejected. An event the registry rejects fails the test unless
// AllowRejections is set: an SDK round trip of valid events must lose none.
// (internal/app's SDK tests send to the real collector, accord serve.)
type Collector struct {
	t    testing.TB
	snap *contract.Snapshot

	mu       sync.Mutex
	valid    map[string]int // schema URI -> valid events
	rejected map[string]int // reason -> rejected events
	gzipped  int
	requests atomic.Int64
	// Refuse, when set before the first request, answers request n (1-based)
	// with the error it returns, as the collector answers a request it refuses
	// whole (collect.WriteError), unless nil.
	Refuse func(n int64) *collect.RequestError
	// AllowRejections, when set before the first request, lets events that the
	// registry rejects be answered as rejected without failing the test.
	AllowRejections bool
}

// NewCollector starts a collector for the registry on 127.0.0.1, stopped when the
// test ends, and returns it with its base URL.
func NewCollector(t testing.TB, snap *contract.Snapshot) (*Collector, string) {
	t.Helper()
	c := &Collector{t: t, snap: snap, valid: map[string]int{}, rejected: map[string]int{}}
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

// Rejected returns how many events were answered as rejected, by reason.
func (c *Collector) Rejected() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.rejected)
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
	if c.Refuse != nil {
		if re := c.Refuse(n); re != nil {
			collect.WriteError(w, re)
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
	batch, gzipped, err := readBatch(r)
	if gzipped {
		c.mu.Lock()
		c.gzipped++
		c.mu.Unlock()
	}
	if err != nil {
		c.fail("%v", err)
		collect.WriteError(w, &collect.RequestError{Status: http.StatusBadRequest, Reason: event.ReasonMalformedJSON, Msg: err.Error()})
		return
	}
	results := make([]collect.Result, len(batch))
	for i, ev := range batch {
		results[i] = c.judge(ev.Schema, ev.Data)
		c.mu.Lock()
		if results[i].Accepted() {
			c.valid[ev.Schema]++
		} else {
			c.rejected[string(results[i].Reason)]++
		}
		c.mu.Unlock()
		if !results[i].Accepted() && !c.AllowRejections {
			c.fail("%s: %s rejected: %s %v", ev.Schema, ev.Data, results[i].Reason, results[i].Failures)
		}
	}
	collect.WriteResults(w, results)
}

// judge is the collector's verdict on one event, as its pipeline resolves and
// validates it.
func (c *Collector) judge(schema string, data json.RawMessage) collect.Result {
	res := collect.Result{EventID: event.NewID(), Schema: schema, Status: collect.StatusRejected}
	key, err := contract.ParseURI(schema)
	if err != nil {
		res.Reason, res.Failures = event.ReasonSchemaURIInvalid, []event.Failure{{Message: err.Error()}}
		return res
	}
	comp, ok := c.snap.Get(key)
	switch {
	case !ok:
		res.Reason, res.Failures = event.ReasonSchemaNotFound, []event.Failure{{Message: fmt.Sprintf("no contract %s in the registry", key)}}
		return res
	case comp.Lifecycle.Status == contract.StatusRetired:
		res.Reason, res.Failures = event.ReasonContractRetired, []event.Failure{{Message: fmt.Sprintf("contract %s is retired and accepts no events", key)}}
		return res
	}
	failures, err := comp.ValidateJSON(data)
	if err != nil {
		res.Reason, res.Failures = event.ReasonMalformedEvent, []event.Failure{{Message: err.Error()}}
		return res
	}
	if len(failures) > 0 {
		res.Reason = event.ReasonSchemaViolation
		for _, f := range failures {
			res.Failures = append(res.Failures, event.Failure{Pointer: f.Pointer, Keyword: f.Keyword, KeywordLocation: f.KeywordLocation, Message: f.Message})
		}
		return res
	}
	res.Status = collect.StatusAccepted
	return res
}

// sent is one self-describing event of a request.
type sent struct {
	Schema string          `json:"schema"`
	Data   json.RawMessage `json:"data"`
}

// readBatch reads a request's JSON array of events, gunzipping it when its
// Content-Encoding says gzip, and reports whether it did.
func readBatch(r *http.Request) (batch []sent, gzipped bool, err error) {
	var body io.Reader = r.Body
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, true, fmt.Errorf("gunzipping the body: %w", err)
		}
		body, gzipped = zr, true
	case "":
	default:
		return nil, false, fmt.Errorf("Content-Encoding %q", enc)
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return nil, gzipped, fmt.Errorf("reading the body: %w", err)
	}
	if err := json.Unmarshal(data, &batch); err != nil {
		return nil, gzipped, fmt.Errorf("decoding the body as a JSON array of events: %w", err)
	}
	return batch, gzipped, nil
}

func (c *Collector) fail(format string, args ...any) {
	c.t.Errorf("collector: %s", fmt.Sprintf(format, args...))
}
