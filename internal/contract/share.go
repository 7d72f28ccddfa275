package contract

import (
	"encoding/json"
	"hash/maphash"
	"reflect"
	"sync"
)

// subtrees shares equal subtrees between the documents of contracts loaded
// together. Versions of a contract repeat most of their field schemas, and the
// contracts of one organisation repeat common fields (ids, timestamps, PII
// annotations), while a Go map of a few entries weighs over 300 bytes: it was
// half of a loaded registry's heap. A loaded Doc is immutable (see Contract),
// so contracts may hold the same subtree. It is safe for concurrent use, and
// lives as long as one load.
type subtrees struct {
	seed  maphash.Seed
	mu    sync.Mutex
	maps  map[uint64][]map[string]any
	lists map[uint64][][]any
}

func newSubtrees() *subtrees {
	return &subtrees{seed: maphash.MakeSeed(), maps: map[uint64][]map[string]any{}, lists: map[uint64][][]any{}}
}

// Hashes of the scalars without content, and tags that keep a string, a
// number, a mapping and a sequence of the same text apart.
const (
	hashNull   = 0x6a09e667f3bcc908
	hashTrue   = 0xbb67ae8584caa73b
	hashFalse  = 0x3c6ef372fe94f82b
	tagNumber  = 0xa54ff53a5f1d36f1
	tagMapping = 0x510e527fade682d1
	tagList    = 0x9b05688c2b3e6c1f
)

// share returns v with every mapping and sequence in it replaced by an equal
// one met before, when there is one, and v's hash. v is freshly decoded and
// not shared yet: its mappings and sequences are rewritten in place.
func (s *subtrees) share(v any) (any, uint64) {
	switch x := v.(type) {
	case map[string]any:
		h := uint64(tagMapping)
		for k, sub := range x {
			sv, sh := s.share(sub)
			x[k] = sv
			// A sum, since a mapping's entries have no order.
			h += mix(maphash.String(s.seed, k), sh)
		}
		return intern(&s.mu, s.maps, h, x, sameMapping), h
	case []any:
		h := uint64(tagList)
		for i, sub := range x {
			sv, sh := s.share(sub)
			x[i] = sv
			h = mix(h, sh)
		}
		return intern(&s.mu, s.lists, h, x, sameList), h
	case string:
		return v, maphash.String(s.seed, x)
	case json.Number:
		return v, maphash.String(s.seed, string(x)) ^ tagNumber
	case bool:
		if x {
			return v, hashTrue
		}
		return v, hashFalse
	}
	return v, hashNull // nil; any other type is never equal to a shared value
}

// intern returns the value equal to x met before under hash h in table, or
// records x as the one to share.
func intern[T any](mu *sync.Mutex, table map[uint64][]T, h uint64, x T, same func(a, b T) bool) T {
	mu.Lock()
	defer mu.Unlock()
	for _, seen := range table[h] {
		if same(seen, x) {
			return seen
		}
	}
	table[h] = append(table[h], x)
	return x
}

// first returns share's value without its hash.
func first(v any, _ uint64) any { return v }

// mix combines two hashes (a round of SplitMix64's finalizer).
func mix(a, b uint64) uint64 {
	z := a ^ (b + 0x9e3779b97f4a7c15 + a<<6 + a>>2)
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// sameMapping reports whether two mappings whose values are shared already
// hold the same entries.
func sameMapping(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, av := range a {
		bv, ok := b[k]
		if !ok || !sameShared(av, bv) {
			return false
		}
	}
	return true
}

func sameList(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !sameShared(a[i], b[i]) {
			return false
		}
	}
	return true
}

// sameShared compares two values whose mappings and sequences are shared
// already: equal ones are the same one.
func sameShared(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		return ok && reflect.ValueOf(x).UnsafePointer() == reflect.ValueOf(y).UnsafePointer()
	case []any:
		y, ok := b.([]any)
		return ok && len(x) == len(y) && (len(x) == 0 || &x[0] == &y[0])
	case nil, string, json.Number, bool:
		return a == b
	}
	return false
}
