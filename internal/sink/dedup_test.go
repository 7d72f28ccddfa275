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
