package replay

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/accord-dev/accord/internal/event"
)

// TestTextOnlyRows: a row that keeps its event as text only is explained by
// what the text is and the reason the row gives, alike in the summary and in
// a replay's report; JSON that is no event is not called "not valid JSON".
func TestTextOnlyRows(t *testing.T) {
	for _, tc := range []struct {
		name, protocol, text string
		reason               event.Reason
		want                 []string // in the explanation
	}{
		{name: "native text that is not JSON", protocol: "native", text: "a=1&b=2", reason: event.ReasonMalformedJSON,
			want: []string{"text that is not valid JSON", "rejected as malformed_json"}},
		{name: "native JSON cut short", protocol: "native", text: `{"data":{"shop_id":"s"`, reason: event.ReasonMalformedJSON,
			want: []string{"text that is not valid JSON", "rejected as malformed_json"}},
		{name: "native null", protocol: "native", text: "null", reason: event.ReasonMalformedEvent,
			want: []string{"JSON that is not an event object", "rejected as malformed_event"}},
		{name: "native number", protocol: "native", text: "42", reason: event.ReasonMalformedEvent,
			want: []string{"JSON that is not an event object", "rejected as malformed_event"}},
		{name: "native array", protocol: "native", text: `[1,"x",null]`, reason: event.ReasonMalformedEvent,
			want: []string{"JSON that is not an event object", "rejected as malformed_event"}},
		{name: "native object without a schema", protocol: "native", text: `{"schema":null,"data":{"shop_id":"s"}}`, reason: event.ReasonMalformedEvent,
			want: []string{"the fields it was sent with, as a JSON object", "rejected as malformed_event"}},
		{name: "Snowplow transaction", protocol: "snowplow", text: `{"e":"tr","eid":"55555555-5555-4555-8555-555555555555"}`, reason: event.ReasonEventNameUnknown,
			want: []string{"the fields it was sent with, as a JSON object", "rejected as event_name_unknown"}},
		{name: "Snowplow ue_pr that is not JSON", protocol: "snowplow", text: `{"e":"ue","ue_pr":"{not json"}`, reason: event.ReasonMalformedJSON,
			want: []string{"the fields it was sent with, as a JSON object", "rejected as malformed_json"}},
		{name: "the start of a longer text", protocol: "native", text: "[" + strings.Repeat("1,", event.MaxBadPayloadText/2-1) + "1", reason: event.ReasonMalformedEvent,
			want: []string{"the first 64 KiB of a longer text", "rejected as malformed_event"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, bad := newTestReplayer(t, &fakePipeline{}, nil)
			b, err := json.Marshal(event.BadRow{V: 1, ID: "t1", ReceivedAt: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), Reason: tc.reason,
				Source: event.Source{Protocol: tc.protocol}, Failures: []event.Failure{{Message: "what the collector said"}}, PayloadText: tc.text})
			if err != nil {
				t.Fatal(err)
			}
			writeRows(t, bad, "2026-12-01", string(b)+"\n")
			sum, err := r.Summarize(t.Context(), "", "")
			if err != nil {
				t.Fatal(err)
			}
			if len(sum.Groups) != 1 || sum.Groups[0].NotReplayable != 1 {
				t.Fatalf("summary %+v, want one row that cannot be replayed", sum)
			}
			rep, err := r.Run(context.Background(), "test", Request{DryRun: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Outcomes) != 1 || rep.Outcomes[0].Status != StatusNotReplayable {
				t.Fatalf("dry run %+v, want one row that cannot be replayed", rep)
			}
			for _, why := range []string{sum.Groups[0].Why, rep.Outcomes[0].Why} {
				for _, w := range tc.want {
					if !strings.Contains(why, w) {
						t.Errorf("%q does not say %q", why, w)
					}
				}
				if strings.Contains(tc.want[0], "valid JSON") != strings.Contains(why, "not valid JSON") {
					t.Errorf("%q calls the text JSON or not wrongly", why)
				}
			}
		})
	}
}
