package sink

import (
	"hash/maphash"
	"sync"
)

// Seen remembers the most recent ids (a bounded window), so that a sink drops an
// envelope redelivered after a crash or a retry. Sinks whose destination can
// enforce uniqueness (a primary key) rely on that instead.
//
// It keeps a 128-bit hash of each id (two independently seeded 64-bit hashes)
// rather than the id: about 40 bytes per id instead of about 100 for a 36-byte
// UUID string. Two ids of a window share a hash with a probability of about
// n²/2¹²⁹, for n = 2¹⁷ ids about 10⁻²⁹.
type Seen struct {
	mu    sync.Mutex
	seeds [2]maphash.Seed
	set   map[IDHash]struct{}
	ring  []IDHash
	next  int
	max   int
}

// IDHash is the hash Seen keeps of an id (HashID).
type IDHash [2]uint64

// NewSeen remembers up to n ids; it takes memory as ids come.
func NewSeen(n int) *Seen {
	return &Seen{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}, set: map[IDHash]struct{}{}, max: max(n, 1)}
}

func (s *Seen) hash(id string) IDHash {
	return IDHash{maphash.String(s.seeds[0], id), maphash.String(s.seeds[1], id)}
}

// HashID returns the hash of id that AddHash and HasHash take: the same as
// Add and Has compute for string(id), for a sink that checks an id, keeps it
// aside and adds it later without hashing it again or making it a string.
func (s *Seen) HashID(id []byte) IDHash {
	return IDHash{maphash.Bytes(s.seeds[0], id), maphash.Bytes(s.seeds[1], id)}
}

// Add records id and reports whether it was new.
func (s *Seen) Add(id string) bool { return s.AddHash(s.hash(id)) }

// Has reports whether id is remembered.
func (s *Seen) Has(id string) bool { return s.HasHash(s.hash(id)) }

// AddHash records the id whose HashID is h and reports whether it was new.
func (s *Seen) AddHash(h IDHash) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.set[h]; dup {
		return false
	}
	if len(s.ring) < s.max {
		s.ring = append(s.ring, h)
	} else {
		delete(s.set, s.ring[s.next])
		s.ring[s.next] = h
		s.next = (s.next + 1) % s.max
	}
	s.set[h] = struct{}{}
	return true
}

// HasHash reports whether the id whose HashID is h is remembered.
func (s *Seen) HasHash(h IDHash) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.set[h]
	return ok
}
