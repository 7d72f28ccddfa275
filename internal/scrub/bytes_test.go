package scrub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/accord-dev/accord/internal/contract"
	"github.com/accord-dev/accord/internal/contract/fastval"
	"github.com/google/go-cmp/cmp"
)

// keepNested has a kept field with personal data inside it, drops next to each
// other and at both ends of an object, and a nullable tokenized subject.
const keepNested = `
$schema: https://json-schema.org/draft/2020-12/schema
self: {vendor: com.acme, name: keep_nested, format: jsonschema, version: 1-0-0}
x-privacy:
  controller: {field: /tenant}
  subject: {field: /profile/id}
type: object
properties:
  a_first: {type: string, x-pii: {kind: free_text, handling: drop}}
  tenant: {type: [string, integer]}
  profile:
    type: object
    x-pii: {kind: user_id, handling: keep, reason: the profile is joined on}
    properties:
      id: {type: string}
      secret: {type: string, x-pii: {kind: free_text, handling: drop}}
      mail: {type: [string, "null"], x-pii: {kind: email, handling: hash}}
      tags:
        type: array
        items:
          type: object
          properties:
            v: {type: string, x-pii: {kind: free_text, handling: tokenize}}
  m_middle: {type: string, x-pii: {kind: free_text, handling: drop}}
  m_next: {type: string, x-pii: {kind: free_text, handling: drop}}
  notes:
    type: array
    items:
      type: object
      properties:
        text: {type: [string, "null"], x-pii: {kind: free_text, handling: drop}}
        keep: {type: string}
  z_last: {type: string, x-pii: {kind: free_text, handling: drop}}
`

var keepNestedEvents = []string{
	`{"a_first":"x1","tenant":"t","profile":{"id":"p1","secret":"s","mail":"M@x","tags":[{"v":"a"},{"w":1},{"v":"b"}]},"m_middle":"x2","m_next":"x3","notes":[{"text":"n1"},{"text":null,"keep":"k"},{"keep":"k","text":"n3"}],"z_last":"x4"}`,
	`{ "tenant" : 7 , "z_last" : "x" , "a_first" : "y" }`,
	`{"profile":{"secret":"s"},"tenant":"t"}`,
	`{"m_middle":"x","m_next":"y"}`,
	`{"tenant":"t","profile":{"id":"p","mail":null,"tags":[]}}`,
	`{}`,
}

// byteProgram compiles c's validator with the plan's captures.
func byteProgram(tb testing.TB, s *Scrubber, c *contract.Contract) (*Plan, *fastval.Program) {
	tb.Helper()
	plan, err := s.Plan(c)
	if err != nil {
		tb.Fatal(err)
	}
	caps, ok := plan.Captures()
	if !ok {
		return plan, nil
	}
	doc, opts := fastval.ForContract(c)
	opts.Capture = append(slices.Clip(caps), "/event_id") // as the collector does: more pointers may follow
	prog, err := fastval.Compile(doc, opts)
	if err != nil {
		tb.Fatalf("compiling %s: %v", c.Key, err)
	}
	return plan, prog
}

// outcome of comparing the two paths on one event.
type outcome int

const (
	outInvalid outcome = iota // the event does not validate: not compared
	outTree                   // ScrubBytes asked for the decoded path
	outBytes                  // compared
)

