package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/accord-dev/accord/internal/admin"
	"github.com/accord-dev/accord/internal/app"
	"github.com/accord-dev/accord/internal/collect/replay"
	"github.com/accord-dev/accord/internal/event"
)

func TestCollectorURL(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080",
		":9090":          "http://127.0.0.1:9090",
		"0.0.0.0:80":     "http://127.0.0.1:80",
		"[::]:8443":      "http://127.0.0.1:8443",
		"[::1]:8080":     "http://[::1]:8080",
		"collector:8080": "http://collector:8080",
	} {
		cfg := app.Default()
		cfg.Server.Addr = addr
		if got := collectorURL(cfg); got != want {
			t.Errorf("%s: %s, want %s", addr, got, want)
		}
	}
	cfg := app.Default()
	cfg.Server.TLS.CertFile, cfg.Server.TLS.KeyFile = "c.pem", "k.pem"
	if got := collectorURL(cfg); got != "https://127.0.0.1:8080" {
		t.Errorf("with TLS: %s", got)
	}
}

func TestBadCommandsRefuse(t *testing.T) {
	t.Setenv("ACCORD_ADMIN_TOKEN", "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bad", "replay"}, "admin token"},
		{[]string{"bad", "replay", "--admin-token", "t0123456789abcdef", "--from", "monday"}, "YYYY-MM-DD"},
		{[]string{"bad", "replay", "--admin-token", "t0123456789abcdef", "--as", "iglu:a/b/jsonschema/1-0-0"}, "FROM=TO"},
		{[]string{"bad", "summary", "--data", t.TempDir(), "--to", "2026-13-01"}, "YYYY-MM-DD"},
	} {
		var out bytes.Buffer
		code := Run(context.Background(), tc.args, strings.NewReader(""), &out, &out)
		if code != ExitUsage || !strings.Contains(out.String(), tc.want) {
			t.Errorf("%v: exit %d\n%s", tc.args, code, out.String())
		}
	}
	var out bytes.Buffer
	if code := Run(context.Background(), []string{"bad", "summary", "--data", t.TempDir()}, strings.NewReader(""), &out, &out); code != 0 || !strings.Contains(out.String(), "0 bad rows") {
		t.Errorf("summary of an empty folder: exit %d\n%s", code, out.String())
	}
}

// TestBadCommandsNeedTheDataFolder: the commands that read what accord serve
// wrote refuse a data folder that does not exist, rather than answer as if it
// were empty (or create it), and say what to pass; an existing data folder
// without bad rows has none.
func TestBadCommandsNeedTheDataFolder(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-data")
	examples := filepath.Join("..", "..", "examples", "contracts")
	for _, args := range [][]string{
		{"bad", "summary", "--data", missing},
		{"bad", "summary", "--data", missing, "--json"},
		{"bad", "replay", "--offline", "--dry-run", "--data", missing, "--registry", examples},
		{"vault", "stats", "--data", missing},
		{"vault", "forget", "--data", missing, "--subject", "someone@example.com"},
	} {
		var stdout, stderr bytes.Buffer
		code := Run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
		if code != ExitUsage || stdout.Len() > 0 || !strings.Contains(stderr.String(), "the data folder "+missing+" does not exist; pass --data") {
			t.Errorf("%v: exit %d\nstdout: %s\nstderr: %s", args, code, stdout.String(), stderr.String())
		}
		if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%v created the data folder: %v", args, err)
		}
	}
	empty := t.TempDir()
	var out bytes.Buffer
	if code := Run(context.Background(), []string{"bad", "summary", "--data", empty}, strings.NewReader(""), &out, &out); code != 0 || !strings.HasPrefix(out.String(), "0 bad rows under ") {
		t.Errorf("summary of a data folder without bad rows: exit %d\n%s", code, out.String())
	}
}

