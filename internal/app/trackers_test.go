package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
	for _, pkg := range []string{"@snowplow/node-tracker", "@segment/analytics-node", "@rudderstack/rudder-sdk-node"} {
		if _, err := os.Stat(filepath.Join(dir, pkg, "package.json")); err != nil {
			t.Fatalf("ACCORD_TRACKERS_NODE_MODULES=%s lacks %s (run testdata/trackers/install.sh): %v", dir, pkg, err)
		}
	}
	return dir
}

// trackerReport is what testdata/trackers/send.cjs prints.
type trackerReport struct {
	Requests []struct {
		Lib    string   `json:"lib"`
		Method string   `json:"method"`
		Path   string   `json:"path"`
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
		Lib   string `json:"lib"`
		Error string `json:"error"`
	} `json:"errors"`
}

// outcome is what should become of one event a library sent: a row of the lake
// table (vendor/name) or, with a reason, a bad row.
type outcome struct{ table, reason string }

// TestRealTrackers points the tracker libraries producers use, unmodified and
// as published on npm, at accord serve: Snowplow's Node tracker (whose core
// is the browser tracker's) posting base64-encoded batches with a write key
// and sending pixels (GET /i) with plain JSON, Segment's analytics-node and
// RudderStack's Node SDK (gzipped batches) making one call of each type. Every
// event must be answered as its contract says, under the id the library gave
// it, and then be in the lake or the bad rows, with no planted personal data
// anywhere.
func TestRealTrackers(t *testing.T) {
	modules := trackerModules(t)
	node := codegentest.Tool(t, "ACCORD_NODE", "node")

	// The bundled contracts, and contracts for Segment's identify, page, screen,
	// group and alias calls.
	reg := t.TempDir()
	for _, dir := range []string{registryDir, "testdata/trackers/contracts"} {
		if err := os.CopyFS(reg, os.DirFS(dir)); err != nil {
			t.Fatal(err)
		}
	}
	const writeKey = "wk-trackers-0001"
	data := t.TempDir()
	base, stop := startApp(t, data, func(c *app.Config) {
		c.Registry = reg
		c.Access.WriteKeys = map[string]string{writeKey: "shop-node"}
	})
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "testdata/trackers/send.cjs", base, writeKey, planted[0], planted[1])
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	out := codegentest.Output(t, cmd)
	if p := plantedIn(out); p != "" {
		t.Fatalf("an answer holds planted PII %q", p)
	}
	var rep trackerReport
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("send.cjs printed %s: %v", out, err)
	}
	for _, e := range rep.Errors {
		t.Errorf("%s reported an error: %s", e.Lib, e.Error)
	}

	snowplow := []outcome{
		{"com.acme/signup", ""},
		{"com.snowplowanalytics.snowplow/page_view", ""},
		{"com.snowplowanalytics.snowplow/structured_event", ""},
		{"com.snowplowanalytics.snowplow/page_ping", ""},
		{"com.acme/signup", "schema_violation"},
		{"com.snowplowanalytics.snowplow/screen_view", "schema_not_found"},
	}
	segment := []outcome{
		{"com.acme/signup", ""},
		{"com.acme/identify", ""},
		{"com.acme/page", ""},
		{"com.acme/screen", ""},
		{"com.acme/group", ""},
		{"com.acme/alias", ""},
		{"", "event_name_unknown"},
	}
	want := map[string][]outcome{"snowplow-post": snowplow, "snowplow-get": snowplow, "segment": segment, "rudderstack": segment}
	protocol := map[string]string{"snowplow-post": "snowplow", "snowplow-get": "snowplow", "segment": "segment", "rudderstack": "segment"}
	sourceApp := map[string]string{"snowplow-post": "shop-server", "snowplow-get": "shop-server", "segment": "shop-node", "rudderstack": "shop-node"}

	// What the stored rows hold: the tracker's values, typed, with the personal
	// data scrubbed as the contracts say (the URLs carried the email in their
	// query).
	const tokenized, hashed = "tok_...", "sha256..."
	isHash := func(s string) bool {
		if len(s) != 64 {
			return false
		}
		for _, c := range s {
			if !strings.ContainsRune("0123456789abcdef", c) {
				return false
			}
		}
		return true
	}
	fields := map[string]map[string]string{
		"com.acme/signup":                                 {"shop_id": "shop_7", "email": tokenized, "ip": "map[city:<nil> country:GB masked:81.2.0.0 region:<nil>]"},
		"com.snowplowanalytics.snowplow/page_view":        {"page_url": "https://shop.example/cart", "page_title": "Cart"},
		"com.snowplowanalytics.snowplow/structured_event": {"se_category": "cart", "se_action": "add", "se_label": "sku-1", "se_property": "size", "se_value": "3"},
		"com.snowplowanalytics.snowplow/page_ping":        {"page_url": "https://shop.example/cart", "pp_xoffset_min": "5", "pp_xoffset_max": "10", "pp_yoffset_min": "20", "pp_yoffset_max": "400"},
		"com.acme/identify":                               {"user_id": tokenized, "email": tokenized, "plan": "pro"},
		"com.acme/page":                                   {"name": "Cart", "category": "Shop", "url": "https://shop.example/cart", "title": "Cart", "anonymous_id": tokenized},
		"com.acme/screen":                                 {"name": "Home", "shop_id": "shop_7", "user_id": tokenized},
		"com.acme/group":                                  {"group_id": "g_42", "employees": "12"},
		"com.acme/alias":                                  {},
	}

	// Each library's events in the order it sent them, checked against the
	// collector's answers where the route gives one (pixels answer a GIF).
	type sent struct {
		lib  string
		id   string
		want outcome
	}
	var events []sent
	seen := map[string]int{}
	for _, r := range rep.Requests {
		if r.Status != 200 {
			t.Errorf("%s %s %s answered %d", r.Lib, r.Method, r.Path, r.Status)
		}
		if r.Answer != nil {
			if len(r.Answer.Events) != len(r.IDs) {
				t.Errorf("%s %s: %d events sent, %d answered", r.Lib, r.Path, len(r.IDs), len(r.Answer.Events))
			}
		} else if r.Path != "/i" {
			t.Errorf("%s %s %s: no JSON answer", r.Lib, r.Method, r.Path)
		}
		for i, id := range r.IDs {
			n := seen[r.Lib]
			seen[r.Lib]++
			if n >= len(want[r.Lib]) {
				t.Errorf("%s sent more events than it tracked: %s", r.Lib, id)
				continue
			}
			w := want[r.Lib][n]
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
		if seen[lib] != len(w) {
			t.Errorf("%s sent %d events, want %d", lib, seen[lib], len(w))
		}
	}

	// Every accepted event in its lake table under the library's id, once.
	accepted := 0
	for _, e := range events {
		if e.want.reason == "" {
			accepted++
		}
	}
	byID := map[string][]map[string]any{}
	tableOf := map[string]string{}
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
	stopped = true
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
		if row["source_protocol"] != protocol[e.lib] || row["source_app"] != sourceApp[e.lib] {
			t.Errorf("%s: event %s: source %v/%v, want %s/%s", e.lib, e.id, row["source_protocol"], row["source_app"], protocol[e.lib], sourceApp[e.lib])
		}
		if row["device_created_at"] == nil {
			t.Errorf("%s: event %s: no device time: %v", e.lib, e.id, row)
		}
		for field, w := range fields[e.want.table] {
			got := fmt.Sprint(row[field])
			ok := got == w
			switch w {
			case tokenized:
				ok = strings.HasPrefix(got, "tok_")
			case hashed:
				ok = isHash(got)
			}
			if !ok {
				t.Errorf("%s: event %s: %s is %s, want %s", e.lib, e.id, field, got, w)
			}
		}
	}
	if len(byID) != accepted {
		t.Errorf("the lake holds %d events, want %d", len(byID), accepted)
	}

	// Every rejected event in the bad rows, with its reason; no file of the data
	// folder (buffer, bad rows, vault) holds planted personal data.
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
