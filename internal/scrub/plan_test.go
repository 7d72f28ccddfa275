package scrub

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/accord-dev/accord/internal/contract"
	"github.com/google/go-cmp/cmp"
)

// everything exercises every handling, every obfuscated kind, nesting, arrays of
// arrays, a $ref, a tuple and nullable fields.
const everything = `
$schema: https://json-schema.org/draft/2020-12/schema
self: {vendor: com.acme, name: everything, format: jsonschema, version: 1-0-0}
description: Every kind and handling.
x-owner: {team: privacy}
x-privacy:
  controller: {value: acme}
  subject: {field: /customer/email}
type: object
additionalProperties: false
properties:
  customer:
    type: object
    additionalProperties: false
    properties:
      email: {type: string, x-pii: {kind: email, handling: tokenize}}
      name: {type: [string, "null"], x-pii: {kind: name, handling: hash}}
      phone: {type: string, x-pii: {kind: phone, handling: obfuscate}}
      birthday: {type: string, x-pii: {kind: date_of_birth, handling: obfuscate}}
      notes: {type: string, x-pii: {kind: free_text, handling: drop}}
      user_id: {type: string, x-pii: {kind: user_id, handling: keep, reason: joins with the CRM}}
      address:
        type: object
        x-pii: {kind: address, handling: tokenize}
        properties:
          street: {type: string, x-pii: {kind: address, handling: drop}}
  contact_email: {type: string, x-pii: {kind: email, handling: obfuscate}}
  ip: {type: [string, "null"], x-pii: {kind: ip, handling: obfuscate}}
  ua: {type: string, x-pii: {kind: user_agent, handling: obfuscate}}
  page: {type: string, x-pii: {kind: url, handling: obfuscate}}
  postal: {type: string, x-pii: {kind: postal_code, handling: obfuscate}}
  account_number: {type: integer, x-pii: {kind: government_id, handling: hash}}
  orders:
    type: array
    items:
      type: object
      additionalProperties: false
      properties:
        id: {type: string}
        recipient_email: {type: string, x-pii: {kind: email, handling: tokenize}}
        parcels:
          type: array
          items:
            type: object
            additionalProperties: false
            properties:
              tracking_phone: {type: string, x-pii: {kind: phone, handling: hash}}
              gps: {$ref: "#/$defs/point"}
  fix:
    type: array
    prefixItems:
      - {type: number, x-pii: {kind: geo, handling: obfuscate}}
      - {type: number, x-pii: {kind: geo, handling: obfuscate}}
      - {type: string, x-pii: {kind: free_text, handling: drop}}
    items: false
$defs:
  point:
    type: object
    additionalProperties: false
    properties:
      lat: {type: number, minimum: -90, maximum: 90, x-pii: {kind: geo, handling: obfuscate}}
      lon: {type: number, minimum: -180, maximum: 180, x-pii: {kind: geo, handling: obfuscate}}
`

const everythingEvent = `{
  "customer": {"email": "Jane.Doe@Example.com", "name": "Jane Doe", "phone": "+44 20 7946 0958",
    "birthday": "1990-05-17", "notes": "leave at the door", "user_id": "u_123",
    "address": {"street": "1 High St", "town": "London"}},
  "contact_email": "Jane.Doe@Example.com",
  "ip": "81.2.69.142",
  "ua": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
  "page": "https://shop.example/p/shoe?email=jane@example.com#x",
  "postal": "SW1A 1AA",
  "account_number": 123456789,
  "orders": [
    {"id": "o1", "recipient_email": "bob@example.com", "parcels": [
      {"tracking_phone": "+4915112345678", "gps": {"lat": 51.5074, "lon": -0.1278}},
      {"tracking_phone": "+4915112345679"}]},
    {"id": "o2", "parcels": []}
  ],
  "fix": [48.85837, 2.294481, "near the tower"]
}`

