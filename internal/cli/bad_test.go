package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	day := filepath.Join(data, "bad", "date=2026-12-01")
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
	day := filepath.Join(data, "bad", "date=2026-12-01")
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
