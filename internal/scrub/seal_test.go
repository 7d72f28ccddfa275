package scrub

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/accord-dev/accord/internal/contract"
)

// mapSealer seals into a map it keeps, so that a test can open what it sealed.
type mapSealer struct {
	mu     sync.Mutex
	values map[string]string
	scope  []string
	fail   error
}

func (m *mapSealer) Seal(_ context.Context, controller, subject string, values []string) ([]string, error) {
	if m.fail != nil {
		return nil, m.fail
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.values == nil {
		m.values = map[string]string{}
	}
	m.scope = append(m.scope, controller+"|"+subject)
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = fmt.Sprintf("sealed_%d", len(m.values))
		m.values[out[i]] = v
	}
	return out, nil
}

// open puts back the values sealed at ptrs.
func (m *mapSealer) open(t *testing.T, data any, ptrs []string) {
	t.Helper()
	for _, p := range ptrs {
		s, ok := contract.At(data, p).(string)
		if !ok || m.values[s] == "" {
			t.Fatalf("no sealed value at %s", p)
		}
		v, err := contract.DecodeJSON([]byte(m.values[s]))
		if err != nil {
			t.Fatal(err)
		}
		if err := contract.SetAt(data, p, v); err != nil {
			t.Fatal(err)
		}
	}
}

