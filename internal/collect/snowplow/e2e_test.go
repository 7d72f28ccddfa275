package snowplow

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/accord-dev/accord/internal/collect"
	"github.com/accord-dev/accord/internal/event"
	"github.com/accord-dev/accord/internal/vault"
)

// Planted personal data: none of it may be stored in plain text, nor any request
// header or cookie.
var planted = []string{
	"planted.person.7f3a", // the email, in the signup event and in a page URL's query
	"81.2.69.142",         // the signup event's IP, and the X-Forwarded-For header
	"c_plantedsubject",    // the tracker's domain user id and the sp cookie
	"plantedsession",      // the tracker's session id
	"PlantedBrowser/9.9",  // the request's User-Agent header
	"q=planted+search",    // the referrer's query
}

const (
	webPageID   = "0b0c4f4e-1e3a-4d8a-9a55-3f1f8a3c5d21"
	jsWebPageCX = `{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0","data":[{"schema":"iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0","data":{"id":"` + webPageID + `"}}]}`
	jsSignupUE  = `{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":{"schema":"iglu:com.acme/signup/jsonschema/1-0-0","data":{"shop_id":"shop_1042","email":"planted.person.7f3a@example.com","ip":"81.2.69.142","marketing_opt_in":true}}}`
)

// jsAtomic are the parameters the JavaScript tracker adds to every event.
func jsAtomic(e, eid string) map[string]any {
	return map[string]any{"e": e, "eid": eid, "tv": "js-3.24.0", "tna": "sp", "aid": "shop-web", "p": "web", "cookie": "1", "cs": "UTF-8",
		"lang": "en-GB", "res": "1920x1080", "cd": "24", "tz": "Europe/London", "vp": "1280x720", "ds": "1280x3000", "vid": "3",
		"sid": "plantedsession", "duid": "c_plantedsubject", "dtm": "1700000000123", "stm": "1700000000456",
		"url": "https://shop.example/account/orders?email=planted.person.7f3a%40example.com#recent", "page": "Your orders",
		"refr": "https://www.search.example/results?q=planted+search", "cx": b64(jsWebPageCX, base64.RawURLEncoding)}
}

func with(m map[string]any, kv ...string) map[string]any {
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(m, kv[i])
		} else {
			m[kv[i]] = kv[i+1]
		}
	}
	return m
}

// jsBody is a batch as the JavaScript tracker POSTs it: a page view, a page
// ping, a self-describing signup, a structured event, and three events that must
// be rejected on their own: an unsupported type, a page view without its URL and
// one whose device timestamp is not milliseconds.
func jsBody(tb testing.TB) []byte {
	tb.Helper()
	return tp2Body(
		tp2Item(tb, jsAtomic("pv", "11111111-1111-4111-8111-111111111111")),
		tp2Item(tb, with(jsAtomic("pp", "22222222-2222-4222-8222-222222222222"), "pp_mix", "0", "pp_max", "0", "pp_miy", "240", "pp_may", "1980")),
		tp2Item(tb, with(jsAtomic("ue", "33333333-3333-4333-8333-333333333333"), "ue_pr", jsSignupUE, "cx", "", "co", jsWebPageCX, "ttm", "1700000000001")),
		tp2Item(tb, with(jsAtomic("se", "44444444-4444-4444-8444-444444444444"), "se_ca", "video", "se_ac", "play", "se_la", "intro", "se_va", "12.5")),
		tp2Item(tb, with(jsAtomic("tr", "55555555-5555-4555-8555-555555555555"), "tr_id", "order-1", "tr_tt", "99.90")),
		tp2Item(tb, with(jsAtomic("pv", "66666666-6666-4666-8666-666666666666"), "url", "")),
		tp2Item(tb, with(jsAtomic("pv", "99999999-9999-4999-8999-999999999999"), "dtm", "2023-11-14T22:13:20Z")),
	)
}

