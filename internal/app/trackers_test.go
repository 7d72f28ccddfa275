package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accord-dev/accord/internal/app"
	"github.com/accord-dev/accord/internal/codegen/codegentest"
)

// trackerModules finds the node_modules folder holding the pinned tracker
// libraries (testdata/trackers/install.sh installs them and prints it).
func trackerModules(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("ACCORD_TRACKERS_NODE_MODULES")
	if dir == "" {
		codegentest.Missing(t, "the tracker libraries are not installed (run: export ACCORD_TRACKERS_NODE_MODULES=\"$(bash internal/app/testdata/trackers/install.sh | tail -n1)\")")
		return ""
	}
	for _, pkg := range []string{"@snowplow/node-tracker", "@snowplow/browser-tracker", "@snowplow/browser-tracker-v3", "@snowplow/browser-plugin-performance-timing", "@snowplow/browser-plugin-link-click-tracking", "@snowplow/browser-plugin-form-tracking", "@snowplow/browser-plugin-ga-cookies", "@segment/analytics-node", "analytics-node", "@segment/analytics-next", "@rudderstack/rudder-sdk-node", "@rudderstack/analytics-js", "playwright-core"} {
		if _, err := os.Stat(filepath.Join(dir, pkg, "package.json")); err != nil {
			t.Fatalf("ACCORD_TRACKERS_NODE_MODULES=%s lacks %s (run testdata/trackers/install.sh): %v", dir, pkg, err)
		}
	}
	return dir
}

// runTracker runs one of the testdata/trackers scripts with node and returns
// its report.
func runTracker(t *testing.T, modules, script string, args ...string) trackerReport {
	t.Helper()
	node := codegentest.Tool(t, "ACCORD_NODE", "node")
	return runReport(t, []string{"NODE_PATH=" + modules}, node, append([]string{filepath.Join("testdata/trackers", script)}, args...)...)
}

// runReport runs a tracker script and returns the report it prints.
func runReport(t *testing.T, env []string, name string, args ...string) trackerReport {
	t.Helper()
	script := filepath.Base(args[0])
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	out := codegentest.Output(t, cmd)
	if p := plantedIn(out); p != "" {
		t.Fatalf("an answer holds planted PII %q", p)
	}
	var rep trackerReport
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("%s printed %s: %v", script, out, err)
	}
	for _, e := range rep.Errors {
		// A library that reports a 400 has had every message of a request
		// rejected: checkTrackers holds the recorded answer to what the
		// contracts say.
		if e.Status != http.StatusBadRequest {
			t.Errorf("%s reported an error: %s", e.Lib, e.Error)
		}
	}
	return rep
}

// trackerReport is what the testdata/trackers scripts print: every request a
// tracker made (the event ids it sent, in order, and the collector's answer)
// and every error a tracker reported.
type trackerReport struct {
	Requests []struct {
		Lib    string   `json:"lib"`
		Method string   `json:"method"`
		Path   string   `json:"path"`
		Beacon bool     `json:"beacon"` // sent with navigator.sendBeacon: no answer seen
		Status int      `json:"status"`
		IDs    []string `json:"ids"`
		Answer *struct {
			Events []struct {
				EventID string `json:"event_id"`
				Schema  string `json:"schema"`
				Status  string `json:"status"`
				Reason  string `json:"reason"`
			} `json:"events"`
		} `json:"answer"`
	} `json:"requests"`
	Errors []struct {
		Lib    string `json:"lib"`
		Status int    `json:"status"` // the HTTP status behind it, if any
		Error  string `json:"error"`
	} `json:"errors"`
}

// outcome is what should become of one event a tracker sent: a row of the lake
// table (vendor/name) or, with a reason, a bad row.
type outcome struct{ table, reason string }

// trackerWant is what each tracker of a report should have led to.
type trackerWant struct {
	events   []outcome // in the order the tracker tracked them
	protocol string    // the envelope's source.protocol
	app      string    // the envelope's source.app
	// fields are values the tracker's rows must hold beside trackerFields, by
	// lake table.
	fields map[string]map[string]string
	// contexts are the entities every accepted event must carry, by vendor/name,
	// with the values their data must hold (as in trackerFields).
	contexts map[string]map[string]string
}

