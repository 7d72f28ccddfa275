package segment

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/accord-dev/accord/internal/collect"
	"github.com/accord-dev/accord/internal/event"
)

// got is the part of a decoded message the tables compare.
type got struct {
	Type, Event, Name, Category              string
	UserID, AnonymousID, GroupID, PreviousID string
	MessageID, Payload, IP, UserAgent        string
	Library, SentAt, DeviceCreatedAt         string
	Reason                                   event.Reason
	Failure                                  string // every failure message, joined by " | "
}

func project(m Message) got {
	g := got{Type: m.Type, Event: m.Event, Name: m.Name, Category: m.Category, UserID: m.UserID,
		AnonymousID: m.AnonymousID, GroupID: m.GroupID, PreviousID: m.PreviousID, MessageID: m.MessageID,
		Payload: string(m.Payload), IP: m.IP, UserAgent: m.UserAgent, Library: m.Library}
	if m.SentAt != nil {
		g.SentAt = m.SentAt.Format(time.RFC3339Nano)
	}
	if m.DeviceCreatedAt != nil {
		g.DeviceCreatedAt = m.DeviceCreatedAt.Format(time.RFC3339Nano)
	}
	if m.Reject != nil {
		g.Reason = m.Reject.Reason
		msgs := make([]string, len(m.Reject.Failures))
		for i, f := range m.Reject.Failures {
			msgs[i] = f.Message
		}
		g.Failure = strings.Join(msgs, " | ")
	}
	return g
}