// send posts body as the JavaScript tracker does, with the headers and cookies a
// browser adds, none of which may be stored.
func send(tb testing.TB, method, target string, body []byte) *http.Response {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(string(body))
	}
	req, err := http.NewRequest(method, target, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	}
	req.Header.Set("Origin", "https://shop.example")
	req.Header.Set("User-Agent", "Mozilla/5.0 PlantedBrowser/9.9")
	req.Header.Set("X-Forwarded-For", "81.2.69.142")
	req.Header.Set("Cookie", "sp=c_plantedsubject; _sp_id.1fff=c_plantedsubject")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { resp.Body.Close() })
	return resp
}

// TestEndToEnd sends a JavaScript tracker's batch and a pixel request through the
// real pipeline and reads the envelopes and bad rows back from the disk buffer.
func TestEndToEnd(t *testing.T) {
	r := newRig(t, rigOptions{access: collect.Access{CORSOrigins: []string{"https://shop.example"}}})

	resp := send(t, http.MethodPost, r.url+TP2Path, jsBody(t))
	var got collect.Response
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || got.Accepted != 4 || got.Rejected != 3 {
		t.Fatalf("status %d, %+v; want 200 with 4 accepted and 3 rejected", resp.StatusCode, got)
	}
	pixelQuery := query(with(jsAtomic("se", "77777777-7777-4777-8777-777777777777"), "se_ca", "newsletter", "se_ac", "subscribe", "stm", ""))
	if resp := send(t, http.MethodGet, r.url+PixelPath+"?"+pixelQuery, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("pixel: status %d", resp.StatusCode)
	}

	envs, bad, raw := r.records(t)
	for _, rec := range raw {
		for _, p := range planted {
			if strings.Contains(rec, p) {
				t.Errorf("a stored record holds %q in plain text: %s", p, rec)
			}
		}
	}

	device := time.UnixMilli(1700000000123).UTC()
	sent := time.UnixMilli(1700000000456).UTC()
	webPage := []event.Entity{{Schema: webPageSchema, Data: json.RawMessage(`{"id":"` + webPageID + `"}`)}}
	type want struct {
		schema, data string
		contexts     []event.Entity
		sent, truets *time.Time
		scrubbed     []string
	}
	wants := map[string]want{
		"11111111-1111-4111-8111-111111111111": {schema: PageViewSchema,
			data:     `{"page_referrer":"https://www.search.example/results","page_title":"Your orders","page_url":"https://shop.example/account/orders"}`,
			contexts: webPage, sent: &sent, scrubbed: []string{"/page_url obfuscate", "/page_referrer obfuscate"}},
		"22222222-2222-4222-8222-222222222222": {schema: PagePingSchema,
			data:     `{"page_referrer":"https://www.search.example/results","page_title":"Your orders","page_url":"https://shop.example/account/orders","pp_xoffset_max":0,"pp_xoffset_min":0,"pp_yoffset_max":1980,"pp_yoffset_min":240}`,
			contexts: webPage, sent: &sent, scrubbed: []string{"/page_url obfuscate", "/page_referrer obfuscate"}},
		"33333333-3333-4333-8333-333333333333": {schema: signupSchema, contexts: webPage, sent: &sent, truets: ptr(time.UnixMilli(1700000000001).UTC()),
			scrubbed: []string{"/email tokenize", "/ip obfuscate"}},
		"44444444-4444-4444-8444-444444444444": {schema: StructuredEventSchema,
			data:     `{"se_action":"play","se_category":"video","se_label":"intro","se_value":12.5}`,
			contexts: webPage, sent: &sent},
		"77777777-7777-4777-8777-777777777777": {schema: StructuredEventSchema,
			data:     `{"se_action":"subscribe","se_category":"newsletter"}`,
			contexts: webPage},
	}
	if len(envs) != len(wants) {
		t.Fatalf("%d envelopes, want %d", len(envs), len(wants))
	}
	for _, env := range envs {
		w, ok := wants[env.EventID]
		if !ok {
			t.Errorf("unexpected envelope %s", env.EventID)
			continue
		}
		t.Run(env.EventID, func(t *testing.T) {
			if env.Schema != w.schema {
				t.Errorf("schema %s, want %s", env.Schema, w.schema)
			}
			if diff := cmp.Diff(event.Source{Protocol: Protocol, App: "shop-web", Platform: "web", Collector: "test-collector", Tracker: "js-3.24.0"}, env.Source); diff != "" {
				t.Errorf("source (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(w.contexts, env.Contexts); diff != "" {
				t.Errorf("contexts (-want +got):\n%s", diff)
			}
			if env.DeviceCreatedAt == nil || !env.DeviceCreatedAt.Equal(device) {
				t.Errorf("device_created_at %v, want %v", env.DeviceCreatedAt, device)
			}
			if !equalTime(env.SentAt, w.sent) || !equalTime(env.TrueTimestamp, w.truets) {
				t.Errorf("sent_at %v, true_timestamp %v; want %v, %v", env.SentAt, env.TrueTimestamp, w.sent, w.truets)
			}
			if wantTime := event.DerivedTime(env.ReceivedAt, w.sent, &device, w.truets); !env.EventTime.Equal(wantTime) {
				t.Errorf("event_time %v, want %v", env.EventTime, wantTime)
			}
			if w.data != "" {
				if got := canonical(t, env.Data); got != w.data {
					t.Errorf("data %s\nwant %s", got, w.data)
				}
			}
			var scrubbed []string
			for _, a := range env.Scrubbed {
				scrubbed = append(scrubbed, a.Pointer+" "+a.Handling)
			}
			if diff := cmp.Diff(w.scrubbed, scrubbed); diff != "" {
				t.Errorf("scrubbed (-want +got):\n%s", diff)
			}
		})
	}
	// The signup's email is a vault token and its IP a masked prefix.
	for _, env := range envs {
		if env.Schema != signupSchema {
			continue
		}
		var d map[string]any
		if err := json.Unmarshal(env.Data, &d); err != nil {
			t.Fatal(err)
		}
		if email, _ := d["email"].(string); !strings.HasPrefix(email, vault.TokenPrefix) {
			t.Errorf("email %q is not a vault token", email)
		}
		if d["shop_id"] != "shop_1042" || d["marketing_opt_in"] != true {
			t.Errorf("data %s lost its plain fields", env.Data)
		}
	}

	wantBad := map[string]event.Reason{
		"55555555-5555-4555-8555-555555555555": event.ReasonEventNameUnknown,
		"66666666-6666-4666-8666-666666666666": event.ReasonSchemaViolation,
		"99999999-9999-4999-8999-999999999999": event.ReasonTimestampInvalid,
	}
	if len(bad) != len(wantBad) {
		t.Fatalf("%d bad rows, want %d", len(bad), len(wantBad))
	}
	for _, b := range bad {
		if b.Reason != wantBad[b.EventID] {
			t.Errorf("bad row %s: reason %s, want %s", b.EventID, b.Reason, wantBad[b.EventID])
		}
		if b.Source.Protocol != Protocol || b.Source.App != "shop-web" {
			t.Errorf("bad row %s: source %+v", b.EventID, b.Source)
		}
		if b.Payload == nil && b.PayloadText == "" {
			t.Errorf("bad row %s keeps nothing to fix and replay", b.EventID)
		}
		// A decoded page view keeps its data, with the URLs redacted by its contract.
		if b.Reason == event.ReasonTimestampInvalid {
			var payload struct {
				Data map[string]string `json:"data"`
			}
			if err := json.Unmarshal(b.Payload, &payload); err != nil {
				t.Fatalf("bad row %s: payload %s: %v", b.EventID, b.Payload, err)
			}
			want := map[string]string{"page_url": "<redacted:url>", "page_referrer": "<redacted:url>", "page_title": "Your orders"}
			if diff := cmp.Diff(want, payload.Data); b.Schema != PageViewSchema || diff != "" {
				t.Errorf("bad row %s: schema %s; data (-want +got):\n%s", b.EventID, b.Schema, diff)
			}
		}
	}
}

func ptr[T any](v T) *T { return &v }

func equalTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

// canonical re-encodes JSON with sorted keys.
func canonical(tb testing.TB, raw json.RawMessage) string {
	tb.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		tb.Fatal(err)
	}
	js, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(js)
}