// Values of trackerFields that stand for a scrubbed value.
const (
	tokenized = "tok_..."     // a vault token
	hashed    = "sha256(...)" // 64 hex digits
)

// trackerFields are the values the stored rows must hold, per lake table: the
// trackers' values, typed, with the personal data scrubbed as the contracts say
// (the URLs carried the email in their query).
var trackerFields = map[string]map[string]string{
	"com.acme/signup": {"shop_id": "shop_7", "email": tokenized},
	"com.snowplowanalytics.snowplow/structured_event": {"se_category": "cart", "se_action": "add", "se_label": "sku-1", "se_property": "size", "se_value": "3"},
	"com.snowplowanalytics.snowplow/page_ping":        {"page_url": "https://shop.example/cart", "pp_xoffset_min": "5", "pp_xoffset_max": "10", "pp_yoffset_min": "20", "pp_yoffset_max": "400"},
	"com.acme/identify":                               {"user_id": tokenized, "email": tokenized, "plan": "pro"},
	"com.acme/page":                                   {"name": "Cart", "category": "Shop", "title": "Cart", "anonymous_id": tokenized},
	"com.acme/screen":                                 {"name": "Home", "shop_id": "shop_7", "user_id": tokenized},
	"com.acme/group":                                  {"group_id": "g_42", "employees": "12", "user_id": hashed},
	"com.acme/alias":                                  {"user_id": hashed, "previous_id": hashed},
}

// fieldIs reports whether a stored value is what trackerFields wants.
func fieldIs(got, want string) bool {
	switch want {
	case tokenized:
		return strings.HasPrefix(got, "tok_")
	case hashed:
		if len(got) != 64 {
			return false
		}
		for _, c := range got {
			if !strings.ContainsRune("0123456789abcdef", c) {
				return false
			}
		}
		return true
	}
	return got == want
}

