package compat_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/accord-dev/accord/internal/contract"
	"github.com/accord-dev/accord/internal/contract/compat"
)

// parse builds contract version v of com.acme/ev from a YAML schema body.
func parse(tb testing.TB, v, body string) *contract.Contract {
	tb.Helper()
	key, err := contract.ParseURI("iglu:com.acme/ev/jsonschema/" + v)
	if err != nil {
		tb.Fatal(err)
	}
	dialect := "$schema: https://json-schema.org/draft/2020-12/schema\n"
	if strings.HasPrefix(body, "$schema:") {
		dialect = ""
	}
	src := fmt.Sprintf("%sself: {vendor: com.acme, name: ev, format: jsonschema, version: %s}\nx-owner: {team: t}\n%s", dialect, v, body)
	c, problems := contract.Parse([]byte(src), "ev-"+v+".yaml", key)
	if c == nil {
		tb.Fatalf("parsing %s: %v", v, problems)
	}
	for _, p := range problems {
		tb.Fatalf("parsing %s: %v", v, p)
	}
	return c
}

type got struct {
	ID, Pointer, Path string
	Bump              string
	Compat            string
}

func TestDiff(t *testing.T) {
	obj := func(props string) string {
		return "type: object\nadditionalProperties: false\nproperties:\n" + props
	}
	tests := []struct {
		name     string
		old, new string
		want     []got
	}{
		{"no change, other formatting and order", obj("  a: {type: string, description: A}\n  b: {type: integer}\n"),
			"additionalProperties: false\nproperties: {b: {type: integer}, a: {description: Changed words, type: string}}\ntype: object\n", nil},
		{"optional property added to a closed object", obj("  a: {type: string}\n"), obj("  a: {type: string}\n  b: {type: string}\n"),
			[]got{{"property-added", "/properties/b", "/b", "ADDITION", "BACKWARD"}}},
		{"optional property added to an open object", "type: object\nproperties:\n  a: {type: string}\n", "type: object\nproperties:\n  a: {type: string}\n  b: {type: string}\n",
			[]got{{"property-added", "/properties/b", "/b", "REVISION", "FORWARD"}}},
		{"unconstrained property added to an open object", "type: object\n", "type: object\nproperties:\n  b: {description: anything}\n",
			[]got{{"property-added", "/properties/b", "/b", "ADDITION", "FULL"}}},
		{"property added under a constraining additionalProperties", "type: object\nadditionalProperties: {type: string}\n", "type: object\nadditionalProperties: {type: string}\nproperties:\n  b: {type: integer}\n",
			[]got{{"property-added", "/properties/b", "/b", "REVISION", "NONE"}}},
		{"required property added", obj("  a: {type: string}\n"), obj("  a: {type: string}\n  b: {type: string}\n") + "required: [b]\n",
			[]got{{"property-added", "/properties/b", "/b", "ADDITION", "BACKWARD"}, {"required-added", "/required/0", "/b", "MODEL", "FORWARD"}}},
		{"existing property made required", obj("  a: {type: string}\n"), obj("  a: {type: string}\n") + "required: [a]\n",
			[]got{{"required-added", "/required/0", "/a", "REVISION", "FORWARD"}}},
		{"property made optional", obj("  a: {type: string}\n") + "required: [a]\n", obj("  a: {type: string}\n"),
			[]got{{"required-removed", "/required", "/a", "ADDITION", "BACKWARD"}}},
		{"optional property removed from a closed object", obj("  a: {type: string}\n  b: {type: string}\n"), obj("  a: {type: string}\n"),
			[]got{{"property-removed", "/properties/b", "/b", "REVISION", "FORWARD"}}},
		{"required property removed from a closed object", obj("  a: {type: string}\n  b: {type: string}\n") + "required: [b]\n", obj("  a: {type: string}\n"),
			[]got{{"property-removed", "/properties/b", "/b", "MODEL", "FORWARD"}, {"required-removed", "/required", "/b", "ADDITION", "BACKWARD"}}},
		{"property removed from an open object", "type: object\nproperties:\n  a: {type: string}\n", "type: object\n",
			[]got{{"property-removed", "/properties/a", "/a", "ADDITION", "BACKWARD"}}},
		{"type narrowed", obj("  a: {type: [string, integer]}\n"), obj("  a: {type: integer}\n"),
			[]got{{"type-narrowed", "/properties/a/type", "/a", "MODEL", "FORWARD"}}},
		{"number narrowed to integer", obj("  a: {type: number}\n"), obj("  a: {type: integer}\n"),
			[]got{{"type-narrowed", "/properties/a/type", "/a", "MODEL", "FORWARD"}}},
		{"integer widened to number", obj("  a: {type: integer}\n"), obj("  a: {type: number}\n"),
			[]got{{"type-widened", "/properties/a/type", "/a", "ADDITION", "BACKWARD"}}},
		{"type added where any was allowed", obj("  a: {description: x}\n"), obj("  a: {type: string}\n"),
			[]got{{"type-narrowed", "/properties/a/type", "/a", "MODEL", "FORWARD"}}},
		{"type changed", obj("  a: {type: string}\n"), obj("  a: {type: integer}\n"),
			[]got{{"type-changed", "/properties/a/type", "/a", "MODEL", "NONE"}}},
		{"nullable added", obj("  a: {type: string}\n"), obj("  a: {type: [string, \"null\"]}\n"),
			[]got{{"nullable-added", "/properties/a/type", "/a", "ADDITION", "BACKWARD"}}},
		{"nullable removed", obj("  a: {type: [string, \"null\"]}\n"), obj("  a: {type: string}\n"),
			[]got{{"nullable-removed", "/properties/a/type", "/a", "REVISION", "FORWARD"}}},
		{"enum value added", obj("  a: {enum: [x, y]}\n"), obj("  a: {enum: [x, y, z]}\n"),
			[]got{{"enum-value-added", "/properties/a/enum/2", "/a", "ADDITION", "BACKWARD"}}},
		{"enum value removed", obj("  a: {enum: [x, y]}\n"), obj("  a: {enum: [y]}\n"),
			[]got{{"enum-value-removed", "/properties/a/enum", "/a", "REVISION", "FORWARD"}}},
		{"enum numbers compare by value", obj("  a: {enum: [1, 2.0]}\n"), obj("  a: {enum: [2, 1.00]}\n"), nil},
		{"enum added", obj("  a: {type: string}\n"), obj("  a: {type: string, enum: [x]}\n"),
			[]got{{"enum-added", "/properties/a/enum", "/a", "REVISION", "FORWARD"}}},
		{"enum removed", obj("  a: {type: string, enum: [x]}\n"), obj("  a: {type: string}\n"),
			[]got{{"enum-removed", "/properties/a/enum", "/a", "ADDITION", "BACKWARD"}}},
		{"const changed", obj("  a: {const: x}\n"), obj("  a: {const: y}\n"),
			[]got{{"const-changed", "/properties/a/const", "/a", "MODEL", "NONE"}}},
		{"const added", obj("  a: {type: string}\n"), obj("  a: {type: string, const: y}\n"),
			[]got{{"const-added", "/properties/a/const", "/a", "REVISION", "FORWARD"}}},
		{"const removed", obj("  a: {type: string, const: y}\n"), obj("  a: {type: string}\n"),
			[]got{{"const-removed", "/properties/a/const", "/a", "ADDITION", "BACKWARD"}}},
		{"minimum raised", obj("  a: {type: integer, minimum: 0}\n"), obj("  a: {type: integer, minimum: 1}\n"),
			[]got{{"bound-tightened", "/properties/a/minimum", "/a", "REVISION", "FORWARD"}}},
		{"maximum raised", obj("  a: {type: integer, maximum: 10}\n"), obj("  a: {type: integer, maximum: 11}\n"),
			[]got{{"bound-loosened", "/properties/a/maximum", "/a", "ADDITION", "BACKWARD"}}},
		{"minimum made exclusive", obj("  a: {type: number, minimum: 0}\n"), obj("  a: {type: number, exclusiveMinimum: 0}\n"),
			[]got{{"bound-tightened", "/properties/a/exclusiveMinimum", "/a", "REVISION", "FORWARD"}}},
		{"exclusive maximum made inclusive", obj("  a: {type: number, exclusiveMaximum: 5}\n"), obj("  a: {type: number, maximum: 5}\n"),
			[]got{{"bound-loosened", "/properties/a/maximum", "/a", "ADDITION", "BACKWARD"}}},
		{"same bound written differently", obj("  a: {type: number, minimum: 1, exclusiveMinimum: 0}\n"), obj("  a: {type: number, minimum: 1.0}\n"), nil},
		{"maxLength added", obj("  a: {type: string}\n"), obj("  a: {type: string, maxLength: 5}\n"),
			[]got{{"bound-tightened", "/properties/a/maxLength", "/a", "REVISION", "FORWARD"}}},
		{"minItems removed", obj("  a: {type: array, minItems: 1}\n"), obj("  a: {type: array}\n"),
			[]got{{"bound-loosened", "/properties/a/minItems", "/a", "ADDITION", "BACKWARD"}}},
		{"maxProperties lowered", obj("  a: {type: object, maxProperties: 5}\n"), obj("  a: {type: object, maxProperties: 4}\n"),
			[]got{{"bound-tightened", "/properties/a/maxProperties", "/a", "REVISION", "FORWARD"}}},
		{"multipleOf to a multiple", obj("  a: {type: number, multipleOf: 0.5}\n"), obj("  a: {type: number, multipleOf: 1.5}\n"),
			[]got{{"bound-tightened", "/properties/a/multipleOf", "/a", "REVISION", "FORWARD"}}},
		{"multipleOf to a divisor", obj("  a: {type: integer, multipleOf: 4}\n"), obj("  a: {type: integer, multipleOf: 2}\n"),
			[]got{{"bound-loosened", "/properties/a/multipleOf", "/a", "ADDITION", "BACKWARD"}}},
		{"multipleOf changed", obj("  a: {type: integer, multipleOf: 2}\n"), obj("  a: {type: integer, multipleOf: 3}\n"),
			[]got{{"bound-changed", "/properties/a/multipleOf", "/a", "REVISION", "NONE"}}},
		{"uniqueItems added", obj("  a: {type: array}\n"), obj("  a: {type: array, uniqueItems: true}\n"),
			[]got{{"bound-tightened", "/properties/a/uniqueItems", "/a", "REVISION", "FORWARD"}}},
		{"object closed", "type: object\nproperties: {a: {type: string}}\n", "type: object\nadditionalProperties: false\nproperties: {a: {type: string}}\n",
			[]got{{"additional-properties-closed", "/additionalProperties", "", "REVISION", "FORWARD"}}},
		{"object opened", obj("  a: {type: string}\n"), "type: object\nproperties: {a: {type: string}}\n",
			[]got{{"additional-properties-opened", "/additionalProperties", "", "ADDITION", "BACKWARD"}}},
		{"additionalProperties schema narrowed", "type: object\nadditionalProperties: {type: [string, integer]}\n", "type: object\nadditionalProperties: {type: string}\n",
			[]got{{"type-narrowed", "/additionalProperties/type", "/*", "MODEL", "FORWARD"}}},
		{"pattern added", obj("  a: {type: string}\n"), obj("  a: {type: string, pattern: '^x'}\n"),
			[]got{{"pattern-added", "/properties/a/pattern", "/a", "REVISION", "FORWARD"}}},
		{"pattern changed", obj("  a: {type: string, pattern: '^x'}\n"), obj("  a: {type: string, pattern: '^y'}\n"),
			[]got{{"pattern-changed", "/properties/a/pattern", "/a", "REVISION", "NONE"}}},
		{"pattern removed", obj("  a: {type: string, pattern: '^x'}\n"), obj("  a: {type: string}\n"),
			[]got{{"pattern-removed", "/properties/a/pattern", "/a", "ADDITION", "BACKWARD"}}},
		{"format added", obj("  a: {type: string}\n"), obj("  a: {type: string, format: email}\n"),
			[]got{{"format-added", "/properties/a/format", "/a", "REVISION", "FORWARD"}}},
		{"format changed", obj("  a: {type: string, format: ipv4}\n"), obj("  a: {type: string, format: ipv6}\n"),
			[]got{{"format-changed", "/properties/a/format", "/a", "REVISION", "NONE"}}},
		{"format removed", obj("  a: {type: string, format: uuid}\n"), obj("  a: {type: string}\n"),
			[]got{{"format-removed", "/properties/a/format", "/a", "ADDITION", "BACKWARD"}}},
		{"nested object in array items", obj("  items:\n    type: array\n    items:\n      type: object\n      additionalProperties: false\n      properties:\n        sku: {type: string}\n"),
			obj("  items:\n    type: array\n    items:\n      type: object\n      additionalProperties: false\n      properties:\n        sku: {type: string, maxLength: 5}\n        qty: {type: integer}\n"),
			[]got{{"bound-tightened", "/properties/items/items/properties/sku/maxLength", "/items/*/sku", "REVISION", "FORWARD"},
				{"property-added", "/properties/items/items/properties/qty", "/items/*/qty", "ADDITION", "BACKWARD"}}},
		{"items schema added", obj("  tags: {type: array}\n"), obj("  tags: {type: array, items: {type: string}}\n"),
			[]got{{"type-narrowed", "/properties/tags/items/type", "/tags/*", "MODEL", "FORWARD"}}},
		{"prefixItems compared by position", obj("  p: {type: array, prefixItems: [{type: number}, {type: string}]}\n"), obj("  p: {type: array, prefixItems: [{type: integer}, {type: string}]}\n"),
			[]got{{"type-narrowed", "/properties/p/prefixItems/0/type", "/p/0", "MODEL", "FORWARD"}}},
		{"inline schema moved behind $ref: no change", obj("  addr: {type: object, properties: {city: {type: string}}}\n"),
			obj("  addr: {$ref: '#/$defs/address'}\n") + "$defs:\n  address: {type: object, properties: {city: {type: string}}}\n", nil},
		{"change behind $ref", obj("  addr: {$ref: '#/$defs/address'}\n") + "$defs:\n  address: {type: object, properties: {city: {type: string}}}\n",
			obj("  addr: {$ref: '#/$defs/address'}\n") + "$defs:\n  address: {type: object, properties: {city: {type: string, maxLength: 9}}}\n",
			[]got{{"bound-tightened", "/$defs/address/properties/city/maxLength", "/addr/city", "REVISION", "FORWARD"}}},
		{"recursive schema terminates", obj("  tree: {$ref: '#/$defs/node'}\n") + "$defs:\n  node: {type: object, properties: {name: {type: string}, children: {type: array, items: {$ref: '#/$defs/node'}}}}\n",
			obj("  tree: {$ref: '#/$defs/node'}\n") + "$defs:\n  node: {type: object, properties: {name: {type: integer}, children: {type: array, items: {$ref: '#/$defs/node'}}}}\n",
			[]got{{"type-changed", "/$defs/node/properties/name/type", "/tree/name", "MODEL", "NONE"}}},
		{"anyOf branch added", obj("  a: {anyOf: [{type: string}]}\n"), obj("  a: {anyOf: [{type: string}, {type: integer}]}\n"),
			[]got{{"branch-added", "/properties/a/anyOf/1", "/a", "ADDITION", "BACKWARD"}}},
		{"allOf branch added", obj("  a: {allOf: [{type: string}]}\n"), obj("  a: {allOf: [{type: string}, {maxLength: 3}]}\n"),
			[]got{{"branch-added", "/properties/a/allOf/1", "/a", "REVISION", "FORWARD"}}},
		{"oneOf branch removed", obj("  a: {oneOf: [{type: string}, {type: integer}]}\n"), obj("  a: {oneOf: [{type: string}]}\n"),
			[]got{{"branch-removed", "/properties/a/oneOf", "/a", "REVISION", "NONE"}}},
		{"tuple closed", obj("  p: {type: array, prefixItems: [{type: string}]}\n"), obj("  p: {type: array, prefixItems: [{type: string}], items: false}\n"),
			[]got{{"schema-closed", "/properties/p/items", "/p/*", "REVISION", "FORWARD"}}},
		{"tuple opened", obj("  p: {type: array, prefixItems: [{type: string}], items: false}\n"), obj("  p: {type: array, prefixItems: [{type: string}, {type: integer}], items: false}\n"),
			[]got{{"schema-opened", "/properties/p/prefixItems/1", "/p/1", "ADDITION", "BACKWARD"}}},
		{"draft-07 ignores $ref siblings", "$schema: http://json-schema.org/draft-07/schema#\ndefinitions: {s: {type: string}}\n" + obj("  a: {$ref: '#/definitions/s', maxLength: 3}\n"), "$schema: http://json-schema.org/draft-07/schema#\ndefinitions: {s: {type: string}}\n" + obj("  a: {$ref: '#/definitions/s', maxLength: 5}\n"), nil},
		{"2020-12 applies $ref siblings", "$defs: {s: {type: string}}\n" + obj("  a: {$ref: '#/$defs/s', maxLength: 3}\n"), "$defs: {s: {type: string}}\n" + obj("  a: {$ref: '#/$defs/s', maxLength: 5}\n"),
			[]got{{"bound-loosened", "/properties/a/maxLength", "/a", "ADDITION", "BACKWARD"}}},
		{"other keyword changed", obj("  a: {type: string, not: {const: x}}\n"), obj("  a: {type: string, not: {const: y}}\n"),
			[]got{{"keyword-changed", "/properties/a/not", "/a", "REVISION", "NONE"}}},
		{"pii added", obj("  e: {type: string}\n"), obj("  e: {type: string, x-pii: {kind: email, handling: tokenize}}\n"),
			[]got{{"pii-added", "/properties/e/x-pii", "/e", "MODEL", "NONE"}}},
		{"pii added, kept", obj("  e: {type: string}\n"), obj("  e: {type: string, x-pii: {kind: email, handling: keep, reason: needed}}\n"),
			[]got{{"pii-added", "/properties/e/x-pii", "/e", "ADDITION", "FULL"}}},
		{"pii removed", obj("  e: {type: string, x-pii: {kind: email, handling: hash}}\n"), obj("  e: {type: string}\n"),
			[]got{{"pii-removed", "/properties/e/x-pii", "/e", "MODEL", "NONE"}}},
		{"pii tokenize to keep", obj("  e: {type: string, x-pii: {kind: email, handling: tokenize}}\n"), obj("  e: {type: string, x-pii: {kind: email, handling: keep, reason: r}}\n"),
			[]got{{"pii-handling-changed", "/properties/e/x-pii/handling", "/e", "MODEL", "NONE"}}},
		{"pii to drop", obj("  e: {type: string, x-pii: {kind: email, handling: tokenize}}\n"), obj("  e: {type: string, x-pii: {kind: email, handling: drop}}\n"),
			[]got{{"pii-handling-changed", "/properties/e/x-pii/handling", "/e", "REVISION", "FORWARD"}}},
		{"pii from drop", obj("  e: {type: string, x-pii: {kind: email, handling: drop}}\n"), obj("  e: {type: string, x-pii: {kind: email, handling: hash}}\n"),
			[]got{{"pii-handling-changed", "/properties/e/x-pii/handling", "/e", "ADDITION", "BACKWARD"}}},
		{"pii kind changed under obfuscate", obj("  e: {type: string, x-pii: {kind: email, handling: obfuscate}}\n"), obj("  e: {type: string, x-pii: {kind: url, handling: obfuscate}}\n"),
			[]got{{"pii-kind-changed", "/properties/e/x-pii/kind", "/e", "MODEL", "NONE"}}},
		{"pii kind changed under tokenize", obj("  e: {type: string, x-pii: {kind: email, handling: tokenize}}\n"), obj("  e: {type: string, x-pii: {kind: other, handling: tokenize}}\n"),
			[]got{{"pii-kind-changed", "/properties/e/x-pii/kind", "/e", "ADDITION", "FULL"}}},
		{"privacy controller changed with tokens", "x-privacy: {controller: {field: /a}, subject: {field: /e}}\n" + obj("  a: {type: string}\n  e: {type: string, x-pii: {kind: email, handling: tokenize}}\n"),
			"x-privacy: {controller: {value: acme}, subject: {field: /e}}\n" + obj("  a: {type: string}\n  e: {type: string, x-pii: {kind: email, handling: tokenize}}\n"),
			[]got{{"privacy-controller-changed", "/x-privacy/controller", "", "MODEL", "NONE"}}},
		{"privacy subject changed without tokens", "x-privacy: {controller: {value: acme}, subject: {field: /a}}\n" + obj("  a: {type: string}\n  b: {type: string}\n"),
			"x-privacy: {controller: {value: acme}, subject: {field: /b}}\n" + obj("  a: {type: string}\n  b: {type: string}\n"),
			[]got{{"privacy-subject-changed", "/x-privacy/subject", "", "REVISION", "FULL"}}},
		{"lifecycle", "x-lifecycle: {status: active, retention: P30D}\n" + obj("  a: {type: string}\n"), "x-lifecycle: {status: deprecated, retention: P60D}\n" + obj("  a: {type: string}\n"),
			[]got{{"lifecycle-status-changed", "/x-lifecycle/status", "", "ADDITION", "FULL"}, {"retention-changed", "/x-lifecycle/retention", "", "ADDITION", "FULL"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changes := compat.Diff(parse(t, "1-0-0", tt.old), parse(t, "1-0-1", tt.new))
			var gotList []got
			for _, c := range changes {
				gotList = append(gotList, got{c.ID, c.Pointer, c.Path, c.Bump.String(), c.Compat.String()})
				if c.What == "" || c.Why == "" || strings.Contains(c.String(), "%!") {
					t.Errorf("change %s has an incomplete message: %q", c.ID, c.String())
				}
			}
			if diff := cmp.Diff(tt.want, gotList); diff != "" {
				t.Errorf("Diff() (-want +got):\n%s", diff)
				for _, c := range changes {
					t.Log(c)
				}
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	bump, c := compat.Summarize(nil)
	if bump != contract.BumpNone || c != compat.Full {
		t.Errorf("Summarize(nil) = %s, %s; want NONE, FULL", bump, c)
	}
	bump, c = compat.Summarize([]compat.Change{
		{Bump: contract.BumpAddition, Compat: compat.Backward},
		{Bump: contract.BumpRevision, Compat: compat.Forward},
	})
	if bump != contract.BumpRevision || c != compat.None {
		t.Errorf("Summarize = %s, %s; want REVISION, NONE", bump, c)
	}
}

func TestChangeJSON(t *testing.T) {
	changes := compat.Diff(parse(t, "1-0-0", "type: object\nproperties:\n  a: {enum: [x, null]}\n"), parse(t, "1-0-1", "type: object\nproperties:\n  a: {enum: [x]}\n"))
	if len(changes) != 1 {
		t.Fatalf("got %d changes, want 1", len(changes))
	}
	b, err := json.Marshal(changes[0])
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"enum-value-removed","keyword":"enum","pointer":"/properties/a/enum","old_pointer":"/properties/a/enum/1","path":"/a","old":null,"bump":"REVISION","compatibility":"FORWARD","what":"enum value null removed","why":"historical events with this value no longer validate"}`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("json (-want +got):\n%s", diff)
	}
}
