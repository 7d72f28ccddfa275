package fastval

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

func mustDoc(tb testing.TB, s string) any {
	tb.Helper()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(s))
	if err != nil {
		tb.Fatal(err)
	}
	return doc
}

func mustCompile(tb testing.TB, schema string, opts Options) *Program {
	tb.Helper()
	p, err := Compile(mustDoc(tb, schema), opts)
	if err != nil {
		tb.Fatalf("Compile(%s): %v", schema, err)
	}
	return p
}

func TestCompileUnsupported(t *testing.T) {
	tests := []struct {
		name, schema, keyword, pointer string
	}{
		{"recursiveRef", `{"$schema":"https://json-schema.org/draft/2019-09/schema","$recursiveAnchor":true,"items":{"$recursiveRef":"#"}}`, "$recursiveRef", "/items"},
		{"metaschema ref", `{"$ref":"https://json-schema.org/draft/2020-12/schema"}`, "$ref", ""},
		{"remote ref", `{"properties":{"a":{"$ref":"https://example.com/other.json"}}}`, "$ref", "/properties/a"},
		{"custom metaschema", `{"$schema":"https://example.com/meta.json"}`, "$schema", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(mustDoc(t, tt.schema), Options{})
			var u *UnsupportedError
			if !errors.As(err, &u) {
				t.Fatalf("Compile error = %v, want *UnsupportedError", err)
			}
			if u.Keyword != tt.keyword || u.Pointer != tt.pointer || u.Reason == "" {
				t.Errorf("got %+v, want keyword %q at %q", u, tt.keyword, tt.pointer)
			}
			list, err := Unsupported(mustDoc(t, tt.schema), Options{})
			if err != nil || len(list) == 0 || list[0].Keyword != tt.keyword {
				t.Errorf("Unsupported = %v, %v", list, err)
			}
		})
	}
	list, err := Unsupported(mustDoc(t, `{"type":"object","properties":{"a":{"$ref":"#/$defs/x"}},"$defs":{"x":{"type":"string"}}}`), Options{})
	if err != nil || list != nil {
		t.Errorf("supported schema: Unsupported = %v, %v", list, err)
	}
}

func TestCompileInvalidSchema(t *testing.T) {
	for _, s := range []string{`{"minLength":-1}`, `{"pattern":"("}`, `{"type":"strin"}`, `{"$ref":"#/nowhere"}`} {
		_, err := Compile(mustDoc(t, s), Options{})
		var u *UnsupportedError
		if err == nil || errors.As(err, &u) {
			t.Errorf("Compile(%s) = %v, want a schema error", s, err)
		}
	}
	if _, err := Compile(mustDoc(t, `{}`), Options{Capture: []string{"email"}}); err == nil {
		t.Error("capture pointer without leading / accepted")
	}
}