// checkTrackers holds a report to what each tracker should have led to: every
// event answered (where the route answers: pixels get a GIF) under the id the
// tracker gave it, accepted or rejected as the contracts say; each accepted
// event once in its lake table with its values, each rejected one in the bad
// rows with its reason; no planted personal data in the lake or any other file
// of the data folder. It stops the app (stop must be safe to call twice) once
// the lake holds the events.
func checkTrackers(t *testing.T, data string, stop func(), rep trackerReport, want map[string]trackerWant) {
	t.Helper()
	type sent struct {
		lib  string
		id   string
		want outcome
	}
	var events []sent
	seen := map[string]int{}
	for _, r := range rep.Requests {
		// A Segment request whose every message is rejected answers 400 (the
		// libraries do not retry it); every other request, 200.
		wantStatus, rejected := http.StatusOK, 0
		for i := range r.IDs {
			if n := seen[r.Lib] + i; n < len(want[r.Lib].events) && want[r.Lib].events[n].reason != "" {
				rejected++
			}
		}
		if want[r.Lib].protocol == "segment" && len(r.IDs) > 0 && rejected == len(r.IDs) {
			wantStatus = http.StatusBadRequest
		}
		// A beacon's answer is not seen (status 0): its events are checked in
		// the lake and the bad rows below, like a pixel's.
		if !r.Beacon && r.Status != wantStatus {
			t.Errorf("%s %s %s answered %d, want %d", r.Lib, r.Method, r.Path, r.Status, wantStatus)
		}
		if r.Answer != nil {
			if len(r.Answer.Events) != len(r.IDs) {
				t.Errorf("%s %s: %d events sent, %d answered", r.Lib, r.Path, len(r.IDs), len(r.Answer.Events))
			}
		} else if r.Path != "/i" && !r.Beacon {
			t.Errorf("%s %s %s: no JSON answer", r.Lib, r.Method, r.Path)
		}
		for i, id := range r.IDs {
			n := seen[r.Lib]
			seen[r.Lib]++
			if n >= len(want[r.Lib].events) {
				t.Errorf("%s sent more events than it tracked: %s", r.Lib, id)
				continue
			}
			w := want[r.Lib].events[n]
			events = append(events, sent{r.Lib, id, w})
			if r.Answer == nil || i >= len(r.Answer.Events) {
				continue
			}
			got := r.Answer.Events[i]
			status := "accepted"
			if w.reason != "" {
				status = "rejected"
			}
			if got.EventID != id || got.Status != status || got.Reason != w.reason || (w.table != "" && !strings.HasPrefix(got.Schema, "iglu:"+w.table+"/")) {
				t.Errorf("%s event %d: answered %+v, want id %s %s %s of %s", r.Lib, n, got, id, status, w.reason, w.table)
			}
		}
	}
	for lib, w := range want {
		if seen[lib] != len(w.events) {
			t.Errorf("%s sent %d events, want %d", lib, seen[lib], len(w.events))
		}
	}

	accepted := 0
	for _, e := range events {
		if e.want.reason == "" {
			accepted++
		}
	}
	var byID map[string][]map[string]any
	var tableOf map[string]string
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		byID, tableOf = map[string][]map[string]any{}, map[string]string{}
		for table, rows := range lakeRows(t, filepath.Join(data, "lake")) {
			for _, r := range rows {
				if p := plantedIn([]byte(r)); p != "" {
					t.Fatalf("lake table %s holds planted PII %q: %s", table, p, r)
				}
				var row map[string]any
				if err := json.Unmarshal([]byte(r), &row); err != nil {
					t.Fatal(err)
				}
				id, _ := row["event_id"].(string)
				byID[id] = append(byID[id], row)
				tableOf[id] = table
			}
		}
		if len(byID) >= accepted || time.Now().After(deadline) {
			break
		}
	}
	stop()
	for _, e := range events {
		rows := byID[e.id]
		if e.want.reason != "" {
			if len(rows) != 0 {
				t.Errorf("%s: rejected event %s is in the lake", e.lib, e.id)
			}
			continue
		}
		if len(rows) != 1 || tableOf[e.id] != e.want.table {
			t.Errorf("%s: event %s: %d lake rows in %q, want 1 in %s", e.lib, e.id, len(rows), tableOf[e.id], e.want.table)
			continue
		}
		row := rows[0]
		w := want[e.lib]
		if row["source_protocol"] != w.protocol || row["source_app"] != w.app {
			t.Errorf("%s: event %s: source %v/%v, want %s/%s", e.lib, e.id, row["source_protocol"], row["source_app"], w.protocol, w.app)
		}
		if row["device_created_at"] == nil {
			t.Errorf("%s: event %s: no device time: %v", e.lib, e.id, row)
		}
		for _, fields := range []map[string]string{trackerFields[e.want.table], w.fields[e.want.table]} {
			for field, want := range fields {
				if got := fmt.Sprint(row[field]); !fieldIs(got, want) {
					t.Errorf("%s: event %s: %s is %s, want %s", e.lib, e.id, field, got, want)
				}
			}
		}
		contexts, _ := row["contexts"].([]any)
		for name, fields := range w.contexts {
			var data map[string]any
			for _, c := range contexts {
				if c, _ := c.(map[string]any); c != nil && strings.HasPrefix(fmt.Sprint(c["schema"]), "iglu:"+name+"/") {
					data, _ = c["data"].(map[string]any)
				}
			}
			if data == nil {
				t.Errorf("%s: event %s: no %s entity among %v", e.lib, e.id, name, row["contexts"])
				continue
			}
			for field, want := range fields {
				if got := fmt.Sprint(data[field]); !fieldIs(got, want) {
					t.Errorf("%s: event %s: %s of %s is %s, want %s", e.lib, e.id, field, name, got, want)
				}
			}
		}
	}
	if len(byID) != accepted {
		t.Errorf("the lake holds %d events, want %d", len(byID), accepted)
	}

	bad := map[string]string{}
	files, _ := filepath.Glob(filepath.Join(data, "bad", "date=*", "*.ndjson"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
			var row struct {
				EventID string `json:"event_id"`
				Reason  string `json:"reason"`
			}
			if err := json.Unmarshal(line, &row); err != nil {
				t.Fatalf("%s: %v: %s", f, err, line)
			}
			bad[row.EventID] = row.Reason
		}
	}
	for _, e := range events {
		if e.want.reason != "" && bad[e.id] != e.want.reason {
			t.Errorf("%s: event %s: bad row reason %q, want %s", e.lib, e.id, bad[e.id], e.want.reason)
		}
	}
	noPlantedFiles(t, data)
}