// compareScrub scrubs raw on the decoded path and on its bytes and fails when
// they disagree: the same error, the same summary in the same order, and an
// output that is valid JSON and UTF-8, decodes to the decoded path's event and
// has the stored shape.
func compareScrub(tb testing.TB, plan *Plan, prog *fastval.Program, c *contract.Contract, raw []byte) outcome {
	tb.Helper()
	var res fastval.Result
	if !prog.Validate(raw, &res) {
		return outInvalid
	}
	ctx := context.Background()
	tree := decode(tb, raw)
	wantApplied, wantErr := plan.Append(ctx, nil, "ctx", tree)
	out, gotApplied, gotErr := plan.ScrubBytes(ctx, nil, "ctx", bytes.Clone(raw), &res)
	if errors.Is(gotErr, ErrUseTree) {
		return outTree
	}
	if (wantErr == nil) != (gotErr == nil) || (wantErr != nil && wantErr.Error() != gotErr.Error()) {
		tb.Fatalf("%s: errors differ: tree %v, bytes %v\nevent: %s", c.Key, wantErr, gotErr, raw)
	}
	if wantErr != nil {
		return outBytes
	}
	if diff := cmp.Diff(wantApplied, gotApplied); diff != "" {
		tb.Fatalf("%s: applied (-tree +bytes):\n%s\nevent: %s", c.Key, diff, raw)
	}
	if !json.Valid(out) || !utf8.Valid(out) {
		tb.Fatalf("%s: output is not valid JSON: %s\nevent: %s", c.Key, out, raw)
	}
	got := decode(tb, out)
	if diff := cmp.Diff(tree, got); diff != "" {
		tb.Fatalf("%s: stored event (-tree +bytes):\n%s\nevent: %s\nbytes: %s", c.Key, diff, raw, out)
	}
	assertStored(tb, c, got)
	return outBytes
}

// byteContracts are the example contracts, the reference contract and the test
// contracts with their events.
func byteContracts(tb testing.TB) ([]*contract.Contract, map[*contract.Contract][]string) {
	tb.Helper()
	cs := loadContracts(tb, examplesDir)
	events := map[*contract.Contract][]string{}
	for _, c := range cs {
		evs := realisticFor(c.Key)
		if len(evs) == 0 {
			tb.Fatalf("no realistic event for %s", c.Key)
		}
		events[c] = evs
	}
	bc, raw := benchContract(tb)
	cs = append(cs, bc)
	events[bc] = []string{string(raw)}
	ev := parseContract(tb, "iglu:com.acme/everything/jsonschema/1-0-0", everything)
	kn := parseContract(tb, "iglu:com.acme/keep_nested/jsonschema/1-0-0", keepNested)
	cs = append(cs, ev, kn)
	events[ev] = []string{everythingEvent, `{"orders":[{"parcels":[{"gps":{"lat":1.25}}]},{"id":"o2"},{"parcels":[{"tracking_phone":"+4915112345678"},{"gps":{"lon":-2.75,"lat":3}},{"tracking_phone":"+4915112345679"}]}]}`}
	events[kn] = keepNestedEvents
	return cs, events
}

// TestScrubBytesDifferential compares ScrubBytes with the decoded path over the
// example contracts, the reference contract and the test contracts: their
// events as written, and random variations of them (key order, whitespace,
// escapes, other personal values, members removed).
func TestScrubBytesDifferential(t *testing.T) {
	path := writeCityDB(t, "GeoLite2-City", map[string][4]string{
		"81.2.69.0/24": {"GB", "England", "ENG", "London"}, "2a02:8108::/32": {"DE", "Berlin", "BE", "Berlin"},
	})
	s := newScrubber(t, Config{MMDBPath: path}, newHMACTokenizer())
	cs, events := byteContracts(t)
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range cs {
		t.Run(c.Key.String(), func(t *testing.T) {
			plan, prog := byteProgram(t, s, c)
			if prog == nil {
				t.Fatalf("%s cannot use the byte path: %s", c.Key, plan.bytes.why)
			}
			counts := map[outcome]int{}
			for _, ev := range events[c] {
				if got := compareScrub(t, plan, prog, c, []byte(ev)); got != outBytes {
					t.Fatalf("the test event took outcome %d, want the byte path: %s", got, ev)
				}
				for range 300 {
					// Draw until the variation still validates (most do within a few draws).
					for range 50 {
						v := vary(r, c, decode(t, []byte(ev)))
						var buf bytes.Buffer
						reencode(r, &buf, v)
						got := compareScrub(t, plan, prog, c, buf.Bytes())
						counts[got]++
						if got != outInvalid {
							break
						}
					}
				}
			}
			// A harness that only made invalid events, or events that all take the
			// decoded path, would test nothing.
			t.Logf("%d compared on the byte path, %d invalid draws, %d on the decoded path", counts[outBytes], counts[outInvalid], counts[outTree])
			if n := counts[outBytes]; n < 250*len(events[c]) {
				t.Errorf("only %d of %d variations compared on the byte path (%d invalid draws, %d decoded path)",
					n, 300*len(events[c]), counts[outInvalid], counts[outTree])
			}
		})
	}
}

