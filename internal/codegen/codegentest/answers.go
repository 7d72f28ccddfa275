package codegentest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/accord-dev/accord/internal/collect"
	"github.com/accord-dev/accord/internal/contract"
)

// SignupSchema is the contract of the events the answer cases send: the
// examples registry's signup.
const SignupSchema = "iglu:com.acme/signup/jsonschema/1-0-0"

// AnswerReport is what an SDK reports after sending one batch: its client's
// stats (by their lowercase names) and every drop its OnDrop callback was told
// about, in order.
type AnswerReport struct {
	Stats map[string]int `json:"stats"`
	Drops []ReportedDrop `json:"drops"`
}

// ReportedDrop is one drop as an SDK's callback was told about it.
type ReportedDrop struct {
	Reason string         `json:"reason"`
	Schema string         `json:"schema"`
	Data   map[string]any `json:"data"`
	// Rejection is nil unless the collector rejected the event.
	Rejection *ReportedRejection `json:"rejection"`
	// Error is the drop's error message.
	Error string `json:"error"`
}

// ReportedRejection is the collector's rejection of an event as a drop
// carries it.
type ReportedRejection struct {
	Status   int    `json:"status"`
	EventID  string `json:"event_id"`
	Reason   string `json:"reason"`
	Message  string `json:"message"`
	Failures []struct {
		Pointer string `json:"pointer"`
		Keyword string `json:"keyword"`
		Message string `json:"message"`
	} `json:"failures"`
}

// SendBatch makes an SDK's client send signups (the data of SignupSchema
// events, in order) to endpoint in one request, closes it and returns its
// report. The client retries with a backoff of milliseconds.
type SendBatch func(t *testing.T, endpoint string, signups []map[string]any) AnswerReport

// The signups of the answer cases: the SDKs' checks pass them all, but the
// collector rejects all but valid, as the contract's pattern and email format
// are beyond the SDKs' checks.
var (
	validSignup   = map[string]any{"shop_id": "shop_77", "email": "sdk.user@example.com"}
	valid2Signup  = map[string]any{"shop_id": "shop_78", "email": "sdk.other@example.com"}
	zeroSignup    = map[string]any{"shop_id": "", "email": ""}
	patternSignup = map[string]any{"shop_id": "nope", "email": "sdk2@example.com"}
)

// wantDrop is what a case expects of one drop.
type wantDrop struct {
	reason string
	data   map[string]any
	// Of the rejection, when reason is rejected.
	status                 int
	rejReason, message     string
	pointers               []string
	eventID                bool
	errorHas, errorHasNone []string
}

// RunAnswers checks how an SDK settles the events of a batch by the
// collector's answer, the same in every SDK: the events the answer lists as
// accepted are sent, each one it lists as rejected is rejected and reported to
// the drop callback with the collector's reason and failures (in a 200 answer,
// where some were accepted, as in a 400, where all were), a request refused
// whole rejects each of its events with the collector's reason and message,
// and a 2xx answer that is not the per-event answer fails the events (whether
// the collector kept them is unknown) and says why. None of these is retried.
// The collector is codegentest.Collector, whose answers collect writes;
// snap must be the examples registry.
func RunAnswers(t *testing.T, snap *contract.Snapshot, send SendBatch) {
	noValues := []string{"nope", "sdk2@example.com", "sdk.user@example.com"}
	rejected := func(data map[string]any, status int, pointers ...string) wantDrop {
		return wantDrop{reason: "rejected", data: data, status: status, rejReason: "schema_violation", pointers: pointers, eventID: true,
			errorHas: []string{"schema_violation"}, errorHasNone: noValues}
	}
	for _, tc := range []struct {
		name    string
		signups []map[string]any
		stats   map[string]int
		drops   []wantDrop
		refuse  *collect.RequestError
	}{
		{
			name:    "some rejected",
			signups: []map[string]any{validSignup, zeroSignup, patternSignup, valid2Signup},
			stats:   map[string]int{"queued": 4, "sent": 2, "rejected": 2, "batches": 1},
			drops:   []wantDrop{rejected(zeroSignup, 200, "/email", "/shop_id"), rejected(patternSignup, 200, "/shop_id")},
		},
		{
			name:    "all rejected",
			signups: []map[string]any{patternSignup, zeroSignup},
			stats:   map[string]int{"queued": 2, "rejected": 2},
			drops:   []wantDrop{rejected(patternSignup, 400, "/shop_id"), rejected(zeroSignup, 400, "/email", "/shop_id")},
		},
		{
			name:    "request refused",
			signups: []map[string]any{validSignup, patternSignup},
			refuse:  &collect.RequestError{Status: http.StatusUnauthorized, Reason: "unauthorized", Msg: "a valid write key is required"},
			stats:   map[string]int{"queued": 2, "rejected": 2},
			drops: []wantDrop{
				{reason: "rejected", data: validSignup, status: 401, rejReason: "unauthorized", message: "a valid write key is required", errorHas: []string{"unauthorized", "a valid write key is required"}, errorHasNone: noValues},
				{reason: "rejected", data: patternSignup, status: 401, rejReason: "unauthorized", message: "a valid write key is required", errorHas: []string{"unauthorized", "a valid write key is required"}, errorHasNone: noValues},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			col, url := NewCollector(t, snap)
			col.AllowRejections = true
			if tc.refuse != nil {
				col.Refuse = func(int64) *collect.RequestError { return tc.refuse }
			}
			rep := send(t, url, tc.signups)
			checkReport(t, rep, tc.stats, tc.drops)
			if col.Requests() != 1 {
				t.Errorf("%d requests, want 1: nothing is retried", col.Requests())
			}
		})
	}

	for _, tc := range []struct {
		name, body, why string
		status          int
	}{
		{"empty 200", "", "its answer is empty", http.StatusOK},
		{"no content", "", "its answer is empty", http.StatusNoContent},
		{"text", "OK", "is not the per-event answer JSON", http.StatusOK},
		{"another JSON", `{"ok":true}`, `lacks "accepted", "rejected" or "events"`, http.StatusAccepted},
		{"too few results", `{"accepted":1,"rejected":0,"events":[{"status":"accepted"}]}`, "lists 1 results for the 2 events sent", http.StatusOK},
		{"unknown status", `{"accepted":1,"rejected":0,"events":[{"status":"accepted"},{"status":"queued"}]}`, `the status "queued"`, http.StatusOK},
		{"counts disagree", `{"accepted":2,"rejected":0,"events":[{"status":"accepted"},{"status":"rejected"}]}`, "counts 2 accepted and 0 rejected but lists 1 and 1", http.StatusOK},
	} {
		t.Run("unreadable/"+tc.name, func(t *testing.T) {
			var requests atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			t.Cleanup(srv.Close)
			rep := send(t, srv.URL, []map[string]any{validSignup, patternSignup})
			failed := func(data map[string]any) wantDrop {
				return wantDrop{reason: "failed", data: data, errorHas: []string{tc.why, "unknown", "count as failed"}, errorHasNone: noValues}
			}
			checkReport(t, rep, map[string]int{"queued": 2, "failed": 2}, []wantDrop{failed(validSignup), failed(patternSignup)})
			if requests.Load() != 1 {
				t.Errorf("%d requests, want 1: an answer that may mean the events were kept is not retried", requests.Load())
			}
		})
	}
}