// TestRubyTracker points Snowplow's Ruby tracker, as Debian packages it
// (ruby-snowplow-tracker 0.6.1, an older server tracker still in use: its
// self-describing events base64 in the standard alphabet, with padding), at
// accord serve, by POST and by GET.
func TestRubyTracker(t *testing.T) {
	ruby := codegentest.Tool(t, "ACCORD_RUBY", "ruby")
	if err := exec.Command(ruby, "-e", "require 'snowplow-tracker'").Run(); err != nil {
		codegentest.Missing(t, "Snowplow's Ruby tracker is not installed (apt-get install ruby-snowplow-tracker)")
	}
	data := t.TempDir()
	base, stop := startApp(t, data, nil)
	stop = sync.OnceFunc(stop)
	defer stop()
	rep := runReport(t, nil, ruby, "testdata/trackers/send.rb", base, planted[0])
	events := []outcome{
		{"com.acme/signup", ""},
		{"com.snowplowanalytics.snowplow/page_view", ""},
		{"com.snowplowanalytics.snowplow/structured_event", ""},
		{"com.acme/signup", "schema_violation"},
	}
	fields := map[string]map[string]string{
		"com.snowplowanalytics.snowplow/page_view": {"page_url": "https://shop.example/cart", "page_title": "Cart"},
	}
	checkTrackers(t, data, stop, rep, map[string]trackerWant{
		"snowplow-ruby-post": {events, "snowplow", "shop-ruby", fields, nil},
		"snowplow-ruby-get":  {events, "snowplow", "shop-ruby", fields, nil},
	})
}

// trackerRegistry is a registry of the bundled contracts and the contracts for
// Segment's identify, page, screen, group and alias calls.
func trackerRegistry(t *testing.T) string {
	t.Helper()
	reg := t.TempDir()
	for _, dir := range []string{registryDir, "testdata/trackers/contracts"} {
		if err := os.CopyFS(reg, os.DirFS(dir)); err != nil {
			t.Fatal(err)
		}
	}
	return reg
}

// The server libraries' Segment calls (segmentCalls in send.cjs, the same in
// gosend): one of each type, then a track of a name no contract declares.
var serverSegmentEvents = []outcome{
	{"com.acme/signup", ""},
	{"com.acme/identify", ""},
	{"com.acme/page", ""},
	{"com.acme/screen", ""},
	{"com.acme/group", ""},
	{"com.acme/alias", ""},
	{"", "event_name_unknown"},
}

// serverFields are the values the server libraries' rows hold beside
// trackerFields.
var serverFields = map[string]map[string]string{
	// The signups carry the planted IP: generalised as the contract says.
	"com.acme/signup":                          {"ip": "map[city:<nil> country:GB masked:81.2.0.0 region:<nil>]"},
	"com.snowplowanalytics.snowplow/page_view": {"page_url": "https://shop.example/cart", "page_title": "Cart"},
	"com.acme/page":                            {"url": "https://shop.example/cart"},
	// trackScreenView, under the bundled Snowplow-vendor contract.
	"com.snowplowanalytics.snowplow/screen_view": {"name": "home", "id": "5e2da0c7-7ec5-4a11-8fa0-6a22bb19bd77"},
}