// piiPool holds values to put in personal-data fields, by kind: valid ones,
// odd ones and ones that cannot be generalised.
var piiPool = map[contract.Kind][]any{
	contract.KindEmail:       {"Jane.Doe@Example.COM", "a+b@sub.example.co.uk", "x@[192.0.2.1]", "no-at-sign", "é@exämple.de", "q\"uote@x.io"},
	contract.KindIP:          {"81.2.69.142", "2a02:8108:1140:5e00:1c2d:3e4f:5a6b:7c8d", "10.0.0.1", "not-an-ip", "::ffff:81.2.69.142", "81.2.69.1:443, 10.0.0.1"},
	contract.KindUserAgent:   {"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36", "curl/8.4.0", "", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"},
	contract.KindURL:         {"https://u:p@shop.example/a?b=c#d", "mailto:jane@example.com", "/p?q", "::"},
	contract.KindPhone:       {"+442079460958", "0044 20 7946 0958", "12345"},
	contract.KindPostalCode:  {"SW1A 1AA", "75008", "x"},
	contract.KindDateOfBirth: {"1990-05-17", "17/05/1990", "yesterday"},
	contract.KindGeo:         {json.Number("51.50735"), json.Number("-0.05"), json.Number("1e1"), json.Number("90"), json.Number("-89.99999")},
}

var anyPool = []any{"some text ☃ \u2028 <b>&amp;", "plain", "", "line\nbreak\ttab\\", nil, json.Number("42"), true,
	map[string]any{"nested": "x", "n": json.Number("1")}, []any{"a", json.Number("2")}}

// vary changes v at random: other personal values, members removed.
func vary(r *rand.Rand, c *contract.Contract, v any) any {
	for _, f := range c.PII() {
		if r.IntN(3) != 0 {
			continue
		}
		pool := piiPool[f.PII.Kind]
		if len(pool) == 0 || r.IntN(4) == 0 {
			pool = anyPool
		}
		val := pool[r.IntN(len(pool))]
		v = setPath(r, v, f.Path, val)
	}
	dropMembers(r, v)
	growArrays(r, v)
	return v
}

// growArrays appends copies of items to some arrays, so that nested arrays of
// several items (and their indexes) are exercised.
func growArrays(r *rand.Rand, v any) {
	switch n := v.(type) {
	case map[string]any:
		for k, sub := range n {
			if arr, ok := sub.([]any); ok && len(arr) > 0 && r.IntN(3) == 0 {
				js, err := json.Marshal(arr[r.IntN(len(arr))])
				if err != nil {
					panic(err) // decoded JSON always encodes
				}
				var item any
				if err := json.Unmarshal(js, &item); err != nil {
					panic(err)
				}
				n[k] = append(arr, numbersOf(item))
			}
			growArrays(r, n[k])
		}
	case []any:
		for _, sub := range n {
			growArrays(r, sub)
		}
	}
}

// numbersOf turns float64 numbers back into json.Number, as contract.DecodeJSON
// makes them.
func numbersOf(v any) any {
	switch n := v.(type) {
	case float64:
		return json.Number(fmt.Sprint(n))
	case map[string]any:
		for k, sub := range n {
			n[k] = numbersOf(sub)
		}
	case []any:
		for i, sub := range n {
			n[i] = numbersOf(sub)
		}
	}
	return v
}

// setPath sets every value at path (with "*" for every item) that exists, and
// sometimes creates a missing member.
func setPath(r *rand.Rand, v any, path []string, val any) any {
	if len(path) == 0 {
		return val
	}
	switch n := v.(type) {
	case map[string]any:
		if _, ok := n[path[0]]; ok || (len(path) == 1 && r.IntN(2) == 0) {
			n[path[0]] = setPath(r, n[path[0]], path[1:], val)
		}
	case []any:
		for i := range n {
			if path[0] == "*" || fmt.Sprint(i) == path[0] {
				n[i] = setPath(r, n[i], path[1:], val)
			}
		}
	}
	return v
}

func dropMembers(r *rand.Rand, v any) {
	switch n := v.(type) {
	case map[string]any:
		for k, sub := range n {
			if r.IntN(16) == 0 {
				delete(n, k)
				continue
			}
			dropMembers(r, sub)
		}
	case []any:
		for _, sub := range n {
			dropMembers(r, sub)
		}
	}
}

var spaces = []string{"", "", "", " ", "\n  ", "\t", " \r\n"}

// reencode writes v as JSON with random key order, whitespace and escapes.
func reencode(r *rand.Rand, b *bytes.Buffer, v any) {
	ws := func() { b.WriteString(spaces[r.IntN(len(spaces))]) }
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		r.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			ws()
			writeString(r, b, k)
			ws()
			b.WriteByte(':')
			ws()
			reencode(r, b, x[k])
			ws()
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, item := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			ws()
			reencode(r, b, item)
			ws()
		}
		b.WriteByte(']')
	case string:
		writeString(r, b, x)
	default:
		js, err := json.Marshal(x)
		if err != nil {
			panic(err) // only values decoded from JSON reach here
		}
		b.Write(js)
	}
}

