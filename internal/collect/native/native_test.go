package native

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/accord-dev/accord/internal/collect"
	"github.com/accord-dev/accord/internal/event"
)

const signup = `{"schema":"iglu:com.acme/signup/jsonschema/1-0-0","data":{"shop_id":"shop_1","email":"a@example.com"}}`

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name    string
		body    string
		n       int
		reasons []event.Reason // per event, "" when decoded
		reqErr  event.Reason   // the whole request refused
	}{
		{name: "one event", body: signup, n: 1, reasons: []event.Reason{""}},
		{name: "pretty printed", body: "{\n  \"schema\": \"iglu:com.acme/signup/jsonschema/1-0-0\",\n  \"data\": {}\n}", n: 1, reasons: []event.Reason{""}},
		{name: "array", body: "[" + signup + "," + signup + "]", n: 2, reasons: []event.Reason{"", ""}},
		{name: "ndjson with a bad line", body: signup + "\n{\"schema\":\n" + signup + "\n", n: 3, reasons: []event.Reason{"", event.ReasonMalformedJSON, ""}},
		{name: "unknown key", body: `{"shema":"iglu:a/b/jsonschema/1-0-0","data":{}}`, n: 1, reasons: []event.Reason{event.ReasonMalformedEvent}},
		{name: "no schema", body: `{"data":{}}`, n: 1, reasons: []event.Reason{event.ReasonMalformedEvent}},
		{name: "null data", body: `{"schema":"iglu:a/b/jsonschema/1-0-0","data":null}`, n: 1, reasons: []event.Reason{event.ReasonMalformedEvent}},
		{name: "bad timestamp", body: `{"schema":"iglu:a/b/jsonschema/1-0-0","data":{},"sent_at":"yesterday"}`, n: 1, reasons: []event.Reason{event.ReasonTimestampInvalid}},
		{name: "array of non-objects", body: `[1, "x"]`, n: 2, reasons: []event.Reason{event.ReasonMalformedEvent, event.ReasonMalformedEvent}},
		{name: "empty", body: "  \n", reqErr: event.ReasonMalformedEvent},
		{name: "too deep", body: strings.Repeat("[", 100) + strings.Repeat("]", 100), reqErr: event.ReasonLimitExceeded},
		{name: "too many events", body: "[" + strings.TrimSuffix(strings.Repeat(signup+",", collect.DefaultLimits.MaxEvents+1), ",") + "]", reqErr: event.ReasonLimitExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := Decode([]byte(tc.body), collect.DefaultLimits)
			if tc.reqErr != "" {
				re, ok := err.(*collect.RequestError)
				if !ok || re.Reason != tc.reqErr {
					t.Fatalf("err = %v, want request error %s", err, tc.reqErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != tc.n {
				t.Fatalf("%d events, want %d", len(evs), tc.n)
			}
			for i, ev := range evs {
				got := event.Reason("")
				if ev.Reject != nil {
					got = ev.Reject.Reason
				}
				if got != tc.reasons[i] {
					t.Errorf("event %d: reason %q, want %q", i, got, tc.reasons[i])
				}
			}
		})
	}
}

func TestDecodeTimes(t *testing.T) {
	evs, err := Decode([]byte(`{"schema":"iglu:a/b/jsonschema/1-0-0","data":{},"event_id":"e1","sent_at":"2026-11-01T12:00:01+01:00","device_created_at":"2026-11-01T11:00:00Z","app":"shop-web"}`), collect.DefaultLimits)
	if err != nil || len(evs) != 1 || evs[0].Reject != nil {
		t.Fatalf("%v %+v", err, evs)
	}
	ev := evs[0]
	if ev.EventID != "e1" || ev.App != "shop-web" || ev.SentAt == nil || ev.SentAt.Format("15:04:05Z07:00") != "11:00:01Z" || ev.DeviceCreatedAt == nil || ev.TrueTimestamp != nil {
		t.Fatalf("decoded %+v", ev)
	}
}

// FuzzDecode: any body decodes into events or a request error, never a panic, and
// a rejected event's message never contains the body's text.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{signup, "[" + signup + "]", signup + "\n" + signup, `{"schema":1}`, `[[[`, "\xff\xfe", `{"schema":"iglu:a/b/jsonschema/1-0-0","data":{},"contexts":[{"schema":"x"}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := Decode(body, collect.DefaultLimits)
		if err != nil {
			if _, ok := err.(*collect.RequestError); !ok {
				t.Fatalf("non-request error %T: %v", err, err)
			}
			return
		}
		for _, ev := range evs {
			if ev.Reject == nil {
				if ev.Schema == "" || len(ev.Data) == 0 {
					t.Fatalf("accepted event without schema or data: %+v", ev)
				}
				continue
			}
			for _, f := range ev.Reject.Failures {
				if !utf8.ValidString(f.Message) {
					t.Fatalf("failure message is not UTF-8: %q", f.Message)
				}
			}
		}
	})
}

