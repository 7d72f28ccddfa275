package app_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"

	"github.com/accord-dev/accord/internal/app"
)

const registryDir = "../../examples/contracts"

// startApp serves a fresh app on a loopback port; the returned stop shuts it down
// gracefully and waits.
func startApp(t *testing.T, data string, mutate func(*app.Config)) (base string, stop func()) {
	t.Helper()
	base, stop, _ = startAppLogged(t, data, mutate)
	return base, stop
}

// startAppLogged is startApp that also returns the app's log, to be read once
// stop has returned.
func startAppLogged(t *testing.T, data string, mutate func(*app.Config)) (base string, stop func(), logs *bytes.Buffer) {
	t.Helper()
	cfg := app.Default()
	cfg.Registry, cfg.Data = registryDir, data
	cfg.Sinks.Lake.RotateInterval = 50 * time.Millisecond
	cfg.Privacy.AdminToken = "test-admin-token-0123456789"
	if mutate != nil {
		mutate(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	logs = new(bytes.Buffer)
	a, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(logs, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.ServeListener(ctx, ln, nil) }()
	return a.Scheme() + "://" + ln.Addr().String(), func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if planted := plantedIn(logs.Bytes()); planted != "" {
			t.Errorf("the log contains planted PII %q", planted)
		}
	}, logs
}

// Planted values: personal data that must never be stored or logged in plain text.
var planted = []string{"planted.person.7f3a@example.com", "81.2.69.142", "+447700900123", "Plantedname Surname", "planted delivery note 9c1e", "51.507351", "c_plantedsubject"}

func plantedIn(b []byte) string {
	for _, p := range planted {
		if bytes.Contains(b, []byte(p)) {
			return p
		}
	}
	return ""
}

// noPlantedFiles fails the test when an uncompressed file of the data folder
// (buffer segments, bad rows, vault) holds planted personal data.
func noPlantedFiles(t *testing.T, data string) {
	t.Helper()
	_ = filepath.WalkDir(data, func(path string, de os.DirEntry, err error) error {
		if err != nil || de.IsDir() || filepath.Ext(path) == ".parquet" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if p := plantedIn(b); p != "" {
			t.Errorf("%s holds planted PII %q", path, p)
		}
		return nil
	})
}

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	return do(t, req)
}

// do sends req and returns the status and the body of its answer.
func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// lakeRows decodes every row of every lake file as JSON text.
func lakeRows(t *testing.T, dir string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".parquet" || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		st, _ := f.Stat()
		pf, err := parquet.OpenFile(f, st.Size())
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		r := parquet.NewGenericReader[map[string]any](f, pf.Schema())
		rows := make([]map[string]any, pf.NumRows())
		for i := range rows {
			rows[i] = map[string]any{}
		}
		n, _ := r.Read(rows)
		table := strings.Join(strings.Split(strings.TrimPrefix(path, dir+"/"), "/")[:2], "/")
		for _, row := range rows[:n] {
			js, _ := json.Marshal(row)
			out[table] = append(out[table], string(js))
		}
		return nil
	})
	return out
}

