package buffer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// reclaimSuffix marks a segment file that every consumer has passed and that is
// being deleted. Open removes such files: their records were acknowledged by
// every consumer when they were renamed.
const reclaimSuffix = ".reclaiming"

// Reclaiming a segment deletes it a few MiB at a time: unlinking a 64 MiB file
// at once frees its blocks and drops its pages from the page cache in one burst
// of kernel work (65-100 ms measured here), which stalled the commits of the
// appends running meanwhile (with deletion at once, the p99 at half the maximum
// batch rate was 48-51 ms against 11-26 ms paced, the lake off; docs/buffer.md).
// reclaimStep bytes are cut off the end of the file every reclaimPause, unless
// segments are queuing up faster than that.
const (
	reclaimStep  = 2 << 20
	reclaimPause = 15 * time.Millisecond
	// reclaimBehind is how many queued segments make the reclaimer stop pausing.
	reclaimBehind = 2
)

// reclaimer deletes, in its own goroutine, the segments that every consumer
// has passed. A segment is renamed (reclaimSuffix, the directory synced) before
// it is cut down, so a process that dies meanwhile leaves a file Open knows to
// delete rather than a shortened segment.
type reclaimer struct {
	dir string

	mu    sync.Mutex
	queue []*segment
	err   error // the first failure since takeErr
	stop  bool  // set by close: no more pauses, end when the queue is empty

	wake chan struct{}
	done chan struct{}
}

func newReclaimer(dir string) *reclaimer {
	r := &reclaimer{dir: dir, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go r.run()
	return r
}

// add renames segs out of the log and queues them for deletion. The segments
// are no longer part of the log either way; an error means some files stay
// (under their names) until the next Open deletes them.
func (r *reclaimer) add(segs []*segment) error {
	var errs []error
	queued := segs[:0:0]
	for _, s := range segs {
		to := s.path + reclaimSuffix
		if err := os.Rename(s.path, to); err != nil {
			errs = append(errs, err, s.f.Close())
			continue
		}
		s.path = to
		queued = append(queued, s)
	}
	if err := syncDir(r.dir); err != nil {
		// The renames may not be durable: do not shorten the files yet.
		for _, s := range queued {
			errs = append(errs, s.f.Close())
		}
		return errors.Join(append(errs, err)...)
	}
	r.mu.Lock()
	r.queue = append(r.queue, queued...)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return errors.Join(errs...)
}

// takeErr returns the first deletion failure since the last call.
func (r *reclaimer) takeErr() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.err
	r.err = nil
	return err
}

// close deletes what is queued without pausing and stops the goroutine.
func (r *reclaimer) close() error {
	r.mu.Lock()
	r.stop = true
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
	<-r.done
	return r.takeErr()
}

func (r *reclaimer) run() {
	defer close(r.done)
	for {
		r.mu.Lock()
		var s *segment
		if len(r.queue) > 0 {
			s = r.queue[0]
			r.queue = r.queue[1:]
		}
		stop := r.stop
		r.mu.Unlock()
		if s == nil {
			if stop {
				return
			}
			<-r.wake
			continue
		}
		if err := r.delete(s); err != nil {
			r.mu.Lock()
			if r.err == nil {
				r.err = err
			}
			r.mu.Unlock()
		}
	}
}

// paced reports whether the next cut should wait: not when closing, nor when
// segments queue up faster than the pace deletes them.
func (r *reclaimer) paced() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.stop && len(r.queue) < reclaimBehind
}

// delete cuts s's file down reclaimStep at a time, then removes it.
func (r *reclaimer) delete(s *segment) error {
	info, err := s.f.Stat()
	if err == nil {
		for n := info.Size(); n > 0 && err == nil; {
			n = max(n-reclaimStep, 0)
			if err = s.f.Truncate(n); err == nil && n > 0 && r.paced() {
				time.Sleep(reclaimPause)
			}
		}
	}
	err = errors.Join(err, s.f.Close())
	if rmErr := os.Remove(s.path); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) {
		err = errors.Join(err, rmErr)
	}
	if err != nil {
		return fmt.Errorf("deleting %s: %w", s.path, err)
	}
	return nil
}

// removeReclaiming deletes the files a reclaimer left behind in dir (the process
// ended while it cut them down).
func removeReclaiming(dir string, entries []os.DirEntry) (removed bool, err error) {
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), segSuffix+reclaimSuffix) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return removed, fmt.Errorf("removing %s, a segment every consumer had passed: %w", e.Name(), err)
			}
			removed = true
		}
	}
	return removed, nil
}
