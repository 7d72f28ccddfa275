package app_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/accord-dev/accord/internal/event"
)

// TestInvalidUTF8EndToEnd sends events whose text is not UTF-8 through every
// protocol of accord serve: a native event's data, a context's and its app, a Segment
// track call's properties and its userId, a Snowplow pixel's page title and a
// tp2 event whose base64 JSON holds such bytes. Each is rejected with reason
// invalid_utf8 and the member it names (never accepted with U+FFFD in place of
// what was sent); every answer and bad-row file is valid UTF-8 with the
// planted personal data sealed; `accord bad replay --reason invalid_utf8` then
// stores them with U+FFFD, their personal data tokenized like any event's.
func TestInvalidUTF8EndToEnd(t *testing.T) {
	data := t.TempDir()
	base, stop := startApp(t, data, nil)
	defer stop()
	const name = "Plantedname Surname" // planted: the search query is personal data

	// Native: a search query (personal data) with a stray byte; a page view
	// whose context's title is a truncated sequence.
	native := `{"schema":"iglu:com.acme/search/jsonschema/1-0-0","event_id":"e-native","data":{"shop_id":"shop_1","anonymous_id":"anon-1","query":"` + name + " \xff" + `","result_count":3}}` + "\n" +
		`{"schema":"iglu:com.acme/signup/jsonschema/1-0-0","event_id":"e-context","data":{"shop_id":"shop_1","email":"` + planted[0] + `"},` +
		`"contexts":[{"schema":"iglu:com.acme/page_view/jsonschema/1-0-0","data":{"shop_id":"shop_1","anonymous_id":"anon-1","url":"https://shop.example/","title":"Run` + "\xe2\x82" + `","viewed_at":"2026-11-01T12:34:56Z"}}]}` + "\n" +
		`{"schema":"iglu:com.acme/search/jsonschema/1-0-0","event_id":"e-app","sent_at":"2026-12-01T10:00:00Z","app":"web` + "\xff" + `","data":{"shop_id":"shop_1","anonymous_id":"anon-6","query":"` + name + `","result_count":0}}` + "\n"
	code, body := post(t, base+"/v1/events", native)
	if code != http.StatusBadRequest || !utf8.ValidString(body) {
		t.Fatalf("native: %d %q", code, body)
	}
	var answer struct {
		Events []struct {
			EventID  string          `json:"event_id"`
			Reason   event.Reason    `json:"reason"`
			Failures []event.Failure `json:"failures"`
		} `json:"events"`
	}
	if err := json.Unmarshal([]byte(body), &answer); err != nil || len(answer.Events) != 3 {
		t.Fatalf("native answer %s: %v", body, err)
	}
	for i, w := range []struct{ id, entity, pointer, message string }{{"e-native", "", "/query", "is not valid UTF-8 (byte 0xFF)"},
		{"e-context", "iglu:com.acme/page_view/jsonschema/1-0-0", "/title", "is not valid UTF-8 (byte 0xE2)"}, {"e-app", "", "", `"app" is not valid UTF-8`}} {
		ev := answer.Events[i]
		if ev.EventID != w.id || ev.Reason != event.ReasonInvalidUTF8 || len(ev.Failures) != 1 ||
			ev.Failures[0].Pointer != w.pointer || ev.Failures[0].Entity != w.entity || !strings.Contains(ev.Failures[0].Message, w.message) {
			t.Errorf("native event %d: %+v, want invalid_utf8 at %s %s", i, ev, w.entity, w.pointer)
		}
	}

	// Segment: a track call whose properties hold the bytes, and one whose
	// userId does.
	for _, c := range []struct{ msg, message string }{
		{`{"type":"track","event":"Products Searched","messageId":"seg-props","anonymousId":"anon-2","properties":{"shop_id":"shop_1","anonymous_id":"anon-2","query":"` + name + "\xc3" + `","result_count":1}}`, "/query"},
		{`{"type":"track","event":"Products Searched","messageId":"seg-user","userId":"u` + "\xff" + `","anonymousId":"anon-3","properties":{"shop_id":"shop_1","anonymous_id":"anon-3","query":"boots","result_count":1}}`, `\"userId\" is not valid UTF-8`},
	} {
		code, body := post(t, base+"/v1/track", c.msg)
		if !strings.Contains(body, "invalid_utf8") || !strings.Contains(body, c.message) || !utf8.ValidString(body) {
			t.Errorf("segment %s: %d %q, want invalid_utf8 naming %s", c.msg[:60], code, body, c.message)
		}
	}

	// Snowplow: a pixel whose self-describing event (ue_pr) holds
	// percent-encoded bytes that are not UTF-8, and a tp2 event whose base64
	// JSON is not UTF-8.
	pr := `{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":{"schema":"iglu:com.acme/search/jsonschema/1-0-0","data":{"shop_id":"shop_1","anonymous_id":"anon-5","query":"Run` + "\xff" + `ner","result_count":2}}}`
	resp, err := http.Get(base + "/i?e=ue&eid=sp-pixel&aid=web&p=web&dtm=1796652190100&ue_pr=" + url.QueryEscape(pr))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("pixel: %d", resp.StatusCode)
	}
	ue := base64.RawURLEncoding.EncodeToString([]byte(`{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":{"schema":"iglu:com.acme/search/jsonschema/1-0-0","data":{"shop_id":"shop_1","anonymous_id":"anon-4","query":"` + name + "\xed\xa0\x80" + `","result_count":2}}}`))
	code, body = post(t, base+"/com.snowplowanalytics.snowplow/tp2", `{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[{"e":"ue","eid":"sp-tp2","p":"web","tv":"js-3.24.0","ue_px":"`+ue+`"}]}`)
	if code != http.StatusOK || !strings.Contains(body, `"reason":"invalid_utf8"`) || !strings.Contains(body, `"pointer":"/query"`) {
		t.Fatalf("tp2: %d %s", code, body)
	}

	// The bad rows: one each, invalid_utf8, valid UTF-8 files, nothing planted.
	for _, r := range waitBadRows(t, data, 7) {
		if r.Reason != event.ReasonInvalidUTF8 {
			t.Errorf("bad row %s: reason %s", r.EventID, r.Reason)
		}
	}
	files, _ := filepath.Glob(filepath.Join(data, "bad", "date=*", "*.ndjson"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !utf8.Valid(b) {
			t.Errorf("%s is not valid UTF-8", f)
		}
		if strings.Contains(string(b), name) {
			t.Errorf("%s holds the planted search query in plain text", f)
		}
	}
	noPlantedFiles(t, data)

	// Replayed, they are stored with U+FFFD where the bytes were.
	code, out := runCLI(t, "bad", "replay", "--server", base, "--admin-token", replayToken, "--reason", "invalid_utf8")
	if code != 0 || !strings.Contains(out, "replayed 7 bad rows: 7 accepted") {
		t.Fatalf("replay: exit %d\n%s", code, out)
	}
	var lake map[string][]string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		lake = lakeRows(t, filepath.Join(data, "lake"))
		if len(lake["com.acme/search"]) == 6 && len(lake["com.acme/signup"]) == 1 {
			break
		}
	}
	if len(lake["com.acme/search"]) != 6 || len(lake["com.acme/signup"]) != 1 {
		t.Fatalf("lake after the replay: %v", lake)
	}
	if ctx := lake["com.acme/signup"][0]; !strings.Contains(ctx, "Run\uFFFD") {
		t.Errorf("signup row %s: want its context's title with U+FFFD", ctx)
	}
	for _, r := range lake["com.acme/search"] {
		if strings.Contains(r, "Plantedname") || !utf8.ValidString(r) {
			t.Errorf("search row %s: the query is not tokenized", r)
		}
		if strings.Contains(r, `"event_id":"e-app"`) && !strings.Contains(r, `"sent_at":1796119200000000,`) { // 2026-12-01T10:00:00Z in µs
			t.Errorf("the event whose app was not UTF-8 lost its sent_at: %s", r)
		}
		if strings.Contains(r, `"event_id":"sp-pixel"`) && !strings.Contains(r, `"device_created_at":1796652190100000,`) {
			t.Errorf("the pixel's event lost its device time: %s", r)
		}
	}
	noPlantedFiles(t, data)
}
