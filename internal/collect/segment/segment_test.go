package segment

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/accord-dev/accord/internal/collect"
	"github.com/accord-dev/accord/internal/event"
)

const validTrack = `{"userId":"u_1","event":"Order Completed","properties":{"total_cents":100,"currency":"EUR"}}`

func TestAuth(t *testing.T) {
	keys := collect.Access{WriteKeys: map[string]string{"wk_web": "shop-web", "wk_ios": "shop-ios"}}
	for _, tc := range []struct {
		name    string
		access  collect.Access
		path    string
		body    string
		auth    func(*http.Request)
		status  int
		app     string // the envelope's source app when accepted
		errPart string // part of the error when refused
	}{
		{name: "basic auth username", access: keys, path: "/v1/track", body: validTrack,
			auth: func(r *http.Request) { r.SetBasicAuth("wk_web", "") }, status: 200, app: "shop-web"},
		{name: "X-Accord-Write-Key header", access: keys, path: "/v1/track", body: validTrack,
			auth: func(r *http.Request) { r.Header.Set("X-Accord-Write-Key", "wk_ios") }, status: 200, app: "shop-ios"},
		{name: "writeKey in the body", access: keys, path: "/v1/track", body: strings.Replace(validTrack, `{`, `{"writeKey":"wk_ios",`, 1),
			status: 200, app: "shop-ios"},
		{name: "writeKey in batch messages", access: keys, path: "/v1/batch",
			body:   `{"batch":[{"type":"track","writeKey":"wk_web","userId":"u_1","event":"Order Completed","properties":{"total_cents":1,"currency":"USD"}}]}`,
			status: 200, app: "shop-web"},
		{name: "wrong key", access: keys, path: "/v1/track", body: validTrack,
			auth: func(r *http.Request) { r.SetBasicAuth("wk_nope", "") }, status: 401, errPart: "the write key is not valid"},
		{name: "wrong header key is not rescued by a body key", access: keys, path: "/v1/track",
			body: strings.Replace(validTrack, `{`, `{"writeKey":"wk_web",`, 1),
			auth: func(r *http.Request) { r.SetBasicAuth("wk_nope", "") }, status: 401, errPart: "the write key is not valid"},
		{name: "wrong body key", access: keys, path: "/v1/track", body: strings.Replace(validTrack, `{`, `{"writeKey":"wk_nope",`, 1),
			status: 401, errPart: "the write key is not valid"},
		{name: "no key", access: keys, path: "/v1/track", body: validTrack, status: 401, errPart: "a write key is required"},
		{name: "key as password only", access: keys, path: "/v1/track", body: validTrack,
			auth: func(r *http.Request) { r.SetBasicAuth("", "wk_web") }, status: 401, errPart: "a write key is required"},
		{name: "two keys in one batch", access: keys, path: "/v1/batch",
			body:   `{"batch":[{"type":"track","event":"A","writeKey":"wk_web"},{"type":"track","event":"B","writeKey":"wk_ios"}]}`,
			status: 401, errPart: "different write keys"},
		{name: "no keys configured accepts without a key", path: "/v1/track", body: validTrack, status: 200},
		{name: "no keys configured ignores a key", path: "/v1/track", body: validTrack,
			auth: func(r *http.Request) { r.SetBasicAuth("anything", "") }, status: 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.access)
			req, err := http.NewRequest(http.MethodPost, h.srv.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.auth != nil {
				tc.auth(req)
			}
			status, body := h.do(req)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %v", status, tc.status, body)
			}
			if tc.status != 200 {
				if body["success"] != false || body["reason"] != "unauthorized" || !strings.Contains(body["error"].(string), tc.errPart) {
					t.Errorf("answer %v, want success false, reason unauthorized and an error containing %q", body, tc.errPart)
				}
				if strings.Contains(body["error"].(string), "wk_") {
					t.Errorf("the error names a write key: %q", body["error"])
				}
				h.assertEmpty()
				return
			}
			if body["success"] != true {
				t.Errorf("answer %v, want success true", body)
			}
			_, envs, _ := h.records(1)
			if len(envs) != 1 || envs[0].Source.App != tc.app {
				t.Fatalf("envelopes %+v, want one from app %q", envs, tc.app)
			}
		})
	}
}