func TestServeScrubsEverywhere(t *testing.T) {
	data := t.TempDir()
	base, stop := startApp(t, data, nil)

	signup := fmt.Sprintf(`{"schema":"iglu:com.acme/signup/jsonschema/1-0-0","data":{"shop_id":"shop_1","email":%q,"ip":%q,"user_agent":"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"}}`, planted[0], planted[1])
	delivery := fmt.Sprintf(`{"schema":"iglu:com.acme/delivery_address_updated/jsonschema/1-0-0","data":{"shop_id":"shop_2","customer_id":%q,"order_id":"o_1","phone":%q,"recipient_name":%q,"delivery_note":%q,"postal_code":"SW1A 1AA","country":"GB","location":{"latitude":%s,"longitude":-0.127758},"updated_at":"2026-11-01T10:00:00Z"}}`, planted[6], planted[2], planted[3], planted[4], planted[5])
	invalid := fmt.Sprintf(`{"schema":"iglu:com.acme/signup/jsonschema/1-0-0","data":{"shop_id":"nope","email":%q}}`, planted[0])
	// An unknown version of a known contract: redacted with the family's newest version.
	unknownVersion := fmt.Sprintf(`{"schema":"iglu:com.acme/signup/jsonschema/1-0-7","data":{"shop_id":"shop_1","email":%q}}`, planted[0])
	code, body := post(t, base+"/v1/events", "["+signup+","+delivery+","+invalid+","+unknownVersion+"]")
	if code != http.StatusOK || !strings.Contains(body, `"accepted":2`) || !strings.Contains(body, `"rejected":2`) {
		t.Fatalf("POST /v1/events = %d %s", code, body)
	}
	if p := plantedIn([]byte(body)); p != "" {
		t.Fatalf("the response echoes planted PII %q: %s", p, body)
	}
	// NDJSON whose first line is cut short: not JSON, so no field can be redacted;
	// it names a contract with personal data, so its text must not be kept.
	truncated := fmt.Sprintf(`{"schema":"iglu:com.acme/signup/jsonschema/1-0-0","data":{"shop_id":"shop_1","email":%q`, planted[0])
	code, body = post(t, base+"/v1/events", truncated+"\n"+signup+"\n")
	if code != http.StatusOK || !strings.Contains(body, `"malformed_json"`) || plantedIn([]byte(body)) != "" {
		t.Fatalf("NDJSON with a truncated line = %d %s", code, body)
	}
	// Wait for the lake to hold both events.
	deadline := time.Now().Add(10 * time.Second)
	var rows map[string][]string
	for time.Now().Before(deadline) {
		rows = lakeRows(t, filepath.Join(data, "lake"))
		if len(rows["com.acme/signup"]) == 2 && len(rows["com.acme/delivery_address_updated"]) == 1 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	stop()

	s := rows["com.acme/signup"]
	if len(s) != 2 || len(rows["com.acme/delivery_address_updated"]) != 1 {
		t.Fatalf("lake rows: %v", rows)
	}
	for _, want := range []string{`"country":"GB"`, `"masked":"81.2.0.0"`, `"os_family":"iOS"`} {
		if !strings.Contains(s[0], want) {
			t.Errorf("signup row lacks %s: %s", want, s[0])
		}
	}
	d := rows["com.acme/delivery_address_updated"][0]
	for _, want := range []string{`"latitude":51.5`, `"postal_code":"SW"`} {
		if !strings.Contains(d, want) {
			t.Errorf("delivery row lacks %s: %s", want, d)
		}
	}
	if strings.Contains(d, "delivery_note") {
		t.Errorf("a dropped field reached the lake: %s", d)
	}
	for table, rs := range rows {
		for _, r := range rs {
			if p := plantedIn([]byte(r)); p != "" {
				t.Errorf("lake table %s holds planted PII %q: %s", table, p, r)
			}
		}
	}
	if p := plantedIn(metrics); p != "" {
		t.Errorf("metrics hold planted PII %q", p)
	}
	// The registry's own metrics are served too (docs/registry.md).
	for _, want := range []string{"\naccord_registry_generation 1\n", "\naccord_registry_reload_failing 0\n", "\naccord_registry_contracts ", "\naccord_registry_loaded_timestamp_seconds ", "\naccord_registry_failed_reloads_total 0\n"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %q", strings.TrimSpace(want))
		}
	}
	noPlantedFiles(t, data)
	bad, _ := filepath.Glob(filepath.Join(data, "bad", "date=*", "*.ndjson"))
	if len(bad) != 1 {
		t.Fatalf("bad-row files: %v", bad)
	}
	b, _ := os.ReadFile(bad[0])
	if !strings.Contains(string(b), `"reason":"schema_violation"`) || !strings.Contains(string(b), `"sealed":["/data/email"]`) || !strings.Contains(string(b), `"email":"sealed_`) || !strings.Contains(string(b), `"payload_withheld"`) {
		t.Errorf("bad row: %s", b)
	}
}