// TestRealTrackers points the tracker libraries producers use on servers,
// unmodified and as published on npm, at accord serve: Snowplow's Node tracker
// (whose core is the browser tracker's) posting base64-encoded batches with a
// write key and sending pixels (GET /i) with plain JSON, Segment's
// analytics-node and RudderStack's Node SDK (gzipped batches) making one call of
// each type.
func TestRealTrackers(t *testing.T) {
	modules := trackerModules(t)

	const writeKey = "wk-trackers-0001"
	data := t.TempDir()
	reg := trackerRegistry(t)
	base, stop := startApp(t, data, func(c *app.Config) {
		c.Registry = reg
		c.Access.WriteKeys = map[string]string{writeKey: "shop-node"}
	})
	stop = sync.OnceFunc(stop)
	defer stop()
	rep := runTracker(t, modules, "send.cjs", base, writeKey, planted[0], planted[1])

	snowplow := []outcome{
		{"com.acme/signup", ""},
		{"com.snowplowanalytics.snowplow/page_view", ""},
		{"com.snowplowanalytics.snowplow/structured_event", ""},
		{"com.snowplowanalytics.snowplow/page_ping", ""},
		{"com.acme/signup", "schema_violation"},
		{"com.snowplowanalytics.snowplow/screen_view", ""},
		{"com.acme/wishlist_added", "schema_not_found"},
	}
	checkTrackers(t, data, stop, rep, map[string]trackerWant{
		"snowplow-post":  {snowplow, "snowplow", "shop-server", serverFields, nil},
		"snowplow-get":   {snowplow, "snowplow", "shop-server", serverFields, nil},
		"segment":        {serverSegmentEvents, "segment", "shop-node", serverFields, nil},
		"rudderstack":    {serverSegmentEvents, "segment", "shop-node", serverFields, nil},
		"segment-legacy": {serverSegmentEvents, "segment", "shop-node", serverFields, nil},
	})
}

