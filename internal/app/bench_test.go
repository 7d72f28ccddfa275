package app_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
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
	"sync/atomic"
	"testing"

	"github.com/accord-dev/accord/internal/app"
	"github.com/accord-dev/accord/internal/collect/loadtest"
	"github.com/accord-dev/accord/internal/jsonscan"
)

// BenchmarkServe is accord serve in-process on the reference workload, over
// loopback HTTP with keep-alive connections: the whole per-event cost (HTTP,
// decode, validate, scrub with the embedded vault, envelope, fsync'd disk buffer,
// and the lake loader running beside it). Bare is a net/http handler that only
// reads the body, measured in the same run: compare events/s as ratios. For a CPU
// profile of the collector under load:
//
//	go test ./internal/app -run '^$' -bench 'Serve/accord/single' -benchtime 10s -cpuprofile cpu.prof
func BenchmarkServe(b *testing.B) {
	dir := loadtest.Dir(b)
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"accepted":1,"rejected":0,"events":[]}`+"\n")
	})
	for _, batch := range []struct {
		name string
		n    int
	}{{"single", 1}, {"batch100", 100}} {
		b.Run("bare/"+batch.name, func(b *testing.B) {
			benchServe(b, serveHandler(b, bare)+"/v1/events", batch.n, nativeBodies(loadtest.Load(b, dir), batch.n))
		})
		b.Run("accord/"+batch.name, func(b *testing.B) {
			t := loadtest.Load(b, dir)
			base := serveAccord(b, filepath.Join(dir, "contracts"))
			warmup(b, base, t)
			benchServe(b, base+"/v1/events", batch.n, nativeBodies(t, batch.n))
		})
	}
}

// BenchmarkServeProtocols is BenchmarkServe's accord/batch100 for each ingest
// protocol, in one run so that the events/s compare as ratios: the reference
// event in a native array, as track calls in a Segment /v1/batch (its data as
// properties, with a userId and analytics-node's context.library), and as
// self-describing events in a Snowplow tp2 payload_data (base64url ue_px with a
// web_page context in cx, as the JavaScript tracker sends them). Then single events:
// native, and the same Snowplow event as a GET /i pixel request. Every event
// has its own id and one of the 10,000 buyers' emails. The registry is the
// reference one with x-event-names added for Segment, and the bundled
// web_page contract.
func BenchmarkServeProtocols(b *testing.B) {
	dir := loadtest.Dir(b)
	registry := protocolRegistry(b, dir)
	const batch = 100
	webPage := base64.RawURLEncoding.EncodeToString([]byte(`{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0","data":[{"schema":"iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0","data":{"id":"5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"}}]}`))
	// snowplowParams writes the tracker parameters of the JavaScript tracker's
	// self-describing event ev in the format of a tp2 item (JSON) or of a
	// query string.
	snowplowParams := func(dst []byte, id string, ev []byte, query bool) []byte {
		wrapped := make([]byte, 0, len(ev)+100)
		wrapped = append(append(append(wrapped, `{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":`...), ev...), '}')
		open, sep, eq, close := `{"`, `","`, `":"`, `"}`
		if query {
			open, sep, eq, close = "", "&", "=", ""
		}
		dst = append(dst, open...)
		for _, kv := range [][2]string{{"e", "ue"}, {"eid", id}, {"tv", "js-3.24.0"}, {"tna", "sp"}, {"aid", "shop-web"},
			{"p", "web"}, {"dtm", "1700000000123"}, {"stm", "1700000000456"}, {"cx", webPage}} {
			dst = append(append(append(append(dst, kv[0]...), eq...), kv[1]...), sep...)
		}
		dst = append(dst, "ue_px"+eq...)
		dst = base64.RawURLEncoding.AppendEncode(dst, wrapped)
		return append(dst, close...)
	}
	for _, proto := range []struct {
		name, path string
		batch      int
		body       func(t *loadtest.Template) func() bodies
	}{
		{"native/batch100", "/v1/events", batch, func(t *loadtest.Template) func() bodies { return nativeBodies(t, batch) }},
		{"segment/batch100", "/v1/batch", batch, func(t *loadtest.Template) func() bodies {
			return eachEvent(b, t, batch, `{"batch":[`, `]}`, func(dst []byte, id string, ev, data []byte) []byte {
				dst = append(dst, `{"type":"track","event":"Checkout Completed","messageId":"`...)
				dst = append(dst, id...)
				dst = append(dst, `","userId":"u_8f3a2c91","context":{"library":{"name":"analytics-node","version":"2.1.0"}},"properties":`...)
				dst = append(dst, data...)
				return append(dst, '}')
			})
		}},
		{"snowplow/batch100", "/com.snowplowanalytics.snowplow/tp2", batch, func(t *loadtest.Template) func() bodies {
			return eachEvent(b, t, batch, `{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[`, `]}`,
				func(dst []byte, id string, ev, _ []byte) []byte { return snowplowParams(dst, id, ev, false) })
		}},
		{"native/single", "/v1/events", 1, func(t *loadtest.Template) func() bodies { return nativeBodies(t, 1) }},
		{"snowplow/pixel", "/i?", 1, func(t *loadtest.Template) func() bodies {
			return eachEvent(b, t, 1, "", "", func(dst []byte, id string, ev, _ []byte) []byte { return snowplowParams(dst, id, ev, true) })
		}},
	} {
		b.Run(proto.name, func(b *testing.B) {
			t := loadtest.Load(b, dir)
			base := serveAccord(b, registry)
			warmup(b, base, t)
			benchServe(b, base+proto.path, proto.batch, proto.body(t))
		})
	}
}