// decodeCases are the message tables; the fuzz target is seeded from them.
var decodeCases = []struct {
	name, route, body string
	want              []got
	keys              []string
}{
	{
		name:  "track",
		route: TypeTrack,
		body: `{"userId":"u_1","anonymousId":"a_1","event":"Order Completed","properties":{"total_cents":1299,"currency":"EUR"},
			"messageId":"m-1","timestamp":"2026-11-01T12:34:56.789Z","sentAt":"2026-11-01T12:35:00Z",
			"context":{"library":{"name":"analytics-node","version":"2.1.0"},"ip":"81.2.69.142","userAgent":"curl/8","locale":"de-DE","traits":{"email":"x@y.example"}},
			"integrations":{"All":true},"writeKey":"wk_1","type":"identify"}`,
		want: []got{{Type: TypeTrack, Event: "Order Completed", UserID: "u_1", AnonymousID: "a_1", MessageID: "m-1",
			Payload: `{"total_cents":1299,"currency":"EUR"}`, IP: "81.2.69.142", UserAgent: "curl/8", Library: "analytics-node/2.1.0",
			SentAt: "2026-11-01T12:35:00Z", DeviceCreatedAt: "2026-11-01T12:34:56.789Z"}},
		keys: []string{"wk_1"},
	},
	{
		name:  "identify with traits",
		route: TypeIdentify,
		body:  `{"userId":"u_1","traits":{"email":"jane@example.com","plan":"pro"},"context":{"traits":{"ignored":true}}}`,
		want:  []got{{Type: TypeIdentify, UserID: "u_1", Payload: `{"email":"jane@example.com","plan":"pro"}`}},
	},
	{
		name:  "identify with context.traits (RudderStack)",
		route: TypeIdentify,
		body:  `{"userId":"u_1","context":{"traits":{"email":"jane@example.com"}}}`,
		want:  []got{{Type: TypeIdentify, UserID: "u_1", Payload: `{"email":"jane@example.com"}`}},
	},
	{
		name:  "page with name and category",
		route: TypePage,
		body:  `{"anonymousId":"a_1","name":"Home","category":"Shop","properties":{"url":"https://shop.example/"}}`,
		want:  []got{{Type: TypePage, AnonymousID: "a_1", Name: "Home", Category: "Shop", Payload: `{"url":"https://shop.example/"}`}},
	},
	{
		name:  "screen ignores category",
		route: TypeScreen,
		body:  `{"anonymousId":"a_1","name":"Cart","category":"Shop"}`,
		want:  []got{{Type: TypeScreen, AnonymousID: "a_1", Name: "Cart", Payload: `{}`}},
	},
	{
		name:  "group",
		route: TypeGroup,
		body:  `{"userId":"u_1","groupId":"g_9","traits":{"employees":12}}`,
		want:  []got{{Type: TypeGroup, UserID: "u_1", GroupID: "g_9", Payload: `{"employees":12}`}},
	},
	{
		name:  "alias",
		route: TypeAlias,
		body:  `{"userId":"u_2","previousId":"a_1","properties":{"dropped":true}}`,
		want:  []got{{Type: TypeAlias, UserID: "u_2", PreviousID: "a_1", Payload: `{}`}},
	},
	{
		name:  "numeric user id and null fields",
		route: TypeTrack,
		body:  `{"userId":12345,"anonymousId":null,"event":"Order Completed","properties":null,"timestamp":null,"context":null}`,
		want:  []got{{Type: TypeTrack, Event: "Order Completed", UserID: "12345", Payload: `{}`}},
	},
	{
		name:  "originalTimestamp wins over timestamp; offsets become UTC",
		route: TypeTrack,
		body:  `{"userId":"u_1","event":"Order Completed","timestamp":"2026-11-01T12:00:00Z","originalTimestamp":"2026-11-01T13:00:00+02:00","sentAt":"2026-11-01T11:01:00.5+0000"}`,
		want: []got{{Type: TypeTrack, Event: "Order Completed", UserID: "u_1", Payload: `{}`, SentAt: "2026-11-01T11:01:00.5Z",
			DeviceCreatedAt: "2026-11-01T11:00:00Z"}},
	},
	{
		name:  "library without version",
		route: TypeTrack,
		body:  `{"anonymousId":"a_1","event":"Order Completed","context":{"library":{"name":"analytics-python"}}}`,
		want:  []got{{Type: TypeTrack, Event: "Order Completed", AnonymousID: "a_1", Payload: `{}`, Library: "analytics-python"}},
	},
	{
		name:  "context values of other types are ignored",
		route: TypeTrack,
		body:  `{"userId":"u_1","event":"Order Completed","context":{"ip":17,"userAgent":["x"],"library":"analytics.js"}}`,
		want:  []got{{Type: TypeTrack, Event: "Order Completed", UserID: "u_1", Payload: `{}`}},
	},
	{
		name:  "batch with mixed types and batch-level context and sentAt",
		route: TypeBatch,
		body: `{"batch":[
			{"type":"track","event":"Order Completed","userId":"u_1","properties":{"total_cents":1},"context":{"ip":"10.0.0.1"}},
			{"type":"identify","userId":"u_1","traits":{"plan":"pro"},"sentAt":"2026-11-01T10:00:00Z"},
			{"type":"page","anonymousId":"a_1","name":"Home","context":{"library":{"name":"own","version":"1"}}},
			{"type":"screen","anonymousId":"a_1","name":"Cart"},
			{"type":"group","userId":"u_1","groupId":"g_1"},
			{"type":"alias","userId":"u_1","previousId":"a_1"}],
			"context":{"library":{"name":"analytics-ruby","version":"2.4.0"},"ip":"192.0.2.1","userAgent":"ruby"},
			"sentAt":"2026-11-01T12:00:00Z","writeKey":"wk_1"}`,
		want: []got{
			{Type: TypeTrack, Event: "Order Completed", UserID: "u_1", Payload: `{"total_cents":1}`, IP: "10.0.0.1", UserAgent: "ruby", Library: "analytics-ruby/2.4.0", SentAt: "2026-11-01T12:00:00Z"},
			{Type: TypeIdentify, UserID: "u_1", Payload: `{"plan":"pro"}`, IP: "192.0.2.1", UserAgent: "ruby", Library: "analytics-ruby/2.4.0", SentAt: "2026-11-01T10:00:00Z"},
			{Type: TypePage, AnonymousID: "a_1", Name: "Home", Payload: `{}`, IP: "192.0.2.1", UserAgent: "ruby", Library: "own/1", SentAt: "2026-11-01T12:00:00Z"},
			{Type: TypeScreen, AnonymousID: "a_1", Name: "Cart", Payload: `{}`, IP: "192.0.2.1", UserAgent: "ruby", Library: "analytics-ruby/2.4.0", SentAt: "2026-11-01T12:00:00Z"},
			{Type: TypeGroup, UserID: "u_1", GroupID: "g_1", Payload: `{}`, IP: "192.0.2.1", UserAgent: "ruby", Library: "analytics-ruby/2.4.0", SentAt: "2026-11-01T12:00:00Z"},
			{Type: TypeAlias, UserID: "u_1", PreviousID: "a_1", Payload: `{}`, IP: "192.0.2.1", UserAgent: "ruby", Library: "analytics-ruby/2.4.0", SentAt: "2026-11-01T12:00:00Z"},
		},
		keys: []string{"wk_1"},
	},
	{
		name:  "batch write keys in messages are collected once each",
		route: TypeBatch,
		body:  `{"batch":[{"type":"track","event":"A","userId":"u","writeKey":"k1"},{"type":"track","event":"B","userId":"u","writeKey":"k1"},{"type":"track","event":"C","userId":"u","writeKey":"k2"}]}`,
		want: []got{
			{Type: TypeTrack, Event: "A", UserID: "u", Payload: `{}`}, {Type: TypeTrack, Event: "B", UserID: "u", Payload: `{}`}, {Type: TypeTrack, Event: "C", UserID: "u", Payload: `{}`},
		},
		keys: []string{"k1", "k2"},
	},
	{
		name:  "empty batch",
		route: TypeBatch,
		body:  `{"batch":[]}`,
		want:  []got{},
	},
	{
		name:  "track without event",
		route: TypeTrack,
		body:  `{"userId":"u_1","properties":{}}`,
		want:  []got{{Type: TypeTrack, UserID: "u_1", Payload: `{}`, Reason: event.ReasonMalformedEvent, Failure: `a track call needs a non-empty "event" name`}},
	},
	{
		name:  "track with empty event",
		route: TypeTrack,
		body:  `{"event":""}`,
		want:  []got{{Type: TypeTrack, Payload: `{}`, Reason: event.ReasonMalformedEvent, Failure: `a track call needs a non-empty "event" name`}},
	},
	{
		name:  "wrong types are reported together",
		route: TypeTrack,
		body:  `{"event":42,"userId":true,"messageId":{},"properties":[1],"context":"web"}`,
		want: []got{{Type: TypeTrack, Payload: `{}`, Reason: event.ReasonMalformedEvent,
			Failure: `"messageId" must be a string | "userId" must be a string (or a number) | "context" must be a JSON object | "event" must be a string | "properties" must be a JSON object`}},
	},
	{
		name:  "bad timestamps",
		route: TypeTrack,
		body:  `{"userId":"u_1","event":"Order Completed","timestamp":"yesterday","sentAt":1700000000,"originalTimestamp":"2026-11-01T12:00:00"}`,
		want: []got{{Type: TypeTrack, Event: "Order Completed", UserID: "u_1", Payload: `{}`, Reason: event.ReasonTimestampInvalid,
			Failure: `"sentAt"` + timeProblem + ` | "timestamp"` + timeProblem + ` | "originalTimestamp"` + timeProblem}},
	},
	{
		name:  "a month or day of one digit, as Segment's own docs write it",
		route: TypeTrack,
		body:  `{"userId":"u_1","event":"Order Completed","timestamp":"2015-2-02T00:30:12.984Z","sentAt":"2015-02-2T00:30:13+01:00"}`,
		want: []got{{Type: TypeTrack, Event: "Order Completed", UserID: "u_1", Payload: `{}`,
			DeviceCreatedAt: "2015-02-02T00:30:12.984Z", SentAt: "2015-02-01T23:30:13Z"}},
	},
	{
		name:  "a malformed field outranks a bad timestamp",
		route: TypeTrack,
		body:  `{"event":"Order Completed","timestamp":"yesterday","properties":"x"}`,
		want: []got{{Type: TypeTrack, Event: "Order Completed", Payload: `{}`, Reason: event.ReasonMalformedEvent,
			Failure: `"properties" must be a JSON object | "timestamp"` + timeProblem}},
	},
	{
		name:  "batch messages wrong on their own",
		route: TypeBatch,
		body: `{"batch":[{"event":"No Type"},{"type":"Track","event":"A"},{"type":7},"text",null,
			{"type":"track","event":"Fine","anonymousId":"a_1"}]}`,
		want: []got{
			{Event: "No Type", Payload: `{}`, Reason: event.ReasonMalformedEvent, Failure: `the message has no "type"; each batch message names its call: track, identify, page, screen, group or alias`},
			{Event: "A", Payload: `{}`, Reason: event.ReasonMalformedEvent, Failure: `the message's type "Track" is not one of track, identify, page, screen, group, alias`},
			{Payload: `{}`, Reason: event.ReasonMalformedEvent, Failure: `"type" must be a string`},
			{Reason: event.ReasonMalformedEvent, Failure: "the message must be a JSON object"},
			{Reason: event.ReasonMalformedEvent, Failure: "the message must be a JSON object"},
			{Type: TypeTrack, Event: "Fine", AnonymousID: "a_1", Payload: `{}`},
		},
	},
	{
		name:  "message over 32 KiB",
		route: TypeBatch,
		body:  `{"batch":[{"type":"track","event":"Big","properties":{"s":"` + strings.Repeat("x", MaxMessageBytes) + `"}},{"type":"track","event":"Small","userId":"u_1"}]}`,
		want: []got{
			{Type: TypeTrack, Event: "Big", Payload: `{"s":"` + strings.Repeat("x", MaxMessageBytes) + `"}`,
				Reason: event.ReasonPayloadTooLarge, Failure: "the message is 32820 bytes, more than Segment's limit of 32768 bytes per message"},
			{Type: TypeTrack, Event: "Small", UserID: "u_1", Payload: `{}`},
		},
	},
	// Segment's rules of who a message is about.
	{
		name:  "a message without ids",
		route: TypeTrack,
		body:  `{"event":"Order Completed","messageId":"m-2","properties":{"total_cents":1}}`,
		want: []got{{Type: TypeTrack, Event: "Order Completed", MessageID: "m-2", Payload: `{"total_cents":1}`,
			Reason: event.ReasonMalformedEvent, Failure: noIDProblem}},
	},
	{
		name:  "empty and null ids are none",
		route: TypeIdentify,
		body:  `{"userId":"","anonymousId":null,"traits":{"plan":"pro"}}`,
		want:  []got{{Type: TypeIdentify, Payload: `{"plan":"pro"}`, Reason: event.ReasonMalformedEvent, Failure: noIDProblem}},
	},
	{
		name:  "of a repeated id the last counts",
		route: TypeTrack,
		body:  `{"event":"E","userId":"u_1","userId":null,"anonymousId":"a_1","anonymousId":""}`,
		want:  []got{{Type: TypeTrack, Event: "E", Payload: `{}`, Reason: event.ReasonMalformedEvent, Failure: noIDProblem}},
	},
	{
		name:  "only an anonymousId, or only a number",
		route: TypeBatch,
		body:  `{"batch":[{"type":"track","event":"E","anonymousId":"a_1"},{"type":"page","userId":0},{"type":"screen","anonymousId":-1.5e3}]}`,
		want: []got{
			{Type: TypeTrack, Event: "E", AnonymousID: "a_1", Payload: `{}`},
			{Type: TypePage, UserID: "0", Payload: `{}`},
			{Type: TypeScreen, AnonymousID: "-1.5e3", Payload: `{}`},
		},
	},
	{
		// An id of another type is that failure, not one of no id.
		name:  "ids of other types",
		route: TypeBatch,
		body:  `{"batch":[{"type":"track","event":"E","anonymousId":true},{"type":"identify","userId":["u"]},{"type":"group","userId":"u_1","groupId":{}},{"type":"alias","userId":"u_2","previousId":false}]}`,
		want: []got{
			{Type: TypeTrack, Event: "E", Payload: `{}`, Reason: event.ReasonMalformedEvent, Failure: `"anonymousId" must be a string (or a number)`},
			{Type: TypeIdentify, Payload: `{}`, Reason: event.ReasonMalformedEvent, Failure: `"userId" must be a string (or a number)`},
			{Type: TypeGroup, UserID: "u_1", Payload: `{}`, Reason: event.ReasonMalformedEvent, Failure: `"groupId" must be a string (or a number)`},
			{Type: TypeAlias, UserID: "u_2", Payload: `{}`, Reason: event.ReasonMalformedEvent, Failure: `"previousId" must be a string (or a number)`},
		},
	},
	{
		// A batch's context says nothing of who its messages are about.
		name:  "a batch's messages each need their ids",
		route: TypeBatch,
		body:  `{"batch":[{"type":"track","event":"A"},{"type":"track","event":"B","userId":"u_1"}],"context":{"traits":{"userId":"u_1","anonymousId":"a_1"}},"userId":"u_1"}`,
		want: []got{
			{Type: TypeTrack, Event: "A", Payload: `{}`, Reason: event.ReasonMalformedEvent, Failure: noIDProblem},
			{Type: TypeTrack, Event: "B", UserID: "u_1", Payload: `{}`},
		},
	},
	{
		name:  "a group without groupId",
		route: TypeBatch,
		body:  `{"batch":[{"type":"group","userId":"u_1","traits":{"employees":12}},{"type":"group","anonymousId":"a_1","groupId":""},{"type":"group","groupId":42,"userId":"u_1"},{"type":"group"}]}`,
		want: []got{
			{Type: TypeGroup, UserID: "u_1", Payload: `{"employees":12}`, Reason: event.ReasonMalformedEvent, Failure: noGroupProblem},
			{Type: TypeGroup, AnonymousID: "a_1", Payload: `{}`, Reason: event.ReasonMalformedEvent, Failure: noGroupProblem},
			{Type: TypeGroup, UserID: "u_1", GroupID: "42", Payload: `{}`},
			{Type: TypeGroup, Payload: `{}`, Reason: event.ReasonMalformedEvent, Failure: noIDProblem + " | " + noGroupProblem},
		},
	},
	{
		// An anonymousId is no alias's id: an alias ties a previousId to a userId.
		name:  "an alias without previousId or userId",
		route: TypeBatch,
		body:  `{"batch":[{"type":"alias","userId":"u_2"},{"type":"alias","previousId":"a_1","anonymousId":"a_1"},{"type":"alias","previousId":"","userId":"u_2"},{"type":"alias"},{"type":"alias","previousId":12.5e3,"userId":-1}]}`,
		want: []got{
			{Type: TypeAlias, UserID: "u_2", Payload: `{}`, Reason: event.ReasonMalformedEvent, Failure: aliasIDsProblem},
			{Type: TypeAlias, AnonymousID: "a_1", PreviousID: "a_1", Payload: `{}`, Reason: event.ReasonMalformedEvent, Failure: aliasIDsProblem},
			{Type: TypeAlias, UserID: "u_2", Payload: `{}`, Reason: event.ReasonMalformedEvent, Failure: aliasIDsProblem},
			{Type: TypeAlias, Payload: `{}`, Reason: event.ReasonMalformedEvent, Failure: aliasIDsProblem},
			{Type: TypeAlias, UserID: "-1", PreviousID: "12.5e3", Payload: `{}`},
		},
	},
	{
		// Such a message is refused as Segment refuses it, not stored for a
		// replay that would let it in.
		name:  "no ids outrank a bad timestamp and text that is not UTF-8",
		route: TypeBatch,
		body:  "{\"batch\":[{\"type\":\"track\",\"event\":\"E\",\"timestamp\":\"yesterday\"},{\"type\":\"track\",\"event\":\"\xff\"}]}",
		want: []got{
			{Type: TypeTrack, Event: "E", Payload: `{}`, Reason: event.ReasonMalformedEvent, Failure: noIDProblem + ` | "timestamp"` + timeProblem},
			{Type: TypeTrack, Event: "\ufffd", Payload: `{}`, Reason: event.ReasonMalformedEvent, Failure: noIDProblem},
		},
	},
	{
		// A message wrong otherwise keeps its failures: no id is said once
		// they are fixed.
		name:  "other failures come without the ids'",
		route: TypeBatch,
		body:  `{"batch":[{"type":"track","properties":{}},{"type":"page","name":7},{"type":"group","traits":[]}]}`,
		want: []got{
			{Type: TypeTrack, Payload: `{}`, Reason: event.ReasonMalformedEvent, Failure: `a track call needs a non-empty "event" name`},
			{Type: TypePage, Payload: `{}`, Reason: event.ReasonMalformedEvent, Failure: `"name" must be a string`},
			{Type: TypeGroup, Payload: `{}`, Reason: event.ReasonMalformedEvent, Failure: `"traits" must be a JSON object`},
		},
	},
}