func TestScrubEverything(t *testing.T) {
	c := parseContract(t, "iglu:com.acme/everything/jsonschema/1-0-0", everything)
	tok := newHMACTokenizer()
	s := newScrubber(t, Config{}, tok)
	data := decode(t, []byte(everythingEvent))
	applied, err := s.Scrub(context.Background(), c, data)
	if err != nil {
		t.Fatal(err)
	}
	// The subject is read raw, before /customer/email is tokenized.
	const ctl, sub = "acme", "Jane.Doe@Example.com"
	want := decode(t, mustJSON(t, map[string]any{
		"customer": map[string]any{
			"email":    tok.token(t, ctl, sub, "Jane.Doe@Example.com"),
			"name":     s.hmacHex("Jane Doe"),
			"phone":    "+44",
			"birthday": "1990",
			"user_id":  "u_123",
			"address":  tok.token(t, ctl, sub, `{"street":"1 High St","town":"London"}`),
		},
		"contact_email":  "example.com",
		"ip":             map[string]any{"masked": "81.2.0.0", "country": "GB"},
		"ua":             map[string]any{"browser_family": "Chrome", "browser_major": "126", "os_family": "Windows", "os_major": "10", "is_bot": false},
		"page":           "https://shop.example/p/shoe",
		"postal":         "SW",
		"account_number": s.hmacHex("123456789"),
		"orders": []any{
			map[string]any{"id": "o1", "recipient_email": tok.token(t, ctl, sub, "bob@example.com"), "parcels": []any{
				map[string]any{"tracking_phone": s.hmacHex("+4915112345678"), "gps": map[string]any{"lat": json.Number("51.5"), "lon": json.Number("-0.1")}},
				map[string]any{"tracking_phone": s.hmacHex("+4915112345679")},
			}},
			map[string]any{"id": "o2", "parcels": []any{}},
		},
		"fix": []any{json.Number("48.8"), json.Number("2.2"), nil},
	}))
	if diff := cmp.Diff(want, data); diff != "" {
		t.Errorf("scrubbed event (-want +got):\n%s", diff)
	}
	wantApplied := []Applied{
		{Pointer: "/customer/email", Entity: "", Kind: "email", Handling: "tokenize"},
		{Pointer: "/customer/name", Entity: "", Kind: "name", Handling: "hash"},
		{Pointer: "/customer/phone", Entity: "", Kind: "phone", Handling: "obfuscate"},
		{Pointer: "/customer/birthday", Entity: "", Kind: "date_of_birth", Handling: "obfuscate"},
		{Pointer: "/customer/notes", Entity: "", Kind: "free_text", Handling: "drop"},
		{Pointer: "/customer/user_id", Entity: "", Kind: "user_id", Handling: "keep"},
		{Pointer: "/customer/address", Entity: "", Kind: "address", Handling: "tokenize"},
		{Pointer: "/contact_email", Entity: "", Kind: "email", Handling: "obfuscate"},
		{Pointer: "/ip", Entity: "", Kind: "ip", Handling: "obfuscate"},
		{Pointer: "/ua", Entity: "", Kind: "user_agent", Handling: "obfuscate"},
		{Pointer: "/page", Entity: "", Kind: "url", Handling: "obfuscate"},
		{Pointer: "/postal", Entity: "", Kind: "postal_code", Handling: "obfuscate"},
		{Pointer: "/account_number", Entity: "", Kind: "government_id", Handling: "hash"},
		{Pointer: "/orders/0/recipient_email", Entity: "", Kind: "email", Handling: "tokenize"},
		{Pointer: "/orders/0/parcels/0/tracking_phone", Entity: "", Kind: "phone", Handling: "hash"},
		{Pointer: "/orders/0/parcels/0/gps/lat", Entity: "", Kind: "geo", Handling: "obfuscate"},
		{Pointer: "/orders/0/parcels/0/gps/lon", Entity: "", Kind: "geo", Handling: "obfuscate"},
		{Pointer: "/orders/0/parcels/1/tracking_phone", Entity: "", Kind: "phone", Handling: "hash"},
		{Pointer: "/fix/0", Entity: "", Kind: "geo", Handling: "obfuscate"},
		{Pointer: "/fix/1", Entity: "", Kind: "geo", Handling: "obfuscate"},
		{Pointer: "/fix/2", Entity: "", Kind: "free_text", Handling: "drop"},
	}
	sortApplied := cmp.Transformer("sort", func(in []Applied) map[string]Applied {
		m := map[string]Applied{}
		for _, a := range in {
			m[a.Pointer] = a
		}
		return m
	})
	if diff := cmp.Diff(wantApplied, applied, sortApplied); diff != "" {
		t.Errorf("applied (-want +got):\n%s", diff)
	}
	if len(applied) != len(wantApplied) {
		t.Errorf("applied %d entries, want %d (a field recorded twice?)", len(applied), len(wantApplied))
	}
	assertStored(t, c, data)
	if strings.Contains(string(mustJSON(t, data)), "Jane") {
		t.Error("the scrubbed event still contains the name")
	}
}

