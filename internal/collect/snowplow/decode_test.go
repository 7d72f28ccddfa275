package snowplow

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/accord-dev/accord/internal/collect"
	"github.com/accord-dev/accord/internal/event"
)

const (
	signupSchema  = "iglu:com.acme/signup/jsonschema/1-0-0"
	webPageSchema = "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0"
)

// signupUE is a self-describing signup event in its unstruct_event wrapper, as
// trackers put it in ue_pr.
const signupUE = `{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":{"schema":"iglu:com.acme/signup/jsonschema/1-0-0","data":{"shop_id":"shop_1042","email":"jane.doe@example.com"}}}`

// webPageCO is a contexts wrapper with the JavaScript tracker's web_page entity.
const webPageCO = `{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0","data":[{"schema":"iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0","data":{"id":"0b0c4f4e-1e3a-4d8a-9a55-3f1f8a3c5d21"}}]}`

// b64 encodes s as trackers do: base64url without padding, or with padding, or
// (some older trackers) the standard alphabet.
func b64(s string, enc *base64.Encoding) string { return enc.EncodeToString([]byte(s)) }

// view is what a test compares of an Incoming event.
type view struct {
	Schema, Data                           string
	Contexts                               []string
	EventID, App, Platform, Tracker        string
	SentAt, DeviceCreatedAt, TrueTimestamp string
	Reason                                 event.Reason
}

func viewOf(tb testing.TB, in collect.Incoming) view {
	tb.Helper()
	v := view{Schema: in.Schema, Data: compact(tb, in.Data), EventID: in.EventID, App: in.App, Platform: in.Platform, Tracker: in.Tracker,
		SentAt: stamp(in.SentAt), DeviceCreatedAt: stamp(in.DeviceCreatedAt), TrueTimestamp: stamp(in.TrueTimestamp)}
	for _, c := range in.Contexts {
		v.Contexts = append(v.Contexts, c.Schema+" "+compact(tb, c.Data))
	}
	if in.Reject != nil {
		v.Reason = in.Reject.Reason
	}
	return v
}

func compact(tb testing.TB, raw json.RawMessage) string {
	tb.Helper()
	if raw == nil {
		return ""
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		tb.Fatalf("data %q is not JSON: %v", raw, err)
	}
	return b.String()
}

func stamp(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}

