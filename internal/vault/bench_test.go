package vault_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/accord-dev/accord/internal/vault"
)

func benchVault(b *testing.B) (*vault.Vault, *vault.BoltStore) {
	b.Helper()
	return boltVault(b, vault.Options{})
}

// boltVault opens a vault on a bolt store in a temporary folder, with a random
// master key unless opts has one, and closes it when the test ends.
func boltVault(tb testing.TB, opts vault.Options) (*vault.Vault, *vault.BoltStore) {
	tb.Helper()
	s, err := vault.OpenBolt(filepath.Join(tb.TempDir(), "vault.db"), vault.BoltOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	if opts.MasterKey == nil {
		opts.MasterKey = make([]byte, vault.MasterKeyLen)
		if _, err := rand.Read(opts.MasterKey); err != nil {
			tb.Fatal(err)
		}
	}
	v, err := vault.New(context.Background(), s, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := v.Close(); err != nil {
			tb.Error(err)
		}
	})
	return v, s
}

// BenchmarkTokenizeCached is the collector's hot path: a subject seen before, a value
// tokenized before.
func BenchmarkTokenizeCached(b *testing.B) {
	v, _ := benchVault(b)
	ctx := context.Background()
	if _, err := v.Tokenize(ctx, "shop-a", "alice@example.com", "alice@example.com"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu := startCPU(b)
	for b.Loop() {
		if _, err := v.Tokenize(ctx, "shop-a", "alice@example.com", "alice@example.com"); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report(b)
}

// BenchmarkTokenizeCachedParallel spreads the hot path over 4096 cached subjects and
// every core.
func BenchmarkTokenizeCachedParallel(b *testing.B) {
	v, _ := benchVault(b)
	ctx := context.Background()
	const subjects = 4096
	emails := make([]string, subjects)
	for i := range emails {
		emails[i] = fmt.Sprintf("user%d@example.com", i)
	}
	var wg sync.WaitGroup
	for w := range 64 {
		wg.Go(func() {
			for i := w; i < subjects; i += 64 {
				if _, err := v.Tokenize(ctx, "shop-a", emails[i], emails[i]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	var next atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU(b)
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1000))
		for pb.Next() {
			e := emails[i%subjects]
			if _, err := v.Tokenize(ctx, "shop-a", e, e); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
	cpu.report(b)
}

// BenchmarkTokenizeColdKey tokenizes a new subject each time: a key is created and
// the first mapping stored, durably (one fsync, shared by concurrent callers).
func BenchmarkTokenizeColdKey(b *testing.B) {
	for _, workers := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			v, _ := benchVault(b)
			ctx := context.Background()
			var next atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(max(1, workers/max(1, runtimeProcs())))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					subject := "cold-" + strconv.FormatInt(next.Add(1), 10) + "@example.com"
					if _, err := v.Tokenize(ctx, "shop-a", subject, subject); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkForget forgets one subject (under every controller) per iteration and
// reports the latency percentiles and the pages each forget's commit writes (the meta
// page included; the scrubs that follow forgets write outside these counts).
func BenchmarkForget(b *testing.B) {
	v, s := benchVault(b)
	ctx := context.Background()
	// Create the subjects to forget, concurrently so that their fsyncs are shared.
	subjects := b.N
	var wg sync.WaitGroup
	for w := range 64 {
		wg.Go(func() {
			for i := w; i < subjects; i += 64 {
				s := fmt.Sprintf("forget-%d@example.com", i)
				for _, shop := range []string{"shop-a", "shop-b"} {
					if _, err := v.TokenizeAll(ctx, shop, s, []string{s, "+1 555 " + strconv.Itoa(i)}); err != nil {
						b.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	lat := make([]time.Duration, 0, b.N)
	pages := s.PageWrites()
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		res, err := v.Forget(ctx, "bench", fmt.Sprintf("forget-%d@example.com", i), "")
		lat = append(lat, time.Since(start))
		if err != nil || res.KeysDestroyed != 2 {
			b.Fatalf("Forget: %+v, %v", res, err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(s.PageWrites()-pages)/float64(b.N), "pages/op")
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(float64(len(lat)-1)*p)].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }

// BenchmarkCachedKeyMemory reports the heap that one cached pair key holds (B/key):
// the heap in use after tokenizing one email for each of 5000 new subjects, less the
// heap before, both after a collection. With vault.cache_size at its default of
// 100000 keys, this figure times 100000 is what a full key cache costs.
func BenchmarkCachedKeyMemory(b *testing.B) {
	const keys = 5000
	ctx := context.Background()
	heap := func() uint64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	var perKey float64
	for b.Loop() {
		b.StopTimer()
		v, _ := benchVault(b)
		before := heap()
		b.StartTimer()
		var wg sync.WaitGroup
		for w := range 64 {
			wg.Go(func() {
				for i := w; i < keys; i += 64 {
					s := fmt.Sprintf("buyer-%d@example.com", i)
					if _, err := v.Tokenize(ctx, "shop-a", s, s); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		b.StopTimer()
		if st, err := v.Stats(ctx); err != nil || st.CachedKeys != keys {
			b.Fatalf("Stats: %d keys cached (want %d), %v", st.CachedKeys, keys, err)
		}
		perKey = float64(int64(heap())-int64(before)) / keys
		runtime.KeepAlive(v)
		b.StartTimer()
	}
	b.ReportMetric(perKey, "B/key")
}
