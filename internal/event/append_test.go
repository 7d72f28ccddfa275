package event

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func sampleEnvelope() *Envelope {
	recv := time.Date(2026, 11, 1, 12, 34, 56, 789000000, time.UTC)
	sent := recv.Add(-time.Second)
	dev := time.Date(2026, 11, 1, 12, 34, 50, 0, time.FixedZone("", 3600))
	return &Envelope{V: EnvelopeVersion, EventID: "3f1c9a8e-2b4d-4c6e-9f1a-7b8c9d0e1f2a", Schema: "iglu:com.acme/x/jsonschema/1-0-0",
		ReceivedAt: recv, SentAt: &sent, DeviceCreatedAt: &dev, EventTime: recv,
		Source:     Source{Protocol: "native", App: "shop", Platform: "web", Collector: "c1", Tracker: "js-3.1"},
		Validation: Validation{Outcome: "valid", Validator: "fast"},
		Data:       json.RawMessage(`{"a":1,"b":[true,null,"x"],"c":{"d":"\u00e9"}}`),
		Contexts:   []Entity{{Schema: "iglu:com.acme/ctx/jsonschema/1-0-0", Data: json.RawMessage(`{"k":"v"}`)}},
		Scrubbed:   []Applied{{Pointer: "/email", Kind: "email", Handling: "tokenize"}, {Pointer: "/ip", Entity: "iglu:com.acme/ctx/jsonschema/1-0-0", Kind: "ip", Handling: "obfuscate"}},
	}
}

