package collect

import (
	"sync"

	"github.com/accord-dev/accord/internal/contract"
	"github.com/accord-dev/accord/internal/contract/fastval"
)

// FastValidator checks events with contracts compiled to byte-level programs
// (internal/contract/fastval). A valid event is checked in one pass over its bytes;
// an invalid one, or a contract using keywords outside the fast subset, goes
// through the reference validator, which names the failures. Verdicts are the
// reference's either way.
type FastValidator struct {
	mu       sync.RWMutex
	programs map[*contract.Compiled]*fastval.Program
	results  sync.Pool
}

// NewFastValidator returns a validator with an empty program cache.
func NewFastValidator() *FastValidator {
	return &FastValidator{
		programs: map[*contract.Compiled]*fastval.Program{},
		results:  sync.Pool{New: func() any { return new(fastval.Result) }},
	}
}

// Name is "fast".
func (f *FastValidator) Name() string { return "fast" }

// Reset forgets compiled programs; call it when the registry swaps its snapshot.
func (f *FastValidator) Reset() {
	f.mu.Lock()
	f.programs = map[*contract.Compiled]*fastval.Program{}
	f.mu.Unlock()
}

// Validate checks data and decodes it for the next stages.
func (f *FastValidator) Validate(c *contract.Compiled, data []byte) (any, []contract.Failure, error) {
	if p := f.program(c); p != nil {
		res := f.results.Get().(*fastval.Result)
		ok := p.Validate(data, res)
		f.results.Put(res)
		if ok {
			v, err := contract.DecodeJSON(data)
			return v, nil, err
		}
	}
	return ReferenceValidator{}.Validate(c, data)
}

// program returns the contract's program, compiling it on first use; nil when the
// contract needs the reference validator.
func (f *FastValidator) program(c *contract.Compiled) *fastval.Program {
	f.mu.RLock()
	p, ok := f.programs[c]
	f.mu.RUnlock()
	if ok {
		return p
	}
	p, err := fastval.Compile(fastval.ForContract(c.Contract))
	if err != nil {
		p = nil // unsupported keyword: the reference validator handles this contract
	}
	f.mu.Lock()
	f.programs[c] = p
	f.mu.Unlock()
	return p
}
