package app_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/accord-dev/accord/internal/app"
	"github.com/accord-dev/accord/internal/collect/loadtest"
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
			benchServe(b, serveHandler(b, bare), loadtest.Load(b, dir), batch.n)
		})
		b.Run("accord/"+batch.name, func(b *testing.B) {
			t := loadtest.Load(b, dir)
			base := serveAccord(b, filepath.Join(dir, "contracts"))
			warmup(b, base, t)
			benchServe(b, base, t, batch.n)
		})
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

// benchServe posts b.N requests of batch events each from 32 concurrent
// keep-alive connections and reports events/s; a request that is not answered 200
// with every event accepted fails the benchmark.
func benchServe(b *testing.B, base string, t *loadtest.Template, batch int) {
	const conns = 32
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns,
		MaxConnsPerHost: conns, DisableCompression: true}}
	b.Cleanup(client.CloseIdleConnections)
	var streams, bad atomic.Uint64
	b.SetParallelism(max(1, conns/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		stream := streams.Add(1)
		var n uint64
		var body []byte
		for pb.Next() {
			body = t.AppendBody(body[:0], batch, stream, &n)
			resp, err := client.Post(base+"/v1/events", "application/json", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			answer, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK || !bytes.Contains(answer, []byte(`"rejected":0`)) {
				if bad.Add(1) == 1 {
					b.Errorf("status %d: %.300s (%v)", resp.StatusCode, answer, err)
				}
			}
		}
	})
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}
