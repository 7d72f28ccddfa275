package segment

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/accord-dev/accord/internal/collect"
	"github.com/accord-dev/accord/internal/collect/loadtest"
)

// referenceBody is a Segment body built from the reference event (shared/bench):
// its data as a track call's properties, with the context analytics-node sends
// (library, ip, userAgent), ids and a timestamp. batch 0 is one call for
// /v1/track; otherwise a /v1/batch body of that many calls, each with its own
// messageId and email.
func referenceBody(tb testing.TB, batch int) []byte {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join(loadtest.Dir(tb), "event.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var ev struct {
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		tb.Fatal(err)
	}
	message := func(i int) map[string]any {
		props := map[string]any{}
		for k, v := range ev.Data {
			props[k] = v
		}
		props["email"] = fmt.Sprintf("buyer%d@example.com", i)
		return map[string]any{
			"type": "track", "event": "Checkout Completed",
			"messageId":   fmt.Sprintf("0192d0f2-7c3b-7a00-8000-%012x", i),
			"userId":      "u_8f3a2c91",
			"anonymousId": "5f2b3c4d-1e2f-4a5b-8c7d-9e0f1a2b3c4d",
			"timestamp":   "2026-11-01T12:34:56.789Z",
			"context": map[string]any{
				"library":   map[string]any{"name": "analytics-node", "version": "2.1.0"},
				"ip":        "81.2.69.142",
				"userAgent": props["user_agent"],
			},
			"properties":   props,
			"integrations": map[string]any{},
			"_metadata":    map[string]any{"nodeVersion": "20.11.0", "jsRuntime": "node"},
		}
	}
	var body any
	if batch == 0 {
		body = message(0)
	} else {
		msgs := make([]any, batch)
		for i := range msgs {
			msgs[i] = message(i)
		}
		body = map[string]any{"batch": msgs, "sentAt": "2026-11-01T12:34:57.001Z", "writeKey": "wk_bench"}
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(body); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}

// BenchmarkDecode is the Segment decoder's cost per message on the reference
// event: one /v1/track call, and a /v1/batch of 100 calls. ns/message is the
// figure to compare.
func BenchmarkDecode(b *testing.B) {
	for _, c := range []struct {
		name     string
		batch    int
		callType string
	}{{"track", 0, TypeTrack}, {"batch100", 100, TypeBatch}} {
		b.Run(c.name, func(b *testing.B) {
			body := referenceBody(b, c.batch)
			n := max(c.batch, 1)
			req, err := Decode(body, c.callType, collect.DefaultLimits)
			if err != nil || len(req.Messages) != n {
				b.Fatalf("decoding the reference body: %d messages, %v", len(req.Messages), err)
			}
			for _, m := range req.Messages {
				if m.Reject != nil {
					b.Fatalf("the reference message is rejected: %+v", m.Reject)
				}
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := Decode(body, c.callType, collect.DefaultLimits); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/message")
		})
	}
}
