package buffer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Benchmarks append 1 KiB records. Each reports events/s and, where group commit
// matters, fsyncs per event; the x-* metrics compare events/s with two baselines
// measured on the same file system just before each benchmark (fsync latency on
// shared disks drifts, so a baseline from minutes earlier would mislead):
//
//	x-unsynced: plain writes of the same framed bytes, never fsync'd (the ceiling:
//	            no durability at all)
//	x-fsync1:   the same writes with one fsync per event (durability without
//	            group commit)
//
//	go test -run '^$' -bench . -benchtime 2s ./internal/buffer/

const (
	benchRecordBytes = 1024
	// baselineFileBytes is where the unsynced baseline wraps around, so that it
	// does not leave gigabytes of dirty pages to slow down the next benchmark.
	baselineFileBytes = 64 << 20
)

var benchOptions = Options{MaxBytes: 16 << 30}

type baseline struct {
	unsynced float64 // events/s
	fsync1   float64 // events/s
}

var (
	baselineMu sync.Mutex
	baselineOf = map[string]baseline{}
)

// baselines measures the baselines once per benchmark name.
func baselines(b *testing.B) baseline {
	b.Helper()
	baselineMu.Lock()
	defer baselineMu.Unlock()
	if base, ok := baselineOf[b.Name()]; ok {
		return base
	}
	var base baseline
	var err error
	dir := b.TempDir()
	if base.unsynced, err = fileWriteRate(dir, false, 300*time.Millisecond); err != nil {
		b.Fatalf("measuring the baseline: %v", err)
	}
	if base.fsync1, err = fileWriteRate(dir, true, 300*time.Millisecond); err != nil {
		b.Fatalf("measuring the baseline: %v", err)
	}
	baselineOf[b.Name()] = base
	return base
}

