package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/accord-dev/accord/internal/app"
)

// TestServeSegmentRejectedMessages posts, through accord serve, a Segment
// batch whose messages are rejected while they are decoded (a type of no call,
// no type, over 32 KiB, not an object, about no one: neither userId nor
// anonymousId) beside one that is accepted (its only id an anonymousId), and
// a call whose only id is in RudderStack's AnonymousId header, and checks
// that each answer and bad row keep what can be read of the message safely:
// its messageId as the event id (libraries match answers up by it), its call
// type, its event or page name and the names of its properties or traits;
// and never a value, in the answer, the bad rows, the buffer or the log, even
// with segment.unresolved_controller set (it keeps only messages whose sole
// fault is an unknown name).
func TestServeSegmentRejectedMessages(t *testing.T) {
	data := t.TempDir()
	base, stop := startApp(t, data, func(c *app.Config) { c.Segment.UnresolvedController = "acme" })
	defer func() {
		if stop != nil {
			stop()
		}
	}()
	batch := fmt.Sprintf(`{"batch":[
	 {"type":"bogus","messageId":"b-3","userId":%[1]q,"traits":{"email":%[2]q,"plan":"pro"}},
	 {"messageId":"b-4","userId":%[1]q,"event":"Signed Up","properties":{"shop_id":"shop_1","email":%[2]q}},
	 {"type":"identify","messageId":"big-1","userId":%[1]q,"traits":{"email":%[2]q,"note":"%[3]s"},"context":{"ip":%[4]q}},
	 [%[2]q],
	 {"type":"track","event":"Signed Up","messageId":"noid-1","properties":{"shop_id":"shop_9","email":%[2]q},"context":{"ip":%[4]q}},
	 {"type":"track","event":"Signed Up","messageId":"ok-1","anonymousId":%[1]q,"properties":{"shop_id":"shop_9","email":%[2]q}}]}`,
		planted[6], planted[0], strings.Repeat("n", 33<<10), planted[1])
	code, body := post(t, base+"/v1/batch", batch)
	if code != http.StatusOK {
		t.Fatalf("POST /v1/batch = %d %s", code, body)
	}
	if p := plantedIn([]byte(body)); p != "" {
		t.Errorf("the answer holds planted PII %q: %s", p, body)
	}
	var answer struct {
		Events []struct {
			EventID  string `json:"event_id"`
			Status   string `json:"status"`
			Reason   string `json:"reason"`
			Failures []struct {
				Message string `json:"message"`
			} `json:"failures"`
		} `json:"events"`
	}
	if err := json.Unmarshal([]byte(body), &answer); err != nil {
		t.Fatal(err)
	}
	type result struct{ EventID, Status, Reason, Failure string }
	var got []result
	for _, e := range answer.Events {
		r := result{EventID: e.EventID, Status: e.Status, Reason: e.Reason}
		if len(e.Failures) > 0 {
			r.Failure = e.Failures[0].Message
		}
		got = append(got, r)
	}
	// A message that is not an object has no messageId: the collector
	// assigns its event an id, as every rejected event gets one.
	assigned := ""
	if len(got) == 6 {
		assigned, got[3].EventID = got[3].EventID, ""
		if _, err := uuid.Parse(assigned); err != nil {
			t.Errorf("the message that is not an object was answered with event id %q, not one assigned", assigned)
		}
	}
	const noIDs = `a message needs a "userId" or an "anonymousId" (Segment's rule): send the user's id, or the anonymous id of the device or session`
	want := []result{
		{"b-3", "rejected", "malformed_event", `the message's type "bogus" is not one of track, identify, page, screen, group, alias`},
		{"b-4", "rejected", "malformed_event", `the message has no "type"; each batch message names its call: track, identify, page, screen, group or alias`},
		{"big-1", "rejected", "payload_too_large", `the message is 33953 bytes, more than Segment's limit of 32768 bytes per message`},
		{"", "rejected", "malformed_event", "the message must be a JSON object"},
		{"noid-1", "rejected", "malformed_event", noIDs},
		{"ok-1", "accepted", "", ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}

	// RudderStack's JavaScript SDK sends the anonymousId of each call in an
	// AnonymousId header too (base64), which its own server reads only to
	// order a user's requests: the collector reads the ids of the message,
	// as that server does, and never stores a header.
	req, err := http.NewRequest(http.MethodPost, base+"/v1/track",
		strings.NewReader(fmt.Sprintf(`{"event":"Signed Up","messageId":"noid-2","properties":{"shop_id":"shop_9","email":%q}}`, planted[0])))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	req.Header.Set("AnonymousId", planted[6])
	code, body = do(t, req)
	if code != http.StatusBadRequest || !strings.Contains(body, `"code":"malformed_event"`) || !strings.Contains(body, `"event_id":"noid-2"`) ||
		!strings.Contains(body, `a message needs a \"userId\" or an \"anonymousId\"`) {
		t.Errorf("POST /v1/track with only an AnonymousId header = %d %s, want 400 malformed_event saying what to send", code, body)
	}
	if p := plantedIn([]byte(body)); p != "" {
		t.Errorf("the answer holds planted PII %q: %s", p, body)
	}

	rows := waitBadRows(t, data, 6)
	stop()
	stop = nil
	type row struct{ Reason, Data string }
	gotRows := map[string]row{}
	for _, r := range rows {
		var payload struct {
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(r.Payload, &payload); err != nil {
			t.Fatalf("bad row %s: payload %s: %v", r.EventID, r.Payload, err)
		}
		if len(r.Sealed)+len(r.Redacted) > 0 {
			t.Errorf("bad row %s keeps values, sealed %v, redacted %v", r.EventID, r.Sealed, r.Redacted)
		}
		gotRows[r.EventID] = row{string(r.Reason), string(payload.Data)}
	}
	wantRows := map[string]row{
		"b-3":    {"malformed_event", `{"fields":["email","plan"],"values_withheld":true}`},
		"b-4":    {"malformed_event", `{"event":"Signed Up","fields":["email","shop_id"],"values_withheld":true}`},
		"big-1":  {"payload_too_large", `{"type":"identify","fields":["email","note"],"values_withheld":true}`},
		assigned: {"malformed_event", `{"values_withheld":true}`},
		"noid-1": {"malformed_event", `{"type":"track","event":"Signed Up","fields":["email","shop_id"],"values_withheld":true}`},
		"noid-2": {"malformed_event", `{"type":"track","event":"Signed Up","fields":["email","shop_id"],"values_withheld":true}`},
	}
	if diff := cmp.Diff(wantRows, gotRows); diff != "" {
		t.Errorf("bad rows by event id (-want +got):\n%s", diff)
	}
	noPlantedFiles(t, data)
}
