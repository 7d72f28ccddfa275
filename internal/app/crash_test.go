package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/accord-dev/accord/internal/app"
	"github.com/accord-dev/accord/internal/collect"
	"github.com/accord-dev/accord/internal/collect/loadtest"
	"github.com/accord-dev/accord/internal/sink/lake"
)

// TestNewOnDataInUse opens a second app on a data folder that a first one holds
// (as a restart does while the old process lingers): New must fail with an error
// and release what it opened, not crash.
func TestNewOnDataInUse(t *testing.T) {
	data := t.TempDir()
	cfg := app.Default()
	cfg.Registry, cfg.Data = registryDir, data
	log := slog.New(slog.DiscardHandler)
	first, err := app.New(context.Background(), cfg, log, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close(context.Background())
	second, err := app.New(context.Background(), cfg, log, io.Discard)
	if err == nil {
		second.Close(context.Background())
		t.Fatal("a second app opened the data folder the first one holds")
	}
	if second != nil {
		t.Errorf("New returned an app with the error %v", err)
	}
}

// TestNewFailsAfterBuffer makes a step after the buffer opens fail (the bad-row
// folder is a file): New must return that step's error and close the buffer,
// not crash in its cleanup, and the data folder must open again.
func TestNewFailsAfterBuffer(t *testing.T) {
	data := t.TempDir()
	if err := os.WriteFile(filepath.Join(data, "bad"), []byte("not a folder"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := app.Default()
	cfg.Registry, cfg.Data = registryDir, data
	log := slog.New(slog.DiscardHandler)
	a, err := app.New(context.Background(), cfg, log, io.Discard)
	if err == nil {
		a.Close(context.Background())
		t.Fatal("New opened an app whose bad-row folder is a file")
	}
	if !strings.Contains(err.Error(), "bad") {
		t.Errorf("the error does not name the bad-row folder: %v", err)
	}
	if err := os.Remove(filepath.Join(data, "bad")); err != nil {
		t.Fatal(err)
	}
	// The buffer was closed (its lock released): the folder opens.
	a, err = app.New(context.Background(), cfg, log, io.Discard)
	if err != nil {
		t.Fatalf("the data folder does not open after a failed New: %v", err)
	}
	a.Close(context.Background())
}

// crashEvent is the reference event under the bundled checkout_completed contract.
const crashEvent = `{"schema":"iglu:com.acme/checkout_completed/jsonschema/1-0-0","data":{"event_id":"3f1c9a8e-2b4d-4c6e-9f1a-7b8c9d0e1f2a","shop_id":"shop_1042","timestamp":"2026-11-01T12:34:56.789Z","user_id":"u_8f3a2c91","email":"jane.doe@example.com","ip":"81.2.69.142","user_agent":"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148","platform":"ios","app_version":"5.12.3","session_number":42,"order_total_cents":12999,"currency":"EUR","is_first_purchase":false,"coupon_code":null,"device":{"os":"iOS","os_version":"17.4.1","model":"iPhone15,2","locale":"de-DE"},"items":[{"sku":"SKU-10023","quantity":2,"price_cents":4999,"category":"shoes"}]}}`

// TestCrashLosesNoAcknowledgedEvent is the collector's promise under a crash:
// accord serve (the binary, on the embedded default; segments of 1 MiB, so
// that it rolls into blanks written ahead) is SIGKILLed while several
// producers send events; restarted on the same data folder, it must deliver every
// event it answered "accepted" to the lake, exactly once.
func TestCrashLosesNoAcknowledgedEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the accord binary")
	}
	bin, data, config := binaryServe(t, `server: {addr: "127.0.0.1:0", shutdown_timeout: 5s}
buffer: {segment_bytes: 1048576}
sinks: {lake: {enabled: true, rotate_interval: 100ms}}
log: {level: warn}
`)
	// The whole scenario, kill and recovery included, is bounded.
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	tmpl, err := loadtest.New([]byte(crashEvent), 50, fmt.Sprintf("%08x", time.Now().UnixNano()&0xffffffff))
	if err != nil {
		t.Fatal(err)
	}

	first := startServe(ctx, t, bin, config)
	const producers = 8
	var (
		mu    sync.Mutex
		acked = map[string]bool{}
		// resend holds bodies sent again after the restart, with the same event
		// ids: the lake must hold each of their events once.
		resend [][]byte
		sent   atomic.Int64
		wg     sync.WaitGroup
		stop   = make(chan struct{})
	)
	client := &http.Client{Timeout: 5 * time.Second}
	for p := range producers {
		wg.Go(func() {
			var n uint64
			var body []byte
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				body = tmpl.AppendBody(body[:0], 1+i%3*9, uint64(p), &n) // 1, 10 or 19 events
				sent.Add(1)
				ids, err := postAccepted(client, first.base, body)
				mu.Lock()
				if err != nil || i == 0 {
					// Producers retry what got no answer (it may have been stored), and
					// the first request stands for an answer lost on the way back.
					if len(resend) < 4*producers {
						resend = append(resend, slices.Clone(body))
					}
				}
				for _, id := range ids {
					acked[id] = true
				}
				mu.Unlock()
				if err != nil {
					time.Sleep(5 * time.Millisecond) // the server is dead: keep trying until told to stop
				}
			}
		})
	}
	// Kill while the producers are still sending, once the lake holds some events
	// (so that redelivery meets events already written) and enough were
	// acknowledged.
	enough := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 300
	}
	for (!enough() || len(lakeIDs(t, data)) == 0) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.cmd.Wait()
	time.Sleep(50 * time.Millisecond) // producers see the dead server
	close(stop)
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatalf("the lake got no file before the deadline\n%s", first.log())
	}
	inLake := len(lakeIDs(t, data))
	t.Logf("%d requests sent, %d events acknowledged before the kill, %d in the lake at the kill", sent.Load(), len(acked), inLake)
	if len(acked) == 0 {
		t.Fatalf("no event was acknowledged\n%s", first.log())
	}

	second := startServe(ctx, t, bin, config)
	for _, body := range resend {
		ids, err := postAccepted(client, second.base, body)
		if err != nil {
			t.Fatalf("sending again after the restart: %v\n%s", err, second.log())
		}
		for _, id := range ids {
			acked[id] = true
		}
	}
	t.Logf("%d requests sent again after the restart", len(resend))
	missing := func() []string {
		got := lakeIDs(t, data)
		var out []string
		for id := range acked {
			if got[id] == 0 {
				out = append(out, id)
			}
		}
		return out
	}
	for len(missing()) > 0 && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := second.cmd.Wait(); err != nil {
		t.Errorf("accord serve did not stop cleanly after SIGTERM: %v\n%s", err, second.log())
	}
	if m := missing(); len(m) > 0 {
		slices.Sort(m)
		t.Errorf("%d of %d acknowledged events are not in the lake after the restart, e.g. %v", len(m), len(acked), m[:min(5, len(m))])
	}
	for id, n := range lakeIDs(t, data) {
		if n > 1 {
			t.Errorf("event %s is %d times in the lake", id, n)
		}
	}
}