// TestEncodeEnvelopeRaw checks that the hand-written encoder writes exactly
// what EncodeEnvelope writes for compact data without HTML characters.
func TestEncodeEnvelopeRaw(t *testing.T) {
	full := sampleEnvelope()
	bare := &Envelope{V: 1, EventID: "e", Schema: "s", Data: json.RawMessage(`{}`)}
	noData := &Envelope{V: 1}
	odd := sampleEnvelope()
	odd.EventID = "quote\" backslash\\ tab\t nl\n <b>&amp; \u2028\u2029 é \x7f ctrl\x01 bad\xff\xfe"
	odd.Source.App = "\u0000"
	for name, e := range map[string]*Envelope{"full": full, "bare": bare, "no data": noData, "odd strings": odd} {
		want, err := EncodeEnvelope(e)
		if err != nil {
			t.Fatal(err)
		}
		got, err := EncodeEnvelopeRaw(e)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
	bad := sampleEnvelope()
	far := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	bad.TrueTimestamp = &far
	if _, err := EncodeEnvelopeRaw(bad); err == nil {
		t.Error("a year beyond 9999 encoded; EncodeEnvelope refuses it")
	}
	if _, err := EncodeEnvelope(bad); err == nil {
		t.Error("EncodeEnvelope accepted a year beyond 9999")
	}
}

// FuzzEncodeEnvelopeRaw compares the two encoders on any strings and any
// compact JSON data.
func FuzzEncodeEnvelopeRaw(f *testing.F) {
	f.Add("3f1c9a8e", "native", "/email", []byte(`{"a":[1,2]}`))
	f.Add("q\"\\\n<>&\u2028", "\xff", "", []byte(`"x"`))
	f.Fuzz(func(t *testing.T, id, app, ptr string, data []byte) {
		var buf bytes.Buffer
		if json.Compact(&buf, data) != nil || bytes.ContainsAny(buf.Bytes(), "<>&\u2028\u2029") {
			return
		}
		e := sampleEnvelope()
		e.EventID, e.Source.App, e.Data = id, app, buf.Bytes()
		e.Scrubbed[0].Pointer = ptr
		want, err := EncodeEnvelope(e)
		if err != nil {
			t.Fatal(err)
		}
		got, err := EncodeEnvelopeRaw(e)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
		if _, _, err := DecodeRecord(got); err != nil {
			t.Fatalf("decoding: %v", err)
		}
	})
}

// TestAppendStringMatchesMarshal puts each kind of byte that needs escaping at
// every position of strings up to 20 bytes long, across the eight-byte steps of
// the fast path, and compares with json.Marshal.
func TestAppendStringMatchesMarshal(t *testing.T) {
	for _, c := range []string{`"`, `\`, "<", ">", "&", "\n", "\x01", "\x7f", "é", "\u2028", "\xff", "\U0001F600"} {
		for n := 0; n <= 20; n++ {
			for pos := 0; pos <= n; pos++ {
				s := strings.Repeat("a", pos) + c + strings.Repeat("b", n-pos)
				want, _ := json.Marshal(s)
				if got := AppendString(nil, s); !bytes.Equal(got, want) {
					t.Fatalf("%q: got %s, want %s", s, got, want)
				}
			}
		}
	}
}

func sampleBadRow() *BadRow {
	recv := time.Date(2026, 11, 1, 12, 34, 56, 789000000, time.UTC)
	sent := recv.Add(-time.Second)
	return &BadRow{V: EnvelopeVersion, ID: "0193-bad", ReceivedAt: recv, Reason: ReasonSchemaViolation,
		Schema: "iglu:com.acme/x/jsonschema/1-0-0", EventID: "e1", Source: Source{Protocol: "snowplow", App: "shop", Platform: "web", Collector: "c1", Tracker: "js-4"},
		Failures: []Failure{{Pointer: "/a", Keyword: "type", KeywordLocation: "/properties/a/type", Message: "want string", Entity: "iglu:c/d/jsonschema/1-0-0"}, {Pointer: "", Message: "m"}},
		Payload:  json.RawMessage(`{"schema":"iglu:com.acme/x/jsonschema/1-0-0","data":{"a":1,"email":"sealed_aa"}}`),
		Sealed:   []string{"/data/email"}, Redacted: []string{"iglu:c/d/jsonschema/1-0-0#/ip"}, SentAt: &sent, TrueTimestamp: &recv}
}

func TestAppendBadRowRaw(t *testing.T) {
	full := sampleBadRow()
	bare := &BadRow{V: 1, ID: "x", Reason: ReasonMalformedJSON, Failures: []Failure{}, PayloadText: "{\"a\":"}
	nilFailures := &BadRow{V: 1, PayloadWithheld: "withheld"}
	odd := sampleBadRow()
	odd.ID = "quote\" backslash\\ tab\t nl\n <b>&amp; \u2028\u2029 é \x7f ctrl\x01 bad\xff\xfe"
	odd.Failures[0].Message = odd.ID
	for name, r := range map[string]*BadRow{"full": full, "bare": bare, "nil failures": nilFailures, "odd strings": odd} {
		want, err := EncodeBadRow(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := AppendBadRowRaw([]byte("keep"), r)
		if err != nil {
			t.Fatal(err)
		}
		if string(got[:4]) != "keep" || !bytes.Equal(got[4:], want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
	far := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	full.SentAt = &far
	if got, err := AppendBadRowRaw([]byte("keep"), full); err == nil || string(got) != "keep" {
		t.Errorf("a year beyond 9999: %q %v", got, err)
	}
}

// FuzzAppendBadRowRaw compares the two bad-row encoders on any strings and any
// compact JSON payload.
func FuzzAppendBadRowRaw(f *testing.F) {
	f.Add("0193", "/a", "msg", []byte(`{"schema":"s","data":{}}`))
	f.Add("q\"\\\n<>&\u2028", "\xff", "", []byte(`[1,"x"]`))
	f.Fuzz(func(t *testing.T, id, ptr, msg string, payload []byte) {
		var buf bytes.Buffer
		if json.Compact(&buf, payload) != nil || bytes.ContainsAny(buf.Bytes(), "<>&\u2028\u2029") {
			return
		}
		r := sampleBadRow()
		r.ID, r.Failures[0].Pointer, r.Failures[1].Message, r.Payload = id, ptr, msg, buf.Bytes()
		r.Sealed = append(r.Sealed, ptr)
		want, err := EncodeBadRow(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := AppendBadRowRaw(nil, r)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
	})
}