// eventCases are single events as tracker parameters. Each runs both as an
// element of a tp2 body and as the query string of GET /i. A float64 value is
// sent as an unquoted JSON number in tp2 (as some server trackers do) and as its
// text in the query string.
var eventCases = []struct {
	name   string
	params map[string]any
	want   view
	msg    string // a part of the failure message, for rejections
}{
	{
		name: "page view with every mapped parameter",
		params: map[string]any{"e": "pv", "url": "https://shop.example/p?email=jane%40example.com", "page": "Runner – Shop", "refr": "https://www.google.com/",
			"eid": "8d3f0e51-1a7b-4c11-9d5e-3f6a1b2c4d5e", "aid": "shop-web", "p": "web", "tv": "js-3.24.0", "tna": "sp",
			"dtm": "1700000000123", "stm": "1700000000456", "ttm": "1700000000001", "res": "1920x1080", "duid": "c_plantedsubject"},
		want: view{Schema: PageViewSchema, Data: `{"page_url":"https://shop.example/p?email=jane%40example.com","page_title":"Runner – Shop","page_referrer":"https://www.google.com/"}`,
			EventID: "8d3f0e51-1a7b-4c11-9d5e-3f6a1b2c4d5e", App: "shop-web", Platform: "web", Tracker: "js-3.24.0",
			DeviceCreatedAt: "2023-11-14T22:13:20.123Z", SentAt: "2023-11-14T22:13:20.456Z", TrueTimestamp: "2023-11-14T22:13:20.001Z"},
	},
	{
		name:   "page view: empty parameters are absent, as trackers leave them out",
		params: map[string]any{"e": "pv", "url": "https://shop.example/", "page": "", "refr": "", "dtm": "", "eid": ""},
		want:   view{Schema: PageViewSchema, Data: `{"page_url":"https://shop.example/"}`},
	},
	{
		name:   "page view without url is left to the contract, which requires it",
		params: map[string]any{"e": "pv", "page": "Home"},
		want:   view{Schema: PageViewSchema, Data: `{"page_title":"Home"}`},
	},
	{
		name:   "page ping: offsets sent as strings become numbers",
		params: map[string]any{"e": "pp", "url": "https://shop.example/a", "pp_mix": "0", "pp_max": "-5", "pp_miy": "120", "pp_may": "2400"},
		want:   view{Schema: PagePingSchema, Data: `{"page_url":"https://shop.example/a","pp_xoffset_min":0,"pp_xoffset_max":-5,"pp_yoffset_min":120,"pp_yoffset_max":2400}`},
	},
	{
		name:   "page ping: offsets sent as numbers",
		params: map[string]any{"e": "pp", "url": "https://shop.example/a", "pp_mix": 0.0, "pp_max": 10.0, "pp_miy": 20.0, "pp_may": 30.0},
		want:   view{Schema: PagePingSchema, Data: `{"page_url":"https://shop.example/a","pp_xoffset_min":0,"pp_xoffset_max":10,"pp_yoffset_min":20,"pp_yoffset_max":30}`},
	},
	{
		name:   "page ping: a non-numeric offset stays a string for the contract to reject",
		params: map[string]any{"e": "pp", "url": "https://shop.example/a", "pp_mix": "left", "pp_may": "1e999", "pp_miy": " 7 "},
		want:   view{Schema: PagePingSchema, Data: `{"page_url":"https://shop.example/a","pp_xoffset_min":"left","pp_yoffset_min":7,"pp_yoffset_max":"1e999"}`},
	},
	{
		name:   "structured event",
		params: map[string]any{"e": "se", "se_ca": "video", "se_ac": "play", "se_la": "intro", "se_pr": "hd", "se_va": "12.5"},
		want:   view{Schema: StructuredEventSchema, Data: `{"se_category":"video","se_action":"play","se_label":"intro","se_property":"hd","se_value":12.5}`},
	},
	{
		name:   "structured event: a value that is not a number stays a string",
		params: map[string]any{"e": "se", "se_ca": "c", "se_ac": "a", "se_va": "NaN"},
		want:   view{Schema: StructuredEventSchema, Data: `{"se_category":"c","se_action":"a","se_value":"NaN"}`},
	},
	{
		name:   "structured event without parameters is left to the contract",
		params: map[string]any{"e": "se"},
		want:   view{Schema: StructuredEventSchema, Data: `{}`},
	},
	{
		name:   "self-describing event in ue_pr: the inner schema and data",
		params: map[string]any{"e": "ue", "ue_pr": signupUE, "eid": "e1"},
		want:   view{Schema: signupSchema, Data: `{"shop_id":"shop_1042","email":"jane.doe@example.com"}`, EventID: "e1"},
	},
	{
		name:   "self-describing event in ue_px, base64url without padding",
		params: map[string]any{"e": "ue", "ue_px": b64(signupUE+" ", base64.RawURLEncoding)},
		want:   view{Schema: signupSchema, Data: `{"shop_id":"shop_1042","email":"jane.doe@example.com"}`},
	},
	{
		name:   "self-describing event in ue_px, base64url with padding",
		params: map[string]any{"e": "ue", "ue_px": b64(signupUE+" ", base64.URLEncoding)},
		want:   view{Schema: signupSchema, Data: `{"shop_id":"shop_1042","email":"jane.doe@example.com"}`},
	},
	{
		name:   "self-describing event in ue_px, standard base64 alphabet",
		params: map[string]any{"e": "ue", "ue_px": b64(`{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":{"schema":"iglu:com.acme/x/jsonschema/1-0-0","data":{"q":"???>>>"}}}`, base64.StdEncoding)},
		want:   view{Schema: "iglu:com.acme/x/jsonschema/1-0-0", Data: `{"q":"???>>>"}`},
	},
	{
		name:   "ue_px that is not base64",
		params: map[string]any{"e": "ue", "ue_px": "eyJzY2hlbWEi*!", "eid": "e2", "aid": "a"},
		want:   view{EventID: "e2", App: "a", Reason: event.ReasonMalformedEvent},
		msg:    "ue_px is not valid base64url",
	},
	{
		name:   "ue_px that decodes to something other than JSON",
		params: map[string]any{"e": "ue", "ue_px": b64("not json", base64.RawURLEncoding)},
		want:   view{Reason: event.ReasonMalformedJSON},
		msg:    "ue_px decodes to text that is not valid JSON",
	},
	{
		name:   "ue_pr that is not JSON",
		params: map[string]any{"e": "ue", "ue_pr": `{"schema":`},
		want:   view{Reason: event.ReasonMalformedJSON},
		msg:    "ue_pr is not valid JSON",
	},
	{
		name:   "ue_pr without the unstruct_event wrapper",
		params: map[string]any{"e": "ue", "ue_pr": `{"schema":"iglu:com.acme/signup/jsonschema/1-0-0","data":{"shop_id":"shop_1"}}`},
		want:   view{Reason: event.ReasonMalformedEvent},
		msg:    "not an unstruct_event wrapper",
	},
	{
		name:   "ue_pr that is a JSON array",
		params: map[string]any{"e": "ue", "ue_pr": `[1,2]`},
		want:   view{Reason: event.ReasonMalformedEvent},
		msg:    "not an unstruct_event wrapper",
	},
	{
		name:   "unstruct_event whose data is not a self-describing event",
		params: map[string]any{"e": "ue", "ue_pr": `{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":{"shop_id":"shop_1"}}`},
		want:   view{Reason: event.ReasonMalformedEvent},
		msg:    "must be the self-describing event",
	},
	{
		name:   "self-describing event without data",
		params: map[string]any{"e": "ue", "ue_pr": `{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":{"schema":"iglu:com.acme/x/jsonschema/1-0-0","data":null}}`},
		want:   view{Reason: event.ReasonMalformedEvent},
		msg:    `has no "data"`,
	},
	{
		name:   "ue without ue_pr or ue_px",
		params: map[string]any{"e": "ue"},
		want:   view{Reason: event.ReasonMalformedEvent},
		msg:    "needs ue_pr",
	},
	{
		name:   "ue with both ue_pr and ue_px",
		params: map[string]any{"e": "ue", "ue_pr": signupUE, "ue_px": b64(signupUE, base64.RawURLEncoding)},
		want:   view{Reason: event.ReasonMalformedEvent},
		msg:    "both ue_pr and ue_px",
	},
	{
		name:   "contexts in co",
		params: map[string]any{"e": "pv", "url": "https://a.example/", "co": webPageCO},
		want: view{Schema: PageViewSchema, Data: `{"page_url":"https://a.example/"}`,
			Contexts: []string{webPageSchema + ` {"id":"0b0c4f4e-1e3a-4d8a-9a55-3f1f8a3c5d21"}`}},
	},
	{
		name:   "contexts in cx, with a self-describing event in ue_px",
		params: map[string]any{"e": "ue", "ue_px": b64(signupUE, base64.RawURLEncoding), "cx": b64(webPageCO, base64.RawURLEncoding)},
		want: view{Schema: signupSchema, Data: `{"shop_id":"shop_1042","email":"jane.doe@example.com"}`,
			Contexts: []string{webPageSchema + ` {"id":"0b0c4f4e-1e3a-4d8a-9a55-3f1f8a3c5d21"}`}},
	},
	{
		name:   "an empty contexts array",
		params: map[string]any{"e": "se", "se_ca": "c", "se_ac": "a", "co": `{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1","data":[]}`},
		want:   view{Schema: StructuredEventSchema, Data: `{"se_category":"c","se_action":"a"}`},
	},
	{
		name:   "contexts without their wrapper keep the event's data for the bad row",
		params: map[string]any{"e": "pv", "url": "https://a.example/", "co": `[{"schema":"iglu:com.acme/x/jsonschema/1-0-0","data":{}}]`},
		want:   view{Schema: PageViewSchema, Data: `{"page_url":"https://a.example/"}`, Reason: event.ReasonMalformedEvent},
		msg:    "not a contexts wrapper",
	},
	{
		name:   "a context entity without a schema",
		params: map[string]any{"e": "pv", "url": "https://a.example/", "co": `{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0","data":[{"data":{"id":"x"}}]}`},
		want:   view{Schema: PageViewSchema, Data: `{"page_url":"https://a.example/"}`, Reason: event.ReasonMalformedEvent},
		msg:    `entity 0 of the contexts has no "schema"`,
	},
	{
		name:   "contexts whose data is not an array",
		params: map[string]any{"e": "pv", "url": "https://a.example/", "co": `{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0","data":{"schema":"iglu:com.acme/x/jsonschema/1-0-0","data":{}}}`},
		want:   view{Schema: PageViewSchema, Data: `{"page_url":"https://a.example/"}`, Reason: event.ReasonMalformedEvent},
		msg:    "must be an array",
	},
	{
		name:   "cx that is not base64",
		params: map[string]any{"e": "pv", "url": "https://a.example/", "cx": "%%%"},
		want:   view{Schema: PageViewSchema, Data: `{"page_url":"https://a.example/"}`, Reason: event.ReasonMalformedEvent},
		msg:    "cx is not valid base64url",
	},
	{
		name:   "both co and cx",
		params: map[string]any{"e": "pv", "url": "https://a.example/", "co": webPageCO, "cx": b64(webPageCO, base64.RawURLEncoding)},
		want:   view{Schema: PageViewSchema, Data: `{"page_url":"https://a.example/"}`, Reason: event.ReasonMalformedEvent},
		msg:    "both co and cx",
	},
	{
		name:   "missing e",
		params: map[string]any{"url": "https://a.example/", "eid": "e3", "p": "web"},
		want:   view{EventID: "e3", Platform: "web", Reason: event.ReasonMalformedEvent},
		msg:    `no "e" parameter`,
	},
	{
		name:   "unknown e",
		params: map[string]any{"e": "tr", "tr_id": "order-1", "tr_tt": "10.00"},
		want:   view{Reason: event.ReasonEventNameUnknown},
		msg:    `event type e="tr" is not supported`,
	},
	{
		name:   "dtm that is not milliseconds keeps the event's data for the bad row",
		params: map[string]any{"e": "pv", "url": "https://a.example/", "dtm": "2023-11-14T22:13:20Z", "eid": "e4"},
		want:   view{Schema: PageViewSchema, Data: `{"page_url":"https://a.example/"}`, EventID: "e4", Reason: event.ReasonTimestampInvalid},
		msg:    "dtm is not a time in milliseconds",
	},
	{
		name:   "negative stm",
		params: map[string]any{"e": "se", "se_ca": "c", "se_ac": "a", "stm": "-1"},
		want:   view{Schema: StructuredEventSchema, Data: `{"se_category":"c","se_action":"a"}`, Reason: event.ReasonTimestampInvalid},
		msg:    "stm is not a time",
	},
	{
		name:   "ttm beyond year 9999",
		params: map[string]any{"e": "se", "se_ca": "c", "se_ac": "a", "ttm": "253402300800000"},
		want:   view{Schema: StructuredEventSchema, Data: `{"se_category":"c","se_action":"a"}`, Reason: event.ReasonTimestampInvalid},
		msg:    "ttm is not a time",
	},
	{
		name:   "timestamps sent as numbers, one with a fraction",
		params: map[string]any{"e": "se", "se_ca": "c", "se_ac": "a", "dtm": 1700000000123.0, "stm": "1700000000456.9"},
		want: view{Schema: StructuredEventSchema, Data: `{"se_category":"c","se_action":"a"}`,
			DeviceCreatedAt: "2023-11-14T22:13:20.123Z", SentAt: "2023-11-14T22:13:20.456Z"},
	},
}

