package segment

import (
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
		body:  `{"event":"Order Completed","timestamp":"2026-11-01T12:00:00Z","originalTimestamp":"2026-11-01T13:00:00+02:00","sentAt":"2026-11-01T11:01:00.5+0000"}`,
		want: []got{{Type: TypeTrack, Event: "Order Completed", Payload: `{}`, SentAt: "2026-11-01T11:01:00.5Z",
			DeviceCreatedAt: "2026-11-01T11:00:00Z"}},
	},
	{
		name:  "library without version",
		route: TypeTrack,
		body:  `{"event":"Order Completed","context":{"library":{"name":"analytics-python"}}}`,
		want:  []got{{Type: TypeTrack, Event: "Order Completed", Payload: `{}`, Library: "analytics-python"}},
	},
	{
		name:  "context values of other types are ignored",
		route: TypeTrack,
		body:  `{"event":"Order Completed","context":{"ip":17,"userAgent":["x"],"library":"analytics.js"}}`,
		want:  []got{{Type: TypeTrack, Event: "Order Completed", Payload: `{}`}},
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
		body:  `{"batch":[{"type":"track","event":"A","writeKey":"k1"},{"type":"track","event":"B","writeKey":"k1"},{"type":"track","event":"C","writeKey":"k2"}]}`,
		want: []got{
			{Type: TypeTrack, Event: "A", Payload: `{}`}, {Type: TypeTrack, Event: "B", Payload: `{}`}, {Type: TypeTrack, Event: "C", Payload: `{}`},
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
		body:  `{"event":"Order Completed","timestamp":"yesterday","sentAt":1700000000,"originalTimestamp":"2026-11-01T12:00:00"}`,
		want: []got{{Type: TypeTrack, Event: "Order Completed", Payload: `{}`, Reason: event.ReasonTimestampInvalid,
			Failure: `"sentAt"` + timeProblem + ` | "timestamp"` + timeProblem + ` | "originalTimestamp"` + timeProblem}},
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
			{"type":"track","event":"Fine"}]}`,
		want: []got{
			{Reason: event.ReasonMalformedEvent, Failure: `the message has no "type"; each batch message names its call: track, identify, page, screen, group or alias`},
			{Reason: event.ReasonMalformedEvent, Failure: `the message's type "Track" is not one of track, identify, page, screen, group, alias`},
			{Reason: event.ReasonMalformedEvent, Failure: `"type" must be a string`},
			{Reason: event.ReasonMalformedEvent, Failure: "the message must be a JSON object"},
			{Reason: event.ReasonMalformedEvent, Failure: "the message must be a JSON object"},
			{Type: TypeTrack, Event: "Fine", Payload: `{}`},
		},
	},
	{
		name:  "message over 32 KiB",
		route: TypeBatch,
		body:  `{"batch":[{"type":"track","event":"Big","properties":{"s":"` + strings.Repeat("x", MaxMessageBytes) + `"}},{"type":"track","event":"Small"}]}`,
		want: []got{
			{Reason: event.ReasonPayloadTooLarge, Failure: "the message is 32820 bytes, more than Segment's limit of 32768 bytes per message"},
			{Type: TypeTrack, Event: "Small", Payload: `{}`},
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
		http.StatusRequestEntityTooLarge, event.ReasonLimitExceeded, "more than the limit of 1000"},
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