// TestScrubNulls checks that nullable fields stay null and are not recorded,
// while dropped fields go even when null.
func TestScrubNulls(t *testing.T) {
	c := parseContract(t, "iglu:com.acme/everything/jsonschema/1-0-0", everything)
	s := newScrubber(t, Config{}, newHMACTokenizer())
	data := decode(t, []byte(`{"customer": {"name": null, "notes": null}, "ip": null}`))
	applied, err := s.Scrub(context.Background(), c, data)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"customer": map[string]any{"name": nil}, "ip": nil}
	if diff := cmp.Diff(want, data); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Applied{{Pointer: "/customer/notes", Kind: "free_text", Handling: "drop"}}, applied); diff != "" {
		t.Errorf("applied (-want +got):\n%s", diff)
	}
	assertStored(t, c, data)
}

func TestScrubHandlings(t *testing.T) {
	tok := newHMACTokenizer()
	s := newScrubber(t, Config{}, tok)
	const ctl, sub = "shop_1", "c_9"
	for _, tc := range []struct {
		handling, kind string
		in             any
		want           any // nil means removed
	}{
		{"drop", "free_text", "secret", nil},
		{"keep", "user_id", "u_1", "u_1"},
		{"hash", "email", "jane@example.com", s.hmacHex("jane@example.com")},
		{"hash", "user_id", json.Number("42"), s.hmacHex("42")},
		{"tokenize", "email", "jane@example.com", tok.token(t, ctl, sub, "jane@example.com")},
		{"tokenize", "user_id", json.Number("42"), tok.token(t, ctl, sub, "42")},
		{"obfuscate", "email", "Jane@Example.COM", "example.com"},
		{"obfuscate", "email", "no at sign", Invalid},
		{"obfuscate", "phone", "+33 1 23 45 67 89", "+33"},
		{"obfuscate", "phone", "01 23 45 67 89", Invalid},
		{"obfuscate", "postal_code", "75008", "75"},
		{"obfuscate", "postal_code", json.Number("10115"), "10"},
		{"obfuscate", "date_of_birth", "2001-09-11", "2001"},
		{"obfuscate", "date_of_birth", "soon", Invalid},
		{"obfuscate", "url", "https://u:p@x.example/a?b#c", "https://x.example/a"},
		{"obfuscate", "url", "not a url", Invalid},
		{"obfuscate", "geo", json.Number("-33.86785"), json.Number("-33.8")},
		{"obfuscate", "geo", "north", nil},
		{"obfuscate", "ip", "2001:db8:1:2:3:4:5:6", map[string]any{"masked": "2001:db8:1:2::"}},
		{"obfuscate", "user_agent", json.Number("7"), map[string]any{"is_bot": false}},
		{"obfuscate", "email", map[string]any{"nested": "jane@example.com"}, Invalid},
	} {
		t.Run(tc.handling+"/"+tc.kind, func(t *testing.T) {
			src := "$schema: https://json-schema.org/draft/2020-12/schema\n" +
				"self: {vendor: com.acme, name: one, format: jsonschema, version: 1-0-0}\n" +
				"x-privacy: {controller: {field: /shop}, subject: {field: /customer}}\n" +
				"type: object\nproperties:\n  shop: {type: string}\n  customer: {type: string}\n" +
				"  f: {x-pii: {kind: " + tc.kind + ", handling: " + tc.handling + ", reason: test}}\n"
			c := parseContract(t, "iglu:com.acme/one/jsonschema/1-0-0", src)
			p, err := s.compile(c) // uncached: every subtest has its own contract
			if err != nil {
				t.Fatal(err)
			}
			data := map[string]any{"shop": ctl, "customer": sub, "f": tc.in}
			applied, err := p.Scrub(context.Background(), data)
			if err != nil {
				t.Fatal(err)
			}
			got, present := data["f"]
			if tc.want == nil {
				if present {
					t.Errorf("f = %#v, want it removed", got)
				}
			} else if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("f (-want +got):\n%s", diff)
			}
			if len(applied) != 1 || applied[0].Handling != tc.handling || applied[0].Kind != tc.kind || applied[0].Pointer != "/f" {
				t.Errorf("applied = %+v", applied)
			}
		})
	}
}

