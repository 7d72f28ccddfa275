package vault

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// scope is a (controller, subject) pair in plain text. It exists only in memory, as
// the key of the key cache, so that a cached tokenize computes no index hash.
type scope struct{ controller, subject string }

// cacheEntry is one cached pair key. expires is read on every tokenize, so it is
// atomic; everything else is fixed once the entry is built.
type cacheEntry struct {
	scope   scope
	key     *pairKey
	expires atomic.Int64 // unix nanoseconds
}

const cacheShards = 64

// keyCache holds pair keys for tokenize, sharded so that concurrent readers on many
// cores do not share one lock. Reads take a shard's read lock only; every change
// (fill, invalidation, eviction) is serialised by mu, so an invalidation can never be
// undone by a fill that read the store before it (see put).
type keyCache struct {
	seed     maphash.Seed
	shards   [cacheShards]cacheShard
	perShard int

	mu    sync.Mutex
	byID  map[KeyID]*cacheEntry
	epoch atomic.Uint64 // incremented by every invalidation
}

type cacheShard struct {
	mu      sync.RWMutex
	byScope map[scope]*cacheEntry
}

func newKeyCache(size int) *keyCache {
	c := &keyCache{seed: maphash.MakeSeed(), byID: make(map[KeyID]*cacheEntry)}
	c.perShard = max(1, size/cacheShards)
	for i := range c.shards {
		c.shards[i].byScope = make(map[scope]*cacheEntry)
	}
	return c
}

func (c *keyCache) shard(s scope) *cacheShard {
	return &c.shards[maphash.String(c.seed, s.subject)%cacheShards]
}

// get returns the entry of s, expired or not; fresh says whether it is still within
// its TTL at now.
func (c *keyCache) get(s scope, now int64) (e *cacheEntry, fresh bool) {
	sh := c.shard(s)
	sh.mu.RLock()
	e = sh.byScope[s]
	sh.mu.RUnlock()
	if e == nil {
		return nil, false
	}
	return e, now < e.expires.Load()
}

// put caches e unless an invalidation happened since epoch was read (before the store
// was asked for the key): the key read then may since have been destroyed. It
// returns the entry to use: e, or the one cached for the same key already.
func (c *keyCache) put(e *cacheEntry, epoch uint64) *cacheEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch.Load() != epoch {
		return e
	}
	sh := c.shard(e.scope)
	sh.mu.Lock()
	if old := sh.byScope[e.scope]; old != nil && old.key.id == e.key.id {
		// Two callers made an entry for the same key (one created it, the other
		// lost the race and read it): keep the one cached, with the mappings it
		// knows are stored, so that they are not written again.
		old.expires.Store(max(old.expires.Load(), e.expires.Load()))
		sh.mu.Unlock()
		return old
	} else if old != nil {
		delete(c.byID, old.key.id)
	} else if len(sh.byScope) >= c.perShard {
		c.evictLocked(sh)
	}
	sh.byScope[e.scope] = e
	sh.mu.Unlock()
	c.byID[e.key.id] = e
	return e
}

// evictLocked drops about an eighth of a full shard, chosen by map order, which Go
// randomises. c.mu and sh.mu are held.
func (c *keyCache) evictLocked(sh *cacheShard) {
	n := max(1, len(sh.byScope)/8)
	for s, e := range sh.byScope {
		delete(sh.byScope, s)
		delete(c.byID, e.key.id)
		if n--; n == 0 {
			return
		}
	}
}

// invalidate drops the entries of the given key ids.
func (c *keyCache) invalidate(ids []KeyID) {
	c.epoch.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		e := c.byID[id]
		if e == nil {
			continue
		}
		delete(c.byID, id)
		sh := c.shard(e.scope)
		sh.mu.Lock()
		if sh.byScope[e.scope] == e {
			delete(sh.byScope, e.scope)
		}
		sh.mu.Unlock()
	}
}

// invalidateAll empties the cache.
func (c *keyCache) invalidateAll() {
	c.epoch.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.byID)
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		clear(sh.byScope)
		sh.mu.Unlock()
	}
}

func (c *keyCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byID)
}
