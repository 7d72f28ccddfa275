// Package sinktest is the conformance suite every Sink passes: the same tests run
// against stdout, the lake, Postgres, Kafka and NATS.
package sinktest

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/accord-dev/accord/internal/event"
	"github.com/accord-dev/accord/internal/sink"
)

// Schema is the contract the suite's envelopes follow: examples/contracts'
// checkout, in its stored (scrubbed) shape. Sinks that need the registry load
// examples/contracts.
const Schema = "iglu:com.acme/checkout_completed/jsonschema/1-0-0"

// Target is one sink under test and a way to read back what it stored.
type Target struct {
	Sink sink.Sink
	// Stored returns the event id of every envelope durably stored so far, one
	// entry per stored copy, so that duplicates show. It is called after Close.
	Stored func(ctx context.Context) ([]string, error)
	// Reopen, if set, opens a new sink over the same storage (after Close), to
	// prove that redelivery after a restart is deduplicated too.
	Reopen func(t testing.TB) sink.Sink
}

// Run runs the suite; open returns a fresh, empty target for each test.
func Run(t *testing.T, open func(t testing.TB) Target) {
	t.Run("stores every envelope once", func(t *testing.T) {
		tg := open(t)
		batch := Envelopes(0, 50)
		write(t, tg.Sink, batch)
		closeSink(t, tg.Sink)
		checkStored(t, tg, ids(batch))
	})
	t.Run("redelivery is deduplicated", func(t *testing.T) {
		tg := open(t)
		a, b := Envelopes(0, 30), Envelopes(20, 30) // overlap 20..29
		write(t, tg.Sink, a)
		write(t, tg.Sink, a)
		write(t, tg.Sink, b)
		closeSink(t, tg.Sink)
		checkStored(t, tg, ids(Envelopes(0, 50)))
	})
	t.Run("empty batch", func(t *testing.T) {
		tg := open(t)
		write(t, tg.Sink, nil)
		closeSink(t, tg.Sink)
		checkStored(t, tg, nil)
	})
	t.Run("many batches", func(t *testing.T) {
		tg := open(t)
		var all []event.Envelope
		for i := range 20 {
			b := Envelopes(i*25, 25)
			all = append(all, b...)
			write(t, tg.Sink, b)
		}
		closeSink(t, tg.Sink)
		checkStored(t, tg, ids(all))
	})
	t.Run("cancelled context", func(t *testing.T) {
		tg := open(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		batch := Envelopes(0, 10)
		_ = tg.Sink.WriteBatch(ctx, batch) // may fail or succeed, never half-succeed silently
		write(t, tg.Sink, batch)           // the loader's retry
		closeSink(t, tg.Sink)
		checkStored(t, tg, ids(batch))
	})
	t.Run("redelivery after restart", func(t *testing.T) {
		tg := open(t)
		if tg.Reopen == nil {
			t.Skip("this sink relies on its destination's uniqueness within one process only; see its docs")
		}
		batch := Envelopes(0, 20)
		write(t, tg.Sink, batch)
		closeSink(t, tg.Sink)
		again := tg.Reopen(t)
		write(t, again, Envelopes(10, 20))
		closeSink(t, again)
		checkStored(t, tg, ids(Envelopes(0, 30)))
	})
}

func write(t testing.TB, s sink.Sink, batch []event.Envelope) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.WriteBatch(ctx, batch); err != nil {
		t.Fatalf("WriteBatch(%d envelopes): %v", len(batch), err)
	}
}

func closeSink(t testing.TB, s sink.Sink) {
	t.Helper()
	if err := s.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func checkStored(t testing.TB, tg Target, want []string) {
	t.Helper()
	got, err := tg.Stored(context.Background())
	if err != nil {
		t.Fatalf("reading back stored envelopes: %v", err)
	}
	sort.Strings(got)
	want = append([]string(nil), want...)
	sort.Strings(want)
	if len(got) != len(want) {
		t.Fatalf("stored %d envelopes, want %d (duplicates or losses)", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("stored ids differ at %d: got %s, want %s", i, got[i], want[i])
		}
	}
}

func ids(batch []event.Envelope) []string {
	out := make([]string, len(batch))
	for i, e := range batch {
		out[i] = e.EventID
	}
	return out
}

// Envelopes returns n stored-shape checkout envelopes numbered from first; the
// same numbers always give the same envelopes.
func Envelopes(first, n int) []event.Envelope {
	out := make([]event.Envelope, n)
	base := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	for i := range n {
		k := first + i
		at := base.Add(time.Duration(k) * time.Second)
		data := map[string]any{
			"event_id":          fmt.Sprintf("00000000-0000-4000-8000-%012d", k),
			"shop_id":           fmt.Sprintf("shop_%d", 1000+k%7),
			"timestamp":         at.Format(time.RFC3339Nano),
			"user_id":           fmt.Sprintf("u_%x", k),
			"email":             fmt.Sprintf("tok_sinktest%06d", k),
			"ip":                map[string]any{"masked": "81.2.0.0", "country": "GB"},
			"user_agent":        map[string]any{"browser_family": "Safari", "os_family": "iOS", "os_major": "17", "is_bot": false},
			"platform":          []string{"ios", "android", "web", "server"}[k%4],
			"session_number":    1 + k%50,
			"order_total_cents": 100 * k,
			"currency":          "EUR",
			"is_first_purchase": k%3 == 0,
			"coupon_code":       nil,
			"device":            map[string]any{"os": "iOS", "os_version": "17.4.1", "locale": "de-DE"},
			"items":             []any{map[string]any{"sku": "SKU-10023", "quantity": 1 + k%3, "price_cents": 4999, "category": "shoes"}},
		}
		js, _ := json.Marshal(data) // a map of plain values always encodes
		out[i] = event.Envelope{
			V: event.EnvelopeVersion, EventID: data["event_id"].(string), Schema: Schema,
			ReceivedAt: at.Add(time.Second), EventTime: at,
			Source:     event.Source{Protocol: "native", Collector: "sinktest"},
			Validation: event.Validation{Outcome: "valid", Validator: "reference"},
			Data:       js,
			Scrubbed:   []event.Applied{{Pointer: "/email", Kind: "email", Handling: "tokenize"}},
		}
	}
	return out
}