func TestFailures(t *testing.T) {
	schema := `{
		"type":"object","additionalProperties":false,"required":["id","n"],
		"properties":{
			"id":{"type":"string","format":"uuid"},
			"n":{"type":"integer","minimum":1},
			"tags":{"type":"array","items":{"type":"string","maxLength":3},"uniqueItems":true},
			"a/b":{"$ref":"#/$defs/s"}
		},
		"$defs":{"s":{"enum":["x","y"]}}
	}`
	prog := mustCompile(t, schema, Options{AssertFormat: true})
	tests := []struct {
		name  string
		event string
		want  []Failure
	}{
		{"valid", `{"id":"3f1c9a8e-2b4d-4c6e-9f1a-7b8c9d0e1f2a","n":1,"tags":["a","b"],"a/b":"x"}`, nil},
		{"type", `{"id":"3f1c9a8e-2b4d-4c6e-9f1a-7b8c9d0e1f2a","n":"1"}`, []Failure{
			{InstanceLocation: "/n", KeywordLocation: "/properties/n/type", Keyword: "type", Message: "got string, want integer"},
		}},
		{"several", `{"id":"nope","n":0,"tags":["abcd","b","b"],"a/b":"z","x":1}`, []Failure{
			{InstanceLocation: "/id", KeywordLocation: "/properties/id/format", Keyword: "format", Message: "'nope' is not valid uuid: must have 5 elements"},
			{InstanceLocation: "/n", KeywordLocation: "/properties/n/minimum", Keyword: "minimum", Message: "minimum: got 0, want 1"},
			{InstanceLocation: "/tags/0", KeywordLocation: "/properties/tags/items/maxLength", Keyword: "maxLength", Message: "maxLength: got 4, want 3"},
			{InstanceLocation: "/tags", KeywordLocation: "/properties/tags/uniqueItems", Keyword: "uniqueItems", Message: "items at 1 and 2 are equal"},
			{InstanceLocation: "/a~1b", KeywordLocation: "/$defs/s/enum", Keyword: "enum", Message: "value must be one of 'x', 'y'"},
			{InstanceLocation: "", KeywordLocation: "/additionalProperties", Keyword: "additionalProperties", Message: "additional properties 'x' not allowed"},
		}},
		{"required", `{}`, []Failure{
			{InstanceLocation: "", KeywordLocation: "/required", Keyword: "required", Message: "missing properties 'id', 'n'"},
		}},
		{"duplicate key keeps the last value", `{"id":"3f1c9a8e-2b4d-4c6e-9f1a-7b8c9d0e1f2a","n":1,"n":"x"}`, []Failure{
			{InstanceLocation: "/n", KeywordLocation: "/properties/n/type", Keyword: "type", Message: "got string, want integer"},
		}},
		{"duplicate key fixed by the last value", `{"id":"3f1c9a8e-2b4d-4c6e-9f1a-7b8c9d0e1f2a","n":"x","n":1}`, nil},
		{"invalid JSON", `{"id":`, []Failure{
			{Keyword: "$json", Message: "invalid JSON at offset 6: unexpected end of JSON input"},
		}},
	}
	var res Result
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok := prog.Validate([]byte(tt.event), &res)
			if ok != (tt.want == nil) || res.Valid() != ok {
				t.Fatalf("Validate = %v, want %v (failures %+v)", ok, tt.want == nil, res.Failures())
			}
			if diff := cmp.Diff(tt.want, res.Failures()); diff != "" {
				t.Errorf("failures (-want +got):\n%s", diff)
			}
			if res.InvalidJSON() != (tt.name == "invalid JSON") {
				t.Errorf("InvalidJSON = %v", res.InvalidJSON())
			}
		})
	}
}

func TestCaptures(t *testing.T) {
	prog := mustCompile(t, `{"properties":{"user":{"type":"object"}}}`, Options{Capture: []string{
		"/id", "/user/email", "/items/*/sku", "/items/0/sku", "", "/a~1b", "/missing",
	}})
	tests := []struct {
		event string
		want  [][]string
	}{
		{`{"id":"e1","user":{"email":"a@x","x":[1]},"items":[{"sku":"S1"},{"sku":"S2"},{"q":1}],"a/b":true}`,
			[][]string{{`"e1"`}, {`"a@x"`}, {`"S1"`, `"S2"`}, {`"S1"`}, {"*"}, {"true"}, nil}},
		{`{"id":"e1","id":"e2","items":[{"sku":"S1","sku":"S9"}]}`,
			[][]string{{`"e2"`}, nil, {`"S9"`}, {`"S9"`}, {"*"}, nil, nil}},
		{`{"i\u0064":1}`, [][]string{{"1"}, nil, nil, nil, {"*"}, nil, nil}},
	}
	var res Result
	for _, tt := range tests {
		if !prog.Validate([]byte(tt.event), &res) {
			t.Fatalf("%s: invalid: %+v", tt.event, res.Failures())
		}
		var got [][]string
		for i := range prog.Captures() {
			var vals []string
			for _, s := range res.Capture(i) {
				v := tt.event[s.Start:s.End]
				if s.Start == 0 && s.End == len(tt.event) {
					v = "*"
				}
				vals = append(vals, v)
			}
			got = append(got, vals)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: captures (-want +got):\n%s", tt.event, diff)
		}
	}
}