// protocolRegistry is a registry of the reference contract, declaring the
// Segment event name "Checkout Completed", and the bundled web_page contract.
func protocolRegistry(b *testing.B, bench string) string {
	b.Helper()
	reg := b.TempDir()
	const checkout = "com.acme/checkout_completed/jsonschema/1-2-0.yaml"
	src, err := os.ReadFile(filepath.Join(bench, "contracts", checkout))
	if err != nil {
		b.Fatal(err)
	}
	src = append(src, "\nx-event-names: [Checkout Completed]\n"...)
	const webPage = "com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0.yaml"
	page, err := os.ReadFile(filepath.Join("..", "..", "examples", "contracts", webPage))
	if err != nil {
		b.Fatal(err)
	}
	for name, content := range map[string][]byte{checkout: src, webPage: page} {
		path := filepath.Join(reg, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(path, content, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return reg
}

// eachEvent makes bodies of batch events between head and tail, separated by
// commas, each written by event from its id, the native event and its data.
func eachEvent(b *testing.B, t *loadtest.Template, batch int, head, tail string, event func(dst []byte, id string, ev, data []byte) []byte) func() bodies {
	return func() bodies {
		var ev []byte
		return func(dst []byte, stream uint64, n *uint64) []byte {
			dst = append(dst, head...)
			for i := range batch {
				if i > 0 {
					dst = append(dst, ',')
				}
				*n++
				ev = t.AppendEvent(ev[:0], stream, *n)
				var data []byte
				if _, err := jsonscan.Members(ev, 0, func(k []byte, _ bool, start, end int) error {
					if string(k) == "data" {
						data = ev[start:end]
					}
					return nil
				}, 0); err != nil || data == nil {
					b.Fatalf("the reference event has no data: %v", err)
				}
				dst = event(dst, t.EventID(stream, *n), ev, data)
			}
			return append(dst, tail...)
		}
	}
}

// serveAccord serves a fresh app with the embedded default (disk buffer, lake,
// embedded vault) on a loopback port until the benchmark ends.
func serveAccord(b *testing.B, registry string) string {
	b.Helper()
	cfg := app.Default()
	cfg.Registry, cfg.Data = registry, b.TempDir()
	cfg.Log.Level = "warn"
	if err := cfg.Validate(); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		cancel()
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		b.Fatal(errors.Join(err, a.Close(context.Background())))
	}
	done := make(chan error, 1)
	go func() { done <- a.ServeListener(ctx, ln, nil) }()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// serveHandler serves h on a loopback port with accord serve's timeouts.
func serveHandler(b *testing.B, h http.Handler) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	d := app.Default().Server
	srv := &http.Server{Handler: h, ReadHeaderTimeout: d.ReadHeaderTimeout, ReadTimeout: d.ReadTimeout,
		WriteTimeout: d.WriteTimeout, IdleTimeout: d.IdleTimeout, MaxHeaderBytes: 64 << 10}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// warmup sends one event of every buyer, so that the measurement finds every
// buyer's vault key cached (steady state) rather than creating them:
// BenchmarkPipeline/new_subject in internal/collect measures that case.
func warmup(b *testing.B, base string, t *loadtest.Template) {
	b.Helper()
	bodies := t.WarmupBodies(100)
	var wg sync.WaitGroup
	var next atomic.Int64
	errs := make([]error, 16)
	for w := range errs {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(bodies); i = int(next.Add(1)) - 1 {
				if errs[w] = postAll(base, bodies[i]); errs[w] != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		b.Fatalf("warming up: %v", err)
	}
}

// postAll posts body and fails unless every event was accepted.
func postAll(base string, body []byte) error {
	resp, err := http.Post(base+"/v1/events", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(answer, []byte(`"rejected":0`)) {
		return fmt.Errorf("status %d: %.300s", resp.StatusCode, answer)
	}
	return nil
}

// bodies appends to dst a request body of the next events of stream; *n
// counts the stream's events. One is made for each client goroutine, which
// it may keep scratch space for.
type bodies func(dst []byte, stream uint64, n *uint64) []byte

// nativeBodies makes native bodies of batch events (one bare event for 1).
func nativeBodies(t *loadtest.Template, batch int) func() bodies {
	return func() bodies {
		return func(dst []byte, stream uint64, n *uint64) []byte { return t.AppendBody(dst, batch, stream, n) }
	}
}

// benchServe posts b.N requests of batch events each to url from 32 concurrent
// keep-alive connections and reports events/s; a request that is not answered
// 200 with every event accepted fails the benchmark. A url ending in "?" gets
// GET requests with the bodies as query strings (Snowplow's pixel, answered
// with a GIF whatever became of the event): then no event may be counted
// rejected in /metrics.
func benchServe(b *testing.B, url string, batch int, newBody func() bodies) {
	pixel := strings.HasSuffix(url, "?")
	const conns = 32
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns,
		MaxConnsPerHost: conns, DisableCompression: true}}
	b.Cleanup(client.CloseIdleConnections)
	var streams, bad atomic.Uint64
	b.SetParallelism(max(1, conns/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		stream := streams.Add(1)
		body := newBody()
		var n uint64
		var buf []byte
		for pb.Next() {
			var resp *http.Response
			var err error
			if pixel {
				buf = body(append(buf[:0], url...), stream, &n)
				resp, err = client.Get(string(buf))
			} else {
				buf = body(buf[:0], stream, &n)
				resp, err = client.Post(url, "application/json", bytes.NewReader(buf))
			}
			if err != nil {
				b.Error(err)
				return
			}
			answer, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK || !pixel && !bytes.Contains(answer, []byte(`"rejected":0`)) {
				if bad.Add(1) == 1 {
					b.Errorf("status %d: %.300s (%v)", resp.StatusCode, answer, err)
				}
			}
		}
	})
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
	if pixel {
		b.StopTimer()
		base := url[:strings.Index(url, "//")+2]
		base += strings.SplitN(url[len(base):], "/", 2)[0]
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			b.Fatal(err)
		}
		metrics, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			b.Fatal(err)
		}
		accepted := false
		for _, line := range strings.Split(string(metrics), "\n") {
			if !strings.HasPrefix(line, "accord_collector_events_total{") || strings.HasSuffix(line, " 0") {
				continue
			}
			if strings.Contains(line, `outcome="rejected"`) {
				b.Fatalf("events were rejected: %s", line)
			}
			accepted = accepted || strings.Contains(line, `protocol="snowplow"`)
		}
		if !accepted {
			b.Fatal("/metrics counts no accepted Snowplow event")
		}
	}
}
