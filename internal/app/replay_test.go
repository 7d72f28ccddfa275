package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/accord-dev/accord/internal/app"
	"github.com/accord-dev/accord/internal/cli"
	"github.com/accord-dev/accord/internal/event"
)

const replayToken = "test-admin-token-0123456789"

// runCLI runs the accord command line and returns its exit code and output.
func runCLI(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Run(context.Background(), args, strings.NewReader(""), &out, &errOut)
	return code, out.String() + errOut.String()
}

// badRows reads every bad row under data.
func badRows(t *testing.T, data string) []event.BadRow {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(data, "bad", "date=*", "*.ndjson"))
	var rows []event.BadRow
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if line == "" {
				continue // a file just created, or the end
			}
			var r event.BadRow
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("bad row %q: %v", line, err)
			}
			rows = append(rows, r)
		}
	}
	return rows
}

// waitBadRows waits for the bad-row loader to have stored n bad rows under
// data, and returns them.
func waitBadRows(t *testing.T, data string, n int) []event.BadRow {
	t.Helper()
	var rows []event.BadRow
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if rows = badRows(t, data); len(rows) >= n {
			break
		}
	}
	if len(rows) != n {
		t.Fatalf("%d bad rows, want %d", len(rows), n)
	}
	return rows
}

// TestReplayBadRows is the replay as a user runs it: events rejected by
// `accord serve` (an unknown contract version, a field the contract lacks, a
// subject later forgotten, text that is not JSON) become bad rows with their
// personal data sealed; the contracts are fixed and the collector restarted;
// `accord bad replay --dry-run` and then `accord bad replay` store the events
// that pass now, with their ids and times, tokenized in the lake like any
// event, and say why the others cannot be; a second replay stores nothing
// again; nothing planted is stored or logged in plain text.
func TestReplayBadRows(t *testing.T) {
	reg, withRegistry := registryCopy(t)
	data := t.TempDir()
	base, stop := startApp(t, data, withRegistry)

	const forgotten = "forget.me.7f3a@example.com"
	unknownVersion := fmt.Sprintf(`{"schema":"iglu:com.acme/signup/jsonschema/1-0-1","event_id":"e-unknown-version","sent_at":"2026-12-01T10:00:00Z","data":{"shop_id":"shop_1","email":%q,"ip":%q}}`, planted[0], planted[1])
	newField := fmt.Sprintf(`{"schema":"iglu:com.acme/signup/jsonschema/1-0-0","event_id":"e-new-field","data":{"shop_id":"shop_2","email":%q,"referral_code":"FRIEND10"}}`, planted[0])
	toForget := fmt.Sprintf(`{"schema":"iglu:com.acme/signup/jsonschema/1-0-1","event_id":"e-forgotten","data":{"shop_id":"shop_3","email":%q}}`, forgotten)
	notJSON := fmt.Sprintf(`{"schema":"iglu:com.acme/signup/jsonschema/1-0-0","data":{"shop_id":"shop_4","email":%q`, planted[0])
	code, body := post(t, base+"/v1/events", unknownVersion+"\n"+newField+"\n"+toForget+"\n"+notJSON+"\n")
	if code != http.StatusBadRequest || !strings.Contains(body, `"rejected":4`) {
		t.Fatalf("POST /v1/events = %d %s", code, body)
	}
	// A Snowplow tracker's event of the unknown version, with the tracker's times.
	ue, _ := json.Marshal(fmt.Sprintf(`{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":{"schema":"iglu:com.acme/signup/jsonschema/1-0-1","data":{"shop_id":"shop_5","email":%q}}}`, planted[0]))
	code, body = post(t, base+"/com.snowplowanalytics.snowplow/tp2", `{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[`+
		`{"e":"ue","ue_pr":`+string(ue)+`,"aid":"web","p":"web","tv":"js-3.24.0","eid":"sp-unknown","dtm":"1793527200000","stm":"1793527201000"}]}`)
	if code != http.StatusOK || !strings.Contains(body, `"rejected":1`) {
		t.Fatalf("tp2 = %d %s", code, body)
	}
	rows := waitBadRows(t, data, 5)
	for _, r := range rows {
		if r.EventID == "e-unknown-version" {
			if fmt.Sprint(r.Sealed) != "[/data/email /data/ip]" || r.SentAt == nil || len(r.Redacted) != 0 {
				t.Errorf("bad row of the unknown version: sealed %v, sent_at %v, redacted %v", r.Sealed, r.SentAt, r.Redacted)
			}
		}
	}
	noPlantedFiles(t, data)

	// Before the fix, a dry run finds nothing to store: exit 1, the lake empty.
	code, out := runCLI(t, "bad", "replay", "--server", base, "--admin-token", replayToken, "--dry-run")
	if code != cli.ExitFindings || !strings.Contains(out, "dry run of 5 bad rows: 0 accepted, 4 rejected again, 1 not replayable") ||
		!strings.Contains(out, "schema_not_found") || !strings.Contains(out, `has property "referral_code"`) {
		t.Fatalf("dry run before the fix: exit %d\n%s", code, out)
	}
	if p := plantedIn([]byte(out)); p != "" {
		t.Errorf("the replay report holds planted PII %q", p)
	}
	// The summary reads the files, the collector running.
	code, out = runCLI(t, "bad", "summary", "--data", data)
	if code != 0 || !strings.Contains(out, "5 bad rows") ||
		!strings.Contains(out, "schema_not_found          iglu:com.acme/signup/jsonschema/1-0-1  3 rows: 3 replayable, 0 not replayable, 0 replayed") ||
		!strings.Contains(out, "1 rows: 1 replayable") || !strings.Contains(out, `(root) has property "referral_code"`) ||
		!strings.Contains(out, "malformed_json") || plantedIn([]byte(out)) != "" {
		t.Fatalf("summary: exit %d\n%s", code, out)
	}
	stop()

	// The fix: the patch version the producer used, and a version with the new
	// field. The collector restarts on the same data.
	src, err := os.ReadFile(filepath.Join(reg, "com.acme/signup/jsonschema/1-0-0.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	patch := strings.Replace(string(src), "version: 1-0-0}", "version: 1-0-1}", 1)
	minor := strings.Replace(string(src), "version: 1-0-0}", "version: 1-1-0}", 1) +
		"  referral_code:\n    type: string\n    maxLength: 32\n    description: The code of the friend who referred the buyer.\n"
	for name, s := range map[string]string{"1-0-1.yaml": patch, "1-1-0.yaml": minor} {
		if err := os.WriteFile(filepath.Join(reg, "com.acme/signup/jsonschema", name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base, stop = startApp(t, data, withRegistry)
	defer func() {
		if stop != nil {
			stop()
		}
	}()
	code, body = postAuth(t, base+"/v1/privacy/forget", fmt.Sprintf(`{"subject":%q}`, forgotten))
	if code != http.StatusOK {
		t.Fatalf("forget = %d %s", code, body)
	}
	// Without the admin token the replay is refused.
	if code, out := runCLI(t, "bad", "replay", "--server", base, "--admin-token", "wrong-token-0123456789"); code == 0 || !strings.Contains(out, "admin token") {
		t.Fatalf("replay with a wrong token: exit %d\n%s", code, out)
	}

	as := "iglu:com.acme/signup/jsonschema/1-0-0=iglu:com.acme/signup/jsonschema/1-1-0"
	code, out = runCLI(t, "bad", "replay", "--server", base, "--admin-token", replayToken, "--as", as)
	if code != cli.ExitFindings || !strings.Contains(out, "replayed 5 bad rows: 3 accepted, 0 rejected again, 2 not replayable, 0 already replayed") ||
		!strings.Contains(out, "data subject was forgotten") || !strings.Contains(out, "not valid JSON") {
		t.Fatalf("replay after the fix: exit %d\n%s", code, out)
	}
	// Again: both stored rows are in the ledger.
	code, out = runCLI(t, "bad", "replay", "--server", base, "--admin-token", replayToken, "--as", as, "--reason", "schema_not_found", "--reason", "schema_violation")
	if !strings.Contains(out, "replayed 4 bad rows: 0 accepted, 0 rejected again, 1 not replayable, 3 already replayed") {
		t.Fatalf("second replay: exit %d\n%s", code, out)
	}

	var lake []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if lake = lakeRows(t, filepath.Join(data, "lake"))["com.acme/signup"]; len(lake) >= 3 {
			break
		}
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	stop()
	stop = nil

	if len(lake) != 3 {
		t.Fatalf("lake rows of signup: %v", lake)
	}
	received := receivedTimes(rows)
	for _, id := range []string{"e-unknown-version", "e-new-field", "sp-unknown"} {
		var row map[string]any
		for _, l := range lake {
			if strings.Contains(l, `"event_id":"`+id+`"`) {
				_ = json.Unmarshal([]byte(l), &row)
			}
		}
		if row == nil {
			t.Fatalf("no lake row for %s: %v", id, lake)
		}
		js, _ := json.Marshal(row)
		if !strings.Contains(string(js), `"tok_`) {
			t.Errorf("%s: the email is not tokenized in the lake: %s", id, js)
		}
		// The lake stores times as microseconds since 1970.
		if got, _ := row["device_created_at"].(float64); id == "sp-unknown" && int64(got) != 1793527200000000 {
			t.Errorf("%s: device_created_at %v in the lake, want the tracker's dtm", id, row["device_created_at"])
		}
		if got, _ := row["received_at"].(float64); int64(got) != received[id].UnixMicro() {
			t.Errorf("%s: received_at %v in the lake, want the original %v", id, row["received_at"], received[id])
		}
	}
	for _, l := range lake {
		if strings.Contains(l, `"event_id":"sp-unknown"`) && (!strings.Contains(l, `"source_protocol":"snowplow"`) || !strings.Contains(l, `"source_app":"web"`)) {
			t.Errorf("the Snowplow event lost its source: %s", l)
		}
	}
	if !strings.Contains(strings.Join(lake, "\n"), `FRIEND10`) {
		t.Errorf("the replayed event lost its new field: %v", lake)
	}
	for _, want := range []string{`accord_replay_rows_total{outcome="accepted"} 3`, `accord_replay_rows_total{outcome="already_replayed"} 3`, "accord_scrub_seal_failures_total 0"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, l := range lake {
		if p := plantedIn([]byte(l)); p != "" {
			t.Errorf("the lake holds planted PII %q: %s", p, l)
		}
	}
	noPlantedFiles(t, data)
	if code, out := runCLI(t, "bad", "summary", "--data", data, "--json"); code != 0 || !strings.Contains(out, `"replayed": 1`) {
		t.Errorf("summary after the replay: exit %d\n%s", code, out)
	}
	if code, out := runCLI(t, "vault", "audit", "--data", data); code != 0 || !strings.Contains(out, "unseal") {
		t.Errorf("vault audit: exit %d\n%s", code, out)
	}
}

// registryCopy copies the example registry to a folder the test may change,
// and returns it and the config change that serves it.
func registryCopy(t *testing.T) (string, func(*app.Config)) {
	t.Helper()
	reg := t.TempDir()
	if err := os.CopyFS(reg, os.DirFS(registryDir)); err != nil {
		t.Fatal(err)
	}
	return reg, func(c *app.Config) { c.Registry = reg }
}

// postAuth posts a JSON body with the admin token.
func postAuth(t *testing.T, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+replayToken)
	req.Header.Set("Content-Type", "application/json")
	return do(t, req)
}

// TestReplayOffline replays with accord serve stopped: the event waits in the
// buffer and the next accord serve delivers it to the lake.
func TestReplayOffline(t *testing.T) {
	reg, withRegistry := registryCopy(t)
	data := t.TempDir()
	base, stop := startApp(t, data, withRegistry)
	code, body := post(t, base+"/v1/events", fmt.Sprintf(`{"schema":"iglu:com.acme/signup/jsonschema/1-0-3","event_id":"e-offline","data":{"shop_id":"shop_1","email":%q}}`, planted[0]))
	if code != http.StatusBadRequest {
		t.Fatalf("POST = %d %s", code, body)
	}
	waitBadRows(t, data, 1)
	// While the collector runs, its data is locked: the error says what to do.
	if code, out := runCLI(t, "bad", "replay", "--offline", "--data", data, "--registry", reg); code == 0 || !strings.Contains(out, "without --offline") {
		t.Errorf("offline replay while serving: exit %d\n%s", code, out)
	}
	stop()
	src, err := os.ReadFile(filepath.Join(reg, "com.acme/signup/jsonschema/1-0-0.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(reg, "com.acme/signup/jsonschema/1-0-3.yaml"), []byte(strings.Replace(string(src), "version: 1-0-0}", "version: 1-0-3}", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := runCLI(t, "bad", "replay", "--offline", "--data", data, "--registry", reg)
	if code != 0 || !strings.Contains(out, "replayed 1 bad rows: 1 accepted") {
		t.Fatalf("offline replay: exit %d\n%s", code, out)
	}
	_, stop = startApp(t, data, withRegistry)
	var lake []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if lake = lakeRows(t, filepath.Join(data, "lake"))["com.acme/signup"]; len(lake) > 0 {
			break
		}
	}
	stop()
	if len(lake) != 1 || !strings.Contains(lake[0], `"event_id":"e-offline"`) || plantedIn([]byte(lake[0])) != "" {
		t.Fatalf("lake: %v", lake)
	}
	noPlantedFiles(t, data)
}

// TestReplaySegmentUnknownName: with segment.unresolved_controller set, a
// Segment message whose name no contract declares is kept whole in its bad
// row, every value sealed under its userId (else anonymousId); once a contract
// declares the name, a replay maps it as the collector would have (identifiers
// and context injected as the contract declares them) and stores it. A
// forgotten subject's message cannot be replayed.
func TestReplaySegmentUnknownName(t *testing.T) {
	reg, withRegistry := registryCopy(t)
	data := t.TempDir()
	config := func(c *app.Config) {
		withRegistry(c)
		c.Segment.UnresolvedController = "acme"
	}
	base, stop := startApp(t, data, config)
	batch := fmt.Sprintf(`{"batch":[
	 {"type":"track","event":"Account Created","messageId":"seg-1","userId":%q,"timestamp":"2026-12-01T10:00:00Z",
	  "properties":{"shop_id":"shop_1","email":%q,"marketing_opt_in":true,"tags":["a",{"k":1}],"note":null},
	  "context":{"ip":%q,"userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15","library":{"name":"analytics-node","version":"2.1.0"}}},
	 {"type":"track","event":"Account Created","messageId":"seg-2","anonymousId":"anon-2","properties":{"shop_id":"shop_2","email":%q}},
	 {"type":"track","event":"Account Created","messageId":"seg-3","userId":"u-forget-9","properties":{"shop_id":"shop_3","email":"someone@example.com"}}]}`,
		planted[6], planted[0], planted[1], planted[0])
	code, body := post(t, base+"/v1/batch", batch)
	if code != http.StatusBadRequest || !strings.Contains(body, `"rejected":3`) || !strings.Contains(body, "event_name_unknown") {
		t.Fatalf("POST /v1/batch = %d %s", code, body)
	}
	rows := waitBadRows(t, data, 3)
	for _, r := range rows {
		sealed := strings.Join(r.Sealed, " ")
		if r.EventID == "seg-1" && (!strings.Contains(sealed, "/data/segment_message/user_id") || !strings.Contains(sealed, "/data/segment_message/ip") ||
			!strings.Contains(sealed, "/data/segment_message/properties/email") || !strings.Contains(sealed, "/data/segment_message/properties/tags/1/k") ||
			!strings.Contains(string(r.Payload), `"event":"Account Created"`) || !strings.Contains(string(r.Payload), `"note":null`) || len(r.Redacted) != 0) {
			t.Errorf("bad row of seg-1: sealed %v, redacted %v, payload %s", r.Sealed, r.Redacted, r.Payload)
		}
		if r.EventID == "seg-2" && !strings.Contains(sealed, "/data/segment_message/anonymous_id") {
			t.Errorf("bad row of seg-2: sealed %v", r.Sealed)
		}
	}
	noPlantedFiles(t, data)
	code, out := runCLI(t, "bad", "summary", "--data", data)
	if code != 0 || !strings.Contains(out, "3 rows: 3 replayable") {
		t.Fatalf("summary: exit %d\n%s", code, out)
	}
	// No contract declares the name yet: rejected again, nothing stored.
	code, out = runCLI(t, "bad", "replay", "--server", base, "--admin-token", replayToken, "--dry-run")
	if code != cli.ExitFindings || !strings.Contains(out, "dry run of 3 bad rows: 0 accepted, 3 rejected again") || !strings.Contains(out, "event_name_unknown") {
		t.Fatalf("dry run before the fix: exit %d\n%s", code, out)
	}
	stop()

	// The fix: a version of signup that declares the name and the fields.
	src, err := os.ReadFile(filepath.Join(reg, "com.acme/signup/jsonschema/1-0-0.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	minor := strings.Replace(strings.Replace(string(src), "version: 1-0-0}", "version: 1-1-0}", 1), "x-event-names: [Signed Up]", "x-event-names: [Signed Up, Account Created]", 1) +
		"  tags:\n    type: array\n    description: Labels the shop gave the account.\n" +
		"  note:\n    type: [string, \"null\"]\n    description: The shop's note on the account.\n"
	if err := os.WriteFile(filepath.Join(reg, "com.acme/signup/jsonschema/1-1-0.yaml"), []byte(minor), 0o644); err != nil {
		t.Fatal(err)
	}
	base, stop = startApp(t, data, config)
	defer func() {
		if stop != nil {
			stop()
		}
	}()
	if code, body := postAuth(t, base+"/v1/privacy/forget", `{"subject":"u-forget-9","controller":"acme"}`); code != http.StatusOK {
		t.Fatalf("forget = %d %s", code, body)
	}
	code, out = runCLI(t, "bad", "replay", "--server", base, "--admin-token", replayToken)
	if code != cli.ExitFindings || !strings.Contains(out, "replayed 3 bad rows: 2 accepted, 0 rejected again, 1 not replayable") ||
		!strings.Contains(out, "data subject was forgotten") || plantedIn([]byte(out)) != "" {
		t.Fatalf("replay after the fix: exit %d\n%s", code, out)
	}
	var lake []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if lake = lakeRows(t, filepath.Join(data, "lake"))["com.acme/signup"]; len(lake) >= 2 {
			break
		}
	}
	stop()
	stop = nil
	if len(lake) != 2 {
		t.Fatalf("lake rows of signup: %v", lake)
	}
	received := receivedTimes(rows)
	for _, l := range lake {
		var row map[string]any
		if err := json.Unmarshal([]byte(l), &row); err != nil {
			t.Fatal(err)
		}
		id, _ := row["event_id"].(string)
		if got, _ := row["received_at"].(float64); int64(got) != received[id].UnixMicro() || row["source_protocol"] != "segment" ||
			!strings.Contains(l, `"contract_version":"1-1-0"`) || !strings.Contains(l, `"tok_`) {
			t.Errorf("lake row of %s: %s", id, l)
		}
		if id == "seg-1" && (!strings.Contains(l, `"masked":"81.2.0.0"`) || !strings.Contains(l, `"browser_family":"Safari"`) || !strings.Contains(l, `["a",{"k":1}]`) ||
			row["device_created_at"] != float64(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC).UnixMicro())) {
			t.Errorf("seg-1 lost its context or time in the replay: %s", l)
		}
		if p := plantedIn([]byte(l)); p != "" {
			t.Errorf("the lake holds planted PII %q: %s", p, l)
		}
	}
	noPlantedFiles(t, data)
}

// receivedTimes maps the event ids of bad rows to when they were received.
func receivedTimes(rows []event.BadRow) map[string]time.Time {
	received := map[string]time.Time{}
	for _, r := range rows {
		received[r.EventID] = r.ReceivedAt
	}
	return received
}