// TestStopDeliversBacklog stops accord serve with SIGTERM right after it
// acknowledged events that its loaders have not delivered (the lake commits
// every hour): the clean stop must deliver them first, so that the lake and the
// bad rows hold every acknowledged event without a restart, and say so.
func TestStopDeliversBacklog(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the accord binary")
	}
	bin, data, config := binaryServe(t, `server: {addr: "127.0.0.1:0", shutdown_timeout: 10s}
sinks: {lake: {enabled: true, rotate_interval: 1h}}
log: {level: info}
`)
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	tmpl, err := loadtest.New([]byte(crashEvent), 50, fmt.Sprintf("%08x", time.Now().UnixNano()&0xffffffff))
	if err != nil {
		t.Fatal(err)
	}
	s := startServe(ctx, t, bin, config)
	client := &http.Client{Timeout: 5 * time.Second}
	acked := map[string]bool{}
	var body []byte
	var n uint64
	for i := range 20 {
		body = tmpl.AppendBody(body[:0], 25, uint64(i%4), &n)
		ids, err := postAccepted(client, s.base, body)
		if err != nil {
			t.Fatalf("sending: %v\n%s", err, s.log())
		}
		for _, id := range ids {
			acked[id] = true
		}
	}
	// Two events their contract rejects: bad rows.
	bad := strings.Replace(crashEvent, `"order_total_cents":12999`, `"order_total_cents":"lots"`, 1)
	for _, id := range []string{"0e5e3f7a-1b2c-4d5e-8f90-a1b2c3d4e5f6", "0e5e3f7a-1b2c-4d5e-8f90-a1b2c3d4e5f7"} {
		resp, err := client.Post(s.base+"/v1/events", "application/json", strings.NewReader(strings.Replace(bad, "3f1c9a8e-2b4d-4c6e-9f1a-7b8c9d0e1f2a", id, 1)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("an invalid event answered %d", resp.StatusCode)
		}
	}
	if got := lakeIDs(t, data); len(got) != 0 {
		t.Fatalf("the lake holds %d events before the stop: its files should commit only hourly", len(got))
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-s.ended
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("accord serve did not stop cleanly after SIGTERM: %v\n%s", err, s.log())
	}
	got := lakeIDs(t, data)
	if len(got) != len(acked) {
		t.Errorf("the lake holds %d events after the stop, %d were acknowledged", len(got), len(acked))
	}
	for id := range acked {
		if got[id] != 1 {
			t.Errorf("acknowledged event %s is %d times in the lake", id, got[id])
			break
		}
	}
	rows, err := filepath.Glob(filepath.Join(data, "bad", "date=*", "*.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	var badRows int
	for _, f := range rows {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		badRows += bytes.Count(b, []byte("\n"))
	}
	if badRows != 2 {
		t.Errorf("%d bad rows after the stop, want 2", badRows)
	}
	if !strings.Contains(s.log(), "every buffered event was delivered to the sinks before the stop") {
		t.Errorf("the stop does not say the backlog was delivered\n%s", s.log())
	}
}

// binaryServe builds accord into a temporary folder and writes a config for it
// there: the bundled contracts, a data folder of its own and settings (YAML
// lines of the config's other sections).
func binaryServe(t *testing.T, settings string) (bin, data, config string) {
	t.Helper()
	dir := t.TempDir()
	bin = filepath.Join(dir, "accord")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/accord").CombinedOutput(); err != nil {
		t.Fatalf("building accord: %v\n%s", err, out)
	}
	registry, err := filepath.Abs(registryDir)
	if err != nil {
		t.Fatal(err)
	}
	data = filepath.Join(dir, "data")
	config = filepath.Join(dir, "accord.yaml")
	if err := os.WriteFile(config, fmt.Appendf(nil, "version: 1\nregistry: %s\ndata: %s\n%s", registry, data, settings), 0o600); err != nil {
		t.Fatal(err)
	}
	return bin, data, config
}

// serve is a running accord serve process.
type serve struct {
	cmd  *exec.Cmd
	base string
	mu   sync.Mutex
	logs bytes.Buffer
	// ended is closed when the process has closed its stderr (it exited): its
	// log is whole then.
	ended chan struct{}
}

func (s *serve) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

// startServe starts accord serve with config and waits for the address it
// prints; the process is killed at the end of the test if still running.
func startServe(ctx context.Context, t *testing.T, bin, config string) *serve {
	t.Helper()
	s := &serve{cmd: exec.Command(bin, "serve", "--config", config), ended: make(chan struct{})}
	s.cmd.Stdout = io.Discard
	s.start(ctx, t)
	return s
}

// start starts s's command, whose Stdout is set, and waits for the address it
// prints; the process is killed at the end of the test if still running.
func (s *serve) start(ctx context.Context, t *testing.T) {
	t.Helper()
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	})
	addr := make(chan string, 1)
	go func() {
		defer close(s.ended)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.logs.WriteString(line + "\n")
			s.mu.Unlock()
			if _, url, ok := strings.Cut(line, " is collecting on "); ok {
				select {
				case addr <- url:
				default:
				}
			}
		}
	}()
	select {
	case s.base = <-addr:
	case <-ctx.Done():
		t.Fatalf("accord serve did not start\n%s", s.log())
	}
}