// TestBadReplayRefusedPrintsNoReport: a replay the collector refuses (a wrong
// admin token) or cannot be asked (nothing listening) prints its error and no
// report: a report of zeros would read as a replay that found nothing.
func TestBadReplayRefusedPrintsNoReport(t *testing.T) {
	base, _ := startServe(t, writeConfig(t, "privacy: {admin_token: right-token-0123456789}\n"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	for _, tc := range []struct {
		server, want string
	}{
		{base, "401"},
		{closed, "is accord serve running there?"},
	} {
		for _, extra := range [][]string{{"--dry-run"}, {"--dry-run", "--json"}, nil} {
			args := append([]string{"bad", "replay", "--server", tc.server, "--admin-token", "wrongwrongwrongwrong"}, extra...)
			var stdout, stderr bytes.Buffer
			code := Run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
			if code != ExitFindings || stdout.Len() > 0 || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("%v: exit %d, want %d, nothing on stdout and an error saying %q\nstdout: %s\nstderr: %s", args, code, ExitFindings, tc.want, stdout.String(), stderr.String())
			}
		}
	}
}

// TestBadReplayStoppedReportsWhatItDid: a replay that stops on an error after
// some rows reports those rows, as stopped, and fails.
func TestBadReplayStoppedReportsWhatItDid(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Content-Type", "application/json")
		if calls == 1 {
			_ = json.NewEncoder(w).Encode(replay.Report{Rows: 2, Accepted: 2, Outcomes: []replay.Outcome{}, Next: "2026-12-01/badrows-1.ndjson:2"})
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(replay.StoppedBody{ErrorBody: admin.ErrorBody{Error: "replay_stopped", Message: "stopped: the buffer is full"},
			Report: replay.Report{Rows: 1, Accepted: 1, Outcomes: []replay.Outcome{}}})
	}))
	defer srv.Close()
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), []string{"bad", "replay", "--server", srv.URL, "--admin-token", "right-token-0123456789"}, strings.NewReader(""), &stdout, &stderr)
	if code != ExitFindings || !strings.Contains(stdout.String(), "replayed 3 bad rows before the replay stopped: 3 accepted") ||
		!strings.Contains(stderr.String(), "the buffer is full") {
		t.Errorf("exit %d\nstdout: %s\nstderr: %s", code, stdout.String(), stderr.String())
	}
}

// TestBadTextOnlyRows: rows that keep their event as text only are explained
// by what the text is and their reason, in the summary and in a dry run: JSON
// that is no event (a native null, a Snowplow transaction) is not called "not
// valid JSON".
func TestBadTextOnlyRows(t *testing.T) {
	data := t.TempDir()
	// A day the retention keeps, whenever the test runs.
	day := filepath.Join(data, "bad", "date="+time.Now().UTC().Format(time.DateOnly))
	if err := os.MkdirAll(day, 0o750); err != nil {
		t.Fatal(err)
	}
	var lines []byte
	for i, r := range []struct {
		protocol, text string
		reason         event.Reason
	}{
		{"native", "null", event.ReasonMalformedEvent},
		{"snowplow", `{"e":"tr","eid":"55555555-5555-4555-8555-555555555555"}`, event.ReasonEventNameUnknown},
		{"native", "a=1&b=2", event.ReasonMalformedJSON},
	} {
		b, err := json.Marshal(event.BadRow{V: 1, ID: fmt.Sprintf("row-%d", i), ReceivedAt: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), Reason: r.reason,
			Source: event.Source{Protocol: r.protocol}, Failures: []event.Failure{{Message: "what the collector said"}}, PayloadText: r.text})
		if err != nil {
			t.Fatal(err)
		}
		lines = append(append(lines, b...), '\n')
	}
	if err := os.WriteFile(filepath.Join(day, "badrows-1.ndjson"), lines, 0o640); err != nil {
		t.Fatal(err)
	}
	want := map[event.Reason]string{
		event.ReasonMalformedEvent:   "payload_text: JSON that is not an event object), rejected as malformed_event",
		event.ReasonEventNameUnknown: "payload_text: the fields it was sent with, as a JSON object), rejected as event_name_unknown",
		event.ReasonMalformedJSON:    "payload_text: text that is not valid JSON), rejected as malformed_json",
	}
	for _, args := range [][]string{
		{"bad", "summary", "--data", data},
		{"bad", "replay", "--offline", "--dry-run", "--data", data, "--registry", filepath.Join("..", "..", "examples", "contracts")},
	} {
		var stdout, stderr bytes.Buffer
		Run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
		for _, line := range strings.Split(stdout.String(), "\n") {
			if strings.Contains(line, "not valid JSON") && !strings.Contains(line, "rejected as malformed_json") {
				t.Errorf("%v calls JSON not valid JSON: %s", args, line)
			}
		}
		for reason, w := range want {
			if !strings.Contains(stdout.String(), w) {
				t.Errorf("%v does not explain the %s row as %q:\n%s\n%s", args, reason, w, stdout.String(), stderr.String())
			}
		}
	}
}

