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
// rather than the id. Two ids of a window share a hash with a probability of
// about n²/2¹²⁹, for n = 2¹⁷ ids about 10⁻²⁹. The hashes sit in a ring, oldest
// first once it is full, and an open-addressing index (linear probing, at most
// half full) holds each one's place in the ring: 26 bytes of heap per id in a
// full window of 2^17, where a Go map of the hashes beside the ring held 71, and
// about half the time per Add (BenchmarkSeen).
type Seen struct {
	mu    sync.Mutex
	seeds [2]maphash.Seed
	ring  []IDHash
	next  int      // the oldest hash once the ring is full
	max   int      // the window
	index []uint32 // 1 + the ring position of a hash, 0 for an empty slot
}

// IDHash is the hash Seen keeps of an id (HashID).
type IDHash [2]uint64

// NewSeen remembers up to n ids; it takes memory as ids come.
func NewSeen(n int) *Seen {
	return &Seen{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}, max: min(max(n, 1), 1<<31)}
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
	if s.slotOf(h) >= 0 {
		return false
	}
	if len(s.ring) < s.max {
		s.ring = append(s.ring, h)
		if 2*len(s.ring) > len(s.index) {
			s.grow()
			return true
		}
		s.insert(len(s.ring) - 1)
		return true
	}
	s.remove(s.slotOf(s.ring[s.next]))
	s.ring[s.next] = h
	s.insert(s.next)
	s.next = (s.next + 1) % s.max
	return true
}

// HasHash reports whether the id whose HashID is h is remembered.
func (s *Seen) HasHash(h IDHash) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.slotOf(h) >= 0
}

// home is the index slot where the probe for h starts.
func (s *Seen) home(h IDHash) int { return int(h[0] & uint64(len(s.index)-1)) }

// slotOf returns the index slot that holds h, or -1.
func (s *Seen) slotOf(h IDHash) int {
	if len(s.index) == 0 {
		return -1
	}
	mask := len(s.index) - 1
	for i := s.home(h); ; i = (i + 1) & mask {
		switch p := s.index[i]; {
		case p == 0:
			return -1
		case s.ring[p-1] == h:
			return i
		}
	}
}

// insert indexes the hash at ring position pos, which is not indexed yet.
func (s *Seen) insert(pos int) {
	mask := len(s.index) - 1
	i := s.home(s.ring[pos])
	for s.index[i] != 0 {
		i = (i + 1) & mask
	}
	s.index[i] = uint32(pos) + 1
}

// remove empties index slot j, moving back the entries after it that their probe
// would otherwise no longer reach (deletion without tombstones).
func (s *Seen) remove(j int) {
	mask := len(s.index) - 1
	for i := (j + 1) & mask; s.index[i] != 0; i = (i + 1) & mask {
		// The entry at i stays if its home lies cyclically in (j, i].
		home := s.home(s.ring[s.index[i]-1])
		if (i > j && (home <= j || home > i)) || (i < j && home <= j && home > i) {
			s.index[j] = s.index[i]
			j = i
		}
	}
	s.index[j] = 0
}

// grow doubles the index (at least 16 slots, at most twice the window rounded up
// to a power of two) and indexes the ring again.
func (s *Seen) grow() {
	n := max(16, 2*len(s.index))
	for n < 2*len(s.ring) {
		n *= 2
	}
	s.index = make([]uint32, n)
	for pos := range s.ring {
		s.insert(pos)
	}
}
