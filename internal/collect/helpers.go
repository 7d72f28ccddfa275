package collect

import (
	"sync"
	"time"
)

// helpers run the shares of spread requests (see Pipeline.spread) on goroutines
// that outlive the request; spreadHelpers serves every pipeline. A goroutine
// started per share begins with a small stack and grows it by copying as the
// validator and the scrubber recurse; with a share per new buyer that copying
// was a tenth of the CPU of a request of new buyers
// (BenchmarkPipeline/nobuffer/new_subjects_batch100, runtime.copystack).
//
// At most maxHelpers run at once, across all requests, which bounds their stacks
// and the key creations in flight (the vault store commits up to a few hundred
// together); a share waits for a free helper beyond that. An idle helper waits
// for the next share for helperIdle, then ends.
type helpers struct {
	tasks chan func()
	slots chan struct{} // one per running helper
	idle  time.Duration
}

const (
	maxHelpers = 256
	helperIdle = 10 * time.Second
)

var spreadHelpers = newHelpers()

func newHelpers() *helpers {
	return &helpers{tasks: make(chan func()), slots: make(chan struct{}, maxHelpers), idle: helperIdle}
}

// goWith runs f on a helper and calls wg.Done when f returns: on an idle helper,
// else on a new one, else on the first to become idle.
func (h *helpers) goWith(wg *sync.WaitGroup, f func()) {
	wg.Add(1)
	task := func() {
		defer wg.Done()
		f()
	}
	select {
	case h.tasks <- task:
		return
	default:
	}
	select {
	case h.tasks <- task:
	case h.slots <- struct{}{}:
		go h.loop(task)
	}
}

func (h *helpers) loop(task func()) {
	defer func() { <-h.slots }()
	idle := time.NewTimer(h.idle)
	defer idle.Stop()
	for {
		task()
		idle.Reset(h.idle)
		select {
		case task = <-h.tasks:
		case <-idle.C:
			return
		}
	}
}