// TestBadReplayAsMistypedSchema replays a row rejected as schema_uri_invalid
// (the producer mistyped the URI) under the URI it meant: --as takes the
// schema as the row names it, with its "=" too, on the left.
func TestBadReplayAsMistypedSchema(t *testing.T) {
	data := t.TempDir()
	// A day the retention keeps, whenever the test runs.
	day := filepath.Join(data, "bad", "date="+time.Now().UTC().Format(time.DateOnly))
	if err := os.MkdirAll(day, 0o750); err != nil {
		t.Fatal(err)
	}
	const typo, right = "iglu:com.snowplowanalytics.snowplow/application_background/jsonschema/1.0.0?v=1", "iglu:com.snowplowanalytics.snowplow/application_background/jsonschema/1-0-0"
	b, err := json.Marshal(event.BadRow{V: 1, ID: "row-typo", EventID: "0193a5f2-7c1e-7b3a-9d4e-5f6a7b8c9d0e", ReceivedAt: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC),
		Reason: event.ReasonSchemaURIInvalid, Schema: typo, Source: event.Source{Protocol: "native"},
		Failures: []event.Failure{{Message: "the schema URI is not valid"}}, Payload: json.RawMessage(`{"schema":"` + typo + `","data":{"backgroundIndex":1}}`)})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(day, "badrows-1.ndjson"), append(b, '\n'), 0o640); err != nil {
		t.Fatal(err)
	}
	registry := filepath.Join("..", "..", "examples", "contracts")
	for _, tc := range []struct {
		extra []string
		want  string
		code  int
	}{
		{nil, "0 accepted, 1 rejected again", 1},
		{nil, strconv.Quote(typo), 1}, // shown exactly, to be copied into --as
		{[]string{"--as", typo + "=" + right}, "1 accepted, 0 rejected again", 0},
	} {
		var stdout, stderr bytes.Buffer
		args := append([]string{"bad", "replay", "--offline", "--dry-run", "--data", data, "--registry", registry}, tc.extra...)
		code := Run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
		if code != tc.code || !strings.Contains(stdout.String(), tc.want) {
			t.Errorf("%v: exit %d, want %d saying %q:\n%s\n%s", tc.extra, code, tc.code, tc.want, stdout.String(), stderr.String())
		}
	}
}

