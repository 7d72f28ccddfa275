package sink

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

// TestSeen checks the window: ids are remembered until n newer ones came.
func TestSeen(t *testing.T) {
	s := NewSeen(3)
	for _, id := range []string{"a", "b", "c"} {
		if !s.Add(id) {
			t.Fatalf("%s reported as seen before", id)
		}
	}
	if s.Add("b") || !s.Has("a") || s.Has("d") {
		t.Fatal("a remembered id was forgotten or an unknown one remembered")
	}
	s.Add("d") // evicts a
	if s.Has("a") || !s.Has("b") || !s.Has("c") || !s.Has("d") {
		t.Fatal("the oldest id was not the one forgotten")
	}
	big := NewSeen(1000)
	for i := range 5000 {
		big.Add(fmt.Sprint(i))
	}
	for i := range 5000 {
		if got, want := big.Has(fmt.Sprint(i)), i >= 4000; got != want {
			t.Fatalf("id %d remembered: %v, want %v", i, got, want)
		}
	}
}

// TestSeenHashID: an id added by its string is found by its HashID, and the
// other way round (the lake checks and keeps hashes, and seeds the window from
// its files with strings).
func TestSeenHashID(t *testing.T) {
	s := NewSeen(10)
	s.Add("3f1c9a8e-2b4d-4c6e-9f1a-7b8c9d0e1f2a")
	if !s.HasHash(s.HashID([]byte("3f1c9a8e-2b4d-4c6e-9f1a-7b8c9d0e1f2a"))) {
		t.Fatal("an id added as a string is not found by its HashID")
	}
	if !s.AddHash(s.HashID([]byte("e2"))) || !s.Has("e2") || s.Add("e2") {
		t.Fatal("an id added by its HashID is not found as a string")
	}
	if s.HasHash(s.HashID([]byte("e3"))) || s.HashID([]byte("e2")) == s.HashID([]byte("e3")) {
		t.Fatal("an unknown id is found, or two ids share a hash")
	}
}

// mapWindow is the window as Seen was first written: a Go map of the hashes
// beside the ring. TestSeenMatchesMapWindow holds Seen to it and BenchmarkSeen
// compares the two.
type mapWindow struct {
	set  map[IDHash]struct{}
	ring []IDHash
	next int
	max  int
}

func newMapWindow(n int) *mapWindow { return &mapWindow{set: map[IDHash]struct{}{}, max: n} }

func (m *mapWindow) has(h IDHash) bool { _, ok := m.set[h]; return ok }

func (m *mapWindow) add(h IDHash) bool {
	if m.has(h) {
		return false
	}
	if len(m.ring) < m.max {
		m.ring = append(m.ring, h)
	} else {
		delete(m.set, m.ring[m.next])
		m.ring[m.next] = h
		m.next = (m.next + 1) % m.max
	}
	m.set[h] = struct{}{}
	return true
}

// TestSeenMatchesMapWindow drives Seen and a mapWindow with the same hashes, many
// of them sharing their low bits so that the index's probes collide, wrap around
// and are shifted back on removal: both must answer every Add and Has the same.
func TestSeenMatchesMapWindow(t *testing.T) {
	for _, window := range []int{1, 2, 3, 7, 8, 9, 31, 100, 1000} {
		for _, spread := range []uint64{4, 64, 1 << 40} {
			s, ref := NewSeen(window), newMapWindow(window)
			rng := rand.New(rand.NewPCG(uint64(window), spread))
			for op := range 200 * window {
				// Low first words collide in the index; the second word keeps
				// the hashes distinct, and its small range makes repeats.
				h := IDHash{rng.Uint64N(spread) | rng.Uint64N(4)<<50, rng.Uint64N(uint64(3 * window))}
				if op%3 == 0 {
					if got, want := s.HasHash(h), ref.has(h); got != want {
						t.Fatalf("window %d, spread %d, op %d: HasHash(%v) = %v, want %v", window, spread, op, h, got, want)
					}
					continue
				}
				if got, want := s.AddHash(h), ref.add(h); got != want {
					t.Fatalf("window %d, spread %d, op %d: AddHash(%v) = %v, want %v", window, spread, op, h, got, want)
				}
			}
			for h := range ref.set {
				if !s.HasHash(h) {
					t.Fatalf("window %d, spread %d: %v forgotten before its time", window, spread, h)
				}
			}
			if 2*len(s.ring) > len(s.index) {
				t.Fatalf("window %d: %d hashes in an index of %d slots, more than half full", window, len(s.ring), len(s.index))
			}
		}
	}
}

// BenchmarkSeen adds fresh ids to a full window of 2^17 (the lake's), for Seen
// and for the mapWindow it replaced, and reports the heap each holds per id.
func BenchmarkSeen(b *testing.B) {
	const window = 1 << 17
	for _, impl := range []string{"seen", "mapwindow"} {
		b.Run(impl, func(b *testing.B) {
			var add func(IDHash) bool
			var keep any
			heap := func() uint64 {
				runtime.GC()
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				return m.HeapAlloc
			}
			before := heap()
			if impl == "seen" {
				s := NewSeen(window)
				add, keep = s.AddHash, s
			} else {
				m := newMapWindow(window)
				add, keep = m.add, m
			}
			rng := rand.New(rand.NewPCG(1, 2))
			for range 2 * window {
				add(IDHash{rng.Uint64(), rng.Uint64()})
			}
			held := heap() - before
			for b.Loop() {
				add(IDHash{rng.Uint64(), rng.Uint64()})
			}
			b.ReportMetric(float64(held)/window, "heap-B/id")
			runtime.KeepAlive(keep)
		})
	}
}