func TestHashIsKeyedHMAC(t *testing.T) {
	a := newScrubber(t, Config{HashSecret: strings.Repeat("a", 32)}, nil)
	b := newScrubber(t, Config{HashSecret: strings.Repeat("b", 32)}, nil)
	ha, hb := a.hmacHex("jane@example.com"), b.hmacHex("jane@example.com")
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(ha) {
		t.Errorf("hash %q is not 64 lowercase hex characters", ha)
	}
	if ha == hb {
		t.Error("two secrets gave the same hash: the hash is not keyed")
	}
	if ha != a.hmacHex("jane@example.com") {
		t.Error("the same value hashed twice gave two hashes")
	}
	// Computed independently: printf %s jane@example.com | openssl dgst -sha256 -hmac aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
	const want = "912789dd345bb3ef807532793d8312c3f9ab6c12cf4e6a8c8aaca83727141bad"
	if ha != want {
		t.Errorf("hash = %s, want HMAC-SHA256 %s", ha, want)
	}
}

func TestPrivacyContext(t *testing.T) {
	c := parseContract(t, "iglu:com.acme/signup/jsonschema/1-0-0", signupSrc)
	tok := newHMACTokenizer()
	s := newScrubber(t, Config{}, tok)
	for _, tc := range []struct {
		name, event, reason, pointer string
	}{
		{"no controller", `{"email": "jane@example.com"}`, ReasonPrivacyContextMissing, "/shop_id"},
		{"empty controller", `{"shop_id": "", "email": "jane@example.com"}`, ReasonPrivacyContextMissing, "/shop_id"},
		{"object controller", `{"shop_id": {"id": 1}, "email": "jane@example.com"}`, ReasonPrivacyContextMissing, "/shop_id"},
		{"numeric controller", `{"shop_id": 1042, "email": "jane@example.com"}`, "", ""},
		// Nothing to tokenize: a missing subject does not matter.
		{"no subject, nothing tokenized", `{"shop_id": "shop_1"}`, "", ""},
		{"null subject, nothing tokenized", `{"shop_id": "shop_1", "email": null}`, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Scrub(context.Background(), c, decode(t, []byte(tc.event)))
			if got := ReasonOf(err); got != tc.reason {
				t.Fatalf("reason %q (err %v), want %q", got, err, tc.reason)
			}
			if err == nil {
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Pointer != tc.pointer || e.Contract != c.Key.URI() {
				t.Errorf("error %+v, want pointer %s and contract %s", e, tc.pointer, c.Key.URI())
			}
			if strings.Contains(err.Error(), "jane") {
				t.Errorf("error %q repeats a value", err)
			}
		})
	}
}