// TestServeDeletesExpiredBadRows: bad rows past bad_rows.retention are deleted
// when accord serve starts, with their replay ledger, without any event
// arriving; the days it keeps stay. Before that, with the collector stopped,
// neither the summary nor an offline replay reads the expired day.
func TestServeDeletesExpiredBadRows(t *testing.T) {
	config := writeConfig(t, "")
	data := filepath.Join(filepath.Dir(config), "data")
	now := time.Now().UTC()
	expired, kept := now.AddDate(0, 0, -18).Format(time.DateOnly), now.AddDate(0, 0, -1).Format(time.DateOnly)
	for _, day := range []string{expired, kept} {
		dir := filepath.Join(data, "bad", "date="+day)
		if err := os.MkdirAll(dir, 0o750); err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(event.BadRow{V: 1, ID: "row-" + day, ReceivedAt: now, Reason: event.ReasonSchemaNotFound, Schema: "iglu:com.acme/signup/jsonschema/1-0-9",
			Source: event.Source{Protocol: "native"}, Failures: []event.Failure{{Message: "no contract"}},
			Payload: json.RawMessage(`{"schema":"iglu:com.acme/signup/jsonschema/1-0-9","data":{"shop_id":"shop_1"}}`)})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "badrows-1.ndjson"), append(b, '\n'), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	ledger := filepath.Join(data, "replay", "date="+expired+".ndjson")
	if err := os.MkdirAll(filepath.Dir(ledger), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ledger, []byte(`{"id":"row-`+expired+`"}`+"\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	// The collector stopped, the expired day is there but read by nothing.
	for _, args := range [][]string{
		{"bad", "summary", "--data", data},
		{"bad", "replay", "--offline", "--dry-run", "--data", data, "--registry", filepath.Join("..", "..", "examples", "contracts")},
	} {
		var stdout, stderr bytes.Buffer
		Run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
		if strings.Contains(stdout.String(), expired) || !strings.Contains(stdout.String(), kept) {
			t.Errorf("%v reads the expired day %s, or not the kept one:\n%s\n%s", args[:2], expired, stdout.String(), stderr.String())
		}
	}
	_, log := startServe(t, config)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, errDay := os.Stat(filepath.Join(data, "bad", "date="+expired))
		_, errLedger := os.Stat(ledger)
		if errors.Is(errDay, fs.ErrNotExist) && errors.Is(errLedger, fs.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the expired day (%v) or its ledger (%v) is still there 10 s after the start\n%s", errDay, errLedger, log.String())
		}
	}
	if _, err := os.Stat(filepath.Join(data, "bad", "date="+kept, "badrows-1.ndjson")); err != nil {
		t.Errorf("the day within the retention is gone: %v", err)
	}
	if !strings.Contains(log.String(), "deleted expired bad rows") || !strings.Contains(log.String(), "date="+expired) {
		t.Errorf("the log does not say the expired rows were deleted:\n%s", log.String())
	}
}

// forgottenBadRows starts accord serve with an admin token, posts three
// events of an unknown contract version (their email sealed in bad rows), two
// of them of a subject it then forgets, and returns the collector's URL, its
// data folder, the token and a function that stops the collector.
func forgottenBadRows(t *testing.T) (base, data, token string, stop func()) {
	t.Helper()
	token = "summary-admin-token-0123456789"
	config := writeConfig(t, "privacy: {admin_token: "+token+"}\n")
	data = filepath.Join(filepath.Dir(config), "data")
	base, _, stop = startServeStop(t, config)
	send := func(path, body string, auth bool) string {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if auth {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.Status + " " + string(b)
	}
	var events []string
	for i, email := range []string{"gone.9c1e@example.com", "kept.4b7d@example.com", "gone.9c1e@example.com"} {
		events = append(events, fmt.Sprintf(`{"schema":"iglu:com.acme/signup/jsonschema/1-0-7","event_id":"e-%d","data":{"shop_id":"shop_1","email":%q}}`, i, email))
	}
	if got := send("/v1/events", strings.Join(events, "\n"), false); !strings.Contains(got, `"rejected":3`) {
		t.Fatalf("POST /v1/events: %s", got)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		files, _ := filepath.Glob(filepath.Join(data, "bad", "date=*", "*.ndjson"))
		n := 0
		for _, f := range files {
			b, _ := os.ReadFile(f)
			n += bytes.Count(b, []byte("\n"))
		}
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d bad rows stored, want 3", n)
		}
	}
	if got := send("/v1/privacy/forget", `{"subject":"gone.9c1e@example.com"}`, true); !strings.HasPrefix(got, "200") {
		t.Fatalf("forget: %s", got)
	}
	return base, data, token, stop
}

// TestBadSummaryForgottenSubjects: the summary counts the rows of a forgotten
// subject as not replayable, as the replay does: asked of the running
// collector (its vault), and with the collector stopped (the command opens the
// vault itself); when it can do neither (the collector running, no admin
// token), it says how many replayable rows it could not check, and how to.
func TestBadSummaryForgottenSubjects(t *testing.T) {
	t.Setenv("ACCORD_ADMIN_TOKEN", "")
	base, data, token, _ := forgottenBadRows(t)
	const counted = "schema_not_found          iglu:com.acme/signup/jsonschema/1-0-7  3 rows: 1 replayable, 2 not replayable, 0 replayed"
	const why = "not replayable: the event's data subject was forgotten"
	summary := func(args ...string) (int, string, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		code := Run(context.Background(), append([]string{"bad", "summary", "--data", data}, args...), strings.NewReader(""), &stdout, &stderr)
		for _, s := range []string{"gone.9c1e", "kept.4b7d"} {
			if strings.Contains(stdout.String()+stderr.String(), s) {
				t.Errorf("the summary prints the subject %s", s)
			}
		}
		return code, stdout.String(), stderr.String()
	}
	// The collector running: asked with the admin token.
	code, out, errOut := summary("--server", base, "--admin-token", token)
	if code != 0 || !strings.Contains(out, counted) || !strings.Contains(out, why) || !strings.Contains(out, "(counted by the collector at "+base+")") || strings.Contains(out, "not checked") {
		t.Errorf("summary through the collector: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = summary("--server", base, "--admin-token", token, "--json")
	var sum replay.Summary
	if err := json.Unmarshal([]byte(out), &sum); code != 0 || err != nil || sum.Rows != 3 || sum.Unchecked != 0 || len(sum.Groups) != 1 || sum.Groups[0].NotReplayable != 2 {
		t.Errorf("summary through the collector as JSON: exit %d %v\n%s%s", code, err, out, errOut)
	}
	// The same rows replayed: the same verdict.
	var stdout, stderr bytes.Buffer
	Run(context.Background(), []string{"bad", "replay", "--dry-run", "--server", base, "--admin-token", token}, strings.NewReader(""), &stdout, &stderr)
	if !strings.Contains(stdout.String(), "2 not replayable") || !strings.Contains(stdout.String(), "the event's data subject was forgotten") {
		t.Errorf("dry run:\n%s%s", stdout.String(), stderr.String())
	}
	// Without the token, the collector holding the vault: not checked, and said so.
	code, out, errOut = summary("--server", base)
	if code != 0 || !strings.Contains(out, "3 rows: 3 replayable, 0 not replayable") ||
		!strings.Contains(out, "not checked: 3 of the replayable rows hold sealed personal data") || !strings.Contains(out, "no admin token was given") {
		t.Errorf("summary without the token: exit %d\n%s%s", code, out, errOut)
	}
	// A wrong token is refused, not passed over.
	if code, out, errOut := summary("--server", base, "--admin-token", "wrong-token-0123456789"); code == 0 || !strings.Contains(errOut, "admin token") {
		t.Errorf("summary with a wrong token: exit %d\n%s%s", code, out, errOut)
	}
}

// TestBadSummaryForgottenOffline: with the collector stopped, the summary
// opens the vault of the data folder itself (asked only whether keys exist:
// no unseal in its audit log), also when a collector elsewhere answers.
func TestBadSummaryForgottenOffline(t *testing.T) {
	t.Setenv("ACCORD_ADMIN_TOKEN", "")
	token := "summary-admin-token-0123456789"
	_, data, _, stop := forgottenBadRows(t)
	stop()
	// Another collector, on another data folder, with the same token.
	other, _ := startServe(t, writeConfig(t, "privacy: {admin_token: "+token+"}\n"))
	for _, args := range [][]string{nil, {"--server", other, "--admin-token", token}} {
		var stdout, stderr bytes.Buffer
		code := Run(context.Background(), append([]string{"bad", "summary", "--data", data}, args...), strings.NewReader(""), &stdout, &stderr)
		if out := stdout.String(); code != 0 || !strings.Contains(out, "3 rows: 1 replayable, 2 not replayable") ||
			!strings.Contains(out, "not replayable: the event's data subject was forgotten") || strings.Contains(out, "not checked") || strings.Contains(out, "counted by the collector") {
			t.Errorf("%v: exit %d\n%s%s", args, code, out, stderr.String())
		}
	}
	var stdout, stderr bytes.Buffer
	if code := Run(context.Background(), []string{"vault", "audit", "--data", data}, strings.NewReader(""), &stdout, &stderr); code != 0 || strings.Contains(stdout.String(), "unseal") {
		t.Errorf("vault audit: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	// A data folder whose vault is gone is not given a new one: not checked.
	if err := os.RemoveAll(filepath.Join(data, "vault")); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	stderr.Reset()
	code := Run(context.Background(), []string{"bad", "summary", "--data", data}, strings.NewReader(""), &stdout, &stderr)
	if code != 0 || !strings.Contains(stdout.String(), "not checked: 3 of the replayable rows") || !strings.Contains(stdout.String(), "there is no vault at") {
		t.Errorf("without a vault: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	if _, err := os.Stat(filepath.Join(data, "vault")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the summary created a vault: %v", err)
	}
}
