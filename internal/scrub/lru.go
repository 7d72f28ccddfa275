package scrub

import (
	"sync"
	"sync/atomic"
)

// lru is a bounded, sharded least-recently-used cache, safe for concurrent use.
// Keys are already hashes (uint64), so the cache never holds the raw value it was
// computed from: a user agent cache keeps generalised fields, not user agents.
// Sharding keeps collectors on many cores from queueing on one mutex.
type lru[V any] struct {
	shards []lruShard[V]
	mask   uint64
	hits   atomic.Uint64
	misses atomic.Uint64
}

type lruShard[V any] struct {
	mu    sync.Mutex
	items map[uint64]*lruEntry[V]
	head  lruEntry[V] // sentinel: head.next is the most recent, head.prev the least
	cap   int
	_     [40]byte // keep shards on separate cache lines
}

type lruEntry[V any] struct {
	key        uint64
	val        V
	prev, next *lruEntry[V]
}

// newLRU returns a cache of about size entries (at least one per shard).
func newLRU[V any](size int) *lru[V] {
	n := 1
	for n < 16 && n*64 < size {
		n *= 2
	}
	c := &lru[V]{shards: make([]lruShard[V], n), mask: uint64(n - 1)}
	per := max((size+n-1)/n, 1)
	for i := range c.shards {
		s := &c.shards[i]
		s.items = make(map[uint64]*lruEntry[V], min(per, 1024))
		s.cap = per
		s.head.next, s.head.prev = &s.head, &s.head
	}
	return c
}

func (c *lru[V]) shard(key uint64) *lruShard[V] {
	// The low bits pick the shard; mix the high bits in so that keys which differ
	// only there (offsets, small integers) still spread.
	return &c.shards[(key^key>>29^key>>47)&c.mask]
}

// get returns the value cached under key and marks it recently used.
func (c *lru[V]) get(key uint64) (V, bool) {
	s := c.shard(key)
	s.mu.Lock()
	e, ok := s.items[key]
	if ok {
		s.unlink(e)
		s.pushFront(e)
		v := e.val
		s.mu.Unlock()
		c.hits.Add(1)
		return v, true
	}
	s.mu.Unlock()
	c.misses.Add(1)
	var zero V
	return zero, false
}

// put stores val under key, evicting the least recently used entry of the shard
// when it is full.
func (c *lru[V]) put(key uint64, val V) {
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.items[key]; ok {
		e.val = val
		s.unlink(e)
		s.pushFront(e)
		return
	}
	var e *lruEntry[V]
	if len(s.items) >= s.cap {
		e = s.head.prev
		s.unlink(e)
		delete(s.items, e.key)
		*e = lruEntry[V]{}
	} else {
		e = &lruEntry[V]{}
	}
	e.key, e.val = key, val
	s.items[key] = e
	s.pushFront(e)
}

// len returns the number of cached entries.
func (c *lru[V]) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.items)
		s.mu.Unlock()
	}
	return n
}

func (s *lruShard[V]) unlink(e *lruEntry[V]) {
	e.prev.next = e.next
	e.next.prev = e.prev
	e.prev, e.next = nil, nil
}

func (s *lruShard[V]) pushFront(e *lruEntry[V]) {
	e.prev = &s.head
	e.next = s.head.next
	s.head.next.prev = e
	s.head.next = e
}