// tp2Item encodes params as one element of a tp2 body.
func tp2Item(tb testing.TB, params map[string]any) []byte {
	tb.Helper()
	js, err := json.Marshal(params)
	if err != nil {
		tb.Fatal(err)
	}
	return js
}

// tp2Body wraps items in a payload_data.
func tp2Body(items ...[]byte) []byte {
	return []byte(`{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[` + string(bytes.Join(items, []byte(","))) + `]}`)
}

// query encodes params as a GET /i query string.
func query(params map[string]any) string {
	q := url.Values{}
	for k, v := range params {
		switch v := v.(type) {
		case string:
			q.Set(k, v)
		case float64:
			q.Set(k, fmt.Sprint(int64(v)))
			if float64(int64(v)) != v {
				q.Set(k, fmt.Sprint(v))
			}
		}
	}
	return q.Encode()
}

func TestDecodeEvents(t *testing.T) {
	for _, tc := range eventCases {
		decoders := map[string]func(testing.TB) collect.Incoming{
			"tp2": func(tb testing.TB) collect.Incoming {
				evs, err := DecodePayload(tp2Body(tp2Item(tb, tc.params)), collect.DefaultLimits)
				if err != nil {
					tb.Fatalf("the body was refused: %v", err)
				}
				if len(evs) != 1 {
					tb.Fatalf("%d events, want 1", len(evs))
				}
				return evs[0]
			},
			"query": func(testing.TB) collect.Incoming { return DecodeQuery(query(tc.params), collect.DefaultLimits) },
		}
		for _, via := range []string{"tp2", "query"} {
			t.Run(via+"/"+tc.name, func(t *testing.T) {
				in := decoders[via](t)
				if diff := cmp.Diff(tc.want, viewOf(t, in)); diff != "" {
					t.Errorf("decoded event (-want +got):\n%s", diff)
				}
				checkRejection(t, in, tc.msg)
			})
		}
	}
}

