package collect

import "github.com/accord-dev/accord/internal/contract"

// ValidateSpans is validateSpans for the stage benchmarks: the spans of a
// valid event (nil when it needs the decoded path) and a function that gives
// them back.
func (f *FastValidator) ValidateSpans(c *contract.Compiled, data []byte, captures []string) (Spans, func()) {
	res, _ := f.validateSpans(c, data, captures)
	if res == nil {
		return nil, func() {}
	}
	return res, func() { f.release(res) }
}
