package snowplow

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/accord-dev/accord/internal/collect"
	"github.com/accord-dev/accord/internal/collect/loadtest"
)

// referenceItems are n tracker events as the JavaScript tracker POSTs them:
// the reference event (shared/bench) as a self-describing event in ue_px
// (base64url, the tracker's default), with its web_page context in cx and the
// atomic parameters the tracker adds, each with its own event id and email.
func referenceItems(tb testing.TB, n int) [][]byte {
	tb.Helper()
	params := referenceParams(tb, n)
	items := make([][]byte, n)
	for i, p := range params {
		items[i] = tp2Item(tb, p)
	}
	return items
}

// referenceParams are the tracker parameters of referenceItems' events.
func referenceParams(tb testing.TB, n int) []map[string]any {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join(loadtest.Dir(tb), "event.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var ev struct {
		Schema string         `json:"schema"`
		Data   map[string]any `json:"data"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		tb.Fatal(err)
	}
	params := make([]map[string]any, n)
	for i := range params {
		ev.Data["email"] = fmt.Sprintf("buyer%d@example.com", i)
		ue, err := json.Marshal(map[string]any{
			"schema": "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0",
			"data":   map[string]any{"schema": ev.Schema, "data": ev.Data},
		})
		if err != nil {
			tb.Fatal(err)
		}
		params[i] = with(jsAtomic("ue", fmt.Sprintf("0192d0f2-7c3b-7a00-8000-%012x", i)), "ue_px", base64.RawURLEncoding.EncodeToString(ue))
	}
	return params
}

// BenchmarkDecodePayload is the tp2 decoder's cost per event on the reference
// event: a body of one event and one of 100. ns/event is the figure to compare.
func BenchmarkDecodePayload(b *testing.B) {
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			body := tp2Body(referenceItems(b, n)...)
			evs, err := DecodePayload(body, collect.DefaultLimits)
			if err != nil || len(evs) != n {
				b.Fatalf("decoding the reference body: %d events, %v", len(evs), err)
			}
			for _, in := range evs {
				if in.Reject != nil {
					b.Fatalf("the reference event is rejected: %+v", in.Reject)
				}
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := DecodePayload(body, collect.DefaultLimits); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
		})
	}
}

// BenchmarkDecodeQuery is the GET /i decoder's cost on the reference event sent
// as a pixel request's query string (the same parameters as
// BenchmarkDecodePayload's events=1).
func BenchmarkDecodeQuery(b *testing.B) {
	q := query(referenceParams(b, 1)[0])
	if in := DecodeQuery(q, collect.DefaultLimits); in.Reject != nil {
		b.Fatalf("the reference event is rejected: %+v", in.Reject)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(q)))
	for b.Loop() {
		DecodeQuery(q, collect.DefaultLimits)
	}
}