// TestPixelEndToEnd sends the JavaScript tracker's GET requests (its eventMethod
// "get"), base64 contexts and all, and checks the envelope.
func TestPixelEndToEnd(t *testing.T) {
	r := newRig(t, rigOptions{})
	q := url.Values{}
	for k, v := range with(jsAtomic("ue", "88888888-8888-4888-8888-888888888888"), "ue_px", b64(jsSignupUE, base64.RawURLEncoding)) {
		q.Set(k, v.(string))
	}
	resp := send(t, http.MethodGet, r.url+PixelPath+"?"+q.Encode(), nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/gif" {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// The Snowplow collector's other pixel routes take the same event (the
	// sinks deduplicate it by its id): /ice.png, and a GET of a POST path.
	for _, path := range []string{IcePath, TP2Path} {
		if resp := send(t, http.MethodGet, r.url+path+"?"+q.Encode(), nil); resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/gif" {
			t.Fatalf("GET %s: status %d, content type %q", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
	envs, bad, _ := r.records(t)
	if len(envs) != 3 || len(bad) != 0 {
		t.Fatalf("%d envelopes and %d bad rows, want 3 and 0", len(envs), len(bad))
	}
	env := envs[0]
	if env.Schema != signupSchema || env.EventID != "88888888-8888-4888-8888-888888888888" || len(env.Contexts) != 1 || env.Contexts[0].Schema != webPageSchema {
		t.Errorf("envelope %+v", env)
	}
	if strings.Contains(string(env.Data), "planted") || strings.Contains(string(env.Data), "81.2.69.142") {
		t.Errorf("data %s keeps personal data", env.Data)
	}
}

// TestLimitsEndToEnd sends events whose data and entities are at and over the
// depth and string limits, in both encodings: the decoder checks the limits
// as it reads the self-describing JSON, and those over them are rejected as
// limit_exceeded, as the pipeline rejects them when it checks them itself.
func TestLimitsEndToEnd(t *testing.T) {
	lim := collect.DefaultLimits
	lim.MaxDepth, lim.MaxStringBytes = 3, 64
	r := newRig(t, rigOptions{limits: &lim})
	ue := func(data string) string {
		return `{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":{"schema":"iglu:com.acme/signup/jsonschema/1-0-0","data":` + data + `}}`
	}
	cx := func(data string) string {
		return `{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0","data":[{"schema":"iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0","data":` + data + `}]}`
	}
	const signup = `{"shop_id":"shop_1","email":"a@example.com"`
	at64, over64 := strings.Repeat("x", 64), strings.Repeat("x", 63)+`\u0078` // 64 bytes; 64 decoded, 69 as sent
	cases := []struct {
		name   string
		params map[string]any
		reason event.Reason // "" accepted
	}{
		{"within", map[string]any{"e": "ue", "ue_pr": ue(signup + `}`), "co": cx(`{"id":"` + webPageID + `"}`)}, ""},
		{"data at the depth limit", map[string]any{"e": "ue", "ue_pr": ue(signup + `,"x":[[1]]}`)}, event.ReasonSchemaViolation},
		{"data over the depth limit", map[string]any{"e": "ue", "ue_pr": ue(signup + `,"x":[[[1]]]}`)}, event.ReasonLimitExceeded},
		{"base64 data over the depth limit", map[string]any{"e": "ue", "ue_px": b64(ue(signup+`,"x":[[[1]]]}`), base64.RawURLEncoding)}, event.ReasonLimitExceeded},
		{"a string at the limit", map[string]any{"e": "ue", "ue_pr": ue(signup + `,"x":"` + at64 + `"}`)}, event.ReasonSchemaViolation},
		{"a string over the limit", map[string]any{"e": "ue", "ue_pr": ue(signup + `,"x":"` + over64 + `"}`)}, event.ReasonLimitExceeded},
		{"a key over the limit", map[string]any{"e": "ue", "ue_pr": ue(signup + `,"` + over64 + `":1}`)}, event.ReasonLimitExceeded},
		{"an entity at the depth limit", map[string]any{"e": "ue", "ue_pr": ue(signup + `}`), "co": cx(`{"id":"` + webPageID + `","x":[[1]]}`)}, event.ReasonContextViolation},
		{"an entity over the depth limit", map[string]any{"e": "ue", "ue_pr": ue(signup + `}`), "cx": b64(cx(`{"id":"`+webPageID+`","x":[[[1]]]}`), base64.RawURLEncoding)}, event.ReasonContextViolation},
		// Built-in events: their data is built from parameters, its strings
		// counted as written there (a '<' is six bytes: \u003c).
		{"a page view within", map[string]any{"e": "pv", "url": "https://shop.example/", "co": cx(`{"id":"` + webPageID + `"}`)}, ""},
		{"a page title at the limit", map[string]any{"e": "pv", "url": "https://shop.example/", "page": at64}, ""},
		{"a page title over the limit as written", map[string]any{"e": "pv", "url": "https://shop.example/", "page": strings.Repeat("<", 11)}, event.ReasonLimitExceeded},
		{"a page ping within", map[string]any{"e": "pp", "url": "https://shop.example/", "pp_mix": "0", "pp_max": "10"}, ""},
		{"a structured event's value over the limit", map[string]any{"e": "se", "se_ca": "c", "se_ac": "a", "se_va": at64 + "x"}, event.ReasonLimitExceeded},
		{"a structured event within, its entity over the depth limit", map[string]any{"e": "se", "se_ca": "c", "se_ac": "a", "co": cx(`{"id":"` + webPageID + `","x":[[[1]]]}`)}, event.ReasonContextViolation},
	}
	var items [][]byte
	for _, tc := range cases {
		items = append(items, tp2Item(t, tc.params))
	}
	// The decoder says which events it checked: those within the limits, so
	// that the pipeline does not scan them again.
	evs, err := DecodePayload(tp2Body(items...), lim)
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range cases {
		if want := !strings.Contains(tc.name, "over"); evs[i].LimitsChecked != want {
			t.Errorf("%s: LimitsChecked %v, want %v", tc.name, evs[i].LimitsChecked, want)
		}
	}
	resp := send(t, http.MethodPost, r.url+TP2Path, tp2Body(items...))
	var got collect.Response
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || len(got.Events) != len(cases) {
		t.Fatalf("status %d, %+v; want 200 with %d results", resp.StatusCode, got, len(cases))
	}
	for i, tc := range cases {
		res := got.Events[i]
		if res.Reason != tc.reason || (tc.reason == "") != res.Accepted() {
			t.Errorf("%s: %s %q %+v; want reason %q", tc.name, res.Status, res.Reason, res.Failures, tc.reason)
			continue
		}
		// An entity over the limits is named with what the limit says.
		if tc.name == "an entity over the depth limit" && (len(res.Failures) != 1 || !strings.Contains(res.Failures[0].Message, "nested more than 3 levels")) {
			t.Errorf("%s: failures %+v; want the depth limit's", tc.name, res.Failures)
		}
	}
	r.records(t) // (what the tp2 request stored)

	// The same events as pixels: the same marks, the same outcomes, stored.
	for _, tc := range cases {
		q := query(tc.params)
		if want := !strings.Contains(tc.name, "over"); DecodeQuery(q, lim).LimitsChecked != want {
			t.Errorf("pixel, %s: LimitsChecked %v, want %v", tc.name, !want, want)
		}
		resp := send(t, http.MethodGet, r.url+PixelPath+"?"+q, nil)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("pixel, %s: status %d", tc.name, resp.StatusCode)
		}
		envs, bad, _ := r.records(t)
		switch {
		case tc.reason == "" && (len(envs) != 1 || len(bad) != 0):
			t.Errorf("pixel, %s: %d envelopes, %d bad rows; want it stored", tc.name, len(envs), len(bad))
		case tc.reason != "" && (len(envs) != 0 || len(bad) != 1 || bad[0].Reason != tc.reason):
			t.Errorf("pixel, %s: %d envelopes, bad rows %+v; want a bad row for %s", tc.name, len(envs), bad, tc.reason)
		}
	}
}
