package segment

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/accord-dev/accord/internal/collect"
)

// routes are the fuzzer's routes, chosen by a byte.
var routes = append(append([]string(nil), callTypes...), TypeBatch)

// FuzzDecode feeds arbitrary bodies to the decoder and the mapping: they never
// panic, refuse a request only with a 400 or 413, and never let a message without
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
		for i := range req.Messages {
			m := &req.Messages[i]
			if m.Reject == nil {
				if !isCallType(m.Type) || (m.Type == TypeTrack && m.Event == "") {
					t.Fatalf("accepted message of type %q, event %q", m.Type, m.Event)
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
				var s struct {
					ValuesWithheld bool `json:"values_withheld"`
				}
				if err := json.Unmarshal(in.Data, &s); err != nil || !s.ValuesWithheld {
					t.Fatalf("a message without a contract keeps %q", in.Data)
				}
			}
		}
	})
}