func TestStatusCodes(t *testing.T) {
	h := newHarness(t, collect.Access{})
	bigBody := `{"event":"A","properties":{"s":"` + strings.Repeat("x", int(collect.DefaultLimits.MaxBodyBytes)) + `"}}`
	for _, tc := range []struct {
		name, path, body   string
		status             int
		success            bool
		reason             string // whole-request refusals
		code               string // when every message was rejected
		accepted, rejected int
	}{
		{name: "accepted", path: "/v1/track", body: validTrack, status: 200, success: true, accepted: 1},
		{name: "malformed JSON", path: "/v1/track", body: `{"event":`, status: 400, reason: "malformed_json"},
		{name: "body over the limit", path: "/v1/track", body: bigBody, status: 413, reason: "payload_too_large"},
		{name: "every message rejected", path: "/v1/batch", body: `{"batch":[{"type":"track","event":"Nope","userId":"u_1"},{"type":"screen","name":"S","anonymousId":"a_1"}]}`,
			status: 400, rejected: 2, code: "event_name_unknown"},
		{name: "every message rejected, for several reasons", path: "/v1/batch", body: `{"batch":[{"type":"track","event":"Nope","userId":"u_1"},{"type":"track","userId":"u_1"}]}`,
			status: 400, rejected: 2, code: "events_rejected"},
		{name: "some rejected", path: "/v1/batch", body: `{"batch":[{"type":"track","event":"Nope","userId":"u_1"},` + strings.Replace(validTrack, `{`, `{"type":"track",`, 1) + `]}`,
			status: 200, success: true, accepted: 1, rejected: 1},
		{name: "empty batch", path: "/v1/batch", body: `{"batch":[]}`, status: 200, success: true},
		{name: "schema violation", path: "/v1/track", body: `{"userId":"u_1","event":"Order Completed","properties":{"total_cents":-1,"currency":"EUR"}}`,
			status: 400, rejected: 1, code: "schema_violation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := h.post(tc.path, "", tc.body)
			if status != tc.status || body["success"] != tc.success {
				t.Fatalf("status %d %v, want %d success %v", status, body, tc.status, tc.success)
			}
			// Python libraries read code and message from every answer but a 200.
			if code, _ := body["code"].(string); status != 200 && (code == "" || body["message"] == nil) {
				t.Errorf("answer %d %v lacks code and message", status, body)
			}
			if tc.reason != "" {
				if body["reason"] != tc.reason {
					t.Errorf("reason %v, want %s", body["reason"], tc.reason)
				}
				return
			}
			if code, _ := body["code"].(string); code != tc.code {
				t.Errorf("code %q, want %q", code, tc.code)
			}
			if body["accepted"] != float64(tc.accepted) || body["rejected"] != float64(tc.rejected) {
				t.Errorf("answer %v, want %d accepted and %d rejected", body, tc.accepted, tc.rejected)
			}
			if evs, _ := body["events"].([]any); len(evs) != tc.accepted+tc.rejected {
				t.Errorf("%d results, want %d", len(evs), tc.accepted+tc.rejected)
			}
			h.records(tc.accepted + tc.rejected)
		})
	}
}

