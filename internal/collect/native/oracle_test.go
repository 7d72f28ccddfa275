package native

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/accord-dev/accord/internal/collect"
	"github.com/accord-dev/accord/internal/event"
	"github.com/accord-dev/accord/internal/jsonscan"
)

// wireEvent and oracleDecode are the encoding/json decoder that decodeOne
// replaced; FuzzDecodeOracle holds the new one to it.
type wireEvent struct {
	Schema          string          `json:"schema"`
	Data            json.RawMessage `json:"data"`
	Contexts        []event.Entity  `json:"contexts"`
	EventID         string          `json:"event_id"`
	SentAt          string          `json:"sent_at"`
	DeviceCreatedAt string          `json:"device_created_at"`
	TrueTimestamp   string          `json:"true_timestamp"`
	App             string          `json:"app"`
	Platform        string          `json:"platform"`
}

func oracleDecode(raw []byte) collect.Incoming {
	reject := func(reason event.Reason) collect.Incoming {
		return collect.Incoming{Reject: &collect.Rejection{Reason: reason}}
	}
	if !json.Valid(raw) {
		return reject(event.ReasonMalformedJSON)
	}
	var we wireEvent
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&we); err != nil || we.Schema == "" || len(we.Data) == 0 || string(we.Data) == "null" {
		return reject(event.ReasonMalformedEvent)
	}
	in := collect.Incoming{Schema: we.Schema, Data: we.Data, Contexts: we.Contexts, EventID: we.EventID, App: we.App, Platform: we.Platform}
	var members map[string]json.RawMessage // the last of a repeated member, as sent
	if err := json.Unmarshal(raw, &members); err != nil {
		return reject(event.ReasonMalformedEvent)
	}
	for _, name := range []string{"schema", "event_id", "sent_at", "device_created_at", "true_timestamp", "app", "platform"} {
		if v := members[name]; len(v) > 0 && v[0] == '"' && !utf8.Valid(v) {
			in.Reject = &collect.Rejection{Reason: event.ReasonInvalidUTF8}
			return in
		}
	}
	for _, ts := range []struct {
		v   string
		dst **time.Time
	}{{we.SentAt, &in.SentAt}, {we.DeviceCreatedAt, &in.DeviceCreatedAt}, {we.TrueTimestamp, &in.TrueTimestamp}} {
		if ts.v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, ts.v)
		if err != nil {
			return reject(event.ReasonTimestampInvalid)
		}
		t = t.UTC()
		*ts.dst = &t
	}
	return in
}

// foldedName reports whether the object raw has a member whose name matches a
// wire field only case-insensitively: encoding/json took those, the native
// decoder matches names exactly (and rejects them as unknown).
func foldedName(raw []byte) bool {
	folded := false
	_, _, err := jsonscan.Document(raw)
	if err != nil || len(raw) == 0 || raw[0] != '{' {
		return false
	}
	if _, err := jsonscan.Members(raw, 0, func(k []byte, plain bool, _, _ int) error {
		if !plain {
			k = jsonscan.AppendUnquoted(nil, k)
		}
		for _, f := range []string{"schema", "data", "contexts", "event_id", "sent_at", "device_created_at", "true_timestamp", "app", "platform"} {
			if string(k) != f && strings.EqualFold(string(k), f) {
				folded = true
			}
		}
		return nil
	}, 0); err != nil {
		return false
	}
	return folded
}

// FuzzDecodeOracle decodes one event with decodeOne and with encoding/json: the
// verdict, the reason and every decoded field must be the same.
func FuzzDecodeOracle(f *testing.F) {
	for _, s := range []string{
		signup,
		`{"schema":"iglu:a/b/jsonschema/1-0-0","data":{"x":[1,2]},"contexts":[{"schema":"iglu:c/d/jsonschema/1-0-0","data":{}}],"event_id":"e\u00e9","sent_at":"2026-11-01T12:00:01+01:00","app":null}`,
		`{"schema":"iglu:a/b/jsonschema/1-0-0","data":{},"data":null}`,
		`{"schema":"iglu:a/b/jsonschema/1-0-0","data":1,"contexts":[{"schema":"x","extra":1}]}`,
		`{"schema":"\xff","data":"x","platform":5}`,
		"{\"schema\":\"iglu:a/b/jsonschema/1-0-0\",\"data\":{},\"app\":\"\xff\",\"platform\":\"w\xc3\"}",
		"{\"schema\":\"iglu:a/b/jsonschema/1-0-0\",\"data\":{},\"app\":\"\xff\",\"app\":\"web\"}",
		`{"sch\u0065ma":"iglu:a/b/jsonschema/1-0-0","data":{}}`,
		`[1]`, `"x"`, `{"schema":"a","data":{},"true_timestamp":"nope"}`, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 || foldedName(raw) {
			return
		}
		got, want := decodeOne(raw), oracleDecode(raw)
		if (got.Reject == nil) != (want.Reject == nil) || got.Reject != nil && got.Reject.Reason != want.Reject.Reason {
			t.Fatalf("decodeOne %+v, encoding/json %+v", got.Reject, want.Reject)
		}
		// In an array, decoded in the same pass as the body is checked, the
		// event decodes as it does alone.
		if json.Valid(raw) {
			arr, err := Decode([]byte("["+string(raw)+",\n"+string(raw)+"]"), collect.DefaultLimits)
			if err != nil || len(arr) != 2 {
				t.Fatalf("in an array: %d events, %v", len(arr), err)
			}
			for _, in := range arr {
				in.LimitsChecked = false // the body's check (TestLimitsChecked)
				if !reflect.DeepEqual(in, got) {
					t.Fatalf("in an array\n%+v\nalone\n%+v", in, got)
				}
			}
		}
		if got.Reject != nil {
			return
		}
		got.RawText, want.RawText = "", ""
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("decodeOne\n%+v\nencoding/json\n%+v", got, want)
		}
	})
}
