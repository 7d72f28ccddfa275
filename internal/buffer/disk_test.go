package buffer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// open opens a buffer in dir and closes it when the test ends.
func open(t testing.TB, dir string, opts Options) *Disk {
	t.Helper()
	d, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return d
}

// records returns n distinct records named prefix-i, of varied sizes.
func records(prefix string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte(fmt.Sprintf("%s-%d:%s", prefix, i, strings.Repeat("x", i%97)))
	}
	return out
}

func appendAll(t testing.TB, d *Disk, recs [][]byte) {
	t.Helper()
	if err := d.Append(context.Background(), recs); err != nil {
		t.Fatalf("Append: %v", err)
	}
}

// readN reads exactly n records for consumer, acknowledging each batch when ack is
// set.
func readN(t testing.TB, d *Disk, consumer string, n int, ack bool) [][]byte {
	t.Helper()
	var got [][]byte
	for len(got) < n {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		b, err := d.Read(ctx, consumer, n-len(got))
		cancel()
		if err != nil {
			t.Fatalf("Read after %d of %d records: %v", len(got), n, err)
		}
		if want := uint64(len(got)); ack && b.First < want {
			t.Fatalf("batch starts at %d, want at least %d", b.First, want)
		}
		got = append(got, b.Records...)
		if ack {
			if err := d.Ack(context.Background(), b); err != nil {
				t.Fatalf("Ack: %v", err)
			}
		}
	}
	return got
}

// readAll reads every record available to consumer within a short wait, without
// acknowledging.
func readAll(t testing.TB, d *Disk, consumer string) [][]byte {
	t.Helper()
	var got [][]byte
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		b, err := d.Read(ctx, consumer, 1000)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			return got
		}
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		got = append(got, b.Records...)
	}
}

func stats(t testing.TB, d *Disk) Stats {
	t.Helper()
	st, err := d.Stats()
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	return st
}

func segmentFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+segSuffix))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(m)
	return m
}

func TestOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		want    Options // checked when wantErr is empty
		wantErr []string
	}{
		{
			name: "defaults",
			want: Options{MaxBytes: 1 << 30, SegmentBytes: 64 << 20, MaxRecordBytes: 4 << 20, Consumers: []string{"default"}},
		},
		{
			name: "small segments shrink the record limit",
			opts: Options{SegmentBytes: 4096, Consumers: []string{"lake", "pg"}},
			want: Options{MaxBytes: 1 << 30, SegmentBytes: 4096, MaxRecordBytes: 4096 - segHeaderSize - frameHeaderSize, Consumers: []string{"lake", "pg"}},
		},
		{
			name: "small capacity shrinks the record limit",
			opts: Options{MaxBytes: 2000},
			want: Options{MaxBytes: 2000, SegmentBytes: 64 << 20, MaxRecordBytes: 2000 - frameHeaderSize, Consumers: []string{"default"}},
		},
		{
			name: "every problem at once",
			opts: Options{MaxBytes: 100, SegmentBytes: 10, MaxRecordBytes: -5, MaxBatchDelay: time.Minute, AckInterval: -time.Second, Consumers: []string{"Lake", "pg", "pg", ""}},
			wantErr: []string{
				"MaxBytes is 100", "SegmentBytes is 10", "MaxRecordBytes is -5", "MaxBatchDelay is 1m0s", "AckInterval is -1s",
				`consumer name "Lake"`, `consumer name "pg" is listed twice`, `consumer name ""`,
			},
		},
		{
			name:    "record larger than a segment",
			opts:    Options{SegmentBytes: 4096, MaxRecordBytes: 4096},
			wantErr: []string{"MaxRecordBytes is 4096", "at most 4052"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.opts.withDefaults()
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("withDefaults() = nil error, want one mentioning %q", tt.wantErr)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("withDefaults(): %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("withDefaults() (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := Open(t.TempDir(), Options{MaxBytes: -1}); err == nil || !strings.Contains(err.Error(), "MaxBytes") {
		t.Errorf("Open with bad options: %v, want an error about MaxBytes", err)
	}
}

func TestAppendReadAck(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		n    int
	}{
		{name: "defaults", n: 500},
		{name: "one record per segment", opts: Options{SegmentBytes: minSegmentBytes, MaxRecordBytes: 200}, n: 50},
		{name: "small segments", opts: Options{SegmentBytes: 4096}, n: 2000},
		{name: "batch delay", opts: Options{MaxBatchDelay: time.Millisecond}, n: 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := open(t, t.TempDir(), tt.opts)
			want := records("r", tt.n)
			// Append in uneven calls, including single records.
			for i := 0; i < len(want); {
				n := min(1+i%13, len(want)-i)
				appendAll(t, d, want[i:i+n])
				i += n
			}
			got := readN(t, d, DefaultConsumer, tt.n, true)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("records read (-want +got):\n%s", diff)
			}
			st := stats(t, d)
			if st.Records != 0 || st.Bytes != 0 || st.OldestAge != 0 || st.Appended != uint64(tt.n) {
				t.Errorf("Stats after acking everything = %+v, want no backlog and Appended %d", st, tt.n)
			}
			if files := segmentFiles(t, d.dir); len(files) != 1 {
				t.Errorf("segment files after acking everything = %q, want only the active one", files)
			}
		})
	}
}

func TestAppendEdgeCases(t *testing.T) {
	d := open(t, t.TempDir(), Options{SegmentBytes: 4096, MaxBytes: 8192})
	ctx := context.Background()
	if err := d.Append(ctx, nil); err != nil {
		t.Errorf("Append(nil) = %v, want nil", err)
	}
	err := d.Append(ctx, [][]byte{make([]byte, 5000)})
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("Append of a record larger than MaxRecordBytes = %v, want ErrTooLarge", err)
	}
	err = d.Append(ctx, [][]byte{make([]byte, 4000), make([]byte, 4000), make([]byte, 4000)})
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("Append of more than MaxBytes in one call = %v, want ErrTooLarge", err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if err := d.Append(canceled, records("c", 1)); !errors.Is(err, context.Canceled) {
		t.Errorf("Append with a canceled context = %v, want context.Canceled", err)
	}
	// Empty records are records too.
	appendAll(t, d, [][]byte{{}, []byte("a"), {}})
	got := readN(t, d, DefaultConsumer, 3, true)
	if diff := cmp.Diff([][]byte{{}, []byte("a"), {}}, got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	if _, err := d.Read(ctx, "nobody", 1); !errors.Is(err, ErrUnknownConsumer) {
		t.Errorf("Read of an unknown consumer = %v, want ErrUnknownConsumer", err)
	}
	if _, err := d.Read(ctx, DefaultConsumer, 0); err == nil {
		t.Error("Read with max 0 = nil error, want one")
	}
}

func TestRestartReplay(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentBytes: 2048}
	want := records("r", 300)

	d, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	appendAll(t, d, want)
	// Acknowledge the first 120, read 60 more without acknowledging them.
	readN(t, d, DefaultConsumer, 120, true)
	readN(t, d, DefaultConsumer, 60, false)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	d = open(t, dir, opts)
	got := readAll(t, d, DefaultConsumer)
	if diff := cmp.Diff(want[120:], got); diff != "" {
		t.Fatalf("records after reopening (-want +got):\n%s", diff)
	}
	st := stats(t, d)
	if st.Records != 180 {
		t.Errorf("Stats.Records = %d, want 180", st.Records)
	}
	if st.OldestAge <= 0 || st.OldestAge > time.Minute {
		t.Errorf("Stats.OldestAge = %s, want a small positive age", st.OldestAge)
	}
	// New appends continue the sequence numbers.
	appendAll(t, d, records("s", 1))
	b, err := d.Read(context.Background(), DefaultConsumer, 10)
	if err != nil {
		t.Fatal(err)
	}
	if b.First != 300 || string(b.Records[0]) != "s-0:" {
		t.Errorf("Read after append = first %d %q, want first 300 %q", b.First, b.Records[0], "s-0:")
	}
}

func TestAckOutOfOrder(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	appendAll(t, d, records("r", 30))
	var batches []Batch
	for range 3 {
		b, err := d.Read(ctx, DefaultConsumer, 10)
		if err != nil {
			t.Fatal(err)
		}
		batches = append(batches, b)
	}
	for _, i := range []int{2, 1} {
		if err := d.Ack(ctx, batches[i]); err != nil {
			t.Fatalf("Ack(batch %d): %v", i, err)
		}
	}
	if st := stats(t, d); st.Records != 30 {
		t.Errorf("after acking batches 2 and 1, Stats.Records = %d, want 30 (batch 0 holds them back)", st.Records)
	}
	if err := d.Ack(ctx, batches[0]); err != nil {
		t.Fatal(err)
	}
	if st := stats(t, d); st.Records != 0 {
		t.Errorf("after acking every batch, Stats.Records = %d, want 0", st.Records)
	}
	if err := d.Ack(ctx, batches[1]); err != nil {
		t.Errorf("acking a batch again = %v, want nil", err)
	}
	other, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.Ack(ctx, batches[0]); !errors.Is(err, ErrForeignBatch) {
		t.Errorf("acking another buffer's batch = %v, want ErrForeignBatch", err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d = open(t, dir, Options{})
	if got := readAll(t, d, DefaultConsumer); len(got) != 0 {
		t.Errorf("after reopening, %d records came back, want none", len(got))
	}
}

func TestCapacity(t *testing.T) {
	const rec = 100
	opts := Options{MaxBytes: 10 * (rec + frameHeaderSize), SegmentBytes: 1024}
	d := open(t, t.TempDir(), opts)
	ctx := context.Background()
	payload := bytes.Repeat([]byte("p"), rec)
	for i := range 10 {
		if err := d.Append(ctx, [][]byte{payload}); err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
	}
	if err := d.Append(ctx, [][]byte{payload}); !errors.Is(err, ErrFull) {
		t.Fatalf("Append beyond capacity = %v, want ErrFull", err)
	}
	st := stats(t, d)
	if st.Bytes != opts.MaxBytes || st.CapacityBytes != opts.MaxBytes || st.Records != 10 {
		t.Errorf("Stats when full = %+v, want Bytes = CapacityBytes = %d, Records 10", st, opts.MaxBytes)
	}
	// Reading does not free space; acknowledging does.
	b, err := d.Read(ctx, DefaultConsumer, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Append(ctx, [][]byte{payload}); !errors.Is(err, ErrFull) {
		t.Fatalf("Append after a read without ack = %v, want ErrFull", err)
	}
	if err := d.Ack(ctx, b); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := d.Append(ctx, [][]byte{payload}); err != nil {
			t.Fatalf("Append %d after acking 3 records: %v", i, err)
		}
	}
	if err := d.Append(ctx, [][]byte{payload}); !errors.Is(err, ErrFull) {
		t.Fatalf("Append beyond capacity again = %v, want ErrFull", err)
	}
	// Cycle many times the capacity through the buffer: the disk stays bounded.
	for i := range 200 {
		b, err := d.Read(ctx, DefaultConsumer, 5)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Ack(ctx, b); err != nil {
			t.Fatal(err)
		}
		for range len(b.Records) {
			if err := d.Append(ctx, [][]byte{payload}); err != nil {
				t.Fatalf("round %d: Append: %v", i, err)
			}
		}
		if st := stats(t, d); st.DiskBytes > opts.MaxBytes+opts.SegmentBytes {
			t.Fatalf("round %d: DiskBytes = %d, want at most MaxBytes + SegmentBytes = %d", i, st.DiskBytes, opts.MaxBytes+opts.SegmentBytes)
		}
	}
}

func TestConsumers(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentBytes: 1024, Consumers: []string{"lake", "pg"}}
	d, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := records("r", 100)
	appendAll(t, d, want)
	if diff := cmp.Diff(want, readN(t, d, "lake", 100, true)); diff != "" {
		t.Fatalf("lake read (-want +got):\n%s", diff)
	}
	readN(t, d, "pg", 40, true)
	st := stats(t, d)
	wantStats := []ConsumerStats{{Name: "lake"}, {Name: "pg", Records: 60}}
	if diff := cmp.Diff(wantStats, st.Consumers, cmp.Transformer("", func(c ConsumerStats) ConsumerStats {
		return ConsumerStats{Name: c.Name, Records: c.Records}
	})); diff != "" {
		t.Errorf("consumer stats (-want +got):\n%s", diff)
	}
	if st.Records != 60 {
		t.Errorf("Stats.Records = %d, want the slowest consumer's 60", st.Records)
	}
	if files := segmentFiles(t, dir); len(files) < 2 {
		t.Errorf("segment files = %q: pg has not acknowledged them, want them kept", files)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	// Drop pg, add dbt: dbt starts at the oldest record still stored, pg no longer
	// holds back space.
	d = open(t, dir, Options{SegmentBytes: 1024, Consumers: []string{"lake", "dbt"}})
	got := readAll(t, d, "dbt")
	if len(got) == 0 || !slices.EqualFunc(got, want[100-len(got):], bytes.Equal) {
		t.Fatalf("dbt read %d records, want a suffix of what was appended", len(got))
	}
	if st := stats(t, d); st.Consumers[1].Records != int64(len(got)) {
		t.Errorf("dbt backlog = %d, want %d", st.Consumers[1].Records, len(got))
	}
	if got := readAll(t, d, "lake"); len(got) != 0 {
		t.Errorf("lake read %d records after reopening, want none", len(got))
	}
}

func TestClose(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), "another accord process") {
		t.Errorf("second Open of the same directory = %v, want a lock error", err)
	}
	readErr := make(chan error, 1)
	go func() {
		_, err := d.Read(context.Background(), DefaultConsumer, 10)
		readErr <- err
	}()
	time.Sleep(10 * time.Millisecond) // let Read block; the test holds either way
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-readErr; !errors.Is(err, ErrClosed) {
		t.Errorf("blocked Read after Close = %v, want ErrClosed", err)
	}
	if err := d.Append(context.Background(), records("r", 1)); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close = %v, want ErrClosed", err)
	}
	if _, err := d.Stats(); !errors.Is(err, ErrClosed) {
		t.Errorf("Stats after Close = %v, want ErrClosed", err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	open(t, dir, Options{}) // the lock is released
}

// TestConcurrent runs many appenders and two consumers at once (run it with -race):
// every consumer sees every record exactly once, and each appender's records in
// the order it appended them.
func TestConcurrent(t *testing.T) {
	const appenders, perAppender = 32, 200
	d := open(t, t.TempDir(), Options{SegmentBytes: 16 << 10, MaxBytes: 256 << 10, Consumers: []string{"a", "b"}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var wg sync.WaitGroup
	var calls atomic.Int64
	errs := make(chan error, appenders+2)
	for g := range appenders {
		wg.Go(func() {
			for i := 0; i < perAppender; {
				n := min(1+(g+i)%4, perAppender-i)
				var recs [][]byte
				for j := range n {
					recs = append(recs, []byte(fmt.Sprintf("%d/%d", g, i+j)))
				}
				err := d.Append(ctx, recs)
				if errors.Is(err, ErrFull) {
					time.Sleep(time.Millisecond)
					continue
				}
				if err != nil {
					errs <- fmt.Errorf("appender %d: %w", g, err)
					return
				}
				calls.Add(1)
				i += n
			}
		})
	}
	seen := map[string][]int{}
	var seenMu sync.Mutex
	for _, name := range []string{"a", "b"} {
		wg.Go(func() {
			next := make([]int, appenders)
			var seq uint64
			for total := 0; total < appenders*perAppender; {
				b, err := d.Read(ctx, name, 1+total%50)
				if err != nil {
					errs <- fmt.Errorf("consumer %s: %w", name, err)
					return
				}
				if b.First != seq {
					errs <- fmt.Errorf("consumer %s: batch starts at %d, want %d", name, b.First, seq)
					return
				}
				seq += uint64(len(b.Records))
				for _, r := range b.Records {
					var g, i int
					if _, err := fmt.Sscanf(string(r), "%d/%d", &g, &i); err != nil || next[g] != i {
						errs <- fmt.Errorf("consumer %s: got %q, want %d/%d next", name, r, g, next[g])
						return
					}
					next[g]++
				}
				total += len(b.Records)
				if err := d.Ack(ctx, b); err != nil {
					errs <- fmt.Errorf("consumer %s: %w", name, err)
					return
				}
			}
			seenMu.Lock()
			seen[name] = next
			seenMu.Unlock()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st := stats(t, d)
	if st.Records != 0 || st.Appended != appenders*perAppender {
		t.Errorf("Stats = %+v, want no backlog and %d appended", st, appenders*perAppender)
	}
	// Each segment roll adds an fsync; with 32 appenders waiting on every fsync,
	// far fewer are needed than Append calls.
	if st.Fsyncs >= uint64(calls.Load()) {
		t.Errorf("%d fsyncs for %d Append calls: group commit did not coalesce appends", st.Fsyncs, calls.Load())
	}
	if st.Fsyncs > 0 && st.FsyncTime <= 0 {
		t.Errorf("%d fsyncs took no time (FsyncTime %s)", st.Fsyncs, st.FsyncTime)
	}
	t.Logf("%d records, %d Append calls, %d fsyncs, %s in fsync", st.Appended, calls.Load(), st.Fsyncs, st.FsyncTime)
}

// TestReadContext checks that Reads waiting for records, or for another Read of
// the same consumer, return when their context ends.
func TestReadContext(t *testing.T) {
	d := open(t, t.TempDir(), Options{})
	first := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, err := d.Read(ctx, DefaultConsumer, 1)
		first <- err
	}()
	short, cancelShort := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancelShort()
	if _, err := d.Read(short, DefaultConsumer, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second Read = %v, want context.DeadlineExceeded", err)
	}
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Errorf("first Read = %v, want context.Canceled", err)
	}
	// Both gave up without taking records.
	appendAll(t, d, records("r", 2))
	if got := readAll(t, d, DefaultConsumer); len(got) != 2 {
		t.Errorf("read %d records after the canceled Reads, want 2", len(got))
	}
}

// TestAppendCanceled has appenders give up at random moments, while queued as
// followers, being committed or just called to lead a commit: every append that
// returned nil is stored, the others may or may not be, and nothing hangs. Each
// appender reuses one record buffer and scribbles over it as soon as Append
// returns, as the collector's pooled buffers are reused: a record stored from
// the caller's memory after its Append returned would show the scribble.
func TestAppendCanceled(t *testing.T) {
	for _, delay := range []time.Duration{0, time.Millisecond} {
		t.Run(fmt.Sprintf("delay=%s", delay), func(t *testing.T) {
			d := open(t, t.TempDir(), Options{MaxBatchDelay: delay})
			var wg sync.WaitGroup
			var mu sync.Mutex
			acked := map[string]bool{}
			sent := map[string]bool{}
			for g := range 32 {
				for i := range 40 {
					sent[fmt.Sprintf("%d/%d", g, i)] = true
				}
			}
			for g := range 32 {
				wg.Go(func() {
					rec := make([]byte, 0, 16)
					for i := range 40 {
						id := fmt.Sprintf("%d/%d", g, i)
						rec = append(rec[:0], id...)
						ctx, cancel := context.WithTimeout(context.Background(), time.Duration((g*7+i)%5)*300*time.Microsecond)
						err := d.Append(ctx, [][]byte{rec})
						cancel()
						for k := range rec {
							rec[k] = 'X'
						}
						if err == nil {
							mu.Lock()
							acked[id] = true
							mu.Unlock()
						} else if !errors.Is(err, context.DeadlineExceeded) {
							t.Errorf("Append: %v", err)
						}
					}
				})
			}
			wg.Wait()
			// Appends whose callers gave up are still committed by some leader.
			for st := stats(t, d); st.InflightBytes != 0; st = stats(t, d) {
				time.Sleep(time.Millisecond)
			}
			stored := map[string]bool{}
			for _, r := range readAll(t, d, DefaultConsumer) {
				if !sent[string(r)] {
					t.Errorf("stored %q, which no appender sent: read from the caller's memory after Append returned", r)
				}
				stored[string(r)] = true
			}
			for id := range acked {
				if !stored[id] {
					t.Errorf("record %s acknowledged but not stored", id)
				}
			}
			t.Logf("%d of %d appends acknowledged, %d stored", len(acked), 32*40, len(stored))
		})
	}
}

// TestAckInterval: with an AckInterval, Acks update the positions in memory and
// one timed write stores them; until then a crash would deliver the records
// again, and Close stores what is pending.
func TestAckInterval(t *testing.T) {
	stored := func(t *testing.T, dir string) map[string]uint64 {
		t.Helper()
		offs, _, err := readOffsets(dir)
		if err != nil {
			t.Fatal(err)
		}
		return offs
	}

	t.Run("close stores pending positions", func(t *testing.T) {
		dir := t.TempDir()
		d, err := Open(dir, Options{SegmentBytes: 4096, AckInterval: time.Minute, Consumers: []string{"a", "b"}})
		if err != nil {
			t.Fatal(err)
		}
		recs := records("r", 200)
		appendAll(t, d, recs)
		for range 20 {
			readN(t, d, "a", 10, true) // twenty Acks of ten records
		}
		readN(t, d, "b", 50, true)
		// Not written yet: after a crash now, both would read from the start.
		if got := stored(t, dir); got["a"] != 0 || got["b"] != 0 {
			t.Fatalf("offsets file before the interval: %v, want both at 0", got)
		}
		// The backlog counts the acknowledgments; the space waits for the write.
		if st := stats(t, d); st.Consumers[0].Records != 0 || st.Records != 150 || st.Segments < 2 || len(segmentFiles(t, dir)) != st.Segments {
			t.Fatalf("before the positions are stored: %+v", st)
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		if got := stored(t, dir); got["a"] != 200 || got["b"] != 50 {
			t.Fatalf("offsets file after Close: %v, want a=200 b=50", got)
		}
		d = open(t, dir, Options{SegmentBytes: 4096, AckInterval: time.Minute, Consumers: []string{"a", "b"}})
		if got := readAll(t, d, "a"); len(got) != 0 {
			t.Fatalf("consumer a read %d records again after a clean Close", len(got))
		}
		if got := readN(t, d, "b", 150, false); !bytes.Equal(got[0], recs[50]) {
			t.Fatalf("consumer b resumed at %q, want %q", got[0], recs[50])
		}
	})

	t.Run("the timer stores positions and reclaims segments", func(t *testing.T) {
		dir := t.TempDir()
		d := open(t, dir, Options{SegmentBytes: 4096, AckInterval: 20 * time.Millisecond})
		appendAll(t, d, records("r", 300))
		before := len(segmentFiles(t, dir))
		readN(t, d, DefaultConsumer, 300, true)
		deadline := time.Now().Add(10 * time.Second)
		for stats(t, d).Records != 0 || len(segmentFiles(t, dir)) != 1 {
			if time.Now().After(deadline) {
				t.Fatalf("the position was not stored, or the segments not reclaimed, within 10s of the Ack: %+v, %d of %d segment files left", stats(t, d), len(segmentFiles(t, dir)), before)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if got := stored(t, dir)[DefaultConsumer]; got != 300 || before < 2 {
			t.Fatalf("stored position %d, want 300 (segments before: %d)", got, before)
		}
	})
}

// TestWants: a consumer with a selection reads the records it wants, nil in
// place of the others, in batches acknowledged as usual; other consumers read
// everything.
func TestWants(t *testing.T) {
	dir := t.TempDir()
	wantsB := func(r []byte) bool { return len(r) > 0 && r[0] == 'B' }
	opts := Options{SegmentBytes: 4096, Consumers: []string{"all", "b"}, Wants: map[string]func([]byte) bool{"b": wantsB}}
	d := open(t, dir, opts)
	var recs [][]byte
	for i := range 300 {
		kind := "A"
		if i%7 == 0 {
			kind = "B"
		}
		recs = append(recs, []byte(fmt.Sprintf("%s-%d:%s", kind, i, strings.Repeat("x", i%97))))
	}
	appendAll(t, d, recs)
	if got := readN(t, d, "all", 300, true); !slices.EqualFunc(got, recs, bytes.Equal) {
		t.Fatal("the consumer without a selection did not read every record")
	}
	got := readN(t, d, "b", 300, true)
	for i, r := range got {
		switch {
		case wantsB(recs[i]) && !bytes.Equal(r, recs[i]):
			t.Fatalf("record %d: %q, want %q", i, r, recs[i])
		case !wantsB(recs[i]) && r != nil:
			t.Fatalf("record %d, not wanted: %q, want nil", i, r)
		}
	}
	if st := stats(t, d); st.Records != 0 {
		t.Fatalf("after acknowledging every batch: %+v", st)
	}

	// A batch belongs to its reader until acknowledged: the reads after it
	// leave its records, and the slice holding them, alone.
	appendAll(t, d, recs[:30])
	ctx := context.Background()
	var batches []Batch
	for range 3 {
		b, err := d.Read(ctx, "b", 10)
		if err != nil {
			t.Fatal(err)
		}
		batches = append(batches, b)
	}
	for i, b := range batches {
		for j, r := range b.Records {
			if want := recs[int(b.First)-300+j]; wantsB(want) != (r != nil) || (r != nil && !bytes.Equal(r, want)) {
				t.Fatalf("batch %d, record %d, after later reads: %q, want %q", i, j, r, want)
			}
		}
	}

	if _, err := Open(t.TempDir(), Options{Consumers: []string{"a"}, Wants: map[string]func([]byte) bool{"b": wantsB}}); err == nil || !strings.Contains(err.Error(), `Wants names consumer "b"`) {
		t.Fatalf("Wants of an unknown consumer: %v", err)
	}
}

// TestTransient: a Transient consumer's reads reuse one buffer (its records are
// valid until its next Read), and read the right records; others get records
// of their own.
func TestTransient(t *testing.T) {
	d := open(t, t.TempDir(), Options{Consumers: []string{"t", "own"}, Transient: []string{"t"}})
	recs := records("r", 40)
	appendAll(t, d, recs)
	for _, name := range []string{"t", "own"} {
		ctx := context.Background()
		var first []*byte
		var slots []*[]byte
		for i := 0; i < 40; i += 10 {
			b, err := d.Read(ctx, name, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Records) != 10 || !slices.EqualFunc(b.Records, recs[i:i+10], bytes.Equal) {
				t.Fatalf("%s: read %d records at %d, not the ones appended", name, len(b.Records), i)
			}
			first = append(first, &b.Records[0][0])
			slots = append(slots, &b.Records[0])
			if err := d.Ack(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		reused := first[0] == first[1] && first[1] == first[2]
		if reused != (name == "t") {
			t.Errorf("consumer %s: reads share their memory: %v", name, reused)
		}
		// The slice of records too: a Transient read allocates neither.
		if reused := slots[0] == slots[1] && slots[1] == slots[2]; reused != (name == "t") {
			t.Errorf("consumer %s: reads share their slice of records: %v", name, reused)
		}
	}
	if _, err := Open(t.TempDir(), Options{Consumers: []string{"a"}, Transient: []string{"b"}}); err == nil || !strings.Contains(err.Error(), `Transient names consumer "b"`) {
		t.Fatalf("Transient of an unknown consumer: %v", err)
	}
}

// TestUsedBytesPredictsFull: with an AckInterval, acknowledged records hold
// their space until the acknowledgment is written; Stats.UsedBytes counts
// them as Append does, so that a health check sees the buffer full when
// appends are refused, though Bytes (the backlog) is zero.
func TestUsedBytesPredictsFull(t *testing.T) {
	const rec = 100
	opts := Options{MaxBytes: 10 * (rec + frameHeaderSize), SegmentBytes: 1024, AckInterval: time.Minute}
	d := open(t, t.TempDir(), opts)
	ctx := context.Background()
	payload := bytes.Repeat([]byte("p"), rec)
	for i := range 10 {
		if err := d.Append(ctx, [][]byte{payload}); err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
	}
	for read := 0; read < 10; {
		b, err := d.Read(ctx, DefaultConsumer, 10-read) // a batch ends at a segment's end
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Ack(ctx, b); err != nil {
			t.Fatal(err)
		}
		read += len(b.Records)
	}
	if err := d.Append(ctx, [][]byte{payload}); !errors.Is(err, ErrFull) {
		t.Fatalf("Append before the acknowledgment is written = %v, want ErrFull", err)
	}
	st := stats(t, d)
	if st.Bytes != 0 || st.UsedBytes != opts.MaxBytes {
		t.Errorf("Stats = Bytes %d, UsedBytes %d; want 0 and %d (as Append counts)", st.Bytes, st.UsedBytes, opts.MaxBytes)
	}
}
