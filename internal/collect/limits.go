package collect

import (
	"errors"
	"fmt"

	"github.com/accord-dev/accord/internal/jsonscan"
)

// Limits bound what one request may cost the collector. Every limit answers with
// a clear rejection, never with unbounded memory.
type Limits struct {
	// MaxBodyBytes bounds a request body after decompression.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxInflightBytes bounds the request bodies held at once, all requests
	// together (see Bodies); at least twice MaxBodyBytes.
	MaxInflightBytes int64 `yaml:"max_inflight_bytes"`
	// MaxEvents bounds the events of one request. Its default is Segment's
	// own batch limit (2,500 messages), so that no Segment-compatible library
	// sends a batch it refuses.
	MaxEvents int `yaml:"max_events"`
	// MaxDepth bounds the nesting of objects and arrays in one event.
	MaxDepth int `yaml:"max_depth"`
	// MaxStringBytes bounds one JSON string (key or value) in an event.
	MaxStringBytes int `yaml:"max_string_bytes"`
}

// DefaultLimits are generous for analytics events and small enough that a burst
// of hostile requests cannot exhaust memory.
var DefaultLimits = Limits{
	MaxBodyBytes:     5 << 20,
	MaxInflightBytes: 64 << 20,
	MaxEvents:        2500,
	MaxDepth:         32,
	MaxStringBytes:   64 << 10,
}

// Validate reports every limit that makes no sense.
func (l Limits) Validate() error {
	var errs []error
	if l.MaxBodyBytes < 1024 {
		errs = append(errs, fmt.Errorf("limits.max_body_bytes %d is below 1024", l.MaxBodyBytes))
	}
	if l.MaxInflightBytes < 2*l.MaxBodyBytes {
		errs = append(errs, fmt.Errorf("limits.max_inflight_bytes %d is below twice limits.max_body_bytes (%d): a gzip body of the largest size holds its compressed and its inflated bytes at once, and could never be read", l.MaxInflightBytes, 2*l.MaxBodyBytes))
	}
	if l.MaxEvents < 1 {
		errs = append(errs, fmt.Errorf("limits.max_events %d must be at least 1", l.MaxEvents))
	}
	if l.MaxDepth < 2 || l.MaxDepth > 1000 {
		errs = append(errs, fmt.Errorf("limits.max_depth %d must be between 2 and 1000", l.MaxDepth))
	}
	if l.MaxStringBytes < 64 {
		errs = append(errs, fmt.Errorf("limits.max_string_bytes %d is below 64", l.MaxStringBytes))
	}
	return errors.Join(errs...)
}

// CheckBody checks a whole request body against the depth and string limits;
// wrapping adds the nesting levels a protocol's own framing uses (arrays of
// events, the event object, its contexts). covers reports that the body is
// nested no deeper than an event may be (MaxDepth): then every value cut from
// it is within the limits, and a decoder whose events' data and contexts are
// such values sets Incoming.LimitsChecked.
func (l Limits) CheckBody(b []byte, wrapping int) (covers bool, err error) {
	maxDepth := l.MaxDepth
	l.MaxDepth += wrapping
	deepest, err := l.scan(b)
	if de := (*depthError)(nil); errors.As(err, &de) {
		// Said in the setting's terms: the body's own levels are an
		// allowance on top of it, not the limit.
		err = fmt.Errorf("the body is nested more than %d levels deep: an event's data may be nested %d levels (limits.max_depth, its outermost object or array being level 1) and the body's own levels around it (a batch, the event and its contexts) at most %d more", l.MaxDepth, maxDepth, wrapping)
	}
	if err != nil {
		return false, &RequestError{Status: 400, Reason: "limit_exceeded", Msg: err.Error()}
	}
	return deepest <= maxDepth, nil
}

// depthError is scan's error for data nested deeper than limit, in the
// setting's terms: the data's own levels, counted as limits.max_depth is.
type depthError struct{ limit int }

func (e *depthError) Error() string {
	return fmt.Sprintf("the data is nested more than %d levels deep (limits.max_depth; its outermost object or array is level 1)", e.limit)
}

// scanLimits checks nesting depth and string lengths of a JSON document in one pass
// over its bytes, before anything decodes it, so that a 100,000-deep document never
// reaches a recursive decoder. It does not validate the JSON otherwise.
func (l Limits) scanLimits(b []byte) error {
	_, err := l.scan(b)
	return err
}

// scan is scanLimits, which also returns the deepest nesting it saw.
func (l Limits) scan(b []byte) (deepest int, err error) {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			end := jsonscan.QuoteEnd(b, i+1)
			if n := end - (i + 1); n > l.MaxStringBytes {
				return deepest, fmt.Errorf("a string of %d bytes is longer than the limit of %d bytes (limits.max_string_bytes; escapes count as sent)", n, l.MaxStringBytes)
			}
			i = end
		case '{', '[':
			depth++
			if depth > l.MaxDepth {
				return deepest, &depthError{limit: l.MaxDepth}
			}
			deepest = max(deepest, depth)
		case '}', ']':
			depth--
		}
	}
	return deepest, nil
}
