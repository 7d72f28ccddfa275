package sink

import "sync"

// Seen remembers the most recent ids (a bounded window), so that a sink drops an
// envelope redelivered after a crash or a retry. Sinks whose destination can
// enforce uniqueness (a primary key) rely on that instead.
type Seen struct {
	mu   sync.Mutex
	set  map[string]struct{}
	ring []string
	next int
}

// NewSeen remembers up to n ids.
func NewSeen(n int) *Seen {
	if n < 1 {
		n = 1
	}
	return &Seen{set: make(map[string]struct{}, n), ring: make([]string, n)}
}

// Add records id and reports whether it was new.
func (s *Seen) Add(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.set[id]; dup {
		return false
	}
	if old := s.ring[s.next]; old != "" {
		delete(s.set, old)
	}
	s.ring[s.next] = id
	s.next = (s.next + 1) % len(s.ring)
	s.set[id] = struct{}{}
	return true
}

// Has reports whether id is remembered.
func (s *Seen) Has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.set[id]
	return ok
}