func TestValidateValueInEnvelope(t *testing.T) {
	prog := mustCompile(t, `{"type":"object","required":["n"],"properties":{"n":{"type":"integer"}}}`, Options{Capture: []string{"/n"}})
	env := []byte(`{"schema":"iglu:com.acme/x/jsonschema/1-0-0", "data": {"n": 5} , "contexts":[]}`)
	start, ok := FindMember(env, "data")
	if !ok {
		t.Fatal("data not found")
	}
	var res Result
	end, ok := prog.ValidateValue(env, start, &res)
	if !ok || string(env[start:end]) != `{"n": 5}` {
		t.Fatalf("ValidateValue = %d, %v (%q)", end, ok, env[start:end])
	}
	if s := res.Capture(0); len(s) != 1 || string(env[s[0].Start:s[0].End]) != "5" {
		t.Errorf("capture = %v", s)
	}
	if _, ok := FindMember([]byte(`{"schema":"x"}`), "data"); ok {
		t.Error("FindMember found a missing key")
	}
	if _, ok := FindMember([]byte(`[1]`), "data"); ok {
		t.Error("FindMember accepted an array")
	}
}

// TestValidEventsDoNotAllocate covers the shapes that must stay on the
// allocation-free path: decimals, escapes, non-ASCII, formats, applicators.
func TestValidEventsDoNotAllocate(t *testing.T) {
	prog := mustCompile(t, `{
		"type":"object",
		"properties":{
			"price":{"type":"number","minimum":0,"maximum":1e6,"multipleOf":0.01},
			"name":{"type":"string","minLength":1,"maxLength":20,"pattern":"^[\\p{L} ]+$"},
			"when":{"type":"string","format":"date-time"},
			"mail":{"type":"string","format":"email"},
			"ip6":{"type":"string","format":"ipv6"},
			"kind":{"anyOf":[{"const":"a"},{"enum":["b","c"]}]},
			"tags":{"type":"array","uniqueItems":true,"items":{"type":"string"}},
			"opt":{"type":["string","null"]},
			"n":{"oneOf":[{"type":"integer","maximum":10},{"type":"integer","minimum":100}]}
		},
		"if":{"required":["kind"]},"then":{"required":["name"]}
	}`, Options{AssertFormat: true, Capture: []string{"/mail", "/tags/*"}})
	event := []byte(`{"price":12.99,"name":"Zo\u00eb Jos\u00e9","when":"2026-11-01T12:34:56+01:00","mail":"zoe@example.com","ip6":"2001:db8::1",` +
		`"kind":"c","tags":["x","y","\u00e9"],"opt":null,"n":150}`)
	var res Result
	if !prog.Validate(event, &res) {
		t.Fatalf("invalid: %+v", res.Failures())
	}
	allocs := testing.AllocsPerRun(100, func() { prog.Validate(event, &res) })
	if allocs != 0 {
		t.Errorf("%v allocations per valid event, want 0", allocs)
	}
}

func TestDeepNesting(t *testing.T) {
	prog := mustCompile(t, `{"$defs":{"t":{"type":"array","items":{"$ref":"#/$defs/t"}}},"$ref":"#/$defs/t"}`, Options{})
	var res Result
	ok10000 := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	if !prog.Validate([]byte(ok10000), &res) {
		t.Errorf("depth 10000 rejected: %+v", res.Failures())
	}
	if prog.Validate([]byte("["+ok10000+"]"), &res) || !res.InvalidJSON() {
		t.Error("depth 10001 accepted; encoding/json rejects it")
	}
}

