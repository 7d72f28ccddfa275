package scrub

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/accord-dev/accord/internal/contract"
)

// benchSetup returns the reference contract, a decoded reference event and a
// function that puts the raw PII values back (scrubbing works in place).
func benchSetup(b *testing.B) (*contract.Contract, func() map[string]any) {
	c, raw := benchContract(b)
	return c, func() map[string]any { return decode(b, raw).(map[string]any) }
}

// benchRun scrubs the reference event b.N times with tok, restoring its three PII
// fields before each run. The restore is measured too: BenchmarkRestoreOnly
// gives its cost.
func benchRun(b *testing.B, s *Scrubber, c *contract.Contract, fresh func() map[string]any) {
	ctx := context.Background()
	data := fresh()
	email, ip, ua := data["email"], data["ip"], data["user_agent"]
	p, err := s.Plan(c)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := p.Scrub(ctx, data); err != nil { // warm the caches
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, ok := processCPU()
	n := 0
	for b.Loop() {
		data["email"], data["ip"], data["user_agent"] = email, ip, ua
		if _, err := p.Scrub(ctx, data); err != nil {
			b.Fatal(err)
		}
		n++
	}
	reportCPU(b, cpu0, ok, n)
}

// reportCPU adds the process CPU time per operation as cpu-ns/op.
func reportCPU(b *testing.B, cpu0 time.Duration, ok bool, n int) {
	if cpu1, ok1 := processCPU(); ok && ok1 && n > 0 {
		b.ReportMetric(float64(cpu1-cpu0)/float64(n), "cpu-ns/op")
	}
}

// BenchmarkScrubReference is the reference event (email tokenized, ip and user
// agent obfuscated) with warm caches and the in-package HMAC tokenizer.
func BenchmarkScrubReference(b *testing.B) {
	c, fresh := benchSetup(b)
	benchRun(b, newScrubber(b, Config{}, newHMACTokenizer()), c, fresh)
}

// BenchmarkScrubReferenceVault is the same with the real embedded vault (pair key
// cached, token mapping already stored).
func BenchmarkScrubReferenceVault(b *testing.B) {
	c, fresh := benchSetup(b)
	benchRun(b, newScrubber(b, Config{}, openVault(b)), c, fresh)
}

// BenchmarkScrubReferenceCity adds region and city from a city database.
func BenchmarkScrubReferenceCity(b *testing.B) {
	c, fresh := benchSetup(b)
	path := writeCityDB(b, "GeoLite2-City", map[string][4]string{"81.2.69.0/24": {"GB", "England", "ENG", "London"}})
	benchRun(b, newScrubber(b, Config{MMDBPath: path}, openVault(b)), c, fresh)
}

// BenchmarkScrubReferenceNoTokenizer isolates the scrubber's own cost: the
// tokenizer is one that returns at once.
func BenchmarkScrubReferenceNoTokenizer(b *testing.B) {
	c, fresh := benchSetup(b)
	benchRun(b, newScrubber(b, Config{}, constTokenizer{}), c, fresh)
}

// constTokenizer costs nothing; benchmarks only.
type constTokenizer struct{}

func (constTokenizer) Tokenize(context.Context, string, string, string) (string, error) {
	return "tk_bench", nil
}

// BenchmarkRestoreOnly is the loop overhead of the benchmarks above.
func BenchmarkRestoreOnly(b *testing.B) {
	_, fresh := benchSetup(b)
	data := fresh()
	email, ip, ua := data["email"], data["ip"], data["user_agent"]
	b.ReportAllocs()
	cpu0, ok := processCPU()
	n := 0
	for b.Loop() {
		data["email"], data["ip"], data["user_agent"] = email, ip, ua
		n++
	}
	reportCPU(b, cpu0, ok, n)
}

// BenchmarkDecodeReference decodes the reference event's data, as the collector
// does before validating it: the yardstick the scrub's cost is quoted against.
func BenchmarkDecodeReference(b *testing.B) {
	_, raw := benchContract(b)
	b.ReportAllocs()
	cpu0, ok := processCPU()
	n := 0
	for b.Loop() {
		if _, err := contract.DecodeJSON(raw); err != nil {
			b.Fatal(err)
		}
		n++
	}
	reportCPU(b, cpu0, ok, n)
}

// BenchmarkScrubReferenceParallel runs the vault-backed scrub on every core.
func BenchmarkScrubReferenceParallel(b *testing.B) {
	c, fresh := benchSetup(b)
	s := newScrubber(b, Config{}, openVault(b))
	p, err := s.Plan(c)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		data := fresh()
		email, ip, ua := data["email"], data["ip"], data["user_agent"]
		for pb.Next() {
			data["email"], data["ip"], data["user_agent"] = email, ip, ua
			if _, err := p.Scrub(ctx, data); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

const benchUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 325.0.0.35.91 (iPhone15,2; iOS 17_4_1; de_DE; de; scale=3.00; 1179x2556)"

// BenchmarkUserAgent compares a cache hit with a parse (what a miss costs).
func BenchmarkUserAgent(b *testing.B) {
	b.Run("hit", func(b *testing.B) {
		c := newUACache(DefaultUACacheSize)
		c.fields(benchUA)
		b.ReportAllocs()
		for b.Loop() {
			c.fields(benchUA)
		}
	})
	b.Run("hit-parallel", func(b *testing.B) {
		c := newUACache(DefaultUACacheSize)
		c.fields(benchUA)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.fields(benchUA)
			}
		})
	})
	b.Run("parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			generaliseUA(benchUA)
		}
	})
}

// BenchmarkIP compares the country-only path with a city database (record cache hit).
func BenchmarkIP(b *testing.B) {
	b.Run("country", func(b *testing.B) {
		s := newScrubber(b, Config{}, nil)
		b.ReportAllocs()
		for b.Loop() {
			s.obfuscateIP("81.2.69.142")
		}
	})
	b.Run("city", func(b *testing.B) {
		path := writeCityDB(b, "GeoLite2-City", map[string][4]string{"81.2.69.0/24": {"GB", "England", "ENG", "London"}})
		s := newScrubber(b, Config{MMDBPath: path}, nil)
		b.ReportAllocs()
		for b.Loop() {
			s.obfuscateIP("81.2.69.142")
		}
	})
	b.Run("ipv6", func(b *testing.B) {
		s := newScrubber(b, Config{}, nil)
		b.ReportAllocs()
		for b.Loop() {
			s.obfuscateIP("2a02:8108:1140:5e00:1c2d:3e4f:5a6b:7c8d")
		}
	})
}

func BenchmarkHash(b *testing.B) {
	s := newScrubber(b, Config{}, nil)
	b.ReportAllocs()
	for b.Loop() {
		s.hmacHex("jane.doe@example.com")
	}
}

// BenchmarkLRU measures the cache alone at several sizes and hit rates.
func BenchmarkLRU(b *testing.B) {
	for _, keys := range []int{100, 20000} {
		b.Run(fmt.Sprintf("keys=%d/cap=10000", keys), func(b *testing.B) {
			c := newLRU[int](10000)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := uint64(0)
				for pb.Next() {
					k := (i * 0x9e3779b97f4a7c15) % uint64(keys)
					if _, ok := c.get(k); !ok {
						c.put(k, int(k))
					}
					i++
				}
			})
			h, m := c.hits.Load(), c.misses.Load()
			b.ReportMetric(float64(h)/float64(h+m)*100, "hit%")
		})
	}
}
