package scrub

import (
	"encoding/json"
	"strings"
	"testing"
)

// A field whose x-pii sits on a shared definition ($ref) or on an array's items
// schema is personal data like any other: both paths scrub it.
const refItemsContract = `$schema: https://json-schema.org/draft/2020-12/schema
self: {vendor: com.acme, name: newsletter, format: jsonschema, version: 1-0-0}
description: A shop sent a newsletter to a list of buyers.
x-owner: {team: growth}
x-privacy:
  controller: {field: /shop_id}
  subject: {field: /owner_email}
type: object
additionalProperties: false
required: [shop_id, owner_email]
$defs:
  email:
    type: string
    description: An email address.
    x-pii: {kind: email, handling: tokenize}
properties:
  shop_id: {type: string, description: The shop.}
  owner_email: {$ref: "#/$defs/email", description: The list owner's email.}
  recipients:
    type: array
    description: Who received it.
    items:
      type: string
      description: A recipient's email address.
      x-pii: {kind: email, handling: hash}
`

func TestScrubRefAndItemsPII(t *testing.T) {
	c := parseContract(t, "iglu:com.acme/newsletter/jsonschema/1-0-0", refItemsContract)
	var paths []string
	for _, f := range c.PII() {
		paths = append(paths, f.DataPointer())
	}
	if strings.Join(paths, " ") != "/owner_email /recipients/*" {
		t.Fatalf("PII fields %v, want /owner_email and /recipients/*", paths)
	}
	s := newScrubber(t, Config{}, newHMACTokenizer())
	raw := []byte(`{"shop_id":"shop_1","owner_email":"owner.secret@example.com","recipients":["r1.secret@example.com","r2.secret@example.com"]}`)
	data := decode(t, raw)
	applied, err := s.Scrub(t.Context(), c, data)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(data)
	if strings.Contains(string(out), "secret@") || len(applied) != 3 {
		t.Fatalf("decoded path left PII or missed fields: %s %v", out, applied)
	}
	plan, prog := byteProgram(t, s, c)
	if prog == nil {
		t.Fatal("no byte program for the contract")
	}
	if got := compareScrub(t, plan, prog, c, raw); got != outBytes {
		t.Fatalf("byte path not compared (outcome %d)", got)
	}
}
