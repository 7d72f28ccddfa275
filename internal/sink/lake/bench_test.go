package lake_test

import (
	"context"
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/accord-dev/accord/internal/sink/lake"
	"github.com/accord-dev/accord/internal/sink/sinktest"
)

// processCPU is the CPU time (user and system, every goroutine) the process has
// used: on a shared machine it says what an operation costs better than the wall
// clock, which also counts waiting for a core and for fsync.
func processCPU(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// renumber gives the records fresh event ids (same length), so that the lake's
// dedup never drops them.
func renumber(recs [][]byte, iter int) {
	for _, rec := range recs {
		copy(rec[len(`E{"v":1,"event_id":"`):], fmt.Sprintf("%08x", iter))
	}
}

// BenchmarkLoader is the lake loader's cost per event, from buffer records to a
// published Parquet file (zstd, fsync'd, renamed), 1,000 records per file:
// what the lake's loader does beside the collector on the same cores. The
// records come in Appends of 1,000 (a loader working through a backlog) or of
// 10 (a loader keeping up with single-event requests: each buffer read takes
// the few records of one group commit). cpu-ns/event is the process's CPU time
// per event (getrusage).
func BenchmarkLoader(b *testing.B) {
	const perFile = 1000
	for _, per := range []int{1000, 10} {
		b.Run(fmt.Sprintf("append=%d", per), func(b *testing.B) {
			recs := lake.Records(b, sinktest.Envelopes(0, perFile))
			l, err := lake.Open(b.TempDir(), examples(b), nil)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			cpu0 := processCPU(b)
			iter := 0
			for b.Loop() {
				iter++
				renumber(recs, iter)
				for i := 0; i < len(recs); i += per {
					if _, err := l.Append(ctx, recs[i:min(i+per, len(recs))]); err != nil {
						b.Fatal(err)
					}
				}
				if err := l.Commit(ctx); err != nil {
					b.Fatal(err)
				}
			}
			cpu := processCPU(b) - cpu0
			runtime.ReadMemStats(&ms1)
			events := float64(b.N * perFile)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/events, "ns/event")
			b.ReportMetric(float64(cpu.Nanoseconds())/events, "cpu-ns/event")
			b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/events, "B/event")
		})
	}
}
