package compat_test

import (
	"testing"

	"github.com/accord-dev/accord/internal/contract"
	"github.com/accord-dev/accord/internal/contract/compat"
)

// FuzzDiff feeds pairs of contract documents to Diff and Differences: whatever
// the documents, they must terminate without panicking, and a document compared
// with itself has no change.
func FuzzDiff(f *testing.F) {
	seeds := []string{
		"type: object\nadditionalProperties: false\nproperties: {a: {type: string}}\n",
		"type: object\nproperties: {a: {type: [string, \"null\"], maxLength: 3, enum: [x, y]}}\nrequired: [a]\n",
		"properties: {t: {$ref: '#/$defs/n'}}\n$defs: {n: {type: object, properties: {c: {type: array, items: {$ref: '#/$defs/n'}}}}}\n",
		"$defs: {a: {$ref: '#/$defs/b'}, b: {$ref: '#/$defs/a'}}\nproperties: {x: {$ref: '#/$defs/a'}}\n",
		"type: array\nprefixItems: [{type: number, minimum: 0, exclusiveMinimum: 1}]\nitems: false\n",
		"properties: {e: {type: string, x-pii: {kind: email, handling: tokenize}}}\nx-privacy: {controller: {value: a}, subject: {field: /e}}\n",
		"anyOf: [{type: string}, {type: integer, multipleOf: 0.5}]\nallOf: [true]\noneOf: [false]\n",
	}
	for i, a := range seeds {
		f.Add(a, seeds[(i+1)%len(seeds)])
	}
	key := contract.Key{Vendor: "com.acme", Name: "ev", Format: "jsonschema", Version: contract.SchemaVer{Model: 1}}
	f.Fuzz(func(t *testing.T, a, b string) {
		ca, _ := contract.Parse([]byte(a), "a.yaml", key)
		cb, _ := contract.Parse([]byte(b), "b.yaml", key)
		if ca == nil || cb == nil {
			return
		}
		compat.Diff(ca, cb)
		compat.Differences(ca.Doc, cb.Doc)
		if changes := compat.Diff(ca, ca); len(changes) != 0 {
			t.Errorf("Diff of a document with itself = %v, want no change", changes)
		}
		if diffs := compat.Differences(ca.Doc, ca.Doc); len(diffs) != 0 {
			t.Errorf("Differences of a document with itself = %v, want none", diffs)
		}
	})
}