// checkRejection checks that a rejected event says msg, keeps what is needed for
// its bad row, and that no tracker parameter naming a person or device is kept in
// plain text in that row.
func checkRejection(tb testing.TB, in collect.Incoming, msg string) {
	tb.Helper()
	if in.Reject == nil {
		if msg != "" {
			tb.Errorf("the event was accepted by the decoder; want a rejection saying %q", msg)
		}
		if in.RawText != "" {
			tb.Errorf("an accepted event carries raw text %q", in.RawText)
		}
		return
	}
	if len(in.Reject.Failures) != 1 || !strings.Contains(in.Reject.Failures[0].Message, msg) || msg == "" {
		tb.Errorf("failures %+v; want one saying %q", in.Reject.Failures, msg)
	}
	if in.Data == nil && in.RawText == "" {
		tb.Error("a rejected event has neither data nor raw text for its bad row")
	}
	for _, planted := range []string{"https://a.example/", "https://shop.example/", "c_plantedsubject"} {
		if strings.Contains(in.RawText, planted) {
			tb.Errorf("raw text %s keeps the tracker parameter %q in plain text", in.RawText, planted)
		}
	}
}

func TestRawTextRedactsPersonalParameters(t *testing.T) {
	in := DecodeQuery(query(map[string]any{"url": "https://shop.example/?email=jane%40example.com", "refr": "https://r.example/",
		"uid": "jane", "duid": "c_plantedsubject", "ip": "81.2.69.142", "ua": "Mozilla/5.0", "se_ca": "kept"}), collect.DefaultLimits)
	var got map[string]string
	if err := json.Unmarshal([]byte(in.RawText), &got); err != nil {
		t.Fatalf("raw text %q is not JSON: %v", in.RawText, err)
	}
	want := map[string]string{"url": "<redacted:url>", "refr": "<redacted:url>", "uid": "<redacted:user_id>", "duid": "<redacted:device_id>",
		"ip": "<redacted:ip>", "ua": "<redacted:user_agent>", "se_ca": "kept"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("raw text (-want +got):\n%s", diff)
	}
}