// writeString writes s quoted, escaping some characters that need no escape.
func writeString(r *rand.Rand, b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteRune(c)
		case c < 0x20 || r.IntN(10) == 0:
			if c > 0xFFFF {
				c -= 0x10000
				fmt.Fprintf(b, `\u%04x\u%04x`, 0xD800+(c>>10), 0xDC00+(c&0x3FF))
				continue
			}
			fmt.Fprintf(b, `\u%04X`, c)
		case c == '/' && r.IntN(2) == 0:
			b.WriteString(`\/`)
		default:
			b.WriteRune(c)
		}
	}
	b.WriteByte('"')
}

// TestScrubBytesDrop checks the exact bytes around dropped members: one comma
// goes with each, wherever it is in its object.
func TestScrubBytesDrop(t *testing.T) {
	s := newScrubber(t, Config{}, newHMACTokenizer())
	c := parseContract(t, "iglu:com.acme/drops/jsonschema/1-0-0", `
$schema: https://json-schema.org/draft/2020-12/schema
self: {vendor: com.acme, name: drops, format: jsonschema, version: 1-0-0}
type: object
properties:
  a: {type: string, x-pii: {kind: free_text, handling: drop}}
  b: {type: string, x-pii: {kind: free_text, handling: drop}}
  k: {type: string}
  list: {type: array, items: {type: object, properties: {x: {type: string, x-pii: {kind: free_text, handling: drop}}}}}
  tuple: {type: array, prefixItems: [{type: string}, {type: string, x-pii: {kind: free_text, handling: drop}}]}
  'q"b\': {type: string, x-pii: {kind: free_text, handling: drop}}
`)
	plan, prog := byteProgram(t, s, c)
	tests := []struct{ in, want string }{
		{`{"a":"x"}`, `{}`},
		{`{"a":"x","b":"y"}`, `{}`},
		{`{"a":"x","k":"1"}`, `{"k":"1"}`},
		{`{"k":"1","a":"x"}`, `{"k":"1"}`},
		{`{"a":"x","b":"y","k":"1"}`, `{"k":"1"}`},
		{`{"k":"1","a":"x","b":"y"}`, `{"k":"1"}`},
		{`{"a":"x","k":"1","b":"y"}`, `{"k":"1"}`},
		{`{"b":"y","k":"1","a":"x","list":[]}`, `{"k":"1","list":[]}`},
		{` { "a" : "x" , "k" : "1" } `, ` {  "k" : "1" } `},
		{"{\n \"k\": \"1\",\n \"a\": \"x\"\n}", "{\n \"k\": \"1\"\n}"},
		{`{"\"a\\":"x","a":"y"}`, `{"\"a\\":"x"}`},
		{`{"k":"1","q\"b\\":"x"}`, `{"k":"1"}`},
		{`{"k":"1","q\u0022b\u005c":"x"}`, `{"k":"1"}`},
		{`{"\u0061":"x","k":"1"}`, `{"k":"1"}`},
		{`{"list":[{"x":"1"},{"y":2,"x":"1"},{"x":"1","y":2}],"tuple":["p","q"]}`, `{"list":[{},{"y":2},{"y":2}],"tuple":["p",null]}`},
		{`{"k":"no personal data"}`, `{"k":"no personal data"}`},
	}
	for _, tt := range tests {
		var res fastval.Result
		if !prog.Validate([]byte(tt.in), &res) {
			t.Fatalf("%s is invalid: %v", tt.in, res.Failures())
		}
		out, _, err := plan.ScrubBytes(context.Background(), nil, "", []byte(tt.in), &res)
		if err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if string(out) != tt.want {
			t.Errorf("%s: got %s, want %s", tt.in, out, tt.want)
		}
		// Into a buffer that already holds bytes a comma scan could eat.
		buf := append(make([]byte, 0, 256), "p, "...)
		out, _, err = plan.ScrubBytesTo(context.Background(), buf, nil, "", []byte(tt.in), &res)
		if err != nil || string(out) != tt.want || string(buf[:3]) != "p, " {
			t.Errorf("%s into a used buffer: got %s (%v), buffer now %q; want %s", tt.in, out, err, buf[:3], tt.want)
		}
		if compareScrub(t, plan, prog, c, []byte(tt.in)) != outBytes {
			t.Errorf("%s: not compared on the byte path", tt.in)
		}
	}
}