// TestBrowserTracker opens a shop's pages in headless Chromium, served from
// another origin than accord serve's, as browsers meet them, each running a
// tracker from npm, unmodified: Snowplow's browser tracker (JSON POSTs with
// credentials after a preflight, GET pixels, its session and browser
// entities), its version 3 (XMLHttpRequest POSTs, beacons to a custom path,
// and the performance timing, GA cookies, link click and form tracking
// plugins),
// Segment's analytics.js (text/plain calls to /v1/t, /v1/p, ... with the write
// key in the body, and batches to /v1/b as Basic auth; settings loaded from
// the collector) and RudderStack's JavaScript SDK (XMLHttpRequest with its own
// headers, settings loaded from the collector; and beacons). Every request
// crosses origins with CORS; the events carry the page's URL with the planted
// email in its query, and the visitor types it into a form.
func TestBrowserTracker(t *testing.T) {
	modules := trackerModules(t)
	chromium := codegentest.Tool(t, "ACCORD_CHROMIUM", "chromium", "chromium-browser")

	mux := http.NewServeMux()
	file := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			http.ServeFile(w, r, filepath.Join("testdata/trackers", name))
		}
	}
	module := func(path string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, filepath.Join(modules, path)) }
	}
	mux.HandleFunc("GET /record.js", file("record.js"))
	mux.HandleFunc("GET /snowplow.js", file("snowplow.js"))
	mux.HandleFunc("GET /cart", file("page.html"))
	mux.HandleFunc("GET /cart3", file("page3.html"))
	mux.HandleFunc("GET /segment", file("segment.html"))
	mux.HandleFunc("GET /sp.js", module("@snowplow/browser-tracker/dist/index.umd.min.js"))
	mux.HandleFunc("GET /sp3.js", module("@snowplow/browser-tracker-v3/dist/index.umd.min.js"))
	mux.HandleFunc("GET /sp3-performance-timing.js", module("@snowplow/browser-plugin-performance-timing/dist/index.umd.min.js"))
	mux.HandleFunc("GET /sp3-link-click-tracking.js", module("@snowplow/browser-plugin-link-click-tracking/dist/index.umd.min.js"))
	mux.HandleFunc("GET /sp3-form-tracking.js", module("@snowplow/browser-plugin-form-tracking/dist/index.umd.min.js"))
	mux.HandleFunc("GET /sp3-ga-cookies.js", module("@snowplow/browser-plugin-ga-cookies/dist/index.umd.min.js"))
	// analytics.js self-hosted: its UMD build and the chunks it loads beside it.
	mux.Handle("GET /ajs/", http.StripPrefix("/ajs/", http.FileServer(http.Dir(filepath.Join(modules, "@segment/analytics-next/dist/umd")))))
	// RudderStack's SDK self-hosted: its UMD build with the plugins bundled.
	mux.Handle("GET /rs/", http.StripPrefix("/rs/", http.FileServer(http.Dir(filepath.Join(modules, "@rudderstack/analytics-js/dist/npm/modern/bundled/umd")))))
	mux.HandleFunc("GET /rudder", file("rudder.html"))
	shop := httptest.NewServer(mux) // 127.0.0.1, another port: another origin
	defer shop.Close()

	const writeKey = "wk-browser-0001"
	data := t.TempDir()
	reg := trackerRegistry(t)
	base, stop := startApp(t, data, func(c *app.Config) {
		c.Registry = reg
		c.Access.CORSOrigins = []string{shop.URL}
		c.Access.WriteKeys = map[string]string{writeKey: "shop-web"}
		c.Snowplow.Paths = []string{"/com.acme/track"} // page3.html's beacons
	})
	stop = sync.OnceFunc(stop)
	defer stop()
	query := "?" + url.Values{"collector": {base}, "key": {writeKey}, "email": {planted[0]}}.Encode()
	rep := runTracker(t, modules, "browser.cjs", chromium, shop.URL+"/cart"+query, shop.URL+"/cart3"+query,
		shop.URL+"/segment"+query, shop.URL+"/rudder"+query, shop.URL+"/rudder"+query+"&beacon=1")

	snowplow := []outcome{
		{"com.snowplowanalytics.snowplow/page_view", ""},
		{"com.acme/signup", ""},
		{"com.snowplowanalytics.snowplow/structured_event", ""},
		{"com.acme/signup", "schema_violation"},
	}
	segmentEvents := []outcome{
		{"com.acme/signup", ""},
		{"com.acme/identify", ""},
		{"com.acme/page", ""},
		{"com.acme/group", ""},
		{"com.acme/alias", ""},
		{"", "event_name_unknown"},
	}
	// The pages' URLs as stored: scheme, host and path, the query dropped (and
	// with it the email); the libraries' copy of the query is not stored.
	snowplowPage := func(path string) map[string]map[string]string {
		return map[string]map[string]string{"com.snowplowanalytics.snowplow/page_view": {"page_url": shop.URL + path, "page_title": "Cart"}}
	}
	page := func(path string) map[string]map[string]string {
		return map[string]map[string]string{"com.acme/page": {"url": shop.URL + path, "path": path, "search": "<nil>"}}
	}
	// Version 3 with the performance timing, link click and form tracking
	// plugins: a link click, stored with its URL's query dropped and its text
	// not kept; a form's focus, change and submission, stored without what the
	// visitor typed (the email: the checks below find it nowhere); and the
	// performance timing entity on every event.
	snowplow3 := append(append([]outcome(nil), snowplow...), outcome{"com.snowplowanalytics.snowplow/link_click", ""},
		outcome{"com.snowplowanalytics.snowplow/focus_form", ""}, outcome{"com.snowplowanalytics.snowplow/change_form", ""},
		outcome{"com.snowplowanalytics.snowplow/submit_form", ""})
	v3Fields := snowplowPage("/cart3")
	v3Fields["com.snowplowanalytics.snowplow/link_click"] = map[string]string{"target_url": "https://shop.example/product", "element_id": "buy",
		"element_classes": "[btn primary]", "element_target": "_blank", "element_content": "<nil>"} // (columns are snake_case)
	v3Fields["com.snowplowanalytics.snowplow/focus_form"] = map[string]string{"node_name": "INPUT", "element_type": "email", "value": "<nil>"}
	v3Fields["com.snowplowanalytics.snowplow/change_form"] = map[string]string{"node_name": "INPUT", "type": "email", "value": "<nil>"}
	// The GA cookies entity: the client id hashed, the campaign cookie (whose
	// search term was the email) not stored.
	v3Entities := map[string]map[string]string{"com.snowplowanalytics.snowplow/web_page": {}, "org.w3/PerformanceTiming": {},
		"com.google.analytics/cookies": {"_ga": hashed, "__utmz": "<nil>"}}
	// The entities the browser tracker attaches (contexts webPage, session and
	// browser), validated by the bundled contracts, their device ids hashed.
	entities := map[string]map[string]string{
		"com.snowplowanalytics.snowplow/web_page":        {},
		"com.snowplowanalytics.snowplow/client_session":  {"userId": hashed, "sessionId": hashed, "sessionIndex": "1", "storageMechanism": "COOKIE_1"},
		"com.snowplowanalytics.snowplow/browser_context": {"tabId": hashed, "cookiesEnabled": "true"},
	}
	checkTrackers(t, data, stop, rep, map[string]trackerWant{
		"browser-post":          {snowplow, "snowplow", "shop-web", snowplowPage("/cart"), entities},
		"browser-get":           {snowplow, "snowplow", "shop-web", snowplowPage("/cart"), entities},
		"browser-v3-post":       {snowplow3, "snowplow", "shop-web", v3Fields, v3Entities},
		"browser-v3-beacon":     {snowplow3, "snowplow", "shop-web", v3Fields, v3Entities},
		"analytics.js":          {segmentEvents, "segment", "shop-web", page("/segment"), nil},
		"analytics.js-batching": {segmentEvents, "segment", "shop-web", page("/segment"), nil},
		"rudderstack-js":        {segmentEvents, "segment", "shop-web", page("/rudder"), nil},
		"rudderstack-js-beacon": {segmentEvents, "segment", "shop-web", page("/rudder"), nil},
	})
}