func newSealingScrubber(t *testing.T, sealer Sealer) *Scrubber {
	t.Helper()
	s, err := New(Config{HashSecret: testSecret}, Deps{Sealer: sealer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestSeal seals the bad row of TestRedact: the same pointers are replaced, by
// sealed values from which the event comes back exactly; it falls back to
// redacting when the values cannot be sealed.
func TestSeal(t *testing.T) {
	c := parseContract(t, "iglu:com.acme/everything/jsonschema/1-0-0", everything)
	const bad = `{"customer": {"email": "ann@example.com", "notes": "door code 1234", "user_id": "u_1", "name": null,
		"address": {"street": "1 High St"}}, "ip": {"v": "81.2.69.142"}, "orders": [{"recipient_email": "bob@example.com",
		"parcels": "none"}, "junk"], "fix": [1.23456, "x"], "extra": "kept"}`
	wantPtrs := []string{"/customer/email", "/customer/notes", "/customer/address", "/ip", "/orders/0/recipient_email", "/fix/0", "/fix/1"}

	m := &mapSealer{}
	s := newSealingScrubber(t, m)
	data := decode(t, []byte(bad))
	sealed, redacted, err := s.Seal(context.Background(), c, data)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantPtrs, sealed); diff != "" || redacted != nil {
		t.Fatalf("sealed pointers (-want +got):\n%s\nredacted: %v", diff, redacted)
	}
	if diff := cmp.Diff([]string{"acme|ann@example.com"}, m.scope); diff != "" {
		t.Errorf("sealed under (-want +got):\n%s", diff)
	}
	js, _ := json.Marshal(data)
	for _, planted := range []string{"ann@example.com", "door code", "1 High St", "81.2.69.142", "bob@example.com", "1.23456"} {
		if strings.Contains(string(js), planted) {
			t.Errorf("the sealed row holds %q: %s", planted, js)
		}
	}
	m.open(t, data, sealed)
	if diff := cmp.Diff(decode(t, []byte(bad)), data); diff != "" {
		t.Errorf("unsealed row differs from the event (-want +got):\n%s", diff)
	}

	for _, tc := range []struct {
		name   string
		sealer Sealer
		event  string
	}{
		{"no sealer", nil, bad},
		{"sealer fails", &mapSealer{fail: errors.New("vault down")}, bad},
		{"no subject", m, strings.Replace(bad, `"email": "ann@example.com"`, `"email": {"x": 1}`, 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSealingScrubber(t, tc.sealer)
			data := decode(t, []byte(tc.event))
			sealed, redacted, err := s.Seal(context.Background(), c, data)
			if err != nil {
				t.Fatal(err)
			}
			if sealed != nil || len(redacted) != len(wantPtrs) {
				t.Fatalf("sealed %v, redacted %v: want everything redacted", sealed, redacted)
			}
			if got := contract.At(data, "/customer/notes"); got != "<redacted:free_text>" {
				t.Errorf("notes = %v, want the placeholder", got)
			}
			if _, failed := tc.sealer.(*mapSealer); failed && tc.name == "sealer fails" && s.Stats().SealFailed != 1 {
				t.Errorf("SealFailed = %d, want 1", s.Stats().SealFailed)
			}
		})
	}
}

// echoSealer seals a value as its hex, under the scope it records: a test can
// open it without a vault.
type echoSealer struct{ scopes []string }

func (e *echoSealer) Seal(_ context.Context, controller, subject string, values []string) ([]string, error) {
	e.scopes = append(e.scopes, controller+"|"+subject)
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = "sealed_" + hex.EncodeToString([]byte(v))
	}
	return out, nil
}

// openEcho puts back the values echoSealer sealed at ptrs in data.
func openEcho(t *testing.T, data any, ptrs []string) {
	t.Helper()
	for _, p := range ptrs {
		s, _ := contract.At(data, p).(string)
		raw, err := hex.DecodeString(strings.TrimPrefix(s, "sealed_"))
		if err != nil || !strings.HasPrefix(s, "sealed_") {
			t.Fatalf("no sealed value at %s: %v", p, contract.At(data, p))
		}
		v, err := contract.DecodeJSON(raw)
		if err != nil {
			t.Fatalf("the sealed value at %s is not JSON: %s", p, raw)
		}
		if err := contract.SetAt(data, p, v); err != nil {
			t.Fatal(err)
		}
	}
}

// sealBothWays seals data on its bytes and as a tree and checks that they
// agree: the same pointers sealed (or redacted), under the same scope, and the
// same entity once the sealed values are opened. It reports whether the byte
// path answered.
func sealBothWays(t *testing.T, p *Plan, sealer *echoSealer, data []byte) bool {
	t.Helper()
	sealer.scopes = nil
	out, sealedB, redactedB, ok := p.SealBytes(context.Background(), []byte("x"), data)
	if !ok {
		if string(out) != "x" {
			t.Fatalf("SealBytes gave up but appended %q", out)
		}
		return false
	}
	scopesB := sealer.scopes
	sealer.scopes = nil
	tree, err := contract.DecodeJSON(data)
	if err != nil {
		t.Fatalf("SealBytes took data that does not decode: %v", err)
	}
	sealedT, redactedT := p.Seal(context.Background(), tree)
	if !json.Valid(out[1:]) {
		t.Fatalf("SealBytes wrote %q", out[1:])
	}
	var compacted bytes.Buffer
	if err := json.Compact(&compacted, out[1:]); err != nil || compacted.String() != string(out[1:]) {
		t.Fatalf("SealBytes wrote JSON that is not compact: %s", out[1:])
	}
	sorted := func(s []string) []string {
		if len(s) == 0 {
			return nil
		}
		s = slices.Clone(s)
		slices.Sort(s)
		return s
	}
	if diff := cmp.Diff(sorted(sealedT), sorted(sealedB)); diff != "" {
		t.Fatalf("sealed pointers (-tree +bytes):\n%s", diff)
	}
	if diff := cmp.Diff(sorted(redactedT), sorted(redactedB)); diff != "" {
		t.Fatalf("redacted pointers (-tree +bytes):\n%s", diff)
	}
	if diff := cmp.Diff(sealer.scopes, scopesB); diff != "" {
		t.Fatalf("sealed under (-tree +bytes):\n%s", diff)
	}
	fromBytes, err := contract.DecodeJSON(out[1:])
	if err != nil {
		t.Fatal(err)
	}
	openEcho(t, fromBytes, sealedB)
	openEcho(t, tree, sealedT)
	if diff := cmp.Diff(tree, fromBytes); diff != "" {
		t.Fatalf("opened entities (-tree +bytes):\n%s", diff)
	}
	return true
}

var sealBytesSeeds = []string{
	`{"customer": {"email": "ann@example.com", "notes": "door code 1234", "user_id": "u_1", "name": null,
		"address": {"street": "1 High St"}}, "ip": {"v": "81.2.69.142"}, "orders": [{"recipient_email": "bob@example.com",
		"parcels": "none"}, "junk"], "fix": [1.23456, "x"], "extra": "kept"}`,
	`{"customer":{"email":"a\u0040b.c","not\u0065s":"x <b>&"},"orders":[]}`,
	`{"customer":{"email":"a@b.c","email":"c@d.e"}}`,
	`{"customer":{"notes":"n"}}`,
	`{"customer":{"email":12,"notes":["a",{"b":null}]},"fix":[null,-1e3]}`,
	`[1,2]`, `"text"`, `{"customer":null}`, ` { "customer" : { "email" : "x@y" , "address" : [ 1 , 2 ] } } `,
	`{"customer":{"email":"x@y"},"orders":[{"recipient_email":"q@r"},{"recipient_email":"s@t","parcels":[{"label":"L"}]}]}`,
}

func TestSealBytesMatchesTree(t *testing.T) {
	c := parseContract(t, "iglu:com.acme/everything/jsonschema/1-0-0", everything)
	sealer := &echoSealer{}
	s := newSealingScrubber(t, sealer)
	p, err := s.Plan(c)
	if err != nil {
		t.Fatal(err)
	}
	answered := 0
	for _, seed := range sealBytesSeeds {
		if sealBothWays(t, p, sealer, []byte(seed)) {
			answered++
		}
	}
	// All but the repeated member.
	if answered != len(sealBytesSeeds)-1 {
		t.Errorf("the byte path answered %d of %d", answered, len(sealBytesSeeds))
	}
	pp, err := s.Plan(parseContract(t, "iglu:com.acme/pair/jsonschema/1-0-0", pairSrc))
	if err != nil {
		t.Fatal(err)
	}
	answered = 0
	for _, seed := range pairSeeds {
		if sealBothWays(t, pp, sealer, []byte(seed)) {
			answered++
		}
	}
	// All but the repeated shop and the repeated email.
	if answered != len(pairSeeds)-2 {
		t.Errorf("the byte path answered %d of %d pair events", answered, len(pairSeeds))
	}
	redacting := newSealingScrubber(t, nil)
	if p, err = redacting.Plan(c); err != nil {
		t.Fatal(err)
	}
	for _, seed := range sealBytesSeeds {
		sealBothWays(t, p, sealer, []byte(seed))
	}
}

// pairSrc reads its controller and its subject from two places, one in an
// array, for the scan that finds both at once.
const pairSrc = `$schema: https://json-schema.org/draft/2020-12/schema
self: {vendor: com.acme, name: pair, format: jsonschema, version: 1-0-0}
x-privacy:
  controller: {field: /shop/id}
  subject: {field: /people/1/email}
type: object
properties:
  shop: {type: object, properties: {id: {type: string}, owner: {type: string, x-pii: {kind: name, handling: drop}}}}
  people:
    type: array
    items:
      type: object
      properties:
        email: {type: string, x-pii: {kind: email, handling: tokenize}}
        phone: {type: string, x-pii: {kind: phone, handling: hash}}
`

var pairSeeds = []string{
	`{"shop":{"id":"s1","owner":"Olga"},"people":[{"email":"a@b"},{"email":"c@d","phone":"+44 20"}]}`,
	`{"shop":{"id":"s1"},"shop":{"id":"s2"},"people":[{},{"email":"c@d"}]}`,
	`{"shop":{"id":7},"people":[{"email":"a@b"},{"email":"c@d","email":"e@f"}]}`,
	`{"people":[{"email":"a@b"},{"email":""}],"shop":{"id":"s1"}}`,
}

func FuzzSealBytes(f *testing.F) {
	for _, s := range sealBytesSeeds {
		f.Add(uint8(0), []byte(s))
	}
	for _, s := range pairSeeds {
		f.Add(uint8(1), []byte(s))
	}
	sealer := &echoSealer{}
	s, err := New(Config{HashSecret: testSecret}, Deps{Sealer: sealer})
	if err != nil {
		f.Fatal(err)
	}
	var plans []*Plan
	for _, c := range []*contract.Contract{parseContract(f, "iglu:com.acme/everything/jsonschema/1-0-0", everything),
		parseContract(f, "iglu:com.acme/pair/jsonschema/1-0-0", pairSrc)} {
		p, err := s.Plan(c)
		if err != nil {
			f.Fatal(err)
		}
		plans = append(plans, p)
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		sealBothWays(t, plans[int(which)%len(plans)], sealer, data)
	})
}