// TestScrubBytesUsesTree lists the entities that must take the decoded path.
func TestScrubBytesUsesTree(t *testing.T) {
	s := newScrubber(t, Config{}, newHMACTokenizer())
	ev := parseContract(t, "iglu:com.acme/everything/jsonschema/1-0-0", everything)
	plan, prog := byteProgram(t, s, ev)
	for _, in := range []string{
		// the first, raw email would survive a rewrite of the last one
		`{"contact_email":"jane@example.com","contact_email":"bob@example.com"}`,
		`{"customer":{"email":"jane@example.com"},"customer":{"email":"bob@example.com"}}`,
		// invalid UTF-8 is U+FFFD on the decoded path
		"{\"page\":\"https://shop.example/\xff\"}",
	} {
		var res fastval.Result
		if !prog.Validate([]byte(in), &res) {
			t.Fatalf("%q is invalid: %v", in, res.Failures())
		}
		if _, _, err := plan.ScrubBytes(context.Background(), nil, "", []byte(in), &res); !errors.Is(err, ErrUseTree) {
			t.Errorf("%q: err = %v, want ErrUseTree", in, err)
		}
	}

	// A tuple position and "*" naming one item: the decoded path handles it twice.
	both := parseContract(t, "iglu:com.acme/both/jsonschema/1-0-0", `
$schema: https://json-schema.org/draft/2020-12/schema
self: {vendor: com.acme, name: both, format: jsonschema, version: 1-0-0}
type: object
properties:
  t:
    type: array
    prefixItems: [{type: object, properties: {x: {type: string, x-pii: {kind: free_text, handling: hash}}}}]
    items: {type: object, properties: {x: {type: string, x-pii: {kind: free_text, handling: hash}}}}
`)
	plan, prog = byteProgram(t, s, both)
	var res fastval.Result
	in := []byte(`{"t":[{"x":"a"},{"x":"b"}]}`)
	if !prog.Validate(in, &res) {
		t.Fatal(res.Failures())
	}
	if _, _, err := plan.ScrubBytes(context.Background(), nil, "", in, &res); !errors.Is(err, ErrUseTree) {
		t.Errorf("overlapping fields: err = %v, want ErrUseTree", err)
	}
	for _, in := range []string{`{"t":[]}`, `{"t":[{"y":1},{"x":"b"}]}`} {
		if got := compareScrub(t, plan, prog, both, []byte(in)); got != outBytes {
			t.Errorf("%s: outcome %d, want the byte path", in, got)
		}
	}

	// A property named "*": fastval reads "*" as array items only.
	star := parseContract(t, "iglu:com.acme/star/jsonschema/1-0-0", `
$schema: https://json-schema.org/draft/2020-12/schema
self: {vendor: com.acme, name: star, format: jsonschema, version: 1-0-0}
type: object
properties:
  "*": {type: string, x-pii: {kind: free_text, handling: hash}}
`)
	plan, err := s.Plan(star)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := plan.Captures(); ok {
		t.Error(`a property named "*" must keep the decoded path`)
	}
}