// TestGoTrackers points the Go libraries producers use on servers, unmodified
// and as published on the Go module proxy, at accord serve: Snowplow's Go
// tracker 3.1.0 (POST with base64 and a write key, and GET pixels, the subject
// carrying the email as user id and the planted IP: parameters Accord does not
// store), Segment's analytics-go 3.3.0 and RudderStack's analytics-go 4.2.1
// (gzipped), each making one call of each type. testdata/trackers/gosend is a
// module of its own, built here, so that the libraries stay out of accord's
// go.mod; the first build downloads them.
func TestGoTrackers(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "gosend")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	build.Dir = "testdata/trackers/gosend"
	build.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
	if out, err := build.CombinedOutput(); err != nil {
		codegentest.Missing(t, fmt.Sprintf("the Go tracker libraries did not build (the module proxy must serve them): %v\n%s", err, out))
	}

	const writeKey = "wk-go-0001"
	data := t.TempDir()
	reg := trackerRegistry(t)
	base, stop := startApp(t, data, func(c *app.Config) {
		c.Registry = reg
		c.Access.WriteKeys = map[string]string{writeKey: "shop-go"}
	})
	stop = sync.OnceFunc(stop)
	defer stop()
	rep := runReport(t, nil, bin, base, writeKey, planted[0], planted[1])

	snowplow := []outcome{
		{"com.acme/signup", ""},
		{"com.snowplowanalytics.snowplow/page_view", ""},
		{"com.snowplowanalytics.snowplow/structured_event", ""},
		{"com.acme/signup", "schema_violation"},
		{"com.snowplowanalytics.snowplow/screen_view", ""},
		{"com.acme/wishlist_added", "schema_not_found"},
	}
	checkTrackers(t, data, stop, rep, map[string]trackerWant{
		"snowplow-go-post": {snowplow, "snowplow", "shop-go", serverFields, nil},
		"snowplow-go-get":  {snowplow, "snowplow", "shop-go", serverFields, nil},
		"segment-go":       {serverSegmentEvents, "segment", "shop-go", serverFields, nil},
		"rudderstack-go":   {serverSegmentEvents, "segment", "shop-go", serverFields, nil},
	})
}