func TestDecode(t *testing.T) {
	for _, tc := range decodeCases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := Decode([]byte(tc.body), tc.route, collect.DefaultLimits)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			gots := make([]got, len(req.Messages))
			for i, m := range req.Messages {
				gots[i] = project(m)
			}
			if diff := cmp.Diff(tc.want, gots); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.keys, req.WriteKeys); diff != "" {
				t.Errorf("write keys (-want +got):\n%s", diff)
			}
		})
	}
}

// requestErrorCases are bodies refused as a whole.
var requestErrorCases = []struct {
	name, route, body string
	status            int
	reason            event.Reason
	msg               string
}{
	{"empty", TypeTrack, "  ", http.StatusBadRequest, event.ReasonMalformedEvent, "the body is empty"},
	{"not JSON", TypeTrack, `{"event": "A",`, http.StatusBadRequest, event.ReasonMalformedJSON, "not valid JSON"},
	{"array", TypeTrack, `[{"event":"A"}]`, http.StatusBadRequest, event.ReasonMalformedEvent, "must be a JSON object"},
	{"batch without batch", TypeBatch, `{"type":"track","event":"A"}`, http.StatusBadRequest, event.ReasonMalformedEvent, `has no "batch"`},
	{"batch not an array", TypeBatch, `{"batch":{"type":"track"}}`, http.StatusBadRequest, event.ReasonMalformedEvent, `"batch" must be an array`},
	{"batch null", TypeBatch, `{"batch":null}`, http.StatusBadRequest, event.ReasonMalformedEvent, `has no "batch"`},
	{"batch sentAt", TypeBatch, `{"batch":[],"sentAt":"now"}`, http.StatusBadRequest, event.ReasonTimestampInvalid, `the batch's "sentAt" is not`},
	{"too deep", TypeTrack, `{"event":"A","properties":` + strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 40) + `}`, http.StatusBadRequest, event.ReasonLimitExceeded, "nested more than"},
	{"too many messages", TypeBatch, `{"batch":[` + strings.TrimSuffix(strings.Repeat(`{"type":"track","event":"A"},`, collect.DefaultLimits.MaxEvents+1), ",") + `]}`,
		http.StatusRequestEntityTooLarge, event.ReasonLimitExceeded, "more than the limit of 2500"},
}