// TestRouteAliases: every path Segment's own libraries post to (analytics.js
// sends each call to its initial and batches to /v1/b, the Java, Android
// and Ruby libraries batches to /v1/import) answers as the route it stands
// for: a call of its type there, a batch for the batch paths.
func TestRouteAliases(t *testing.T) {
	h := newHarness(t, collect.Access{})
	// A call of each type, and the contract it is validated against.
	calls := map[string]struct{ body, contract string }{
		TypeTrack:    {validTrack, "order_completed"},
		TypeIdentify: {`{"userId":"u_1","traits":{"plan":"pro"}}`, "identify"},
		TypePage:     {`{"anonymousId":"a_1","name":"Home"}`, "page"},
		TypeGroup:    {`{"userId":"u_1","groupId":"g_1"}`, "group"},
		TypeAlias:    {`{"userId":"u_1","previousId":"a_1"}`, "alias"},
	}
	for path, callType := range paths {
		t.Run(path, func(t *testing.T) {
			var body string
			want := 1
			switch callType {
			case TypeBatch:
				body = `{"batch":[` + strings.Replace(validTrack, `{`, `{"type":"track",`, 1) + `,{"type":"alias","userId":"u_1","previousId":"a_1"}]}`
				want = 2
			case TypeScreen:
				// The harness's registry has no screen contract: the call is
				// read as a screen (its name looked up as $screen) and rejected.
				status, answer := h.post("/v1/"+path, "", `{"anonymousId":"a_1","name":"Cart"}`)
				evs, _ := answer["events"].([]any)
				if status != 400 || len(evs) != 1 || !strings.Contains(fmt.Sprint(evs[0]), `$screen`) {
					t.Fatalf("POST /v1/%s = %d %v, want a screen rejected for want of a $screen contract", path, status, answer)
				}
				h.records(1)
				return
			default:
				body = calls[callType].body
			}
			status, answer := h.post("/v1/"+path, "", body)
			if status != 200 || answer["accepted"] != float64(want) {
				t.Fatalf("POST /v1/%s = %d %v, want %d accepted", path, status, answer, want)
			}
			_, envs, _ := h.records(want)
			if c, ok := calls[callType]; ok && !strings.HasPrefix(envs[0].Schema, "iglu:com.acme/"+c.contract+"/") {
				t.Errorf("POST /v1/%s stored %s, want a %s call (%s)", path, envs[0].Schema, callType, c.contract)
			}
		})
	}
}

func TestGzipBody(t *testing.T) {
	h := newHarness(t, collect.Access{})
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	if _, err := zw.Write([]byte(validTrack)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, h.srv.URL+"/v1/track", &zipped)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Encoding", "gzip")
	if status, body := h.do(req); status != 200 || body["accepted"] != 1.0 {
		t.Fatalf("status %d %v, want 200 with one accepted", status, body)
	}
}

func TestCORSPreflight(t *testing.T) {
	h := newHarness(t, collect.Access{CORSOrigins: []string{"https://shop.example"}})
	for _, tc := range []struct {
		origin string
		status int
	}{{"https://shop.example", http.StatusNoContent}, {"https://evil.example", http.StatusForbidden}} {
		req, err := http.NewRequest(http.MethodOptions, h.srv.URL+"/v1/batch", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Origin", tc.origin)
		req.Header.Set("Access-Control-Request-Headers", "anonymousid,authorization,content-type,sentat")
		resp, err := h.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("preflight from %s: %d, want %d", tc.origin, resp.StatusCode, tc.status)
		}
		// RudderStack's JavaScript SDK sends AnonymousId and SentAt with every
		// request: a preflight that does not allow them stops them all.
		if allowed := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers")); tc.status == http.StatusNoContent && (!strings.Contains(allowed, "anonymousid") || !strings.Contains(allowed, "sentat")) {
			t.Errorf("preflight allows %q, not AnonymousId and SentAt", allowed)
		}
	}
}

