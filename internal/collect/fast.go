package collect

import (
	"slices"
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
	programs *fastval.Cache
	mu       sync.RWMutex
	// spanPrograms are the programs of the byte path: they also capture the spans
	// the scrubber reads and the event id.
	spanPrograms map[*contract.Compiled]spanProgram
	results      sync.Pool
}

// spanProgram is a program compiled with captures (then /event_id).
type spanProgram struct {
	captures []string
	prog     *fastval.Program // nil: the contract needs the reference validator
	eventID  int              // capture index of /event_id
}

// NewFastValidator returns a validator with an empty program cache.
func NewFastValidator() *FastValidator {
	return &FastValidator{
		programs:     fastval.NewCache(),
		spanPrograms: map[*contract.Compiled]spanProgram{},
		results:      sync.Pool{New: func() any { return new(fastval.Result) }},
	}
}

// Name is "fast".
func (f *FastValidator) Name() string { return "fast" }

// Reset forgets compiled programs; call it when the registry swaps its snapshot.
func (f *FastValidator) Reset() {
	f.programs.Reset()
	f.mu.Lock()
	f.spanPrograms = map[*contract.Compiled]spanProgram{}
	f.mu.Unlock()
}

// Validate checks data and decodes it for the next stages.
func (f *FastValidator) Validate(c *contract.Compiled, data []byte) (any, []contract.Failure, error) {
	if valid, _ := f.programs.Valid(c, data); valid {
		v, err := contract.DecodeJSON(data)
		return v, nil, err
	}
	return ReferenceValidator{}.Validate(c, data)
}

// validateSpans checks data with c's program compiled to capture captures and
// /event_id, without decoding it. It returns the result holding the spans, to
// give back with release, and the capture index of /event_id, when data is
// valid; nil when the event needs Validate (it is invalid, or the contract is
// outside the fast subset). captures must be the same for one contract on every
// call (the scrubber's plan gives one slice per contract version).
func (f *FastValidator) validateSpans(c *contract.Compiled, data []byte, captures []string) (*fastval.Result, int) {
	sp := f.spanProgram(c, captures)
	if sp.prog == nil {
		return nil, 0
	}
	res := f.results.Get().(*fastval.Result)
	if !sp.prog.Validate(data, res) {
		f.results.Put(res)
		return nil, 0
	}
	return res, sp.eventID
}

// release gives back a result of validateSpans.
func (f *FastValidator) release(res *fastval.Result) { f.results.Put(res) }

// spanProgram returns the contract's program with captures, compiling it on
// first use (or when captures changed); nil when the contract needs the
// reference validator.
func (f *FastValidator) spanProgram(c *contract.Compiled, captures []string) spanProgram {
	f.mu.RLock()
	sp, ok := f.spanPrograms[c]
	f.mu.RUnlock()
	if ok && sameStrings(sp.captures, captures) {
		return sp
	}
	sp = spanProgram{captures: captures, eventID: slices.Index(captures, "/event_id")}
	doc, opts := fastval.ForContract(c.Contract)
	opts.Capture = captures
	if sp.eventID < 0 {
		// the event id is a field the scrubber does not read: capture it last
		sp.eventID = len(captures)
		opts.Capture = append(slices.Clip(captures), "/event_id")
	}
	var err error
	if sp.prog, err = fastval.Compile(doc, opts); err != nil {
		sp.prog = nil // unsupported keyword: the reference validator handles this contract
	}
	f.mu.Lock()
	f.spanPrograms[c] = sp
	f.mu.Unlock()
	return sp
}

// sameStrings compares two capture lists; the usual case is the same slice.
func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 || &a[0] == &b[0] {
		return true
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
