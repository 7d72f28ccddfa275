package scrub

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strconv"

	"github.com/accord-dev/accord/internal/contract"
)

// MaxSealLen is the longest JSON text of a value that SealAll seals (the
// vault's MaxValueLen); a longer value is redacted.
const MaxSealLen = 4096

// Redacted is what SealAll puts in place of a value it cannot seal.
const Redacted = "<redacted>"

// SealAll seals, in place, every value (string, number, boolean) at or inside
// what the pointers in under point to in data (a decoded JSON object), under
// the key of controller and subject: for the bad row of an event that names no
// contract, so that nothing says which of its values are personal, but whose
// data subject its protocol knows (a Segment message's userId). Object keys
// and nulls stay as they are; a pointer data does not hold is skipped. A value
// whose JSON text is longer than MaxSealLen, and every value when there is no
// Sealer, no controller or subject, or the Sealer fails (counted in
// Stats.SealFailed), is redacted instead (Redacted). It returns the pointers
// of the values it sealed, in document order, and of those it redacted.
func (s *Scrubber) SealAll(ctx context.Context, controller, subject string, data any, under []string) (sealed, redacted []string) {
	var leaves []leaf
	for _, ptr := range under {
		if v := contract.At(data, ptr); v != nil {
			leaves = appendLeaves(leaves, ptr, v)
		}
	}
	var values []string
	var toSeal []leaf
	for _, l := range leaves {
		if l.json == "" || len(l.json) > MaxSealLen {
			redacted = append(redacted, l.ptr)
			continue
		}
		values = append(values, l.json)
		toSeal = append(toSeal, l)
	}
	var out []string
	if len(values) > 0 && s.sealer != nil && controller != "" && subject != "" {
		var err error
		if out, err = s.sealer.Seal(ctx, controller, subject, values); err != nil || len(out) != len(values) {
			out = nil
			s.stats.sealFailed.Add(1)
		}
	}
	for i, l := range toSeal {
		if out == nil {
			redacted = append(redacted, l.ptr)
			continue
		}
		if contract.SetAt(data, l.ptr, out[i]) != nil {
			redacted = append(redacted, l.ptr) // cannot happen: the pointer was read from data
			continue
		}
		sealed = append(sealed, l.ptr)
	}
	for _, ptr := range redacted {
		_ = contract.SetAt(data, ptr, Redacted) // the pointers were read from data: they exist
	}
	return sealed, redacted
}

// leaf is a value SealAll replaces: where it is and its JSON text.
type leaf struct{ ptr, json string }

// appendLeaves appends the values at or inside v, at pointer ptr, in document
// order (an object's members by key, as encoding/json writes them).
func appendLeaves(dst []leaf, ptr string, v any) []leaf {
	switch x := v.(type) {
	case nil:
		return dst
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			dst = appendLeaves(dst, ptr+contract.JoinPointer(k), x[k])
		}
		return dst
	case []any:
		for i, item := range x {
			dst = appendLeaves(dst, ptr+"/"+strconv.Itoa(i), item)
		}
		return dst
	}
	js, err := json.Marshal(v) // fails only for values no JSON decoder makes
	if err != nil {
		js = nil // redacted
	}
	return append(dst, leaf{ptr: ptr, json: string(js)})
}