func TestDecodeQueryNotURLEncoded(t *testing.T) {
	in := DecodeQuery("e=pv&url=https%3A%2F%2Fa.example%2F&page=100%", collect.DefaultLimits)
	if in.Reject == nil || in.Reject.Reason != event.ReasonMalformedEvent {
		t.Fatalf("reject %+v; want malformed_event", in.Reject)
	}
	if strings.Contains(in.RawText, "a.example") {
		t.Errorf("raw text %s keeps the url in plain text", in.RawText)
	}
}

func TestDecodeItems(t *testing.T) {
	for _, tc := range []struct {
		name   string
		item   string
		reason event.Reason
		msg    string
	}{
		{"not an object", `"e=pv"`, event.ReasonMalformedEvent, "not a JSON object of tracker parameters"},
		{"null", `null`, event.ReasonMalformedEvent, "not a JSON object of tracker parameters"},
		{"an object as a parameter", `{"e":"ue","ue_pr":{"schema":"iglu:x/y/jsonschema/1-0-0","data":{}},"url":"https://a.example/"}`, event.ReasonMalformedEvent, `tracker parameters "ue_pr" must be strings`},
		{"arrays as parameters", `{"e":"pv","url":"https://a.example/","co":[],"b":[1]}`, event.ReasonMalformedEvent, `tracker parameters "b", "co" must be strings`},
		{"null parameters are absent", `{"e":"pv","url":"https://a.example/","page":null}`, "", ""},
		{"a boolean parameter is its text", `{"e":"se","se_ca":true,"se_ac":"a"}`, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := DecodePayload(tp2Body([]byte(tc.item)), collect.DefaultLimits)
			if err != nil {
				t.Fatalf("the body was refused: %v", err)
			}
			in := evs[0]
			if tc.reason == "" {
				if in.Reject != nil {
					t.Fatalf("rejected: %+v", in.Reject)
				}
				return
			}
			if in.Reject == nil || in.Reject.Reason != tc.reason {
				t.Fatalf("reject %+v; want %s", in.Reject, tc.reason)
			}
			checkRejection(t, in, tc.msg)
		})
	}
}