func TestUnevaluatedWithDuplicateKeys(t *testing.T) {
	prog := mustCompile(t, `{"unevaluatedProperties":{"type":"integer"}}`, Options{})
	var res Result
	if !prog.Validate([]byte(`{"a":"x","a":1}`), &res) {
		t.Errorf("last value 1 is an integer: %+v", res.Failures())
	}
	if prog.Validate([]byte(`{"a":1,"a":"x"}`), &res) {
		t.Error("last value \"x\" is not an integer")
	}
}

func TestValidateMember(t *testing.T) {
	prog := mustCompile(t, `{"type":"object","required":["n"],"properties":{"n":{"type":"integer"}}}`, Options{Capture: []string{"/n"}})
	tests := []struct {
		name, event     string
		found, ok, json bool
		data            string
	}{
		{"valid", `{"schema":"x","data":{"n":1},"contexts":[]}`, true, true, false, `{"n":1}`},
		{"invalid payload", `{"schema":"x","data":{"n":"1"}}`, true, false, false, `{"n":"1"}`},
		{"last data wins", `{"data":{"n":"1"},"data":{"n":2}}`, true, true, false, `{"n":2}`},
		{"last data loses", `{"data":{"n":2},"data":{}}`, true, false, false, `{}`},
		{"missing", `{"schema":"x"}`, false, false, false, ""},
		{"broken after data", `{"data":{"n":1},"x":}`, true, false, true, ""},
		{"broken before data", `{"x":tru,"data":{"n":1}}`, false, false, true, ""},
		{"trailing", `{"data":{"n":1}} x`, true, false, true, ""},
		{"not an object", `[1]`, false, false, false, ""},
		{"escaped key", `{"d\u0061ta":{"n":1}}`, true, true, false, `{"n":1}`},
	}
	var res Result
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			span, found, ok := prog.ValidateMember([]byte(tt.event), "data", &res)
			if found != tt.found || ok != tt.ok || res.InvalidJSON() != tt.json {
				t.Fatalf("found %v ok %v invalidJSON %v, want %v %v %v (%+v)", found, ok, res.InvalidJSON(), tt.found, tt.ok, tt.json, res.Failures())
			}
			if tt.data != "" && tt.event[span.Start:span.End] != tt.data {
				t.Errorf("span %q, want %q", tt.event[span.Start:span.End], tt.data)
			}
			if !tt.json && found && ok != (res.Failures() == nil) {
				t.Errorf("failures %+v with ok %v", res.Failures(), ok)
			}
		})
	}
}

