package collect

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/accord-dev/accord/internal/event"
)

// FuzzAppendResponse holds appendResponse to encoding/json's Encoder: the same
// bytes for any results.
func FuzzAppendResponse(f *testing.F) {
	f.Add("0193-abc", "iglu:a/b/jsonschema/1-0-0", StatusAccepted, "", "", "", uint8(3))
	f.Add("", "", StatusRejected, "schema_violation", "/email", "<b>\u2028\xff\"\\", uint8(1))
	f.Add("e\u00e9\n", "s&", StatusAccepted, "", "", "", uint8(0))
	f.Add("x", "", StatusRejected, "malformed_json", "", "", uint8(2))
	f.Fuzz(func(t *testing.T, id, schema, status, reason, pointer, msg string, n uint8) {
		var results []Result
		for i := range int(n % 5) {
			r := Result{EventID: id, Schema: schema, Status: status, Reason: event.Reason(reason)}
			switch {
			case i%3 == 1 && (pointer != "" || msg != ""):
				r.Failures = []event.Failure{{Pointer: pointer, Message: msg}}
			case i%3 == 2 && msg != "":
				r.Warnings = []string{msg}
			}
			results = append(results, r)
		}
		for _, resp := range []Response{NewResponse(results), {Events: results}} {
			var want bytes.Buffer
			if err := json.NewEncoder(&want).Encode(resp); err != nil {
				t.Skip(err)
			}
			got, err := appendResponse(nil, resp)
			if err != nil || !bytes.Equal(got, want.Bytes()) {
				t.Fatalf("appendResponse\n%s(%v)\nencoding/json\n%s", got, err, want.Bytes())
			}
		}
	})
}