// postAccepted posts body and returns the ids of the events answered accepted.
func postAccepted(client *http.Client, base string, body []byte) ([]string, error) {
	resp, err := client.Post(base+"/v1/events", "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var answer collect.Response
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return nil, err
	}
	var ids []string
	for _, r := range answer.Events {
		if r.Accepted() {
			ids = append(ids, r.EventID)
		}
	}
	return ids, nil
}

// lakeIDs counts the event ids of every published lake file under data.
func lakeIDs(t *testing.T, data string) map[string]int {
	t.Helper()
	ids := map[string]int{}
	err := filepath.WalkDir(filepath.Join(data, "lake"), func(path string, d os.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasPrefix(d.Name(), "part-") || filepath.Ext(path) != ".parquet" {
			return nil
		}
		got, err := lake.ReadEventIDs(path)
		if err != nil {
			return err
		}
		for _, id := range got {
			ids[id]++
		}
		return nil
	})
	if err != nil {
		t.Fatalf("reading the lake: %v", err)
	}
	return ids
}

// TestStdoutReaderGone runs accord serve --stdout with its standard output a
// pipe whose reader has gone (a `| head` that ended): the collector must stay
// up, go on accepting events, and say why the stdout sink fails, instead of
// being ended by SIGPIPE.
func TestStdoutReaderGone(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the accord binary")
	}
	bin, _, config := binaryServe(t, `server: {addr: "127.0.0.1:0", shutdown_timeout: 2s}
log: {level: warn}
`)
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close() // the reader is gone before the first envelope
	s := &serve{cmd: exec.Command(bin, "serve", "--stdout", "--config", config), ended: make(chan struct{})}
	s.cmd.Stdout = w
	s.start(ctx, t)
	w.Close()
	client := &http.Client{Timeout: 5 * time.Second}
	for i := range 3 {
		body := strings.Replace(crashEvent, "3f1c9a8e-2b4d-4c6e-9f1a-7b8c9d0e1f2a", fmt.Sprintf("3f1c9a8e-2b4d-4c6e-9f1a-7b8c9d0e1f%02d", i), 1)
		ids, err := postAccepted(client, s.base, []byte(body))
		if err != nil || len(ids) != 1 {
			t.Fatalf("event %d: %v %v\n%s", i, ids, err, s.log())
		}
		time.Sleep(100 * time.Millisecond) // the stdout loader tries to write it
	}
	for !strings.Contains(s.log(), "writing envelopes to stdout") && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	resp, err := client.Get(s.base + "/healthz")
	if err != nil {
		t.Fatalf("accord serve is gone after its stdout reader went: %v\n%s", err, s.log())
	}
	resp.Body.Close()
	if !strings.Contains(s.log(), "broken pipe") {
		t.Errorf("the log does not say why the stdout sink fails\n%s", s.log())
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-s.ended
	if err := s.cmd.Wait(); err != nil {
		t.Errorf("accord serve did not stop cleanly: %v\n%s", err, s.log())
	}
}
