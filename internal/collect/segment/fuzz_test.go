package segment

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/accord-dev/accord/internal/collect"
)

// routes are the fuzzer's routes, chosen by a byte.
var routes = append(append([]string(nil), callTypes...), TypeBatch)

// FuzzDecode feeds arbitrary bodies to the decoder and the mapping: they never
// panic, refuse a request only with a 400 or 413, accept no message that
// Segment's rules of who it is about refuse, and never let a message without
// a contract carry its values.
func FuzzDecode(f *testing.F) {
	routeIndex := func(r string) byte {
		for i, x := range routes {
			if x == r {
				return byte(i)
			}
		}
		return 0
	}
	// Seeds of many kilobytes (the size limits) would make the fuzzer spend its
	// time minimizing; the unit tables cover them.
	for _, tc := range decodeCases {
		if len(tc.body) < 4096 {
			f.Add([]byte(tc.body), routeIndex(tc.route))
		}
	}
	for _, tc := range requestErrorCases {
		if len(tc.body) < 4096 {
			f.Add([]byte(tc.body), routeIndex(tc.route))
		}
	}
	for _, tc := range rejectedCases {
		if len(tc.body) < 4096 {
			f.Add([]byte(tc.body), routeIndex(tc.route))
		}
	}
	names := NewNames(loadSnapshot(f))
	lim := collect.DefaultLimits
	f.Fuzz(func(t *testing.T, body []byte, route byte) {
		callType := routes[int(route)%len(routes)]
		req, err := Decode(body, callType, lim)
		if err != nil {
			var re *collect.RequestError
			if !errors.As(err, &re) || (re.Status != http.StatusBadRequest && re.Status != http.StatusRequestEntityTooLarge) || re.Msg == "" {
				t.Fatalf("Decode refused with %#v", err)
			}
			return
		}
		if len(req.Messages) > lim.MaxEvents || (callType != TypeBatch && len(req.Messages) != 1) {
			t.Fatalf("%d messages from route %s", len(req.Messages), callType)
		}
		// Every message's event id, rejected or not, is its messageId when
		// that is a string, read here as encoding/json reads it.
		messageIDs := make([]string, len(req.Messages))
		trimmed := bytes.TrimSpace(body) // as Decode trims it
		raws := []json.RawMessage{trimmed}
		if callType == TypeBatch {
			var top map[string]json.RawMessage
			raws = nil
			if json.Unmarshal(trimmed, &top) != nil || json.Unmarshal(top["batch"], &raws) != nil || len(raws) != len(req.Messages) {
				t.Fatalf("Decode read %d messages from a batch encoding/json does not read as such", len(req.Messages))
			}
		}
		for i, raw := range raws {
			var members map[string]json.RawMessage
			if json.Unmarshal(raw, &members) == nil && members["messageId"] != nil {
				_ = json.Unmarshal(members["messageId"], &messageIDs[i]) // a value of another type is no id
			}
		}
		for i := range req.Messages {
			m := &req.Messages[i]
			if m.Reject == nil {
				if !isCallType(m.Type) || (m.Type == TypeTrack && m.Event == "") {
					t.Fatalf("accepted message of type %q, event %q", m.Type, m.Event)
				}
				// Segment's rules of who a message is about.
				if m.Type == TypeAlias && (m.PreviousID == "" || m.UserID == "") ||
					m.Type != TypeAlias && m.UserID == "" && m.AnonymousID == "" || m.Type == TypeGroup && m.GroupID == "" {
					t.Fatalf("accepted %s message with userId %q, anonymousId %q, groupId %q, previousId %q", m.Type, m.UserID, m.AnonymousID, m.GroupID, m.PreviousID)
				}
				var obj map[string]json.RawMessage
				if err := json.Unmarshal(m.Payload, &obj); err != nil {
					t.Fatalf("payload %q is not an object: %v", m.Payload, err)
				}
			} else if len(m.Reject.Failures) == 0 || m.Reject.Reason == "" {
				t.Fatalf("rejection without reason or failures: %+v", m.Reject)
			}
			in := Map(m, names, "app").Incoming
			if !json.Valid(in.Data) {
				t.Fatalf("data %q is not JSON", in.Data)
			}
			if in.Reject == nil && in.Schema == "" {
				t.Fatal("an accepted message has no schema")
			}
			if in.Schema == "" {
				var s map[string]json.RawMessage
				if err := json.Unmarshal(in.Data, &s); err != nil || string(s["values_withheld"]) != "true" {
					t.Fatalf("a message without a contract keeps %q", in.Data)
				}
				// Only names: the type, the event or page name, the names of
				// the payload's members.
				for k := range s {
					if k != "type" && k != "event" && k != "name" && k != "fields" && k != "values_withheld" {
						t.Fatalf("a message without a contract keeps %q in %s", k, in.Data)
					}
				}
			}
			if want := messageIDs[i]; in.EventID != want {
				t.Fatalf("message %d has event id %q, its messageId is %q", i, in.EventID, want)
			}
		}
	})
}

// FuzzResolve feeds Resolve what it reads back from a bad row's data (a file
// anyone with access to the data folder can edit): it never panics, and an
// event it returns keeps the row's event id, received time and source, and is
// either rejected or resolved to the contract the names index gives its name.
// The seeds are messages as KeepSealed keeps them.
func FuzzResolve(f *testing.F) {
	h := newHarness(f, collect.Access{})
	names := h.handler.names.get(h.snap)
	for _, body := range []string{
		`{"type":"track","event":"Order Completed","messageId":"m1","userId":"u1","properties":{"order_id":"o-1","total":12.5,"currency":"EUR","items":[{"sku":"s","quantity":1,"price":12.5}]},"context":{"ip":"81.2.69.142"}}`,
		`{"type":"identify","anonymousId":"a1","traits":{"email":"a@example.com"}}`,
		`{"type":"alias","previousId":"p","userId":"u"}`,
		`{"type":"track","event":"Unplanned","userId":"u","properties":{"x":[1,{"y":null}]}}`,
	} {
		req, err := Decode([]byte(body), TypeTrack, collect.DefaultLimits)
		if err != nil || len(req.Messages) != 1 {
			f.Fatalf("seed %s: %v", body, err)
		}
		var in collect.Incoming
		KeepSealed(&in, &req.Messages[0], "acme")
		f.Add([]byte(in.Data))
	}
	f.Add([]byte(`{"segment_message":{"type":"batch"}}`))
	f.Add([]byte(`{"segment_message":null}`))
	f.Add([]byte(`{"values_withheld":true,"fields":["a"]}`))
	received := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		row := collect.Incoming{EventID: "row-event", Received: received, App: "web"}
		in, why := h.handler.Resolve(data, row)
		if why != "" {
			return
		}
		if in.EventID != "row-event" || !in.Received.Equal(received) || in.App != "web" {
			t.Fatalf("the row's event id, time or source were lost: %+v", in)
		}
		if in.Schema == "" && in.Reject == nil {
			t.Fatalf("resolved to no contract and not rejected: %+v", in)
		}
		// The resolution is the names index's for the message's name.
		var d map[string]*keptMessage
		if json.Unmarshal(data, &d) != nil || d[keptMember] == nil {
			t.Fatal("resolved data that is not a kept message")
		}
		k := d[keptMember]
		name := k.Event
		if k.Type != TypeTrack {
			name = reservedNames[k.Type]
		}
		c, _, ok := names.Lookup(name)
		if in.Reject == nil && (!ok || in.Schema != c.URI()) {
			t.Fatalf("%s %q resolved to %q, the names index says %v", k.Type, name, in.Schema, ok)
		}
	})
}