// TestScrubBytesErrors checks that the byte path fails as the decoded path
// does, naming pointers and never values.
func TestScrubBytesErrors(t *testing.T) {
	tok := newHMACTokenizer()
	s := newScrubber(t, Config{}, tok)
	kn := parseContract(t, "iglu:com.acme/keep_nested/jsonschema/1-0-0", keepNested)
	plan, prog := byteProgram(t, s, kn)
	tests := []struct {
		name, in, reason string
		fail             error
	}{
		{"no subject", `{"tenant":"t","profile":{"tags":[{"v":"secret-tag-1"}]}}`, ReasonPrivacyContextMissing, nil},
		{"empty controller", `{"tenant":"","profile":{"id":"p","tags":[{"v":"secret-tag-1"}]}}`, ReasonPrivacyContextMissing, nil},
		{"vault down", `{"tenant":"t","profile":{"id":"p","tags":[{"v":"secret-tag-1"}]}}`, ReasonTokenizeFailed, errors.New("vault unavailable")},
		{"nothing to tokenize", `{"a_first":"secret-tag-1"}`, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok.fail = tt.fail
			defer func() { tok.fail = nil }()
			if compareScrub(t, plan, prog, kn, []byte(tt.in)) != outBytes {
				t.Fatal("not compared on the byte path")
			}
			var res fastval.Result
			prog.Validate([]byte(tt.in), &res)
			_, _, err := plan.ScrubBytes(context.Background(), nil, "", []byte(tt.in), &res)
			if ReasonOf(err) != tt.reason {
				t.Fatalf("reason %q (%v), want %q", ReasonOf(err), err, tt.reason)
			}
			if err != nil && strings.Contains(err.Error(), "secret-tag-1") {
				t.Errorf("the error repeats a value: %v", err)
			}
		})
	}
}

// TestScrubBytesNulls checks that null values of nullable fields stay null and
// are not listed, as on the decoded path.
func TestScrubBytesNulls(t *testing.T) {
	s := newScrubber(t, Config{}, newHMACTokenizer())
	ev := parseContract(t, "iglu:com.acme/everything/jsonschema/1-0-0", everything)
	plan, prog := byteProgram(t, s, ev)
	in := []byte(`{"customer":{"name":null},"ip":null}`)
	var res fastval.Result
	if !prog.Validate(in, &res) {
		t.Fatal(res.Failures())
	}
	out, applied, err := plan.ScrubBytes(context.Background(), nil, "", in, &res)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != string(in) || len(applied) != 0 {
		t.Errorf("got %s, %v; want the event unchanged and nothing applied", out, applied)
	}
}