// TestBeacon: RudderStack's JavaScript SDK with useBeacon posts batches to
// /beacon/v1/batch as text/plain, its write key in the query (a beacon sets no
// header).
func TestBeacon(t *testing.T) {
	h := newHarness(t, collect.Access{WriteKeys: map[string]string{"wk_web": "shop-web"}})
	body := `{"batch":[` + strings.Replace(validTrack, `{`, `{"type":"track",`, 1) + `],"sentAt":"2026-11-01T12:00:00Z"}`
	post := func(query string) (int, map[string]any) {
		t.Helper()
		resp, err := h.srv.Client().Post(h.srv.URL+BeaconPath+query, "text/plain;charset=UTF-8", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var answer map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&answer)
		return resp.StatusCode, answer
	}
	if status, answer := post("?writeKey=wk_web"); status != 200 || answer["accepted"] != float64(1) {
		t.Fatalf("beacon with its key = %d %v, want 1 accepted", status, answer)
	}
	if _, envs, _ := h.records(1); envs[0].Source.App != "shop-web" {
		t.Errorf("source app %q, want the key's shop-web", envs[0].Source.App)
	}
	for _, q := range []string{"", "?writeKey=wk_wrong"} {
		if status, answer := post(q); status != http.StatusUnauthorized {
			t.Errorf("beacon%s = %d %v, want 401", q, status, answer)
		}
	}
	// The query is read on the beacon's route only: elsewhere a key goes in a
	// header or the body.
	resp, err := h.srv.Client().Post(h.srv.URL+"/v1/batch?writeKey=wk_web", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/v1/batch with the key in its query = %d, want 401", resp.StatusCode)
	}
	h.assertEmpty()
}

