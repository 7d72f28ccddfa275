package contract

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Failure is one reason an event does not satisfy its contract. Messages never
// repeat the event's values, so failures are safe to log and to store in bad rows
// even when the failing field holds personal data.
type Failure struct {
	// Pointer is the JSON pointer of the failing value in the event data.
	Pointer string `json:"pointer"`
	// Keyword is the JSON Schema keyword that failed, e.g. "maxLength".
	Keyword string `json:"keyword"`
	// KeywordLocation is the JSON pointer of that keyword in the contract.
	KeywordLocation string `json:"keyword_location"`
	Message         string `json:"message"`
}

// String formats the failure as "pointer: message (keyword)", without the
// parentheses when no keyword failed.
func (f Failure) String() string {
	p := f.Pointer
	if p == "" {
		p = "/"
	}
	if f.Keyword == "" {
		return fmt.Sprintf("%s: %s", p, f.Message)
	}
	return fmt.Sprintf("%s: %s (%s)", p, f.Message, f.Keyword)
}

// Validate checks a decoded event (JSON values as produced by DecodeJSON) and
// returns every failure, nil when the event is valid.
func (c *Compiled) Validate(v any) []Failure {
	sch, err := c.Schema()
	if err != nil {
		// Not seen: the schema compiled when the snapshot was built.
		return []Failure{{Keyword: "$schema", Message: "the contract's schema cannot be compiled: " + err.Error()}}
	}
	err = sch.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		return Failures(ve)
	}
	return []Failure{{Keyword: "type", Message: "event is not a JSON value: " + err.Error()}}
}

// ValidateJSON decodes and checks one JSON document.
func (c *Compiled) ValidateJSON(data []byte) ([]Failure, error) {
	v, err := DecodeJSON(data)
	if err != nil {
		return nil, err
	}
	return c.Validate(v), nil
}

// DecodeJSON decodes one JSON document into the values the validators take, with
// numbers kept exact as json.Number.
func DecodeJSON(data []byte) (any, error) {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decoding JSON: %w", err)
	}
	return v, nil
}

// Failures flattens a validation error into its leaf failures, sorted by pointer.
func Failures(ve *jsonschema.ValidationError) []Failure {
	var out []Failure
	var visit func(e *jsonschema.ValidationError)
	visit = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				visit(c)
			}
			return
		}
		f := Failure{Pointer: JoinPointer(e.InstanceLocation...), Message: failureMessage(e.ErrorKind)}
		if kp := e.ErrorKind.KeywordPath(); len(kp) > 0 {
			f.Keyword = kp[len(kp)-1]
		}
		if _, frag, ok := strings.Cut(e.SchemaURL, "#"); ok {
			f.KeywordLocation = frag
		}
		if kp := e.ErrorKind.KeywordPath(); len(kp) > 0 {
			f.KeywordLocation += JoinPointer(kp...)
		}
		out = append(out, f)
	}
	visit(ve)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Pointer < out[j].Pointer })
	return out
}

// failureMessage explains a failure without repeating the event's value.
func failureMessage(k jsonschema.ErrorKind) string {
	switch k := k.(type) {
	case *kind.Type:
		return fmt.Sprintf("must be %s, not %s", strings.Join(k.Want, " or "), k.Got)
	case *kind.Enum:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = display(w)
		}
		return "must be one of " + strings.Join(want, ", ")
	case *kind.Const:
		return "must be " + display(k.Want)
	case *kind.Format:
		return fmt.Sprintf("is not a valid %s", k.Want)
	case *kind.Pattern:
		return fmt.Sprintf("does not match the pattern %s", k.Want)
	case *kind.MinLength:
		return fmt.Sprintf("is %d characters long, shorter than the minimum %d", k.Got, k.Want)
	case *kind.MaxLength:
		return fmt.Sprintf("is %d characters long, longer than the maximum %d", k.Got, k.Want)
	case *kind.Minimum:
		return "must be at least " + ratString(k.Want)
	case *kind.Maximum:
		return "must be at most " + ratString(k.Want)
	case *kind.ExclusiveMinimum:
		return "must be greater than " + ratString(k.Want)
	case *kind.ExclusiveMaximum:
		return "must be less than " + ratString(k.Want)
	case *kind.MultipleOf:
		return "must be a multiple of " + ratString(k.Want)
	case *kind.Required:
		return fmt.Sprintf("is missing the required %s %s", plural(len(k.Missing), "property", "properties"), quoteAll(k.Missing))
	case *kind.AdditionalProperties:
		// santhosh lists them in map order: sorted, the same event always gets
		// the same message
		return fmt.Sprintf("has %s %s, which the contract does not allow", plural(len(k.Properties), "property", "properties"), quoteAll(slices.Sorted(slices.Values(k.Properties))))
	case *kind.MinItems:
		return fmt.Sprintf("has %d items, fewer than the minimum %d", k.Got, k.Want)
	case *kind.MaxItems:
		return fmt.Sprintf("has %d items, more than the maximum %d", k.Got, k.Want)
	case *kind.MinProperties:
		return fmt.Sprintf("has %d properties, fewer than the minimum %d", k.Got, k.Want)
	case *kind.MaxProperties:
		return fmt.Sprintf("has %d properties, more than the maximum %d", k.Got, k.Want)
	case *kind.UniqueItems:
		return fmt.Sprintf("items %d and %d are equal; items must be unique", k.Duplicates[0], k.Duplicates[1])
	case *kind.FalseSchema:
		return "is not allowed here"
	case *kind.ContentEncoding, *kind.ContentMediaType:
		return "is not in the expected format"
	default:
		// The remaining kinds (allOf, anyOf, oneOf, not, dependencies, contains, ...)
		// name schema locations and property names, never instance values.
		return k.LocalizedString(printer)
	}
}

func ratString(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	return r.FloatString(decimals(r))
}

// decimals returns how many decimal places print r exactly (up to 20).
func decimals(r *big.Rat) int {
	d := new(big.Int).Set(r.Denom())
	n := 0
	ten := big.NewInt(10)
	for n < 20 && d.Cmp(big.NewInt(1)) != 0 {
		g := new(big.Int).GCD(nil, nil, d, ten)
		if g.Cmp(big.NewInt(1)) == 0 {
			return 20
		}
		d.Div(d, g)
		n++
	}
	return n
}

func display(v any) string {
	switch v := v.(type) {
	case string:
		return fmt.Sprintf("%q", v)
	case nil:
		return "null"
	default:
		return fmt.Sprint(v)
	}
}

func quoteAll(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

var printer = message.NewPrinter(language.English)