// FuzzScrubBytes compares the byte path with the decoded path on any event
// that validates against one of the contracts.
func FuzzScrubBytes(f *testing.F) {
	s := newScrubber(f, Config{}, newHMACTokenizer())
	cs, events := byteContracts(f)
	plans := make([]*Plan, len(cs))
	progs := make([]*fastval.Program, len(cs))
	for i, c := range cs {
		plans[i], progs[i] = byteProgram(f, s, c)
		for _, ev := range events[c] {
			f.Add(byte(i), []byte(ev))
		}
	}
	f.Add(byte(len(cs)-1), []byte(`{"a_first":"x","a_first":"y"}`))
	f.Fuzz(func(t *testing.T, which byte, event []byte) {
		i := int(which) % len(cs)
		if progs[i] == nil {
			return
		}
		compareScrub(t, plans[i], progs[i], cs[i], event)
	})
}

// TestJSONCache: on the byte path, the stored JSON of a user agent or an IP
// address comes from the cache after the first event, the same as computed; a
// value that cannot be generalised is not cached and counts as invalid every
// time; the cache holds no raw value.
func TestJSONCache(t *testing.T) {
	s := newScrubber(t, Config{}, newHMACTokenizer())
	ev := parseContract(t, "iglu:com.acme/everything/jsonschema/1-0-0", everything)
	plan, prog := byteProgram(t, s, ev)
	scrub := func(in string) string {
		t.Helper()
		var res fastval.Result
		if !prog.Validate([]byte(in), &res) {
			t.Fatal(res.Failures())
		}
		out, _, err := plan.ScrubBytes(context.Background(), nil, "", []byte(in), &res)
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	const ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
	in := `{"customer":{"name":null},"ip":"81.2.69.142","ua":"` + ua + `"}`
	first := scrub(in)
	if st := s.Stats(); st.JSONCacheHits != 0 || st.JSONCacheMisses != 2 {
		t.Fatalf("first event: %d hits, %d misses; want 0 and 2", st.JSONCacheHits, st.JSONCacheMisses)
	}
	if second := scrub(in); second != first {
		t.Fatalf("from the cache:\n%s\ncomputed:\n%s", second, first)
	}
	if st := s.Stats(); st.JSONCacheHits != 2 {
		t.Fatalf("second event: %d hits, want 2", st.JSONCacheHits)
	}
	want := `"ip":{"country":"GB","masked":"81.2.0.0"}`
	if !strings.Contains(first, want) || strings.Contains(first, "81.2.69.142") || strings.Contains(first, "Win64") {
		t.Fatalf("stored event %s: want %s and no raw value", first, want)
	}

	bad := `{"customer":{"name":null},"ip":"not-an-ip"}`
	for range 2 {
		if out := scrub(bad); !strings.Contains(out, `"ip":{"masked":"`+Invalid+`"}`) {
			t.Fatalf("invalid address stored as %s", out)
		}
	}
	if st := s.Stats(); st.Invalid[contract.KindIP] != 2 || st.JSONCacheHits != 2 {
		t.Fatalf("invalid address twice: %d invalid, %d cache hits; want 2 and still 2 (not cached)", st.Invalid[contract.KindIP], st.JSONCacheHits)
	}
	for i := range s.json.cache.shards {
		for _, e := range s.json.cache.shards[i].items {
			if strings.Contains(string(e.val), "69.142") || strings.Contains(string(e.val), "Win64") {
				t.Fatalf("the cache holds a raw value: %s", e.val)
			}
		}
	}
}