func TestTokenizerFailure(t *testing.T) {
	c := parseContract(t, "iglu:com.acme/signup/jsonschema/1-0-0", signupSrc)
	cause := errors.New("vault unavailable")
	tok := newHMACTokenizer()
	tok.fail = cause
	s := newScrubber(t, Config{}, tok)
	_, err := s.Scrub(context.Background(), c, decode(t, []byte(`{"shop_id": "shop_1", "email": "jane@example.com"}`)))
	if ReasonOf(err) != ReasonTokenizeFailed || !errors.Is(err, cause) {
		t.Fatalf("err = %v, want tokenize_failed wrapping the cause", err)
	}
	if strings.Contains(err.Error(), "jane") {
		t.Errorf("error %q repeats a value", err)
	}
	// Without any tokenizer.
	s2 := newScrubber(t, Config{}, nil)
	if _, err := s2.Scrub(context.Background(), c, decode(t, []byte(`{"shop_id": "shop_1", "email": "jane@example.com"}`))); ReasonOf(err) != ReasonTokenizeFailed {
		t.Fatalf("err = %v, want tokenize_failed", err)
	}
	// A cancelled context reaches the tokenizer.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s3 := newScrubber(t, Config{}, newHMACTokenizer())
	if _, err := s3.Scrub(ctx, c, decode(t, []byte(`{"shop_id": "shop_1", "email": "jane@example.com"}`))); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestNoPrivacyAnnotation(t *testing.T) {
	src := strings.Replace(signupSrc, "x-privacy:\n  controller: {field: /shop_id}\n  subject: {field: /email}\n", "", 1)
	c := parseContract(t, "iglu:com.acme/signup/jsonschema/1-0-0", src)
	if c.Privacy != nil {
		t.Fatal("test contract still has x-privacy")
	}
	s := newScrubber(t, Config{}, newHMACTokenizer())
	_, err := s.Scrub(context.Background(), c, decode(t, []byte(`{"shop_id": "shop_1", "email": "jane@example.com"}`)))
	if ReasonOf(err) != ReasonPrivacyContextMissing {
		t.Fatalf("err = %v, want privacy_context_missing", err)
	}
}

func TestRedact(t *testing.T) {
	c := parseContract(t, "iglu:com.acme/everything/jsonschema/1-0-0", everything)
	s := newScrubber(t, Config{}, nil)
	// A bad row: wrong types, extra fields, values where objects belong.
	data := decode(t, []byte(`{"customer": {"email": 12, "notes": "door code 1234", "user_id": "u_1", "name": null,
		"address": "1 High St"}, "ip": {"v": "81.2.69.142"}, "orders": [{"recipient_email": "bob@example.com",
		"parcels": "none"}, "junk"], "fix": [1.23456, "x"], "extra": "kept"}`))
	redacted, err := s.Redact(c, data)
	if err != nil {
		t.Fatal(err)
	}
	want := decode(t, []byte(`{"customer": {"email": "<redacted:email>", "notes": "<redacted:free_text>", "user_id": "u_1",
		"name": null, "address": "<redacted:address>"}, "ip": "<redacted:ip>", "orders": [{"recipient_email": "<redacted:email>",
		"parcels": "none"}, "junk"], "fix": ["<redacted:geo>", "<redacted:geo>"], "extra": "kept"}`))
	if diff := cmp.Diff(want, data); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	wantPtrs := []string{"/customer/email", "/customer/notes", "/customer/address", "/ip", "/orders/0/recipient_email", "/fix/0", "/fix/1"}
	if diff := cmp.Diff(wantPtrs, redacted); diff != "" {
		t.Errorf("redacted pointers (-want +got):\n%s", diff)
	}
}

func TestRecursivePIIRefused(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		refused   bool
	}{
		{"self-recursive definition with PII", `
$schema: https://json-schema.org/draft/2020-12/schema
self: {vendor: com.acme, name: tree, format: jsonschema, version: 1-0-0}
type: object
properties:
  root: {$ref: "#/$defs/node"}
$defs:
  node:
    type: object
    properties:
      email: {type: string, x-pii: {kind: email, handling: hash}}
      children: {type: array, items: {$ref: "#/$defs/node"}}
`, true},
		{"recursion reaching PII through another definition", `
$schema: https://json-schema.org/draft/2020-12/schema
self: {vendor: com.acme, name: tree, format: jsonschema, version: 1-0-0}
type: object
properties:
  root: {$ref: "#/$defs/node"}
$defs:
  node:
    type: object
    properties:
      who: {$ref: "#/$defs/person"}
      children: {type: array, items: {$ref: "#/$defs/node"}}
  person:
    type: object
    properties:
      email: {type: string, x-pii: {kind: email, handling: hash}}
`, true},
		{"recursion without PII", `
$schema: https://json-schema.org/draft/2020-12/schema
self: {vendor: com.acme, name: tree, format: jsonschema, version: 1-0-0}
type: object
properties:
  email: {type: string, x-pii: {kind: email, handling: hash}}
  root: {$ref: "#/$defs/node"}
$defs:
  node:
    type: object
    properties:
      label: {type: string}
      children: {type: array, items: {$ref: "#/$defs/node"}}
`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := parseContract(t, "iglu:com.acme/tree/jsonschema/1-0-0", tc.src)
			s := newScrubber(t, Config{}, nil)
			_, err := s.Plan(c)
			if (ReasonOf(err) == ReasonPlanInvalid) != tc.refused {
				t.Fatalf("Plan err = %v, refused want %v", err, tc.refused)
			}
			if tc.refused {
				if _, err := s.Redact(c, map[string]any{}); err == nil {
					t.Error("Redact of a refused contract did not report the plan error")
				}
			}
		})
	}
}