// fileWriteRate writes one framed 1 KiB record per write call to a new file in dir
// for about d, with or without an fsync after each, and returns events/s.
func fileWriteRate(dir string, fsync bool, d time.Duration) (float64, error) {
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("baseline-%t", fsync)))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	frame := appendFrame(nil, make([]byte, benchRecordBytes), time.Now().UnixNano())
	n := 0
	start := time.Now()
	for time.Since(start) < d {
		for range 64 {
			if err := writeBaseline(f, frame, n, fsync); err != nil {
				return 0, err
			}
			n++
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// writeBaseline writes frame as the i-th record of a baseline file.
func writeBaseline(f *os.File, frame []byte, i int, fsync bool) error {
	off := int64(i*len(frame)) % (baselineFileBytes - int64(len(frame)))
	if _, err := f.WriteAt(frame, off); err != nil {
		return err
	}
	if fsync {
		return f.Sync()
	}
	return nil
}

// BenchmarkBaseline reports the baselines themselves.
func BenchmarkBaseline(b *testing.B) {
	frame := appendFrame(nil, make([]byte, benchRecordBytes), time.Now().UnixNano())
	for _, fsync := range []bool{false, true} {
		name := "unsynced-write"
		if fsync {
			name = "fsync-per-event"
		}
		b.Run(name, func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "baseline"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			b.SetBytes(benchRecordBytes)
			start := time.Now()
			for i := 0; b.Loop(); i++ {
				if err := writeBaseline(f, frame, i, fsync); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
		})
	}
}

// BenchmarkAppend appends single 1 KiB records from many goroutines, as HTTP
// handlers do: one op is one event. fsyncs/op shows group commit at work.
func BenchmarkAppend(b *testing.B) {
	base := baselines(b)
	cases := []struct {
		goroutines int
		delay      time.Duration
	}{{1, 0}, {8, 0}, {64, 0}, {64, 500 * time.Microsecond}}
	for _, c := range cases {
		name := fmt.Sprintf("goroutines=%d", c.goroutines)
		if c.delay > 0 {
			name += fmt.Sprintf("/delay=%s", c.delay)
		}
		b.Run(name, func(b *testing.B) {
			opts := benchOptions
			opts.MaxBatchDelay = c.delay
			d := open(b, b.TempDir(), opts)
			rec := make([]byte, benchRecordBytes)
			before := stats(b, d)
			b.SetBytes(benchRecordBytes)
			b.ResetTimer()
			elapsed := appendConcurrently(b, d, c.goroutines, rec)
			b.StopTimer()
			report(b, base, b.N, elapsed, stats(b, d).Fsyncs-before.Fsyncs)
		})
	}
}

// appendConcurrently appends rec b.N times, one record per Append, from
// goroutines goroutines, and returns how long it took.
func appendConcurrently(b *testing.B, d *Disk, goroutines int, rec []byte) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range goroutines {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				if err := d.Append(context.Background(), [][]byte{rec}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// BenchmarkAppendBatch appends 100 records of 1 KiB per call from one goroutine:
// one op is one Append call of 100 events.
func BenchmarkAppendBatch(b *testing.B) {
	base := baselines(b)
	d := open(b, b.TempDir(), benchOptions)
	batch := make([][]byte, 100)
	for i := range batch {
		batch[i] = make([]byte, benchRecordBytes)
	}
	before := stats(b, d)
	b.SetBytes(100 * benchRecordBytes)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if err := d.Append(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	report(b, base, 100*b.N, elapsed, stats(b, d).Fsyncs-before.Fsyncs)
}

// BenchmarkReadAck reads and acknowledges 1 KiB records in batches of up to 1000,
// as a loader does: one op is one event.
func BenchmarkReadAck(b *testing.B) {
	base := baselines(b)
	d := open(b, b.TempDir(), benchOptions)
	batch := make([][]byte, 1000)
	for i := range batch {
		batch[i] = make([]byte, benchRecordBytes)
	}
	for left := b.N; left > 0; left -= len(batch) {
		if err := d.Append(context.Background(), batch[:min(left, len(batch))]); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	b.SetBytes(benchRecordBytes)
	b.ResetTimer()
	start := time.Now()
	for got := 0; got < b.N; {
		bt, err := d.Read(ctx, DefaultConsumer, 1000)
		if err != nil {
			b.Fatal(err)
		}
		if err := d.Ack(ctx, bt); err != nil {
			b.Fatal(err)
		}
		got += len(bt.Records)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	eps := float64(b.N) / elapsed.Seconds()
	b.ReportMetric(eps, "events/s")
	b.ReportMetric(eps/base.unsynced, "x-unsynced")
}

// report adds events/s, fsyncs per event and the ratios to the baselines.
func report(b *testing.B, base baseline, events int, elapsed time.Duration, fsyncs uint64) {
	eps := float64(events) / elapsed.Seconds()
	b.ReportMetric(eps, "events/s")
	b.ReportMetric(float64(fsyncs)/float64(events), "fsyncs/event")
	b.ReportMetric(eps/base.unsynced, "x-unsynced")
	b.ReportMetric(eps/base.fsync1, "x-fsync1")
}

// BenchmarkAppendPrewrite compares appends into a segment written ahead
// (Options.Prewrite) with appends that extend the file, single 1 KiB records
// from 1 and 64 goroutines as in BenchmarkAppend. Before the timer starts, the
// buffer fills its first segment in appends of 100 records, so that the
// records measured go into the second segment: a blank with Prewrite, a new
// file without. cpu-ns/event is the process's CPU time (getrusage), kernel
// included, where the fsync's metadata work shows; fsync-us its mean.
func BenchmarkAppendPrewrite(b *testing.B) {
	for _, goroutines := range []int{1, 64} {
		for _, prewrite := range []bool{false, true} {
			b.Run(fmt.Sprintf("goroutines=%d/prewrite=%t", goroutines, prewrite), func(b *testing.B) {
				const segBytes = 16 << 20
				d := open(b, b.TempDir(), Options{MaxBytes: 16 << 30, SegmentBytes: segBytes, Prewrite: prewrite})
				batch := make([][]byte, 100)
				for i := range batch {
					batch[i] = make([]byte, benchRecordBytes)
				}
				for stats(b, d).Segments == 1 {
					if prewrite && stats(b, d).DiskBytes > segBytes*3/4 {
						for d.blank.bytes() == 0 {
							time.Sleep(time.Millisecond)
						}
					}
					if err := d.Append(context.Background(), batch); err != nil {
						b.Fatal(err)
					}
				}
				rec := batch[0]
				before := stats(b, d)
				var ru0, ru1 syscall.Rusage
				syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
				b.ResetTimer()
				elapsed := appendConcurrently(b, d, goroutines, rec)
				b.StopTimer()
				syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
				after := stats(b, d)
				cpu := ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano()
				fsyncs := after.Fsyncs - before.Fsyncs
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
				b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/event")
				b.ReportMetric(float64(fsyncs)/float64(b.N), "fsyncs/event")
				b.ReportMetric(float64((after.FsyncTime-before.FsyncTime).Microseconds())/float64(max(1, fsyncs)), "fsync-us")
			})
		}
	}
}

// BenchmarkAppendLatency appends single 1 KiB records at a fixed rate (8,000
// a second, open loop, from 64 goroutines) and reports the latency of each
// from when it was due: the ack's wait under a steady load, with and without
// segments written ahead, in segments of 16 MiB so that the run rolls a few
// and writes their blanks meanwhile. Run it with -benchtime 48000x (6 s).
func BenchmarkAppendLatency(b *testing.B) {
	const rate = 8000
	for _, prewrite := range []bool{false, true} {
		b.Run(fmt.Sprintf("prewrite=%t", prewrite), func(b *testing.B) {
			d := open(b, b.TempDir(), Options{MaxBytes: 16 << 30, SegmentBytes: 16 << 20, Prewrite: prewrite})
			rec := make([]byte, benchRecordBytes)
			lat := make([]time.Duration, b.N)
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for range 64 {
				wg.Go(func() {
					for {
						i := next.Add(1) - 1
						if i >= int64(b.N) {
							return
						}
						due := start.Add(time.Duration(i) * time.Second / rate)
						time.Sleep(time.Until(due))
						if err := d.Append(context.Background(), [][]byte{rec}); err != nil {
							b.Error(err)
							return
						}
						lat[i] = time.Since(due)
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-us")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-us")
			b.ReportMetric(float64(lat[len(lat)*999/1000].Microseconds()), "p999-us")
			b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "max-us")
		})
	}
}