// TestEndToEnd sends a batch the way analytics-node does and reads the buffer
// back: every message lands as the right envelope or bad row, and no personal
// value reaches the buffer unscrubbed.
func TestEndToEnd(t *testing.T) {
	h := newHarness(t, collect.Access{WriteKeys: map[string]string{"wk_secret_web": "shop-web"}})
	const (
		email   = "jane.doe@example.com"
		userID  = "u_secret_1"
		anonID  = "anon_secret_1"
		ip      = "81.2.69.142"
		ua      = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15"
		locale  = "xx-SECRET-LOCALE"
		traitPh = "+4915112345678"
	)
	body := `{"batch":[
		{"type":"track","messageId":"msg-track","userId":"` + userID + `","anonymousId":"` + anonID + `","event":"Order Completed",
		 "properties":{"total_cents":1299,"currency":"EUR","email":"` + email + `"},
		 "timestamp":"2026-11-01T12:00:00.250Z","context":{"traits":{"phone":"` + traitPh + `"}}},
		{"type":"identify","messageId":"msg-identify","userId":"` + userID + `","anonymousId":"` + anonID + `",
		 "traits":{"email":"` + email + `","plan":"pro"},"originalTimestamp":"2026-11-01T12:00:01Z","timestamp":"2026-11-01T09:00:00Z"},
		{"type":"page","messageId":"msg-page","anonymousId":"` + anonID + `","userId":"` + userID + `","name":"Home",
		 "properties":{"url":"https://shop.example/cart?email=` + email + `","title":"Cart"}},
		{"type":"group","messageId":"msg-group","userId":"` + userID + `","groupId":"g_1","traits":{"employees":12}},
		{"type":"alias","messageId":"msg-alias","userId":"` + userID + `","previousId":"` + anonID + `"},
		{"type":"track","messageId":"msg-unknown","userId":"` + userID + `","event":"Cart Viewed","properties":{"email":"` + email + `"}},
		{"type":"track","messageId":"msg-invalid","userId":"` + userID + `","event":"Order Completed","properties":{"total_cents":"12","currency":"EUR","email":"` + email + `"}},
		{"type":"track","messageId":"msg-retired","anonymousId":"` + anonID + `","event":"Legacy Event","properties":{}},
		{"type":"track","messageId":"msg-noid","event":"Order Completed","properties":{"total_cents":1299,"currency":"EUR","email":"` + email + `"}},
		{"type":"screen","messageId":"msg-screen","anonymousId":"` + anonID + `","name":"Cart"}
	],
	"context":{"library":{"name":"analytics-node","version":"2.1.0"},"ip":"` + ip + `","userAgent":"` + ua + `","locale":"` + locale + `"},
	"sentAt":"2026-11-01T12:00:02Z"}`

	status, answer := h.post("/v1/batch", "wk_secret_web", body)
	if status != 200 || answer["success"] != true {
		t.Fatalf("status %d %v, want 200 success", status, answer)
	}
	results := answer["events"].([]any)
	wantResults := []struct{ id, status, reason, schema string }{
		{"msg-track", "accepted", "", "iglu:com.acme/order_completed/jsonschema/2-0-0"},
		{"msg-identify", "accepted", "", "iglu:com.acme/identify/jsonschema/1-0-0"},
		{"msg-page", "accepted", "", "iglu:com.acme/page/jsonschema/1-0-0"},
		{"msg-group", "accepted", "", "iglu:com.acme/group/jsonschema/1-0-0"},
		{"msg-alias", "accepted", "", "iglu:com.acme/alias/jsonschema/1-0-0"},
		{"msg-unknown", "rejected", "event_name_unknown", ""},
		{"msg-invalid", "rejected", "schema_violation", "iglu:com.acme/order_completed/jsonschema/2-0-0"},
		{"msg-retired", "rejected", "contract_retired", "iglu:com.acme/legacy_event/jsonschema/1-0-0"},
		{"msg-noid", "rejected", "malformed_event", ""},
		{"msg-screen", "rejected", "event_name_unknown", ""},
	}
	if len(results) != len(wantResults) {
		t.Fatalf("%d results, want %d: %v", len(results), len(wantResults), results)
	}
	for i, w := range wantResults {
		r := results[i].(map[string]any)
		reason, _ := r["reason"].(string)
		schema, _ := r["schema"].(string)
		if r["event_id"] != w.id || r["status"] != w.status || reason != w.reason || schema != w.schema {
			t.Errorf("result %d = %v, want %+v", i, r, w)
		}
	}

	raws, envs, bad := h.records(len(wantResults))
	if leaked := containsAny(raws, email, userID, anonID, ip, ua, locale, traitPh, "wk_secret_web"); len(leaked) > 0 {
		t.Errorf("the buffer holds raw personal data or credentials: %q", leaked)
	}

	ts := func(s string) *time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return &tm
	}
	sent := ts("2026-11-01T12:00:02Z")
	type envWant struct {
		schema        string
		device        *time.Time
		dataKeys      []string
		scrubbed      []string // pointer:handling
		plainInStored map[string]any
	}
	wantEnvs := map[string]envWant{
		"msg-track": {schema: "iglu:com.acme/order_completed/jsonschema/2-0-0", device: ts("2026-11-01T12:00:00.250Z"),
			dataKeys: []string{"currency", "email", "total_cents", "user_id"}, scrubbed: []string{"/email:tokenize", "/user_id:tokenize"},
			plainInStored: map[string]any{"total_cents": 1299.0, "currency": "EUR"}},
		"msg-identify": {schema: "iglu:com.acme/identify/jsonschema/1-0-0", device: ts("2026-11-01T12:00:01Z"),
			dataKeys:      []string{"anonymous_id", "email", "ip", "plan", "user_agent", "user_id"},
			scrubbed:      []string{"/anonymous_id:tokenize", "/email:tokenize", "/ip:obfuscate", "/user_agent:obfuscate", "/user_id:tokenize"},
			plainInStored: map[string]any{"plan": "pro"}},
		"msg-page": {schema: "iglu:com.acme/page/jsonschema/1-0-0",
			dataKeys:      []string{"anonymous_id", "name", "title", "url", "user_id"},
			scrubbed:      []string{"/anonymous_id:tokenize", "/url:obfuscate", "/user_id:hash"},
			plainInStored: map[string]any{"name": "Home", "title": "Cart"}},
		"msg-group": {schema: "iglu:com.acme/group/jsonschema/1-0-0",
			dataKeys: []string{"employees", "group_id", "user_id"}, scrubbed: []string{"/user_id:hash"},
			plainInStored: map[string]any{"group_id": "g_1", "employees": 12.0}},
		"msg-alias": {schema: "iglu:com.acme/alias/jsonschema/1-0-0",
			dataKeys: []string{"previous_id", "user_id"}, scrubbed: []string{"/previous_id:hash", "/user_id:hash"}},
	}
	if len(envs) != len(wantEnvs) {
		t.Fatalf("%d envelopes, want %d", len(envs), len(wantEnvs))
	}
	for _, env := range envs {
		w, ok := wantEnvs[env.EventID]
		if !ok {
			t.Errorf("unexpected envelope %s", env.EventID)
			continue
		}
		if env.Schema != w.schema {
			t.Errorf("%s: schema %s, want %s", env.EventID, env.Schema, w.schema)
		}
		wantSource := event.Source{Protocol: "segment", App: "shop-web", Collector: "test-collector", Tracker: "analytics-node/2.1.0"}
		if env.Source != wantSource {
			t.Errorf("%s: source %+v, want %+v", env.EventID, env.Source, wantSource)
		}
		if !equalTime(env.SentAt, sent) || !equalTime(env.DeviceCreatedAt, w.device) || env.TrueTimestamp != nil {
			t.Errorf("%s: sent %v device %v true %v, want sent %v device %v", env.EventID, env.SentAt, env.DeviceCreatedAt, env.TrueTimestamp, sent, w.device)
		}
		if want := event.DerivedTime(env.ReceivedAt, env.SentAt, env.DeviceCreatedAt, nil); !env.EventTime.Equal(want) {
			t.Errorf("%s: event time %v, want %v", env.EventID, env.EventTime, want)
		}
		var data map[string]any
		if err := json.Unmarshal(env.Data, &data); err != nil {
			t.Fatal(err)
		}
		var keys []string
		for k := range data {
			keys = append(keys, k)
		}
		if diff := cmp.Diff(w.dataKeys, sortedStrings(keys)); diff != "" {
			t.Errorf("%s: stored fields (-want +got):\n%s", env.EventID, diff)
		}
		for k, v := range w.plainInStored {
			if data[k] != v {
				t.Errorf("%s: %s = %v, want %v", env.EventID, k, data[k], v)
			}
		}
		var scrubbed []string
		for _, a := range env.Scrubbed {
			scrubbed = append(scrubbed, a.Pointer+":"+a.Handling)
		}
		if diff := cmp.Diff(w.scrubbed, sortedStrings(scrubbed)); diff != "" {
			t.Errorf("%s: scrubbed (-want +got):\n%s", env.EventID, diff)
		}
	}

	badByID := map[string]*event.BadRow{}
	for _, b := range bad {
		badByID[b.EventID] = b
	}
	for _, w := range wantResults[5:] {
		b, ok := badByID[w.id]
		if !ok {
			t.Errorf("no bad row for %s", w.id)
			continue
		}
		if string(b.Reason) != w.reason || b.Source.Protocol != "segment" || b.Source.App != "shop-web" {
			t.Errorf("bad row %s: reason %s source %+v, want %s from segment/shop-web", w.id, b.Reason, b.Source, w.reason)
		}
	}
	if b := badByID["msg-unknown"]; b != nil {
		var payload struct {
			Data map[string]any `json:"data"`
		}
		if err := json.Unmarshal(b.Payload, &payload); err != nil {
			t.Fatal(err)
		}
		if payload.Data["event"] != "Cart Viewed" || payload.Data["values_withheld"] != true {
			t.Errorf("bad row of an unknown name: %s", b.Payload)
		}
		if !strings.Contains(b.Failures[0].Message, `add "Cart Viewed" to the x-event-names`) {
			t.Errorf("failure %q does not say how to fix it", b.Failures[0].Message)
		}
	}
	if b := badByID["msg-noid"]; b != nil {
		// Segment refuses a message about no one: so does the collector,
		// saying what to send, and the row keeps only names.
		if !strings.Contains(string(b.Payload), `"fields":["currency","email","total_cents"]`) || !strings.Contains(string(b.Payload), `"values_withheld":true`) {
			t.Errorf("bad row of a message without ids: %s", b.Payload)
		}
		if len(b.Failures) != 1 || b.Failures[0].Message != noIDProblem {
			t.Errorf("bad row of a message without ids: failures %+v, want %q", b.Failures, noIDProblem)
		}
	}
	if b := badByID["msg-invalid"]; b != nil && !contains(b.Redacted, "/email") {
		t.Errorf("bad row of a schema violation redacted %v, want /email among them", b.Redacted)
	}
}

func equalTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

func sortedStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestConcurrentRequests shares one handler (and its name index) between
// requests, as the server does; run it with -race.
func TestConcurrentRequests(t *testing.T) {
	h := newHarness(t, collect.Access{})
	const n = 16
	errs := make(chan string, n)
	for range n {
		go func() {
			resp, err := h.srv.Client().Post(h.srv.URL+"/v1/track", "application/json", strings.NewReader(validTrack))
			if err != nil {
				errs <- err.Error()
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				errs <- resp.Status
				return
			}
			errs <- ""
		}()
	}
	for range n {
		if e := <-errs; e != "" {
			t.Error(e)
		}
	}
	h.records(n)
}

// TestLimitsEndToEnd sends payloads at and over the depth and string limits,
// in calls and in batches (traits in a batch's context too), and identifiers
// whose encoding injected into the data is longer than the string limit:
// Decode reads the body within the limits and the pipeline scans only what it
// could not check, and every event over them is rejected as limit_exceeded.
func TestLimitsEndToEnd(t *testing.T) {
	lim := collect.DefaultLimits
	lim.MaxDepth, lim.MaxStringBytes = 2, 64
	h := newHarnessLimits(t, collect.Access{}, lim)
	angles := strings.Repeat("<", 60) // 60 bytes as sent, 360 injected as \u003c
	cases := []struct {
		name, path, body string
		reason           string // "" accepted; "refused" the request refused whole, 400 limit_exceeded
		checked          bool   // what Decode says of the payloads
	}{
		{"within", "/v1/identify", `{"userId":"u1","traits":{"plan":"pro"}}`, "", true},
		{"at the depth limit", "/v1/identify", `{"userId":"u1","traits":{"x":[1]}}`, "schema_violation", true},
		{"over the depth limit", "/v1/identify", `{"userId":"u1","traits":{"x":[[1]]}}`, "limit_exceeded", false},
		{"context traits over the depth limit", "/v1/identify", `{"userId":"u1","context":{"traits":{"x":[[1]]}}}`, "limit_exceeded", false},
		{"a string at the limit", "/v1/identify", `{"userId":"u1","traits":{"x":"` + strings.Repeat("x", 64) + `"}}`, "schema_violation", true},
		{"in a batch, within", "/v1/batch", `{"batch":[{"type":"identify","userId":"u1","traits":{"x":1}}]}`, "schema_violation", true},
		// Decode reads a batch within the depth limit and the two levels of a
		// batch's context: its messages' payloads, a level deeper, are
		// checked only when they are under the limit.
		{"in a batch, at the depth limit", "/v1/batch", `{"batch":[{"type":"identify","userId":"u1","traits":{"x":[1]}}]}`, "schema_violation", false},
		// A body nested deeper than a batch's own three levels allow is refused.
		{"in a batch, over the depth limit", "/v1/batch", `{"batch":[{"type":"identify","userId":"u1","traits":{"x":[[1]]}}]}`, "refused", false},
		{"a batch's context traits at the depth limit", "/v1/batch", `{"batch":[{"type":"identify","userId":"u1"}],"context":{"traits":{"x":[1]}}}`, "schema_violation", true},
		{"a batch's context traits over the depth limit", "/v1/batch", `{"batch":[{"type":"identify","userId":"u1"}],"context":{"traits":{"x":[[1]]}}}`, "limit_exceeded", false},
		{"an identifier whose injection is over the string limit", "/v1/identify", `{"userId":"` + angles + `","traits":{"plan":"pro"}}`, "limit_exceeded", true},
	}
	// (A string over the limit anywhere in the body refuses the request whole.)
	over := `{"userId":"u1","traits":{"x":"` + strings.Repeat("x", 63) + `\u0078"}}` // 64 bytes decoded, 69 as sent
	if status, answer := h.post("/v1/identify", "", over); status != http.StatusBadRequest || answer["reason"] != "limit_exceeded" {
		t.Errorf("a string over the limit: status %d, %v; want 400 limit_exceeded", status, answer)
	}
	for _, tc := range cases {
		req, err := Decode([]byte(tc.body), strings.TrimPrefix(tc.path, "/v1/"), lim)
		if tc.reason == "refused" {
			if status, answer := h.post(tc.path, "", tc.body); err == nil || status != http.StatusBadRequest || answer["reason"] != "limit_exceeded" {
				t.Errorf("%s: Decode %v, status %d, %v; want 400 limit_exceeded", tc.name, err, status, answer)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if req.LimitsChecked != tc.checked {
			t.Errorf("%s: LimitsChecked %v, want %v", tc.name, req.LimitsChecked, tc.checked)
		}
		status, answer := h.post(tc.path, "", tc.body)
		events, _ := answer["events"].([]any)
		if len(events) != 1 {
			t.Fatalf("%s: status %d, answer %v; want one result", tc.name, status, answer)
		}
		r := events[0].(map[string]any)
		reason, _ := r["reason"].(string)
		if reason != tc.reason || (tc.reason == "") != (r["status"] == "accepted") {
			t.Errorf("%s: %v; want reason %q", tc.name, r, tc.reason)
		}
	}
}

// TestSettings: analytics.js and RudderStack's JavaScript SDK get settings that
// send to the collector that answered, as the request named it (https behind a
// proxy that says so), with nothing sent to the vendors; an unknown key gets a
// 404 that names no key.
func TestSettings(t *testing.T) {
	h := newHarness(t, collect.Access{WriteKeys: map[string]string{"wk_web": "shop-web"}})
	get := func(path string, header map[string]string) (int, map[string]any, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, h.srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "collect.shop.example"
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := h.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body bytes.Buffer
		_, _ = body.ReadFrom(resp.Body)
		var doc map[string]any
		_ = json.Unmarshal(body.Bytes(), &doc)
		return resp.StatusCode, doc, body.String()
	}
	status, doc, raw := get("/v1/projects/wk_web/settings", map[string]string{"X-Forwarded-Proto": "https"})
	want := `map[integrations:map[Segment.io:map[apiHost:collect.shop.example/v1 apiKey:wk_web protocol:https]] metrics:map[sampleRate:0]]`
	if status != 200 || fmt.Sprint(doc) != want {
		t.Errorf("analytics.js settings: %d %s, want %s", status, raw, want)
	}
	if _, doc, _ := get("/v1/projects/wk_web/settings", nil); !strings.Contains(fmt.Sprint(doc), "protocol:http]") {
		t.Errorf("analytics.js settings without TLS: %v", doc)
	}
	status, doc, raw = get("/sourceConfig/?p=npm&v=3.34.1&build=modern&writeKey=wk_web&lockIntegrationsVersion=false", nil)
	src, _ := doc["source"].(map[string]any)
	if status != 200 || src["writeKey"] != "wk_web" || src["name"] != "shop-web" || src["enabled"] != true ||
		!strings.Contains(raw, `"statsCollection":{"errors":{"enabled":false},"metrics":{"enabled":false}}`) || !strings.Contains(raw, `"destinations":[]`) {
		t.Errorf("RudderStack source config: %d %s", status, raw)
	}
	for _, path := range []string{"/v1/projects/wk_other/settings", "/sourceConfig/?writeKey=wk_other", "/sourceConfig/"} {
		if status, _, raw := get(path, nil); status != http.StatusNotFound || strings.Contains(raw, "wk_") {
			t.Errorf("GET %s = %d %s, want a 404 naming no key", path, status, raw)
		}
	}
	h.assertEmpty()
}