func TestPlanCache(t *testing.T) {
	c := parseContract(t, "iglu:com.acme/signup/jsonschema/1-0-0", signupSrc)
	s := newScrubber(t, Config{}, nil)
	p1, err := s.Plan(c)
	if err != nil {
		t.Fatal(err)
	}
	if p2, _ := s.Plan(c); p2 != p1 {
		t.Error("the plan was compiled twice for one contract")
	}
	// The same version reloaded as a new contract (a development registry edited
	// in place) gets a new plan.
	c2 := parseContract(t, "iglu:com.acme/signup/jsonschema/1-0-0", signupSrc)
	if p3, _ := s.Plan(c2); p3 == p1 {
		t.Error("a reloaded contract reused the old plan")
	}
}

// TestConcurrentScrub runs many goroutines over shared plans and caches; run
// with -race.
func TestConcurrentScrub(t *testing.T) {
	c := parseContract(t, "iglu:com.acme/everything/jsonschema/1-0-0", everything)
	path := writeCityDB(t, "GeoLite2-City", map[string][4]string{"81.2.69.0/24": {"GB", "England", "ENG", "London"}})
	tok := newHMACTokenizer()
	s := newScrubber(t, Config{MMDBPath: path, UACacheSize: 4}, tok)
	want := decode(t, []byte(everythingEvent))
	if _, err := s.Scrub(context.Background(), c, want); err != nil {
		t.Fatal(err)
	}
	uas := []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
		"Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
		"curl/8.4.0", "Wget/1.21", "python-requests/2.31",
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				data := decode(t, []byte(everythingEvent)).(map[string]any)
				data["ua"] = uas[(g+i)%len(uas)] // more user agents than cache entries: evictions
				if _, err := s.Scrub(context.Background(), c, data); err != nil {
					errs <- err
					return
				}
				if diff := cmp.Diff(want.(map[string]any)["customer"], data["customer"]); diff != "" {
					errs <- errors.New("concurrent scrub differs: " + diff)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := s.Stats(); st.UACacheMisses < 6 || st.UACacheHits == 0 {
		t.Errorf("ua cache hits %d misses %d", st.UACacheHits, st.UACacheMisses)
	}
}

// assertStored checks that data validates against the contract's stored shape.
func assertStored(tb testing.TB, c *contract.Contract, data any) {
	tb.Helper()
	stored := storedCompiled(tb, c)
	if fs := stored.Validate(data); len(fs) > 0 {
		tb.Errorf("the scrubbed event does not match the stored shape of %s:\n%v\nevent: %s", c.Key, fs, mustJSON(tb, data))
	}
}

var storedCache sync.Map // *contract.Contract -> *contract.Compiled

// storedCompiled compiles the stored-shape schema of c.
func storedCompiled(tb testing.TB, c *contract.Contract) *contract.Compiled {
	tb.Helper()
	if v, ok := storedCache.Load(c); ok {
		return v.(*contract.Compiled)
	}
	cp := *c
	cp.Doc = c.StoredDoc()
	compiled, problems := contract.CompileOne(&cp)
	if len(problems) > 0 {
		tb.Fatalf("compiling the stored shape of %s: %v", c.Key, problems)
	}
	storedCache.Store(c, compiled)
	return compiled
}

const signupSrc = `$schema: https://json-schema.org/draft/2020-12/schema
self: {vendor: com.acme, name: signup, format: jsonschema, version: 1-0-0}
x-privacy:
  controller: {field: /shop_id}
  subject: {field: /email}
type: object
properties:
  shop_id: {type: [string, integer, object]}
  email: {type: [string, "null"], x-pii: {kind: email, handling: tokenize}}
`