// TestConcurrentUse validates from several goroutines with one shared Program
// and one Result each (run with -race to check the program stays read-only).
func TestConcurrentUse(t *testing.T) {
	w := loadWorkload(t)
	other := mustCompile(t, `{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]}`, Options{})
	done := make(chan error)
	for g := 0; g < 4; g++ {
		go func(g int) {
			var res Result
			for i := 0; i < 200; i++ {
				e := w.batch[(g*31+i)%len(w.batch)]
				if !w.viaFast(e, &res) {
					done <- errors.New("batch event rejected")
					return
				}
				// the same Result alternates between programs
				if other.Validate([]byte(`{"a":"x"}`), &res) {
					done <- errors.New("invalid event accepted")
					return
				}
			}
			done <- nil
		}(g)
	}
	for g := 0; g < 4; g++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

func TestDynamicRef(t *testing.T) {
	// a generic list whose items the outer resource narrows to integers
	prog := mustCompile(t, `{
		"$id":"https://example.com/ints",
		"$ref":"list",
		"$defs":{
			"item":{"$dynamicAnchor":"item","type":"integer"},
			"list":{"$id":"list","type":"array","items":{"$dynamicRef":"#item"},
				"$defs":{"item":{"$dynamicAnchor":"item"}}}
		}
	}`, Options{})
	var res Result
	if !prog.Validate([]byte(`[1,2]`), &res) {
		t.Errorf("[1,2]: %+v", res.Failures())
	}
	if prog.Validate([]byte(`[1,"x"]`), &res) {
		t.Error(`[1,"x"] accepted: the outer $dynamicAnchor must win`)
	} else if f := res.Failures(); len(f) != 1 || f[0].InstanceLocation != "/1" {
		t.Errorf("failures %+v", f)
	}
}

func TestKeywordLocationIsPlainPointer(t *testing.T) {
	prog := mustCompile(t, `{"properties":{"été":{"type":"string"},"a/b":{"type":"string"}}}`, Options{})
	var res Result
	prog.Validate([]byte(`{"été":1,"a/b":2}`), &res)
	got := map[string]string{}
	for _, f := range res.Failures() {
		got[f.InstanceLocation] = f.KeywordLocation
	}
	want := map[string]string{"/été": "/properties/été/type", "/a~1b": "/properties/a~1b/type"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("keyword locations (-want +got):\n%s", diff)
	}
}

// TestRepeatedKeys checks that a repeated key that validation or a capture reads
// is reported, on valid and invalid events, and that a clean event is not.
func TestRepeatedKeys(t *testing.T) {
	prog := mustCompile(t, `{"type":"object","properties":{"n":{"type":"integer"},"user":{"type":"object"}}}`,
		Options{Capture: []string{"/user/email", "/items/*/sku"}})
	tests := []struct {
		event    string
		valid    bool
		repeated bool
	}{
		{`{"n":1,"user":{"email":"a@x"}}`, true, false},
		{`{"n":1,"n":2}`, true, true},
		{`{"n":1,"n":"x"}`, false, true},
		{`{"user":{"email":"a@x","email":"b@y"}}`, true, true},
		{`{"user":{"email":"a@x"},"user":{"email":"b@y"}}`, true, true},
		{`{"items":[{"sku":"a"},{"sku":"b","sku":"c"}]}`, true, true},
		{`{"items":[{"sku":"a"},{"sku":"b"}]}`, true, false},
	}
	var res Result
	for _, tt := range tests {
		// validate a clean event first: the flag must not stick between calls
		prog.Validate([]byte(`{"n":1}`), &res)
		if got := prog.Validate([]byte(tt.event), &res); got != tt.valid {
			t.Errorf("%s: valid = %v, want %v", tt.event, got, tt.valid)
		}
		if res.RepeatedKeys() != tt.repeated {
			t.Errorf("%s: RepeatedKeys = %v, want %v", tt.event, res.RepeatedKeys(), tt.repeated)
		}
	}
}

// TestHasWhitespace checks that whitespace between tokens is reported, and
// whitespace inside strings is not.
func TestHasWhitespace(t *testing.T) {
	prog := mustCompile(t, `{"type":"object","properties":{"n":{"type":"integer"},"o":{"type":"object"}}}`, Options{Capture: []string{"/o/x"}})
	tests := []struct {
		event  string
		spaced bool
	}{
		{`{"n":1,"s":"a b\n","o":{"x":[1,{"y":"z z"}]}}`, false},
		{` {"n":1}`, true},
		{`{"n":1}` + "\n", true},
		{`{"n" :1}`, true},
		{`{"u":{"deep":[1, 2]}}`, true},
		{"{\"o\":{\"x\":{\"a\":\t1}}}", true},
		{`{"n":1,"n":2,"u":[1,2]}`, false},
		{`{"n":1,"n":2,"u":[1, 2]}`, true},
	}
	var res Result
	for _, tt := range tests {
		prog.Validate([]byte(`{ }`), &res) // the flag must not stick between calls
		if !prog.Validate([]byte(tt.event), &res) {
			t.Fatalf("%q is invalid: %v", tt.event, res.Failures())
		}
		if res.HasWhitespace() != tt.spaced {
			t.Errorf("%q: HasWhitespace = %v, want %v", tt.event, res.HasWhitespace(), tt.spaced)
		}
	}
}
