package snowplow

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/accord-dev/accord/internal/collect"
)

// FuzzDecodePayload feeds tp2 bodies to the decoder: it never panics, refuses a
// body only with a 400 or 413 RequestError, and turns every event into either a
// rejection that says why or a schema with JSON data.
func FuzzDecodePayload(f *testing.F) {
	for _, tc := range eventCases {
		f.Add(tp2Body(tp2Item(f, tc.params)))
	}
	f.Add(jsBody(f))
	for _, s := range []string{
		"", "[]", "{}", "null", `{"schema":null,"data":null}`,
		`{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[]}`,
		`{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":{}}`,
		`{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[1,"x",null,[],{"e":{}}]}`,
		`{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[{"e":"ue","ue_pr":"{\"schema\":\"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0\",\"data\":{\"schema\":\"x\",\"data\":[[[[]]]]}}"}]}`,
	} {
		f.Add([]byte(s))
	}
	lim := collect.DefaultLimits
	lim.MaxEvents = 50
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := DecodePayload(body, lim)
		if err != nil {
			var re *collect.RequestError
			if !errors.As(err, &re) || (re.Status != http.StatusBadRequest && re.Status != http.StatusRequestEntityTooLarge) || re.Reason == "" || re.Msg == "" {
				t.Fatalf("refused with %#v; want a 400 or 413 RequestError with a reason and a message", err)
			}
			return
		}
		if len(evs) == 0 || len(evs) > lim.MaxEvents {
			t.Fatalf("%d events accepted for processing", len(evs))
		}
		for _, in := range evs {
			checkIncoming(t, in)
		}
	})
}

// FuzzDecodeQuery feeds pixel query strings to the decoder, with the same
// promises per event as FuzzDecodePayload.
func FuzzDecodeQuery(f *testing.F) {
	for _, tc := range eventCases {
		f.Add(query(tc.params))
	}
	for _, s := range []string{"", "e", "e=", "e=pv&e=ue", "e=pv&url=%zz", "e=ue&ue_px=====", "e=ue&ue_px=e30", "e=pp&pp_mix=-0.0e-0&pp_may=9e400", "dtm=%2B1&e=se"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		checkIncoming(t, DecodeQuery(q, collect.DefaultLimits))
	})
}

// checkIncoming checks what the pipeline relies on in an event a decoder made.
func checkIncoming(t *testing.T, in collect.Incoming) {
	t.Helper()
	switch {
	case in.Reject != nil:
		if in.Reject.Reason == "" || len(in.Reject.Failures) == 0 || in.Reject.Failures[0].Message == "" {
			t.Fatalf("a rejection without a reason or a message: %+v", in.Reject)
		}
	case in.Schema == "" || in.Data == nil || in.RawText != "":
		t.Fatalf("an accepted event with schema %q, data %q and raw text %q", in.Schema, in.Data, in.RawText)
	}
	if in.Data != nil && !json.Valid(in.Data) {
		t.Fatalf("data %q is not JSON", in.Data)
	}
	for _, c := range in.Contexts {
		if c.Schema == "" || !json.Valid(c.Data) {
			t.Fatalf("context %+v has no schema or data that is not JSON", c)
		}
	}
	for _, ts := range []*time.Time{in.SentAt, in.DeviceCreatedAt, in.TrueTimestamp} {
		if ts != nil && (ts.Year() < 1970 || ts.Year() > 9999 || ts.Location() != time.UTC) {
			t.Fatalf("timestamp %v is not a UTC time between 1970 and 9999", ts)
		}
	}
}
