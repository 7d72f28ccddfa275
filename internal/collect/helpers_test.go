package collect

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestHelpersBound gives the helpers more blocked shares than maxHelpers: no
// more than maxHelpers run at once, the others wait and then run, and idle
// helpers end after their idle time.
func TestHelpersBound(t *testing.T) {
	h := newHelpers()
	h.idle = 50 * time.Millisecond
	const shares = 2*maxHelpers + 7
	var running, peak, done atomic.Int64
	gate := make(chan struct{})
	var wg sync.WaitGroup
	submitted := make(chan struct{})
	go func() {
		defer close(submitted)
		for range shares {
			h.goWith(&wg, func() {
				n := running.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				<-gate
				running.Add(-1)
				done.Add(1)
			})
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for running.Load() < maxHelpers && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // room for a helper beyond the bound to start
	if got := running.Load(); got != maxHelpers {
		t.Fatalf("%d shares running with %d submitted, want maxHelpers (%d)", got, shares, maxHelpers)
	}
	close(gate)
	<-submitted
	wg.Wait()
	if got := done.Load(); got != shares {
		t.Fatalf("%d of %d shares ran", got, shares)
	}
	if got := peak.Load(); got > maxHelpers {
		t.Fatalf("%d shares ran at once, more than maxHelpers (%d)", got, maxHelpers)
	}
	for len(h.slots) > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := len(h.slots); n != 0 {
		t.Fatalf("%d helpers still running after their idle time", n)
	}
}
