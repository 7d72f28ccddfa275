// Package e2e_test holds the lake's tests through accord serve's HTTP API: what
// a producer sends, as the collector turns it into envelopes, until the rows
// are in the lake's files. It is apart from package lake's own tests so that
// those do not depend on the whole server building.
package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/accord-dev/accord/internal/app"
)

// serve runs accord serve on the example contracts with its data under data,
// on 127.0.0.1, until stop is called.
func serve(t *testing.T, data string) (base string, stop func()) {
	t.Helper()
	cfg := app.Default()
	cfg.Registry, cfg.Data = "../../../../examples/contracts", data
	cfg.Sinks.Lake.RotateInterval = 50 * time.Millisecond
	cfg.Access.WriteKeys = map[string]string{"wk-e2e-0001": "shop-backend"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var logs bytes.Buffer
	a, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(&logs, nil)), io.Discard)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.ServeListener(ctx, ln, nil) }()
	return a.Scheme() + "://" + ln.Addr().String(), func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v\n%s", err, logs.String())
		}
	}
}

func post(t *testing.T, url, body string, auth bool) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if auth {
		req.SetBasicAuth("wk-e2e-0001", "")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

// lakeFile is one published file of a table: its partition folder and rows.
type lakeFile struct {
	partition string
	rows      []map[string]any
}

func readTable(t *testing.T, dir string) []lakeFile {
	t.Helper()
	var out []lakeFile
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasPrefix(d.Name(), "part-") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		r := parquet.NewGenericReader[map[string]any](bytes.NewReader(data), f.Schema())
		defer r.Close()
		rows := make([]map[string]any, f.NumRows())
		for i := range rows {
			rows[i] = map[string]any{}
		}
		if n, err := r.Read(rows); n != len(rows) {
			return fmt.Errorf("%s: read %d of %d rows: %w", path, n, len(rows), err)
		}
		out = append(out, lakeFile{partition: filepath.Base(filepath.Dir(path)), rows: rows})
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return out
}

// TestServeLakeEnvelope sends, as Segment's and Snowplow's libraries do, events
// whose producer times are the years 9999 and 1 and events that name their
// tracker (Segment context.library, Snowplow tv) and a true timestamp (ttm):
// every row is in the partition of the day the collector received it, keeps
// the producer's event_time, and has source_tracker and true_timestamp.
func TestServeLakeEnvelope(t *testing.T) {
	data := t.TempDir()
	base, stop := serve(t, data)
	defer func() {
		if stop != nil {
			stop()
		}
	}()
	before := time.Now().UTC()
	library := `"context":{"library":{"name":"analytics-node","version":"6.2.0"}}`
	for id, ts := range map[string]string{"seg-future": "9999-12-31T23:59:59Z", "seg-past": "0001-01-01T00:00:00Z"} {
		post(t, base+"/v1/track", `{"type":"track","event":"Signed Up","messageId":"`+id+`","anonymousId":"anon-e2e","timestamp":"`+ts+`",`+library+`,"properties":{"shop_id":"shop_9","email":"e2e@example.com"}}`, true)
	}
	ue, err := json.Marshal(`{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":{"schema":"iglu:com.acme/signup/jsonschema/1-0-0","data":{"shop_id":"shop_3","email":"e2e@example.com"}}}`)
	if err != nil {
		t.Fatal(err)
	}
	const ttm = 1793527200000 // 2026-11-01T10:00:00Z
	body := fmt.Sprintf(`{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[{"e":"ue","ue_pr":%s,"aid":"web","p":"srv","tv":"java-2.1.0","eid":"sp-ttm","dtm":"1793527100000","stm":"1793527300000","ttm":"%d"}]}`, ue, ttm)
	if got := post(t, base+"/com.snowplowanalytics.snowplow/tp2", body, false); !strings.Contains(got, `"accepted":1`) {
		t.Fatalf("tp2: %s", got)
	}
	table := filepath.Join(data, "lake", "com.acme", "signup", "1")
	var files []lakeFile
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if files = readTable(t, table); rowCount(files) >= 3 {
			break
		}
	}
	stop()
	stop = nil
	after := time.Now().UTC()
	rows := map[string]map[string]any{}
	for _, f := range files {
		// The day of receipt: the day of the test, or the next if it ran over midnight (UTC).
		if f.partition != "date="+before.Format(time.DateOnly) && f.partition != "date="+after.Format(time.DateOnly) {
			t.Errorf("a file in %s, want the day the collector received its events (date=%s)", f.partition, before.Format(time.DateOnly))
		}
		for _, r := range f.rows {
			rows[r["event_id"].(string)] = r
		}
	}
	if len(rows) != 3 {
		t.Fatalf("lake rows %v, want seg-future, seg-past and sp-ttm", rows)
	}
	micros := func(s string) int64 {
		at, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return at.UnixMicro()
	}
	for id, want := range map[string]map[string]any{
		"seg-future": {"event_time": micros("9999-12-31T23:59:59Z"), "source_tracker": "analytics-node/6.2.0", "true_timestamp": nil},
		"seg-past":   {"event_time": micros("0001-01-01T00:00:00Z"), "source_tracker": "analytics-node/6.2.0", "true_timestamp": nil},
		"sp-ttm":     {"event_time": int64(ttm * 1000), "source_tracker": "java-2.1.0", "true_timestamp": int64(ttm * 1000)},
	} {
		for col, w := range want {
			if got := rows[id][col]; got != w {
				t.Errorf("%s: %s = %v (%T), want %v", id, col, got, got, w)
			}
		}
	}
}

func rowCount(files []lakeFile) int {
	n := 0
	for _, f := range files {
		n += len(f.rows)
	}
	return n
}