func TestDecodeRefusesRequest(t *testing.T) {
	for _, tc := range requestErrorCases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := Decode([]byte(tc.body), tc.route, collect.DefaultLimits)
			var re *collect.RequestError
			if !errors.As(err, &re) {
				t.Fatalf("Decode = %+v, %v; want a *collect.RequestError", req, err)
			}
			if re.Status != tc.status || re.Reason != tc.reason || !strings.Contains(re.Msg, tc.msg) {
				t.Errorf("got %d %s %q, want %d %s containing %q", re.Status, re.Reason, re.Msg, tc.status, tc.reason, tc.msg)
			}
		})
	}
}

// bigValue makes a message over MaxMessageBytes when it is one of its values.
var bigValue = strings.Repeat("x", MaxMessageBytes)

// rejectedCases are messages rejected while they are decoded, or on their
// name: each keeps in its answer and its bad row what can be read of it
// safely (its messageId as the event id, its call type, its event or page
// name, the names of its properties or traits), and never a value.
var rejectedCases = []struct {
	name, route, body string
	reason            event.Reason
	failure           string // in the failure's message
	eventID           string
	data              string // the bad row's data
}{
	{
		name: "no type", route: TypeBatch,
		body:   `{"batch":[{"messageId":"b-4","userId":"secret-user","event":"Order Completed","properties":{"email":"secret@example.com","total":1}}]}`,
		reason: event.ReasonMalformedEvent, failure: `the message has no "type"`, eventID: "b-4",
		data: `{"event":"Order Completed","fields":["email","total"],"values_withheld":true}`,
	},
	{
		name: "type of no call", route: TypeBatch,
		body:   `{"batch":[{"type":"bogus","messageId":"b-3","userId":"secret-user","traits":{"email":"secret@example.com","plan":"pro"}}]}`,
		reason: event.ReasonMalformedEvent, failure: `the message's type "bogus" is not one of track`, eventID: "b-3",
		data: `{"fields":["email","plan"],"values_withheld":true}`,
	},
	{
		name: "type of no call, clipped in the failure", route: TypeBatch,
		body:   `{"batch":[{"type":"` + strings.Repeat("y", 300) + `","messageId":"b-9","properties":{"a":1},"traits":{"b":2}}]}`,
		reason: event.ReasonMalformedEvent, failure: `the message's type "` + strings.Repeat("y", 120) + `..." is not one of`, eventID: "b-9",
		data: `{"fields":["a"],"values_withheld":true}`,
	},
	{
		// Only page and screen calls have a name: that of a message of no
		// call type may be anything, and is not kept.
		name: "type not a string", route: TypeBatch,
		body:   `{"batch":[{"type":["track"],"messageId":"b-5","name":"Secret Name","traits":"secret"}]}`,
		reason: event.ReasonMalformedEvent, failure: `"type" must be a string`, eventID: "b-5",
		data: `{"values_withheld":true}`,
	},
	{
		name: "messageId not a string is no event id", route: TypeBatch,
		body:   `{"batch":[{"messageId":4711,"event":"E"},{"messageId":null,"event":"E"},{"messageId":"","event":"E"}]}`,
		reason: event.ReasonMalformedEvent, failure: `the message has no "type"`,
		data: `{"event":"E","values_withheld":true}`,
	},
	{
		name: "over 32 KiB in a batch", route: TypeBatch,
		body:   `{"batch":[{"type":"identify","messageId":"big-1","userId":"secret-user","traits":{"email":"secret@example.com","note":"` + bigValue + `"}}]}`,
		reason: event.ReasonPayloadTooLarge, failure: "more than Segment's limit of 32768 bytes per message", eventID: "big-1",
		data: `{"type":"identify","fields":["email","note"],"values_withheld":true}`,
	},
	{
		name: "over 32 KiB, identify traits in context.traits", route: TypeIdentify,
		body:   `{"messageId":"big-2","context":{"traits":{"email":"secret@example.com","note":"` + bigValue + `"}}}`,
		reason: event.ReasonPayloadTooLarge, failure: "more than Segment's limit", eventID: "big-2",
		data: `{"type":"identify","fields":["email","note"],"values_withheld":true}`,
	},
	{
		name: "over 32 KiB, a page", route: TypePage,
		body:   `{"messageId":"big-3","name":"Home","category":"secret-category","properties":{"url":"` + bigValue + `"}}`,
		reason: event.ReasonPayloadTooLarge, failure: "more than Segment's limit", eventID: "big-3",
		data: `{"type":"page","name":"Home","fields":["url"],"values_withheld":true}`,
	},
	{
		name: "over 32 KiB, the route's type wins", route: TypeTrack,
		body:   `{"type":"identify","event":"Order Completed","messageId":"big-4","properties":{"email":"secret@example.com","s":"` + bigValue + `"}}`,
		reason: event.ReasonPayloadTooLarge, failure: "more than Segment's limit", eventID: "big-4",
		data: `{"type":"track","event":"Order Completed","fields":["email","s"],"values_withheld":true}`,
	},
	{
		// The size is the first problem a message is rejected for.
		name: "over 32 KiB and of no call type", route: TypeBatch,
		body:   `{"batch":[{"type":"bogus","messageId":"big-5","event":"E","properties":{"s":"` + bigValue + `"}}]}`,
		reason: event.ReasonPayloadTooLarge, failure: "more than Segment's limit", eventID: "big-5",
		data: `{"event":"E","fields":["s"],"values_withheld":true}`,
	},
	{
		name: "over 32 KiB and not an object", route: TypeBatch,
		body:   `{"batch":["` + bigValue + `"]}`,
		reason: event.ReasonPayloadTooLarge, failure: "more than Segment's limit",
		data: `{"values_withheld":true}`,
	},
	{
		name: "not an object", route: TypeBatch,
		body:   `{"batch":[["messageId","b-6","secret@example.com"]]}`,
		reason: event.ReasonMalformedEvent, failure: "the message must be a JSON object",
		data: `{"values_withheld":true}`,
	},
	{
		name: "a member of the wrong type", route: TypeBatch,
		body:   `{"batch":[{"type":"track","event":"E","messageId":"b-7","userId":{"secret":"secret-user"},"properties":{"email":"secret@example.com"}}]}`,
		reason: event.ReasonMalformedEvent, failure: `"userId" must be a string (or a number)`, eventID: "b-7",
		data: `{"type":"track","event":"E","fields":["email"],"values_withheld":true}`,
	},
	{
		name: "a name no contract declares", route: TypeTrack,
		body:   `{"event":"Never Declared","messageId":"b-8","userId":"secret-user","properties":{"email":"secret@example.com"}}`,
		reason: event.ReasonEventNameUnknown, failure: `no contract declares the event name "Never Declared"`, eventID: "b-8",
		data: `{"type":"track","event":"Never Declared","fields":["email"],"values_withheld":true}`,
	},
}

