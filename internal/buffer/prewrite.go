package buffer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// blankName is the file written ahead with zeros to become the next segment
// (Options.Prewrite). It is not a segment until it is renamed: Open deletes one
// left behind.
const blankName = "next-segment.blank"

// Writing a blank: zeros in blankChunk writes, each flushed, with a pause of
// blankPause times the chunk's time after it, so that its writeback reaches
// the disk in small steps that leave it to the active segment's fsyncs most of
// the time. Written in one go, flushed every 8 MiB, blanks raised the p99 of
// appends at a steady 8,000 a second (BenchmarkAppendLatency, segments of
// 16 MiB) from 1.0-1.6 ms without blanks to 2.1-10.9 ms; paced, 1.2-1.9 ms
// against 1.0-1.1 in the same runs, with the median lower (0.29-0.31 against
// 0.35-0.40 ms). A blank of 64 MiB then takes about 0.3 s here; the
// second half of the segment before it takes 1.3 s to fill at the maximum
// single-event rate.
const (
	blankChunk = 1 << 20
	blankPause = 2
)

// prewriteMaxCommit is the mean commit (bytes per fsync, over the active
// segment's first half) above which no blank is written for the next segment.
// A blank saves each fsync a fixed cost (about 85 µs of CPU and 150 µs here,
// the file-size metadata) and costs a second write of every byte (about 20 ms
// of CPU per 64 MiB, and disk bandwidth that the fsyncs then queue behind): it
// pays for commits of a few hundred KiB or less. Measured with accord serve on
// the reference event (docs/performance.md, fifteenth pass): single-event
// requests commit about 25 KB per fsync and gain; batches of 100, about 1 MB,
// lost 2-15% of their rate with a blank for every segment.
const prewriteMaxCommit = 256 << 10

// blanker writes one blank segment file when kicked, in its own goroutine, and
// keeps it until a roll takes it: zeros up to the segment size, fsync'd, so
// that appends to it change no file
// metadata and their fsyncs write data only. On ext4 here an append and fsync
// into written space took half the time and CPU of one that extends the file
// (docs/buffer.md, "Space written ahead").
type blanker struct {
	path string
	size int64

	mu       sync.Mutex
	ready    *os.File // a blank of size bytes, durable; nil when none is ready
	failures uint64   // blanks that could not be written
	stop     bool

	wake chan struct{}
	done chan struct{}
}

// newBlanker starts the goroutine that writes blanks in dir when kicked: the
// Disk kicks it once its active segment is half full, so that a buffer that
// holds little never writes a blank.
func newBlanker(dir string, size int64) *blanker {
	b := &blanker{path: filepath.Join(dir, blankName), size: size, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go b.run()
	return b
}

// removeBlank deletes a blank left behind by an earlier process: nothing in it
// is data, and its contents are not known to be complete.
func removeBlank(dir string) error {
	if err := os.Remove(filepath.Join(dir, blankName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing the unused blank segment: %w", err)
	}
	return nil
}

func (b *blanker) kick() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// take hands over the ready blank, if there is one. The caller renames the
// file (its path is b.path) and owns it; the next is written at the same path
// at the next kick, which must come after the rename.
func (b *blanker) take() *os.File {
	b.mu.Lock()
	defer b.mu.Unlock()
	f := b.ready
	b.ready = nil
	return f
}

// failed is how many blanks could not be written.
func (b *blanker) failed() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.failures
}

// bytes is the disk space the ready blank takes.
func (b *blanker) bytes() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ready != nil {
		return b.size
	}
	return 0
}

func (b *blanker) run() {
	defer close(b.done)
	for range b.wake {
		b.mu.Lock()
		stop, have := b.stop, b.ready != nil
		b.mu.Unlock()
		if stop {
			return
		}
		if have {
			continue
		}
		f := b.write()
		b.mu.Lock()
		if b.stop {
			b.mu.Unlock()
			if f != nil {
				f.Close()
				os.Remove(b.path)
			}
			return
		}
		b.ready = f
		if f == nil {
			b.failures++
		}
		b.mu.Unlock()
	}
}

// write creates the blank: zeros up to b.size, durable. On failure (a full disk,
// or close) it removes what it wrote and returns nil: the next segment is then
// created empty and grows, as without Options.Prewrite, and the roll after it
// tries again. Nothing is lost either way: the failure is counted
// (Stats.PrewriteFailures), and an append that cannot write fails on its own.
func (b *blanker) write() *os.File {
	f, err := os.OpenFile(b.path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return nil
	}
	fail := func() *os.File {
		f.Close()
		os.Remove(b.path)
		return nil
	}
	zeros := make([]byte, min(blankChunk, b.size))
	for off := int64(0); off < b.size; {
		b.mu.Lock()
		stop := b.stop
		b.mu.Unlock()
		if stop {
			return fail()
		}
		t0 := time.Now()
		n, err := f.WriteAt(zeros[:min(int64(len(zeros)), b.size-off)], off)
		if err != nil {
			return fail()
		}
		off += int64(n)
		if err := f.Sync(); err != nil {
			return fail()
		}
		// The blank takes at most a third of the disk's time, so the active
		// segment's fsyncs do not queue behind a long writeback.
		time.Sleep(blankPause * time.Since(t0))
	}
	return f
}

// close stops the goroutine and deletes the blank, ready or half written.
func (b *blanker) close() error {
	b.mu.Lock()
	b.stop = true
	f := b.ready
	b.ready = nil
	b.mu.Unlock()
	b.kick()
	<-b.done
	if f == nil {
		return nil
	}
	return errors.Join(f.Close(), removeBlank(filepath.Dir(b.path)))
}