func TestDecodeBoolean(t *testing.T) {
	evs, err := DecodePayload(tp2Body([]byte(`{"e":"se","se_ca":true,"se_ac":"a","se_va":false}`)), collect.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(evs[0].Data), `{"se_category":"true","se_action":"a","se_value":"false"}`; got != want {
		t.Errorf("data %s, want %s", got, want)
	}
}

func TestDecodePayloadBody(t *testing.T) {
	lim := collect.DefaultLimits
	lim.MaxEvents = 3
	pv := `{"e":"pv","url":"https://a.example/"}`
	for _, tc := range []struct {
		name   string
		body   string
		status int
		reason event.Reason
		msg    string
		events int
	}{
		{name: "empty", body: " \n", status: 400, reason: event.ReasonMalformedEvent, msg: "the body is empty"},
		{name: "not JSON", body: "e=pv&url=x", status: 400, reason: event.ReasonMalformedJSON, msg: "not valid JSON"},
		{name: "a bare array of events", body: "[" + pv + "]", status: 400, reason: event.ReasonMalformedEvent, msg: "not a Snowplow payload_data"},
		{name: "no schema", body: `{"data":[` + pv + `]}`, status: 400, reason: event.ReasonMalformedEvent, msg: "not a Snowplow payload_data"},
		{name: "no data", body: `{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4"}`, status: 400, reason: event.ReasonMalformedEvent, msg: "not a Snowplow payload_data"},
		{name: "another schema", body: `{"schema":"iglu:com.acme/signup/jsonschema/1-0-0","data":[` + pv + `]}`, status: 400, reason: event.ReasonMalformedEvent, msg: `schema is "iglu:com.acme/signup/jsonschema/1-0-0"`},
		{name: "payload_data MODEL 2", body: `{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/2-0-0","data":[` + pv + `]}`, status: 400, reason: event.ReasonMalformedEvent, msg: "not a Snowplow payload_data (iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-*-*: any version of MODEL 1)"},
		{name: "payload_data 1-1-0", body: `{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-1-0","data":[` + pv + `]}`, events: 1},
		{name: "data is an object", body: `{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":` + pv + `}`, status: 400, reason: event.ReasonMalformedEvent, msg: "not an array of events"},
		{name: "no events", body: `{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[]}`, status: 400, reason: event.ReasonMalformedEvent, msg: "holds no events"},
		{name: "more events than the limit", body: string(tp2Body([]byte(pv), []byte(pv), []byte(pv), []byte(pv))), status: 413, reason: event.ReasonLimitExceeded, msg: "4 events, more than the limit of 3"},
		{name: "payload_data 1-0-0", body: `{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-0","data":[` + pv + `]}`, events: 1},
		{name: "as many events as the limit", body: string(tp2Body([]byte(pv), []byte(pv), []byte(pv))), events: 3},
		{name: "extra keys beside schema and data", body: `{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[` + pv + `],"x":1}`, events: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := DecodePayload([]byte(tc.body), lim)
			if tc.status == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if len(evs) != tc.events {
					t.Errorf("%d events, want %d", len(evs), tc.events)
				}
				return
			}
			var re *collect.RequestError
			if !errors.As(err, &re) {
				t.Fatalf("err %v; want a *collect.RequestError", err)
			}
			if re.Status != tc.status || re.Reason != tc.reason || !strings.Contains(re.Msg, tc.msg) {
				t.Errorf("got %d %s %q; want %d %s and a message with %q", re.Status, re.Reason, re.Msg, tc.status, tc.reason, tc.msg)
			}
			if tc.status == http.StatusBadRequest && strings.Contains(re.Msg, "a.example") {
				t.Errorf("the message %q quotes the body", re.Msg)
			}
		})
	}
}