// TestRejectedMessagesKeep decodes and maps each of rejectedCases and checks
// what its answer and bad row get: the reason, the failure, the event id and
// the data; that no value of the message is in them; and that a message over
// MaxMessageBytes is read where it lies in the body, never copied.
func TestRejectedMessagesKeep(t *testing.T) {
	names := NewNames(loadSnapshot(t))
	for _, tc := range rejectedCases {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(tc.body)
			req, err := Decode(body, tc.route, collect.DefaultLimits)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			for i := range req.Messages {
				m := &req.Messages[i]
				in := Map(m, names, "app").Incoming
				if in.Reject == nil || in.Reject.Reason != tc.reason || len(in.Reject.Failures) == 0 ||
					!strings.Contains(in.Reject.Failures[0].Message, tc.failure) {
					t.Fatalf("message %d rejected with %+v, want %s with a failure containing %q", i, in.Reject, tc.reason, tc.failure)
				}
				if in.EventID != tc.eventID {
					t.Errorf("message %d has event id %q, want %q", i, in.EventID, tc.eventID)
				}
				if diff := cmp.Diff(tc.data, string(in.Data)); diff != "" {
					t.Errorf("message %d: bad row data (-want +got):\n%s", i, diff)
				}
				kept := string(in.Data) + in.Reject.Failures[0].Message
				for _, value := range []string{"secret", "pro", "xxxx", "4711"} {
					if strings.Contains(kept, value) {
						t.Errorf("message %d keeps the value %q: %s", i, value, kept)
					}
				}
				if tc.reason == event.ReasonPayloadTooLarge && len(m.Payload) > 2 {
					at := bytes.Index(body, m.Payload)
					if at < 0 || &body[at] != &m.Payload[0] {
						t.Errorf("message %d: the payload of a message over %d bytes was copied, not read in the body", i, MaxMessageBytes)
					}
				}
			}
		})
	}
}

// TestSegmentBatchLimit: a batch of 2,500 messages, Segment's own limit, is
// decoded with the default limits (1,000 refused batches that Segment takes,
// and its libraries drop a batch answered 413).
func TestSegmentBatchLimit(t *testing.T) {
	body := `{"batch":[` + strings.TrimSuffix(strings.Repeat(`{"type":"track","event":"A","userId":"u"},`, 2500), ",") + `]}`
	req, err := Decode([]byte(body), TypeBatch, collect.DefaultLimits)
	if err != nil || len(req.Messages) != 2500 {
		t.Fatalf("%d messages, %v", len(req.Messages), err)
	}
}