// checkReport compares an SDK's report with what a case expects: the stats
// named (the others zero) and the drops, in order.
func checkReport(t *testing.T, rep AnswerReport, stats map[string]int, drops []wantDrop) {
	t.Helper()
	for _, k := range []string{"queued", "sent", "invalid", "dropped", "rejected", "failed", "retries", "batches"} {
		if rep.Stats[k] != stats[k] {
			t.Errorf("stats %v, want %v (zero where not named)", rep.Stats, stats)
			break
		}
	}
	if len(rep.Drops) != len(drops) {
		t.Fatalf("%d drops reported, want %d: %+v", len(rep.Drops), len(drops), rep.Drops)
	}
	for i, d := range rep.Drops {
		w := drops[i]
		if d.Reason != w.reason || d.Schema != SignupSchema || !cmp.Equal(d.Data, w.data) {
			t.Errorf("drop %d: %s of %s %v, want %s of %s %v", i, d.Reason, d.Schema, d.Data, w.reason, SignupSchema, w.data)
		}
		for _, s := range w.errorHas {
			if !strings.Contains(d.Error, s) {
				t.Errorf("drop %d: error %q does not say %q", i, d.Error, s)
			}
		}
		for _, s := range w.errorHasNone {
			if strings.Contains(d.Error, s) {
				t.Errorf("drop %d: error %q holds the event's value %q", i, d.Error, s)
			}
		}
		r := d.Rejection
		if w.reason != "rejected" {
			if r != nil {
				t.Errorf("drop %d: rejection %+v, want none", i, r)
			}
			continue
		}
		if r == nil {
			t.Errorf("drop %d: no rejection", i)
			continue
		}
		var pointers []string
		for _, f := range r.Failures {
			if f.Keyword == "" || f.Message == "" {
				t.Errorf("drop %d: failure %+v without its keyword or message", i, f)
			}
			pointers = append(pointers, f.Pointer)
		}
		slices.Sort(pointers)
		if r.Status != w.status || r.Reason != w.rejReason || r.Message != w.message || !slices.Equal(pointers, w.pointers) || (r.EventID != "") != w.eventID {
			t.Errorf("drop %d: rejection %+v (failures at %v), want status %d, reason %s, message %q, failures at %v, an event id: %v",
				i, r, pointers, w.status, w.rejReason, w.message, w.pointers, w.eventID)
		}
		if r.EventID != "" && !strings.Contains(d.Error, r.EventID) {
			t.Errorf("drop %d: error %q does not name the event id %s", i, d.Error, r.EventID)
		}
	}
}

// ReadReport decodes the report an SDK's script printed.
func ReadReport(t testing.TB, out []byte) AnswerReport {
	t.Helper()
	var rep AnswerReport
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("the script printed %q: %v", out, err)
	}
	return rep
}
