package sink

import (
	"fmt"
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
