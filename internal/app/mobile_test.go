package app_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMobileTrackerPayloads posts what Snowplow's mobile trackers send (version
// 6 for Android and iOS, and screen views of versions 4 and 1, whose
// mobile_context and screen_view are older: payload_data batches to tp2, base64 events and
// entities, platform mob) to accord serve on the bundled contracts, with their
// default entities (mobile_context, client_session, application, screen,
// application_lifecycle, deep_link, screen_summary) and the geolocation
// context apps turn on and the events they track
// on their own (install, screen views, screen ends, foreground and background,
// exceptions). The trackers cannot run here (no Android or iOS runtime); these
// are their payloads, field for field. Every event must be accepted and stored
// once with its entities, the device identifiers hashed, the deep link's query
// (a reset token and the planted email) dropped, the exception's message hashed
// and its stack trace not stored, and the planted email in no file.
func TestMobileTrackerPayloads(t *testing.T) {
	data := t.TempDir()
	base, stop := startApp(t, data, nil)
	stop = sync.OnceFunc(stop)
	defer stop()
	email := planted[0]
	b64 := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	sdj := func(schema string, data any) map[string]any { return map[string]any{"schema": schema, "data": data} }
	const mobile = "iglu:com.snowplowanalytics.mobile/"
	const snowplow = "iglu:com.snowplowanalytics.snowplow/"
	android := sdj(snowplow+"mobile_context/jsonschema/1-0-3", map[string]any{"osType": "android", "osVersion": "14",
		"deviceManufacturer": "samsung", "deviceModel": "SM-S918B", "carrier": "Vodafone UK", "networkType": "mobile",
		"networkTechnology": "NR", "androidIdfa": "38400000-8cf0-11bd-b23e-10b96e40000d", "physicalMemory": 7812345856,
		"systemAvailableMemory": 2147483648, "batteryLevel": 64, "batteryState": "unplugged", "availableStorage": 51234567890,
		"totalStorage": 256000000000, "isPortrait": true, "resolution": "1080x2340", "scale": 2.625, "language": "en",
		"appSetId": "5c8f8950-3c92-4645-b4e6-f2139358c560", "appSetIdScope": "developer"})
	ios := sdj(snowplow+"mobile_context/jsonschema/1-0-3", map[string]any{"osType": "ios", "osVersion": "17.4.1",
		"deviceManufacturer": "Apple Inc.", "deviceModel": "iPhone15,2", "networkType": "wifi",
		"appleIdfv": "A7F3C9E1-2B4D-4C6E-9F1A-7B8C9D0E1F2A", "physicalMemory": 6442450944, "appAvailableMemory": 3221225472,
		"batteryLevel": 100, "batteryState": "full", "lowPowerMode": false, "isPortrait": true, "resolution": "1179x2556",
		"scale": 3, "language": "de"})
	// Trackers before version 5 send mobile_context 1-0-2.
	android4 := sdj(snowplow+"mobile_context/jsonschema/1-0-2", map[string]any{"osType": "android", "osVersion": "11",
		"deviceManufacturer": "Google", "deviceModel": "Pixel 4a", "carrier": "EE", "networkType": "wifi",
		"androidIdfa": "9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d", "physicalMemory": 5812345856, "batteryLevel": 12, "batteryState": "charging"})
	// The first trackers (before version 2) send mobile_context 1-0-1, and
	// screen views under the Snowplow vendor, as the server trackers do.
	android1 := sdj(snowplow+"mobile_context/jsonschema/1-0-1", map[string]any{"osType": "android", "osVersion": "8.1.0",
		"deviceManufacturer": "motorola", "deviceModel": "moto g(6)", "carrier": "O2 - UK", "networkType": "mobile",
		"networkTechnology": "LTE", "androidIdfa": "7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"})
	session := sdj(snowplow+"client_session/jsonschema/1-0-2", map[string]any{"userId": "9b2c4e1a-7f3d-4c8e-a1b2-3c4d5e6f7a8b",
		"sessionId": "69b78cd6-29c6-4e3d-8e2b-0746f296e4ce", "sessionIndex": 3, "eventIndex": 1, "previousSessionId": nil,
		"storageMechanism": "SQLITE", "firstEventId": "7fe59968-58ef-4ec3-aa9e-0ac23a39e199", "firstEventTimestamp": "2026-11-01T12:34:56.789Z"})
	app := sdj(mobile+"application/jsonschema/1-0-0", map[string]any{"version": "5.12.3", "build": "5123"})
	visible := sdj(mobile+"application_lifecycle/jsonschema/1-0-0", map[string]any{"isVisible": true, "index": 1})
	screen := sdj(mobile+"screen/jsonschema/1-0-0", map[string]any{"name": "Home", "id": "0b0c4f4e-1e3a-4d8a-9a55-3f1f8a3c5d21",
		"activity": "MainActivity"})
	deepLink := sdj(mobile+"deep_link/jsonschema/1-0-0", map[string]any{
		"url": "shopapp://account/reset?token=5f2b9c&email=" + url.QueryEscape(email), "referrer": "https://mail.example/inbox"})
	// With the geolocation context turned on: the planted latitude.
	geo := sdj(snowplow+"geolocation_context/jsonschema/1-1-0", map[string]any{"latitude": 51.507351, "longitude": -0.127758,
		"latitudeLongitudeAccuracy": 12.5, "altitude": 35.2, "bearing": 270.5, "speed": 1.4, "timestamp": 1796652190100})
	summary := sdj(mobile+"screen_summary/jsonschema/1-0-0", map[string]any{"foreground_sec": 12.3, "background_sec": 0,
		"min_y_offset": 0, "max_y_offset": 2310, "content_height": 9600})

	// event builds a tracker event: a self-describing event (ue_px) or other
	// parameters, with the entities (cx) and what every mobile event carries.
	n := 0
	event := func(tv, aid string, ue map[string]any, params map[string]string, entities ...map[string]any) map[string]string {
		n++
		e := map[string]string{"e": "ue", "p": "mob", "tv": tv, "tna": "appTracker", "aid": aid,
			"eid": fmt.Sprintf("5e2da0c7-7ec5-4a11-8fa0-%012d", n), "dtm": "1796652190100", "stm": "1796652191000",
			"uid": email, "lang": "en", "res": "1080x2340"}
		if ue != nil {
			e["ue_px"] = b64(sdj(snowplow+"unstruct_event/jsonschema/1-0-0", ue))
		}
		for k, v := range params {
			e[k] = v
		}
		e["cx"] = b64(sdj(snowplow+"contexts/jsonschema/1-0-1", entities))
		return e
	}
	const andr, iosTV = "andr-6.0.0", "ios-6.0.0"
	stackTrace := "java.lang.IllegalArgumentException: Invalid email: " + email + "\n\tat com.acme.shop.SignupViewModel.submit(SignupViewModel.kt:42)"
	type sent struct {
		table    string
		entities []string // vendor/name of the entities the row must hold
	}
	events := []map[string]string{
		event(andr, "shop-android", sdj(mobile+"application_install/jsonschema/1-0-0", map[string]any{}), map[string]string{"ttm": "1796600000000"}, android, session, app, visible),
		event(andr, "shop-android", sdj(mobile+"screen_view/jsonschema/1-0-0", map[string]any{"name": "Home", "type": "feed",
			"id": "0b0c4f4e-1e3a-4d8a-9a55-3f1f8a3c5d21", "transitionType": "deep_link"}), nil, android, session, app, visible, deepLink),
		event(andr, "shop-android", nil, map[string]string{"e": "se", "se_ca": "cart", "se_ac": "add", "se_la": "sku-1", "se_va": "2"}, android, session, app, visible, screen, geo),
		event(andr, "shop-android", sdj(mobile+"screen_end/jsonschema/1-0-0", map[string]any{}), nil, android, session, app, visible, screen, summary),
		event(andr, "shop-android", sdj(snowplow+"application_background/jsonschema/1-0-0", map[string]any{"backgroundIndex": 1}), nil,
			android, session, app, sdj(mobile+"application_lifecycle/jsonschema/1-0-0", map[string]any{"isVisible": false, "index": 1}), screen, summary),
		event(andr, "shop-android", sdj(snowplow+"application_foreground/jsonschema/1-0-0", map[string]any{"foregroundIndex": 2}), nil, android, session, app, visible, screen),
		event(andr, "shop-android", sdj(snowplow+"application_error/jsonschema/1-0-0", map[string]any{"programmingLanguage": "KOTLIN",
			"message": "Invalid email: " + email, "threadName": "main", "threadId": 2, "stackTrace": stackTrace, "lineNumber": 42,
			"className": "com.acme.shop.SignupViewModel", "exceptionName": "java.lang.IllegalArgumentException", "isFatal": true}), nil,
			android, session, app, visible, screen),
	}
	iosEvents := []map[string]string{
		event(iosTV, "shop-ios", sdj(mobile+"screen_view/jsonschema/1-0-0", map[string]any{"name": "Cart",
			"id": "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a", "previousName": "Home", "previousId": "0b0c4f4e-1e3a-4d8a-9a55-3f1f8a3c5d21"}), nil, ios, session, app, visible),
		event(iosTV, "shop-ios", sdj(snowplow+"application_error/jsonschema/1-0-2", map[string]any{"programmingLanguage": "SWIFT",
			"message": "No account for " + email, "stackTrace": "0 ShopApp AccountStore.load + 120", "causeStackTrace": "NSError: " + email,
			"lineNumber": 88, "lineColumn": 17, "fileName": "AccountStore.swift", "isFatal": false}), nil, ios, session, app, visible),
		event("andr-4.1.1", "shop-android", sdj(mobile+"screen_view/jsonschema/1-0-0", map[string]any{"name": "Home",
			"id": "3d4e5f6a-7b8c-4d9e-8f0a-1b2c3d4e5f6a"}), nil, android4, session, app),
		event("andr-1.4.1", "shop-android", sdj(snowplow+"screen_view/jsonschema/1-0-0", map[string]any{"name": "Home",
			"id": "6f7a8b9c-0d1e-4f2a-8b3c-4d5e6f7a8b9c"}), nil, android1),
	}
	want := []sent{
		{"com.snowplowanalytics.mobile/application_install", []string{"snowplow/mobile_context", "snowplow/client_session", "mobile/application", "mobile/application_lifecycle"}},
		{"com.snowplowanalytics.mobile/screen_view", []string{"snowplow/mobile_context", "mobile/deep_link"}},
		{"com.snowplowanalytics.snowplow/structured_event", []string{"mobile/screen", "snowplow/geolocation_context"}},
		{"com.snowplowanalytics.mobile/screen_end", []string{"mobile/screen", "mobile/screen_summary"}},
		{"com.snowplowanalytics.snowplow/application_background", []string{"mobile/screen_summary"}},
		{"com.snowplowanalytics.snowplow/application_foreground", []string{"mobile/application_lifecycle"}},
		{"com.snowplowanalytics.snowplow/application_error", []string{"mobile/screen"}},
		{"com.snowplowanalytics.mobile/screen_view", []string{"snowplow/mobile_context"}},
		{"com.snowplowanalytics.snowplow/application_error", []string{"mobile/application"}},
		{"com.snowplowanalytics.mobile/screen_view", []string{"snowplow/mobile_context"}},
		{"com.snowplowanalytics.snowplow/screen_view", []string{"snowplow/mobile_context"}},
	}
	for _, batch := range [][]map[string]string{events, iosEvents} {
		body, _ := json.Marshal(sdj(snowplow+"payload_data/jsonschema/1-0-4", batch))
		resp, err := http.Post(base+"/com.snowplowanalytics.snowplow/tp2", "application/json; charset=utf-8", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(answer), fmt.Sprintf(`"accepted":%d,"rejected":0`, len(batch))) {
			t.Fatalf("tp2: %d %s", resp.StatusCode, answer)
		}
	}

	byID := map[string]map[string]any{}
	tableOf := map[string]string{}
	for deadline := time.Now().Add(10 * time.Second); len(byID) < len(want) && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for table, rows := range lakeRows(t, filepath.Join(data, "lake")) {
			for _, r := range rows {
				var row map[string]any
				if err := json.Unmarshal([]byte(r), &row); err != nil {
					t.Fatal(err)
				}
				id := fmt.Sprint(row["event_id"])
				byID[id], tableOf[id] = row, table
			}
		}
	}
	stop()
	entity := func(row map[string]any, name string) map[string]any {
		cs, _ := row["contexts"].([]any)
		for _, c := range cs {
			if c, _ := c.(map[string]any); c != nil && strings.HasPrefix(fmt.Sprint(c["schema"]), "iglu:com.snowplowanalytics."+name+"/") {
				d, _ := c["data"].(map[string]any)
				return d
			}
		}
		return nil
	}
	for i, w := range want {
		id := fmt.Sprintf("5e2da0c7-7ec5-4a11-8fa0-%012d", i+1)
		row := byID[id]
		if row == nil || tableOf[id] != w.table {
			t.Errorf("event %d: in %q, want one row in %s", i+1, tableOf[id], w.table)
			continue
		}
		if row["source_protocol"] != "snowplow" || (row["source_app"] != "shop-android" && row["source_app"] != "shop-ios") {
			t.Errorf("event %d: source %v/%v", i+1, row["source_protocol"], row["source_app"])
		}
		for _, name := range w.entities {
			if entity(row, name) == nil {
				t.Errorf("event %d (%s): no %s entity in %v", i+1, w.table, name, row["contexts"])
			}
		}
		if mc := entity(row, "snowplow/mobile_context"); mc != nil {
			for _, id := range []string{"androidIdfa", "appSetId", "appleIdfv"} {
				if v, ok := mc[id]; ok && v != nil && !fieldIs(fmt.Sprint(v), hashed) {
					t.Errorf("event %d: mobile_context %s stored as %v, want a keyed hash", i+1, id, v)
				}
			}
			if mc["deviceModel"] == nil || mc["osType"] == nil {
				t.Errorf("event %d: mobile_context lost its device: %v", i+1, mc)
			}
		}
		if dl := entity(row, "mobile/deep_link"); dl != nil && (dl["url"] != "shopapp://account/reset" || dl["referrer"] != "https://mail.example/inbox") {
			t.Errorf("event %d: deep link stored as %v, want its query dropped", i+1, dl)
		}
		if g := entity(row, "snowplow/geolocation_context"); g != nil && (fmt.Sprint(g["latitude"]) != "51.5" || fmt.Sprint(g["longitude"]) != "-0.1" || fmt.Sprint(g["speed"]) != "1.4") {
			t.Errorf("event %d: position stored as %v, want latitude and longitude cut to one decimal", i+1, g)
		}
		if s := entity(row, "mobile/screen_summary"); s != nil && fmt.Sprint(s["foreground_sec"]) != "12.3" {
			t.Errorf("event %d: screen summary %v", i+1, s)
		}
		if w.table == "com.snowplowanalytics.snowplow/application_error" {
			if !fieldIs(fmt.Sprint(row["message"]), hashed) || row["stack_trace"] != nil || row["cause_stack_trace"] != nil || row["programming_language"] == nil {
				t.Errorf("event %d: exception stored as message %v, stack trace %v/%v, language %v; want the message hashed and no traces",
					i+1, row["message"], row["stack_trace"], row["cause_stack_trace"], row["programming_language"])
			}
		}
	}
	if len(byID) != len(want) {
		t.Errorf("the lake holds %d events, want %d", len(byID), len(want))
	}
	noPlantedFiles(t, data)
}