// TestDecodeBatchIndependently proves that one bad event does not reject its batch.
func TestDecodeBatchIndependently(t *testing.T) {
	body := tp2Body(
		[]byte(`{"e":"pv","url":"https://a.example/","eid":"good-1"}`),
		[]byte(`{"e":"zz","eid":"bad-1"}`),
		[]byte(`{"e":"ue","ue_pr":"{","eid":"bad-2"}`),
		[]byte(`42`),
		[]byte(`{"e":"se","se_ca":"c","se_ac":"a","eid":"good-2"}`),
	)
	evs, err := DecodePayload(body, collect.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, in := range evs {
		r := "ok"
		if in.Reject != nil {
			r = string(in.Reject.Reason)
		}
		got = append(got, in.EventID+":"+r)
	}
	want := []string{"good-1:ok", "bad-1:event_name_unknown", "bad-2:malformed_json", ":malformed_event", "good-2:ok"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestCheckPaths(t *testing.T) {
	for _, tc := range []struct {
		paths []string
		msg   string // "" when valid
	}{
		{paths: nil},
		{paths: []string{"/com.acme/track", "/collector/v1/tp2", "/t"}},
		{paths: []string{"com.acme/track"}, msg: "must start with /"},
		{paths: []string{"/"}, msg: "must start with /"},
		{paths: []string{"/a//b"}, msg: "non-empty segments"},
		{paths: []string{"/a/"}, msg: "non-empty segments"},
		{paths: []string{"/a/{x}"}, msg: "non-empty segments"},
		{paths: []string{"/a b"}, msg: "non-empty segments"},
		{paths: []string{"/a/../b"}, msg: "non-empty segments"},
		{paths: []string{"/" + strings.Repeat("a", 300)}, msg: "longer than 256 bytes"},
		{paths: []string{TP2Path}, msg: "default Snowplow route"},
		{paths: []string{PixelPath}, msg: "default Snowplow route"},
		{paths: []string{IcePath}, msg: "default Snowplow route"},
		{paths: []string{"/health"}, msg: "shadow Accord's own route /health"},
		{paths: []string{"/api/schemas"}, msg: "shadow Accord's own route /api/"},
		{paths: []string{"/com.acme/t", "/com.acme/t"}, msg: "listed twice"},
		{paths: []string{"/v1/events"}, msg: "shadow Accord's own route /v1/"},
		{paths: []string{"/metrics"}, msg: "shadow Accord's own route /metrics"},
	} {
		t.Run(strings.Join(tc.paths, ","), func(t *testing.T) {
			err := CheckPaths(tc.paths)
			switch {
			case tc.msg == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.msg != "" && (err == nil || !strings.Contains(err.Error(), tc.msg)):
				t.Errorf("err %v; want one saying %q", err, tc.msg)
			}
		})
	}
	// Every problem is reported, not the first only.
	err := CheckPaths([]string{"x", "/a//b", "/v1/x"})
	if err == nil || strings.Count(err.Error(), "snowplow path") != 3 {
		t.Errorf("err %v; want three problems", err)
	}
}

// TestDecodeInvalidUTF8 sends parameters whose text is not UTF-8, in a tp2
// body (raw bytes in a JSON string) and in a pixel's query (a percent-encoded
// byte): a parameter the decoder reads rejects the event (invalid_utf8, naming
// it) with its data built for the bad row, whichever encoding; the last of a
// repeated tp2 parameter counts, as for its value; a parameter the decoder
// does not read, or base64 whose JSON is not UTF-8 (the pipeline checks data),
// does not.
func TestDecodeInvalidUTF8(t *testing.T) {
	ue := b64(`{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":{"schema":"iglu:com.acme/x/jsonschema/1-0-0","data":{"a":"`+"\xff"+`"}}}`, base64.RawURLEncoding)
	for _, tc := range []struct {
		name, item, query, param string
	}{
		{name: "page title", item: "{\"e\":\"pv\",\"url\":\"https://a.example/\",\"page\":\"Run\xffner\"}", query: "e=pv&url=https%3A%2F%2Fa.example%2F&page=Run%FFner", param: "page"},
		{name: "structured event, truncated sequence", item: "{\"e\":\"se\",\"se_ca\":\"shop\",\"se_ac\":\"\xe2\x82\"}", query: "e=se&se_ca=shop&se_ac=%E2%82", param: "se_ac"},
		{name: "app id beside an escape", item: "{\"e\":\"pv\",\"url\":\"https://a.example/\",\"aid\":\"\\u00e9\xc3\"}", query: "e=pv&url=https%3A%2F%2Fa.example%2F&aid=%C3%A9%C3", param: "aid"},
		{name: "ue_pr", item: "{\"e\":\"ue\",\"ue_pr\":\"{\\\"schema\\\":\\\"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0\\\",\\\"data\\\":{\\\"schema\\\":\\\"iglu:com.acme/x/jsonschema/1-0-0\\\",\\\"data\\\":{\\\"a\\\":\\\"\xff\\\"}}}\"}", param: "ue_pr"},
		{name: "the last of a repeated parameter is UTF-8", item: "{\"e\":\"pv\",\"url\":\"https://a.example/\",\"page\":\"\xff\",\"page\":\"Runner\"}"},
		{name: "a parameter the decoder does not read", item: "{\"e\":\"pv\",\"url\":\"https://a.example/\",\"xyz\":\"\xff\"}", query: "e=pv&url=https%3A%2F%2Fa.example%2F&xyz=%FF"},
		{name: "ue_px whose JSON is not UTF-8", item: `{"e":"ue","ue_px":"` + ue + `"}`, query: "e=ue&ue_px=" + ue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			decoded := map[string]collect.Incoming{}
			evs, err := DecodePayload(tp2Body([]byte(tc.item)), collect.DefaultLimits)
			if err != nil {
				t.Fatalf("the body was refused: %v", err)
			}
			decoded["tp2"] = evs[0]
			if tc.query != "" {
				decoded["query"] = DecodeQuery(tc.query, collect.DefaultLimits)
			}
			for enc, in := range decoded {
				if tc.param == "" {
					if in.Reject != nil {
						t.Fatalf("%s: rejected: %+v", enc, in.Reject)
					}
					continue
				}
				if in.Reject == nil || in.Reject.Reason != event.ReasonInvalidUTF8 {
					t.Fatalf("%s: reject %+v; want invalid_utf8", enc, in.Reject)
				}
				checkRejection(t, in, "tracker parameter "+tc.param+" is not valid UTF-8")
				if in.Data == nil || in.Schema == "" || !utf8.Valid(in.Data) {
					t.Errorf("%s: the bad row would not keep the event's data: schema %q data %q", enc, in.Schema, in.Data)
				}
			}
		})
	}
	for i, name := range knownNames {
		if knownIndex(name) != i {
			t.Errorf("knownNames[%d] is %q, which knownIndex numbers %d", i, name, knownIndex(name))
		}
	}
}