func TestServeBadInput(t *testing.T) {
	base, stop := startApp(t, t.TempDir(), nil)
	defer stop()
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	for _, tc := range []struct {
		name, body string
		code       int
		reason     string
	}{
		{"malformed JSON", `{"schema":`, 400, "malformed_json"},
		{"unknown schema", `{"schema":"iglu:com.acme/nope/jsonschema/1-0-0","data":{}}`, 400, "schema_not_found"},
		{"malformed URI", `{"schema":"com.acme/nope","data":{}}`, 400, "schema_uri_invalid"},
		{"deep nesting", `{"schema":"iglu:com.acme/signup/jsonschema/1-0-0","data":{"x":` + deep + `}}`, 400, "limit_exceeded"},
		// 33 levels of data: within the body's allowance for its framing, over
		// the event's own limit (32), so the event's own check rejects it.
		{"data one level too deep", `{"schema":"iglu:com.acme/signup/jsonschema/1-0-0","data":{"x":` + strings.Repeat("[", 32) + strings.Repeat("]", 32) + `}}`, 400, "limit_exceeded"},
		{"empty", ``, 400, "malformed_event"},
		{"a string over the limit", `{"schema":"iglu:com.acme/signup/jsonschema/1-0-0","data":{"shop_id":"` + strings.Repeat("s", 100<<10) + `"}}`, 400, "limit_exceeded"},
		{"invalid UTF-8", "{\"schema\":\"iglu:com.acme/signup/jsonschema/1-0-0\",\"data\":{\"shop_id\":\"shop_1\",\"email\":\"a\xffb@example.com\"}}", 400, "invalid_utf8"},
		{"UTF-16", "\xff\xfe{\x00\"\x00s\x00\"\x00:\x001\x00}\x00", 400, "UTF-16"},
		{"a form", "schema=iglu%3Acom.acme%2Fsignup%2Fjsonschema%2F1-0-0&shop_id=shop_1", 400, "looks like a form"},
		{"cut short", `{"schema":"iglu:com.acme/signup/jsonschema/1-0-0","data":{"shop_id":"shop_1"`, 400, "ends before its JSON does"},
		{"a UTF-8 byte order mark", "\uFEFF{\"schema\":\"iglu:com.acme/signup/jsonschema/1-0-0\",\"data\":{\"shop_id\":\"shop_1\",\"email\":\"ab@example.com\"}}", 200, `"accepted":1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := post(t, base+"/v1/events", tc.body)
			if code != tc.code || !strings.Contains(body, tc.reason) {
				t.Fatalf("got %d %s, want %d with %s", code, body, tc.code, tc.reason)
			}
		})
	}
	t.Run("20 MB body", func(t *testing.T) {
		code, body := post(t, base+"/v1/events", `{"schema":"iglu:com.acme/signup/jsonschema/1-0-0","data":{"x":"`+strings.Repeat("a", 20<<20)+`"}}`)
		if code != http.StatusRequestEntityTooLarge || !strings.Contains(body, "payload_too_large") {
			t.Fatalf("got %d %.200s", code, body)
		}
	})
	t.Run("gzip bomb", func(t *testing.T) {
		// 256 MiB of one byte, about 250 KiB gzipped: inflated only up to the body
		// limit (5 MiB), so the request costs megabytes, not 256 MiB.
		var zipped bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&zipped, gzip.BestCompression)
		chunk := bytes.Repeat([]byte("a"), 1<<20)
		for range 1 << 8 {
			zw.Write(chunk)
		}
		zw.Close()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		req, _ := http.NewRequest(http.MethodPost, base+"/v1/events", bytes.NewReader(zipped.Bytes()))
		req.Header.Set("Content-Encoding", "gzip")
		code, b := do(t, req)
		runtime.ReadMemStats(&after)
		if code != http.StatusRequestEntityTooLarge || !strings.Contains(b, "payload_too_large") {
			t.Fatalf("got %d %s", code, b)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
			t.Errorf("the request allocated %d MiB for a %d KiB body", grew>>20, zipped.Len()>>10)
		}
	})
	t.Run("health and readiness", func(t *testing.T) {
		for _, p := range []string{"/healthz", "/readyz"} {
			resp, err := http.Get(base + p)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("%s: %v %v", p, err, resp)
			}
			resp.Body.Close()
		}
	})
}

// TestServeSlowClient: a body that does not arrive within server.read_timeout,
// or a header that does not within server.read_header_timeout, is answered 408
// request_timeout, without the client's address; the collector goes on serving.
func TestServeSlowClient(t *testing.T) {
	base, stop := startApp(t, t.TempDir(), func(c *app.Config) {
		// The write timeout as long as the read timeout, as by default: the
		// 408 of a slow body must still be written.
		c.Server.ReadTimeout, c.Server.WriteTimeout = 300*time.Millisecond, 300*time.Millisecond
		c.Server.ReadHeaderTimeout = 200 * time.Millisecond
	})
	defer stop()
	for _, slow := range []struct{ what, sent, names string }{
		{"body", "POST /v1/events HTTP/1.1\r\nHost: accord\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[{\"schema\":", "server.read_timeout"},
		{"Segment body", "POST /v1/batch HTTP/1.1\r\nHost: accord\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"batch\":", "server.read_timeout"},
		{"chunked Snowplow body", "POST /com.snowplowanalytics.snowplow/tp2 HTTP/1.1\r\nHost: accord\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n", "server.read_timeout"},
		{"header", "POST /v1/events HTTP/1.1\r\nHost: accord\r\nContent-Type: applic", "200ms (server.read_header_timeout)"},
	} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprint(conn, slow.sent)
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("slow %s: %v", slow.what, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		local := conn.LocalAddr().String()
		if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(b), `"reason":"request_timeout"`) ||
			!strings.Contains(string(b), slow.names) || strings.Contains(string(b), local) {
			t.Fatalf("slow %s: %d %s", slow.what, resp.StatusCode, b)
		}
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), "\naccord_server_header_timeouts_total 1\n") {
		t.Errorf("the header timeout is not counted in /metrics")
	}
	if code, body := post(t, base+"/v1/events", `{"schema":"iglu:com.acme/signup/jsonschema/1-0-0","data":{"shop_id":"shop_1","email":"ab@example.com"}}`); code != http.StatusOK {
		t.Fatalf("after the slow client: %d %s", code, body)
	}
}

// TestServeBoundsConnections: slow clients (a request's body begun, never
// finished) hold at most server.max_connections; every other connection is
// answered 503 collector_busy once its header is in, and the collector serves
// again as soon as they go.
func TestServeBoundsConnections(t *testing.T) {
	const max, clients = 20, 100
	base, stop := startApp(t, t.TempDir(), func(c *app.Config) { c.Server.MaxConnections = max })
	defer stop()
	addr := strings.TrimPrefix(base, "http://")
	var slow []net.Conn
	defer func() {
		for _, c := range slow {
			c.Close()
		}
	}()
	refused := 0
	for range clients {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		slow = append(slow, c)
		fmt.Fprint(c, "POST /v1/events HTTP/1.1\r\nHost: accord\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[{\"schema\":")
		c.SetReadDeadline(time.Now().Add(250 * time.Millisecond)) // an admitted one is answered nothing
		if b, _ := io.ReadAll(c); strings.Contains(string(b), " 503 ") && strings.Contains(string(b), `"reason":"collector_busy"`) {
			refused++
			c.Close() // as a client does after a Connection: close answer
		}
	}
	if refused != clients-max {
		t.Errorf("%d of %d slow clients refused, want %d", refused, clients, clients-max)
	}
	metrics := func() string {
		resp, err := http.Get(base + "/metrics") // refused too while the slow ones hold every place
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if m := metrics(); !strings.Contains(m, "collector_busy") {
		t.Errorf("/metrics while full: %.300s", m)
	}
	for _, c := range slow {
		c.Close()
	}
	slow = nil
	var m string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m = metrics(); strings.Contains(m, "accord_server_connections 1\n") {
			break
		}
	}
	// The refusals counted: the slow clients', /metrics's while they held
	// every place, and any of the polls above before their places were free.
	var n int
	fmt.Sscan(strings.TrimPrefix(grepLines(m, "accord_server_connections_refused_total "), "accord_server_connections_refused_total "), &n)
	if !strings.Contains(m, "accord_server_connections 1\n") || n < clients-max+1 {
		t.Errorf("metrics after: %s", grepLines(m, "accord_server_connections"))
	}
	if code, body := post(t, base+"/v1/events", `{"schema":"iglu:com.acme/signup/jsonschema/1-0-0","data":{"shop_id":"shop_1","email":"ab@example.com"}}`); code != http.StatusOK {
		t.Fatalf("after the slow clients: %d %s", code, body)
	}
}

// grepLines returns the lines of s that start with prefix.
func grepLines(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestServeBoundsBodiesInFlight: many producers sending large bodies slowly at
// once hold at most limits.max_inflight_bytes of bodies between them; the others
// wait for room, and every request is answered.
func TestServeBoundsBodiesInFlight(t *testing.T) {
	const budget, size, producers = 2 << 20, 900 << 10, 10
	base, stop := startApp(t, t.TempDir(), func(c *app.Config) {
		c.Limits.MaxBodyBytes, c.Limits.MaxInflightBytes = 1<<20, budget
	})
	defer stop()
	metric := func(name string) float64 {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			t.Error(err)
			return -1
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, name+" "); ok {
				var f float64
				fmt.Sscan(v, &f)
				return f
			}
		}
		t.Errorf("no %s in /metrics", name)
		return -1
	}
	var peak float64
	sampled := make(chan struct{})
	stopSampling := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stopSampling:
				return
			case <-time.After(10 * time.Millisecond):
				peak = max(peak, metric("accord_collector_body_bytes"))
			}
		}
	}()
	// Each body is an array of spaces (a request the decoder refuses), sent in
	// two halves 200 ms apart: its room is held while it arrives.
	body := "[" + strings.Repeat(" ", size-3) + "x]"
	var wg sync.WaitGroup
	codes := make([]int, producers)
	for i := range producers {
		wg.Go(func() {
			pr, pw := io.Pipe()
			go func() {
				pw.Write([]byte(body[:size/2]))
				time.Sleep(200 * time.Millisecond)
				pw.Write([]byte(body[size/2:]))
				pw.Close()
			}()
			req, err := http.NewRequest(http.MethodPost, base+"/v1/events", pr)
			if err != nil {
				t.Error(err)
				return
			}
			req.ContentLength = size
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes[i] = resp.StatusCode
		})
	}
	wg.Wait()
	close(stopSampling)
	<-sampled
	for i, code := range codes {
		if code != http.StatusBadRequest {
			t.Errorf("producer %d: answer %d, want 400 (the body read, then refused by the decoder)", i, code)
		}
	}
	if peak > budget || peak <= 0 {
		t.Errorf("bodies held at most %.0f bytes at once, want between 1 and the budget %d", peak, budget)
	}
	if waits := metric("accord_collector_body_waits_total"); waits < 1 {
		t.Errorf("accord_collector_body_waits_total = %v: no request waited, with %d bodies of %d bytes against %d", waits, producers, size, budget)
	}
	if held := metric("accord_collector_body_bytes"); held != 0 {
		t.Errorf("accord_collector_body_bytes = %v after every request was answered, want 0", held)
	}
}

// TestServeSegment sends a track call as the Segment libraries do (Basic auth with
// the write key as user) through accord serve, and checks the key, the answer and
// the lake row.
func TestServeSegment(t *testing.T) {
	data := t.TempDir()
	base, stop := startApp(t, data, func(c *app.Config) {
		c.Access.WriteKeys = map[string]string{"wk-shop-backend-0001": "shop-backend"}
	})
	track := fmt.Sprintf(`{"type":"track","event":"Signed Up","messageId":"msg-1","anonymousId":"anon-1","timestamp":"2026-11-01T10:00:00Z","properties":{"shop_id":"shop_9","email":%q}}`, planted[0])
	send := func(key string) (int, string) {
		req, err := http.NewRequest(http.MethodPost, base+"/v1/track", strings.NewReader(track))
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth(key, "")
		req.Header.Set("Content-Type", "application/json")
		return do(t, req)
	}
	if code, body := send("wrong-key"); code != http.StatusUnauthorized {
		t.Fatalf("wrong key: %d %s", code, body)
	}
	if code, body := send("wk-shop-backend-0001"); code != http.StatusOK || !strings.Contains(body, `"success":true`) {
		t.Fatalf("track: %d %s", code, body)
	}
	var rows []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && len(rows) == 0; time.Sleep(50 * time.Millisecond) {
		rows = lakeRows(t, filepath.Join(data, "lake"))["com.acme/signup"]
	}
	stop()
	if len(rows) != 1 || !strings.Contains(rows[0], `"event_id":"msg-1"`) || !strings.Contains(rows[0], `"source_app":"shop-backend"`) || !strings.Contains(rows[0], `"source_protocol":"segment"`) {
		t.Fatalf("lake rows: %v", rows)
	}
	if p := plantedIn([]byte(rows[0])); p != "" {
		t.Fatalf("lake holds planted PII %q", p)
	}
}

// TestServeSnowplow sends a tracker-protocol batch (a page view and a
// self-describing signup, as the JavaScript tracker posts them) through accord
// serve and finds both in the lake, scrubbed.
func TestServeSnowplow(t *testing.T) {
	data := t.TempDir()
	base, stop := startApp(t, data, nil)
	ue := fmt.Sprintf(`{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":{"schema":"iglu:com.acme/signup/jsonschema/1-0-0","data":{"shop_id":"shop_3","email":%q}}}`, planted[0])
	ueJSON, _ := json.Marshal(ue)
	body := `{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[` +
		`{"e":"pv","url":"https://shop.example/cart?email=` + planted[0] + `","page":"Cart","aid":"web","p":"web","tv":"js-3.24.0","eid":"sp-pv-1","dtm":"1793527200000","stm":"1793527201000"},` +
		`{"e":"ue","ue_pr":` + string(ueJSON) + `,"aid":"web","p":"web","tv":"js-3.24.0","eid":"sp-ue-1","dtm":"1793527200000","stm":"1793527201000"}]}`
	resp, err := http.Post(base+"/com.snowplowanalytics.snowplow/tp2", "application/json; charset=UTF-8", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"accepted":2`) {
		t.Fatalf("tp2: %d %s", resp.StatusCode, b)
	}
	var rows map[string][]string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		rows = lakeRows(t, filepath.Join(data, "lake"))
		if len(rows["com.acme/signup"]) == 1 && len(rows["com.snowplowanalytics.snowplow/page_view"]) == 1 {
			break
		}
	}
	stop()
	pv, su := rows["com.snowplowanalytics.snowplow/page_view"], rows["com.acme/signup"]
	if len(pv) != 1 || len(su) != 1 {
		t.Fatalf("lake rows: %v", rows)
	}
	if !strings.Contains(pv[0], `"event_id":"sp-pv-1"`) || !strings.Contains(pv[0], `"source_protocol":"snowplow"`) || !strings.Contains(pv[0], "https://shop.example/cart") {
		t.Errorf("page view row: %s", pv[0])
	}
	if !strings.Contains(su[0], `"event_id":"sp-ue-1"`) {
		t.Errorf("signup row: %s", su[0])
	}
	for _, r := range append(pv, su...) {
		if p := plantedIn([]byte(r)); p != "" {
			t.Errorf("lake holds planted PII %q: %s", p, r)
		}
	}
}

// TestConcurrentBodiesStayApart: request bodies (and the native handler's
// decoded events) are pooled and reused, so many
// producers at once, plain and gzip, native and Segment, must each find exactly
// their own events in the lake: a slice of one body kept past its request would
// show up as another request's bytes.
func TestConcurrentBodiesStayApart(t *testing.T) {
	data := t.TempDir()
	base, stop := startApp(t, data, nil)
	const producers, requests = 8, 25
	want := map[string]string{} // event id -> shop id (the marker)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range producers {
		wg.Go(func() {
			for r := range requests {
				n := 1 + (g+r)%6
				var b strings.Builder
				segment := r%5 == 4
				if segment {
					b.WriteString(`{"batch":[`)
				} else {
					b.WriteString("[")
				}
				for k := range n {
					id := fmt.Sprintf("p%d-r%d-e%d", g, r, k)
					// unique (seven fixed-width digits), then a length that varies
					shop := fmt.Sprintf("shop_%d%s", 1000000+g*10000+r*10+k, strings.Repeat("7", (g*7+r*3+k)%40))
					mu.Lock()
					want[id] = shop
					mu.Unlock()
					if k > 0 {
						b.WriteString(",")
					}
					if segment {
						fmt.Fprintf(&b, `{"type":"track","event":"Signed Up","messageId":%q,"userId":"u1","properties":{"shop_id":%q,"email":"x@example.com"}}`, id, shop)
					} else {
						fmt.Fprintf(&b, `{"schema":"iglu:com.acme/signup/jsonschema/1-0-0","event_id":%q,"data":{"shop_id":%q,"email":"x@example.com"}}`, id, shop)
					}
				}
				if segment {
					b.WriteString("]}")
				} else {
					b.WriteString("]")
				}
				url, body := base+"/v1/events", []byte(b.String())
				if segment {
					url = base + "/v1/batch"
				}
				req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				req.Header.Set("Content-Type", "application/json")
				if r%3 == 0 {
					var z bytes.Buffer
					zw := gzip.NewWriter(&z)
					zw.Write(body)
					zw.Close()
					req, _ = http.NewRequest(http.MethodPost, url, &z)
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Content-Encoding", "gzip")
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				answer, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("producer %d request %d: %d %s", g, r, resp.StatusCode, answer)
					return
				}
				// The answer counts this request's events, no more: decoded
				// events are pooled too, and one left in a reused slice would
				// be answered (and stored) again.
				if want := fmt.Sprintf(`"accepted":%d,"rejected":0`, n); !segment && !strings.Contains(string(answer), want) {
					t.Errorf("producer %d request %d: answer %s, want %s", g, r, answer, want)
					return
				}
			}
		})
	}
	wg.Wait()
	var rows []string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && len(rows) < len(want); time.Sleep(100 * time.Millisecond) {
		rows = lakeRows(t, filepath.Join(data, "lake"))["com.acme/signup"]
	}
	stop()
	if len(rows) != len(want) {
		t.Fatalf("%d rows in the lake, want %d", len(rows), len(want))
	}
	for _, row := range rows {
		var r struct {
			EventID string `json:"event_id"`
			ShopID  string `json:"shop_id"`
		}
		if err := json.Unmarshal([]byte(row), &r); err != nil {
			t.Fatal(err)
		}
		if want[r.EventID] != r.ShopID {
			t.Fatalf("event %s stored with shop_id %q, want %q", r.EventID, r.ShopID, want[r.EventID])
		}
	}
}

// TestServeCountsEvents: accord_collector_events_total counts every event of a
// request under its protocol, contract, outcome and reason, whether a batch's
// events with the same labels come in one run or several.
func TestServeCountsEvents(t *testing.T) {
	base, stop := startApp(t, t.TempDir(), nil)
	defer stop()
	const uri = "iglu:com.acme/signup/jsonschema/1-0-0"
	valid := func(i int) string {
		return fmt.Sprintf(`{"schema":%q,"data":{"shop_id":"shop_1","email":"count%d@example.com"}}`, uri, i)
	}
	invalid := fmt.Sprintf(`{"schema":%q,"data":{"shop_id":"shop_1"}}`, uri)
	unknown := `{"schema":"iglu:com.acme/nope/jsonschema/1-0-0","data":{}}`
	batch := "[" + strings.Join([]string{valid(1), valid(2), valid(3), invalid, valid(4), valid(5), unknown, invalid}, ",") + "]"
	if code, body := post(t, base+"/v1/events", batch); code != http.StatusOK || !strings.Contains(body, `"accepted":5,"rejected":3`) {
		t.Fatalf("batch: %d %s", code, body)
	}
	if code, body := post(t, base+"/v1/events", valid(6)); code != http.StatusOK {
		t.Fatalf("single event: %d %s", code, body)
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	got := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if labels, ok := strings.CutPrefix(line, "accord_collector_events_total{"); ok {
			labels, value, _ := strings.Cut(labels, "} ")
			got[labels] = value
		}
	}
	want := map[string]string{
		`outcome="accepted",protocol="native",reason="",schema="` + uri + `"`:                 "6",
		`outcome="rejected",protocol="native",reason="schema_violation",schema="` + uri + `"`: "2",
		`outcome="rejected",protocol="native",reason="schema_not_found",schema="unknown"`:     "1",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("accord_collector_events_total (-want +got):\n%s", diff)
	}
}
