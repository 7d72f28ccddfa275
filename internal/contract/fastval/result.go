package fastval

import (
	"bytes"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Failure is one reason an event is invalid, in the shape of santhosh's basic
// output leaves.
type Failure struct {
	// InstanceLocation is the JSON pointer of the failing value in the event.
	InstanceLocation string
	// KeywordLocation is the JSON pointer of the failing keyword in the schema
	// document, after following references.
	KeywordLocation string
	// Keyword is the failing keyword ("type", "required", ...); "$json" when the
	// event is not valid JSON.
	Keyword string
	// Message says what is wrong, as santhosh words it.
	Message string
}

// Result receives the outcome of Program.Validate. Reuse one Result per
// goroutine: its buffers are kept between calls, so validating a valid event
// does not allocate. The spans it holds refer to the last validated bytes.
type Result struct {
	vm       vm
	valid    bool
	invalidJ bool
	repeated bool
	failures []Failure
}

// Valid reports the verdict of the last validation.
func (r *Result) Valid() bool { return r.valid }

// InvalidJSON reports whether the last event was rejected because it is not a
// single valid JSON value (the reference rejects it while decoding).
func (r *Result) InvalidJSON() bool { return r.invalidJ }

// Failures lists why the last event is invalid; nil when it is valid.
func (r *Result) Failures() []Failure {
	if len(r.failures) == 0 {
		return nil
	}
	return r.failures
}

// RepeatedKeys reports whether the last event repeats a key that validation or a
// capture reads (the value is then its last occurrence, as in the decoded map).
// The earlier occurrences are still in the bytes: a caller that rewrites
// captured spans in place must not store the result as it is (the first
// occurrence of a scrubbed field would survive raw). Repeated keys that nothing
// reads (undeclared properties under a schema that ignores them) are not
// reported.
func (r *Result) RepeatedKeys() bool { return r.repeated }

// HasWhitespace reports whether the last validated JSON has whitespace outside
// its strings (between tokens, or around the value): a caller that stores the
// bytes compacts them only then.
func (r *Result) HasWhitespace() bool { return r.vm.spaced }

// Capture returns the spans of the value at Options.Capture[i] in the last
// validated event: none when absent, one for a plain pointer, one per matching
// item for pointers with "*".
func (r *Result) Capture(i int) []Span {
	if i < 0 || i >= len(r.vm.caps) {
		return nil
	}
	return r.vm.caps[i]
}

// Validate checks data against the program and reports whether it is valid.
// res receives failures (for invalid events) and captured spans; it may be
// reused across calls but not shared between goroutines.
func (p *Program) Validate(data []byte, res *Result) bool {
	return p.validate(data, 0, true, res)
}

// ValidateValue validates the JSON value that starts at data[start:] (after
// optional whitespace) and returns the offset just after it; bytes after the
// value are not read. It lets a caller validate the payload inside an envelope
// (see FindMember) without copying it. Captured spans are offsets into data.
func (p *Program) ValidateValue(data []byte, start int, res *Result) (end int, ok bool) {
	ok = p.validate(data, start, false, res)
	return res.vm.end, ok
}

func (p *Program) validate(data []byte, start int, whole bool, res *Result) bool {
	v := &res.vm
	res.failures = res.failures[:0]
	res.invalidJ = false
	res.repeated = false
	v.dedup = false
	v.start, v.whole = start, whole
	v.reset(p, data)
	ok := v.run()
	if v.dup && !v.bad {
		// A key repeats: redo with encoding/json's last-wins semantics.
		res.repeated = true
		v.reset(p, data)
		v.dedup = true
		ok = v.run()
	}
	if v.bad {
		res.valid = false
		res.invalidJ = true
		res.failures = append(res.failures, Failure{
			Keyword: "$json",
			Message: fmt.Sprintf("invalid JSON at offset %d: %s", v.badPos, v.badMsg),
		})
		return false
	}
	if !ok {
		dedup, end := v.dedup, v.end
		v.reset(p, data)
		v.dedup = dedup
		v.collect = true
		v.run()
		if v.dup && !v.dedup {
			// the verdict pass stopped before meeting the repeated key
			res.repeated = true
			v.reset(p, data)
			v.dedup, v.collect = true, true
			v.run()
		}
		v.end = end
		res.failures = v.materialize(res.failures)
		if len(res.failures) == 0 {
			// cannot happen for a consistent program; keep the verdict honest
			res.failures = append(res.failures, Failure{Keyword: "", Message: "invalid"})
		}
	}
	res.valid = ok
	return ok
}

// failure keywords
const (
	kwType uint8 = iota + 1
	kwConst
	kwEnum
	kwFormat
	kwFalse
	kwMinLength
	kwMaxLength
	kwPattern
	kwMinimum
	kwMaximum
	kwExclusiveMinimum
	kwExclusiveMaximum
	kwMultipleOf
	kwUnrepresentable
	kwMinProperties
	kwMaxProperties
	kwRequired
	kwAdditionalProperties
	kwPropertyNames
	kwDependency
	kwMinItems
	kwMaxItems
	kwUniqueItems
	kwAdditionalItems
	kwContains
	kwMaxContains
	kwNot
	kwOneOf
	kwRefCycle
)

type failRec struct {
	n          *node
	kw         uint8
	start, end int
	p0, p1     int
	arg        int
}

var printer = message.NewPrinter(language.English)

func (v *vm) materialize(out []Failure) []Failure {
	for i := range v.fails {
		f := &v.fails[i]
		k := v.errorKind(f)
		var ptr strings.Builder
		for _, t := range v.fpath[f.p0:f.p1] {
			ptr.WriteByte('/')
			if t.start < 0 {
				ptr.WriteString(strconv.Itoa(t.idx))
			} else {
				ptr.WriteString(escapeToken(v.decodeKey(t.start, t.end)))
			}
		}
		kwPath := k.KeywordPath()
		kl := decodePointer(f.n.loc)
		for _, t := range kwPath {
			kl += "/" + escapeToken(t)
		}
		kw := ""
		if len(kwPath) > 0 {
			kw = kwPath[0]
		}
		switch f.kw {
		case kwFalse:
			kw = "false"
		case kwNot:
			kw = "not"
		case kwRefCycle:
			kw = "$ref"
		}
		out = append(out, Failure{
			InstanceLocation: ptr.String(),
			KeywordLocation:  kl,
			Keyword:          kw,
			Message:          k.LocalizedString(printer),
		})
	}
	return out
}

func (v *vm) decodeKey(start, end int) string {
	var tmp vm
	tmp.data = v.data
	_, fl := tmp.scanString(start)
	return string(tmp.strBytes(start, end, fl))
}

// value decodes a span the way the reference decodes the whole event.
func (v *vm) value(start, end int) any {
	x, err := jsonschema.UnmarshalJSON(bytes.NewReader(v.data[start:end]))
	if err != nil {
		return string(v.data[start:end])
	}
	return x
}

func (v *vm) rat(start, end int) *big.Rat {
	r, _ := new(big.Rat).SetString(string(v.data[start:end]))
	return r
}

func jsonTypeName(c byte) string {
	switch c {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// errorKind rebuilds santhosh's error kind for a failure (failure path only).
func (v *vm) errorKind(f *failRec) jsonschema.ErrorKind {
	s := f.n.sch
	switch f.kw {
	case kwType:
		return &kind.Type{Got: jsonTypeName(v.data[f.start]), Want: s.Types.ToStrings()}
	case kwConst:
		return &kind.Const{Got: v.value(f.start, f.end), Want: *s.Const}
	case kwEnum:
		return &kind.Enum{Got: v.value(f.start, f.end), Want: s.Enum.Values}
	case kwFormat:
		got := v.value(f.start, f.end)
		err := s.Format.Validate(got)
		if err == nil {
			err = fmt.Errorf("invalid %s", s.Format.Name)
		}
		return &kind.Format{Got: got, Want: s.Format.Name, Err: err}
	case kwFalse:
		return &kind.FalseSchema{}
	case kwMinLength, kwMaxLength:
		str, _ := v.value(f.start, f.end).(string)
		l := len([]rune(str))
		if f.kw == kwMinLength {
			return &kind.MinLength{Got: l, Want: *s.MinLength}
		}
		return &kind.MaxLength{Got: l, Want: *s.MaxLength}
	case kwPattern:
		str, _ := v.value(f.start, f.end).(string)
		return &kind.Pattern{Got: str, Want: s.Pattern.String()}
	case kwMinimum:
		return &kind.Minimum{Got: v.rat(f.start, f.end), Want: s.Minimum}
	case kwMaximum:
		return &kind.Maximum{Got: v.rat(f.start, f.end), Want: s.Maximum}
	case kwExclusiveMinimum:
		return &kind.ExclusiveMinimum{Got: v.rat(f.start, f.end), Want: s.ExclusiveMinimum}
	case kwExclusiveMaximum:
		return &kind.ExclusiveMaximum{Got: v.rat(f.start, f.end), Want: s.ExclusiveMaximum}
	case kwMultipleOf:
		return &kind.MultipleOf{Got: v.rat(f.start, f.end), Want: s.MultipleOf}
	case kwUnrepresentable:
		kw := "multipleOf"
		switch {
		case s.Minimum != nil:
			kw = "minimum"
		case s.Maximum != nil:
			kw = "maximum"
		case s.ExclusiveMinimum != nil:
			kw = "exclusiveMinimum"
		case s.ExclusiveMaximum != nil:
			kw = "exclusiveMaximum"
		}
		return unrepresentable{raw: string(v.data[f.start:f.end]), kw: kw}
	case kwMinProperties:
		return &kind.MinProperties{Got: f.arg, Want: *s.MinProperties}
	case kwMaxProperties:
		return &kind.MaxProperties{Got: f.arg, Want: *s.MaxProperties}
	case kwRequired:
		obj, _ := v.value(f.start, f.end).(map[string]any)
		var missing []string
		for _, r := range s.Required {
			if _, ok := obj[r]; !ok {
				missing = append(missing, r)
			}
		}
		return &kind.Required{Missing: missing}
	case kwDependency:
		dep := f.n.obj.deps[f.arg]
		obj, _ := v.value(f.start, f.end).(map[string]any)
		var missing []string
		for _, r := range dep.need {
			name := f.n.obj.names[r].name
			if _, ok := obj[name]; !ok {
				missing = append(missing, name)
			}
		}
		prop := f.n.obj.names[dep.name].name
		if dep.keyword == "dependentRequired" {
			return &kind.DependentRequired{Prop: prop, Missing: missing}
		}
		return &kind.Dependency{Prop: prop, Missing: missing}
	case kwAdditionalProperties:
		obj, _ := v.value(f.start, f.end).(map[string]any)
		var extra []string
		for _, k := range orderedKeys(v, f.start) {
			if _, ok := obj[k]; !ok {
				continue
			}
			if _, ok := s.Properties[k]; ok {
				continue
			}
			matched := false
			for re := range s.PatternProperties {
				if re.MatchString(k) {
					matched = true
				}
			}
			if !matched && !contains(extra, k) {
				extra = append(extra, k)
			}
		}
		return &kind.AdditionalProperties{Properties: extra}
	case kwPropertyNames:
		return &kind.PropertyNames{Property: v.decodeKey(f.start, f.end)}
	case kwMinItems:
		return &kind.MinItems{Got: f.arg, Want: *s.MinItems}
	case kwMaxItems:
		return &kind.MaxItems{Got: f.arg, Want: *s.MaxItems}
	case kwUniqueItems:
		return &kind.UniqueItems{Duplicates: [2]int{f.arg >> 32, f.arg & (1<<32 - 1)}}
	case kwAdditionalItems:
		return &kind.AdditionalItems{Count: f.arg}
	case kwContains:
		if s.MinContains != nil {
			return &kind.MinContains{Got: v.containsMatches(f), Want: *s.MinContains}
		}
		return &kind.Contains{}
	case kwMaxContains:
		return &kind.MaxContains{Got: v.containsMatches(f), Want: *s.MaxContains}
	case kwNot:
		return &kind.Not{}
	case kwRefCycle:
		return &kind.RefCycle{URL: f.n.sch.Location, KeywordLocation1: f.n.loc, KeywordLocation2: f.n.loc}
	case kwOneOf:
		return &kind.OneOf{Subschemas: []int{f.arg >> 32, f.arg & (1<<32 - 1)}}
	}
	return unrepresentable{raw: "?", kw: "?"}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// orderedKeys lists an object's decoded keys in document order.
func orderedKeys(v *vm, p int) []string {
	var tmp vm
	tmp.data = v.data
	tmp.dedup = true
	tmp.objMembers(p)
	var out []string
	for _, m := range tmp.members {
		out = append(out, string(tmp.keyBuf[m.keyOff:m.keyOff+m.keyLen]))
	}
	return out
}

// containsMatches lists the indexes of items that match "contains".
func (v *vm) containsMatches(f *failRec) []int {
	var tmp vm
	tmp.prog = v.prog
	tmp.data = v.data
	tmp.dedup = v.dedup
	var out []int
	p := tmp.ws(f.start + 1)
	for i := 0; p < f.end && tmp.data[p] != ']'; i++ {
		e, ok := tmp.eval(f.n.arr.contains, p, nil)
		if tmp.bad {
			break
		}
		if ok {
			out = append(out, i)
		}
		p = tmp.ws(e)
		if p < f.end && tmp.data[p] == ',' {
			p = tmp.ws(p + 1)
		}
	}
	return out
}

// unrepresentable is the failure for a number that big.Rat cannot hold (an
// exponent beyond ±1e6 digits); santhosh cannot compare it either.
type unrepresentable struct{ raw, kw string }

func (u unrepresentable) KeywordPath() []string { return []string{u.kw} }

func (u unrepresentable) LocalizedString(p *message.Printer) string {
	raw := u.raw
	if len(raw) > 40 {
		raw = raw[:40] + "..."
	}
	return p.Sprintf("number %s is out of the range that can be compared", raw)
}

// FindMember scans the top-level JSON object in data and returns the offset of
// the value of key (the first occurrence whose decoded name is key), checking
// the syntax of everything before it. It is how a collector locates "data" in a
// self-describing event before calling ValidateValue.
func FindMember(data []byte, key string) (int, bool) {
	var v vm
	v.data = data
	d := data
	p := v.ws(0)
	if p >= len(d) || d[p] != '{' {
		return 0, false
	}
	p = v.ws(p + 1)
	for p < len(d) && d[p] == '"' {
		kStart := p
		kEnd, fl := v.scanString(p)
		if v.bad {
			return 0, false
		}
		p = v.ws(kEnd)
		if p >= len(d) || d[p] != ':' {
			return 0, false
		}
		p = v.ws(p + 1)
		if string(v.strBytes(kStart, kEnd, fl)) == key {
			return p, true
		}
		v.buf = v.buf[:0]
		p = v.ws(v.skip(p, nil))
		if v.bad || p >= len(d) || d[p] != ',' {
			return 0, false
		}
		p = v.ws(p + 1)
	}
	return 0, false
}

// ValidateMember validates the value of member key of the JSON object in data,
// the way the reference sees it after decoding the whole document: the whole
// document must be valid JSON, and when key repeats its last value counts. It
// returns the value's span and whether the member exists; when it does not,
// ok is false and res holds no failures (the caller decides what a missing
// payload means). This is how the collector validates a self-describing
// event's "data" in one pass.
func (p *Program) ValidateMember(data []byte, key string, res *Result) (val Span, found, ok bool) {
	var v vm
	v.data = data
	d := data
	invalid := func(at int, msg string) (Span, bool, bool) {
		if !v.bad {
			v.syntaxAt(at, msg)
		}
		res.failures = append(res.failures[:0], Failure{
			Keyword: "$json",
			Message: fmt.Sprintf("invalid JSON at offset %d: %s", v.badPos, v.badMsg),
		})
		res.valid, res.invalidJ = false, true
		return Span{}, found, false
	}
	q := v.ws(0)
	if q >= len(d) || d[q] != '{' {
		if q < len(d) {
			// not an object: still report invalid JSON if it is not JSON at all
			end := v.ws(v.skip(q, nil))
			if v.bad || end != len(d) {
				return invalid(end, "after top-level value")
			}
		} else {
			return invalid(q, "looking for beginning of value")
		}
		res.failures, res.valid, res.invalidJ = res.failures[:0], false, false
		return Span{}, false, false
	}
	q = v.ws(q + 1)
	valid := false
	if q < len(d) && d[q] == '}' {
		q++
	} else {
		for {
			if q >= len(d) || d[q] != '"' {
				return invalid(q, "looking for beginning of object key string")
			}
			kStart := q
			kEnd, fl := v.scanString(q)
			if v.bad {
				return invalid(kEnd, "")
			}
			q = v.ws(kEnd)
			if q >= len(d) || d[q] != ':' {
				return invalid(q, "after object key")
			}
			q = v.ws(q + 1)
			var end int
			if string(v.strBytes(kStart, kEnd, fl)) == key {
				v.buf = v.buf[:0]
				found = true
				end, valid = p.ValidateValue(data, q, res)
				if res.invalidJ {
					return Span{}, found, false
				}
				val = Span{Start: q, End: end}
			} else {
				v.buf = v.buf[:0]
				end = v.skip(q, nil)
				if v.bad {
					return invalid(end, "")
				}
			}
			q = v.ws(end)
			if q < len(d) && d[q] == ',' {
				q = v.ws(q + 1)
				continue
			}
			if q < len(d) && d[q] == '}' {
				q++
				break
			}
			return invalid(q, "after object key:value pair")
		}
	}
	if q = v.ws(q); q != len(d) {
		return invalid(q, "after top-level value")
	}
	if !found {
		res.failures, res.valid, res.invalidJ = res.failures[:0], false, false
		return Span{}, false, false
	}
	return val, true, valid
}
