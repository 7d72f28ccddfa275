package fastval

import (
	"sync"

	"github.com/accord-dev/accord/internal/contract"
)

// Cache holds the programs of a registry's compiled contracts, each compiled on
// first use with [ForContract]'s options. It is safe for concurrent use. Programs
// are keyed by the *contract.Compiled of one snapshot: call Reset when a new
// snapshot replaces it, so that the old contracts' programs can be freed.
type Cache struct {
	mu       sync.RWMutex
	programs map[*contract.Compiled]*Program
	results  sync.Pool
}

// NewCache returns an empty cache.
func NewCache() *Cache {
	return &Cache{
		programs: map[*contract.Compiled]*Program{},
		results:  sync.Pool{New: func() any { return new(Result) }},
	}
}

// Program returns c's program, compiling it on first use; nil when the contract
// uses a keyword outside the fast subset and needs the reference validator.
func (k *Cache) Program(c *contract.Compiled) *Program {
	k.mu.RLock()
	p, ok := k.programs[c]
	k.mu.RUnlock()
	if ok {
		return p
	}
	p, err := Compile(ForContract(c.Contract))
	if err != nil {
		p = nil // outside the fast subset: the reference validator handles c
	}
	k.mu.Lock()
	k.programs[c] = p
	k.mu.Unlock()
	return p
}

// Valid reports whether data (one JSON value) is valid against c in one pass
// over its bytes. known is false when c needs the reference validator; when
// known is true and valid false, the reference validator names the failures.
func (k *Cache) Valid(c *contract.Compiled, data []byte) (valid, known bool) {
	p := k.Program(c)
	if p == nil {
		return false, false
	}
	res := k.results.Get().(*Result)
	valid = p.Validate(data, res)
	k.results.Put(res)
	return valid, true
}

// ValidMember is Valid for the value of member key of the JSON object data (a
// self-describing event's "data"), read in the same pass. known is false when c
// needs the reference validator or data has no member key.
func (k *Cache) ValidMember(c *contract.Compiled, data []byte, key string) (valid, known bool) {
	p := k.Program(c)
	if p == nil {
		return false, false
	}
	res := k.results.Get().(*Result)
	_, found, ok := p.ValidateMember(data, key, res)
	k.results.Put(res)
	return ok, found
}

// Len is the number of contracts looked up so far, including those that need the
// reference validator.
func (k *Cache) Len() int {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return len(k.programs)
}

// Reset forgets every program; call it when the registry swaps its snapshot.
func (k *Cache) Reset() {
	k.mu.Lock()
	k.programs = map[*contract.Compiled]*Program{}
	k.mu.Unlock()
}