// TestLimitsChecked: events cut from a body nested no deeper than an event may
// be are marked as checked against the limits (the pipeline skips its own
// scan); in a deeper body they are not, and the pipeline scans each.
func TestLimitsChecked(t *testing.T) {
	lim := collect.DefaultLimits
	lim.MaxDepth = 4
	for _, tc := range []struct {
		body string
		want bool
	}{
		{`[{"schema":"iglu:a/b/jsonschema/1-0-0","data":{"a":1}}]`, true},         // depth 3
		{`{"schema":"iglu:a/b/jsonschema/1-0-0","data":{"a":{"b":{}}}}`, true},    // depth 4
		{`[{"schema":"iglu:a/b/jsonschema/1-0-0","data":{"a":{"b":{}}}}]`, false}, // depth 5
		{`{"schema":"iglu:a/b/jsonschema/1-0-0","data":{},"contexts":[{"schema":"iglu:c/d/jsonschema/1-0-0","data":{}}]}` + "\n" + `{"schema":"iglu:a/b/jsonschema/1-0-0","data":{}}`, true}, // NDJSON, depth 4
	} {
		evs, err := Decode([]byte(tc.body), lim)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range evs {
			if in.LimitsChecked != tc.want {
				t.Errorf("%s: LimitsChecked %v, want %v", tc.body, in.LimitsChecked, tc.want)
			}
		}
	}
}

// checkOnePass: decode, which checks a JSON body's limits while it cuts out
// the events, answers every body and limits exactly as decodeChecked, which
// checks the limits in a pass of their own first.
func checkOnePass(t *testing.T, body []byte, lim collect.Limits) {
	t.Helper()
	if len(bytes.TrimSpace(body)) == 0 {
		return // answered before either pass
	}
	got, gerr := decode(nil, body, lim)
	want, werr := decodeChecked(nil, bytes.TrimSpace(body), lim)
	if fmt.Sprint(gerr) != fmt.Sprint(werr) {
		t.Fatalf("%q %+v: error %v, two passes %v", body, lim, gerr, werr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q %+v:\n one pass %+v\ntwo passes %+v", body, lim, got, want)
	}
}

func TestOnePass(t *testing.T) {
	lim := collect.DefaultLimits
	lim.MaxDepth, lim.MaxStringBytes = 4, 8
	long := `{"schema":"iglu:a/b/jsonschema/1-0-0","data":{"k":"123456789"}}`
	for _, body := range []string{
		signup, "[" + signup + "]",
		`[{"schema":"s","data":{"a":1}}]`,            // depth 3, strings within
		`{"schema":"s","data":{"a":{"b":{}}}}`,       // depth 4
		`[{"schema":"s","data":{"a":{"b":{}}}}]`,     // depth 5: not covered
		`[{"schema":"s","data":{"a":{"b":[[[]]]}}}]`, // depth 8: over the limit
		long, "[" + long + "]", `{"schema":"s","data":{"123456789":1}}`,
		`[{"schema":"s","data":{}},{"schema":"s","data":{}}]`,
		`{"schema":"s","data":{}}` + "\n" + `{"schema":"s","data":{}}`,
		`[1,"123456789"]`, `[{"schema":"s","bad":{}}]`, `[{"schema":"s","bad":{"x":"123456789"}}]`,
	} {
		checkOnePass(t, []byte(body), lim)
		checkOnePass(t, []byte(body), collect.DefaultLimits)
	}
	lim.MaxEvents = 1
	checkOnePass(t, []byte(`[{"schema":"s","data":{}},{"schema":"s","data":{}}]`), lim)
	checkOnePass(t, []byte(`[{"schema":"s","data":{}},{"schema":"s","data":{"x":"123456789"}}]`), lim)
}

// FuzzOnePass holds decode to decodeChecked on any body and limits.
func FuzzOnePass(f *testing.F) {
	for _, s := range []string{signup, "[" + signup + "]", signup + "\n" + signup, `[{"schema":"s","data":{"a":{"b":[[[]]]}}}]`, `[1,"123456789"]`} {
		f.Add([]byte(s), uint8(4), uint8(8), uint8(3))
	}
	f.Fuzz(func(t *testing.T, body []byte, depth, str, events uint8) {
		lim := collect.DefaultLimits
		lim.MaxDepth, lim.MaxStringBytes, lim.MaxEvents = int(depth%10), int(str%40), 1+int(events%5)
		checkOnePass(t, body, lim)
	})
}

// TestNativeContextsMessages: a "contexts" member that is not an array of
// entities is answered in the protocol's words, never in Go's.
func TestNativeContextsMessages(t *testing.T) {
	for _, tc := range []struct{ contexts, want string }{
		{`{}`, "; it is an object"},
		{`"x"`, "; it is a string"},
		{`[1]`, "; entity 0 is a number"},
		{`[null,{"schema":5,"data":{}}]`, `; the "schema" of entity 1 is a number, not a string`},
		{`[{"schema":"iglu:a/b/jsonschema/1-0-0","data":{},"extra":1}]`, `; entity 0 has a member "extra", and an entity has only "schema" and "data"`},
	} {
		evs, err := Decode([]byte(`{"schema":"iglu:com.acme/signup/jsonschema/1-0-0","data":{},"contexts":`+tc.contexts+`}`), collect.DefaultLimits)
		if err != nil {
			t.Fatal(err)
		}
		msg := evs[0].Reject.Failures[0].Message
		if !strings.HasSuffix(msg, `"contexts" must be an array of self-describing entities [{"schema": "iglu:...", "data": {...}}, ...]`+tc.want) {
			t.Errorf("contexts %s: %q, want it to end with %q", tc.contexts, msg, tc.want)
		}
		for _, goWords := range []string{"Go value", "event.Entity", "json:", "unmarshal"} {
			if strings.Contains(msg, goWords) {
				t.Errorf("contexts %s: %q speaks Go (%q)", tc.contexts, msg, goWords)
			}
		}
	}
}
