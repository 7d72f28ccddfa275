// Package compat compares versions of a contract: it lists what changed between two
// schemas (Diff), classifies each change into the SchemaVer bump it needs and the
// compatibility it keeps, and checks a registry against its previous state (Check),
// the engine behind accord check. Codegen migrations and the registry reuse Diff.
package compat

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/accord-dev/accord/internal/contract"
)

// Compatibility says which way readers and data of two versions can meet, in
// Confluent Schema Registry's terms: BACKWARD means consumers using the new schema
// can read data produced with the old one (every event valid under the old schema
// is valid under the new); FORWARD means data produced with the new schema can be
// read by consumers using the old one; FULL is both, NONE neither. It is a bit set,
// so that the compatibility of several changes is their intersection (&).
type Compatibility uint8

// Compatibilities. Full == Backward|Forward.
const (
	None     Compatibility = 0
	Backward Compatibility = 1
	Forward  Compatibility = 2
	Full     Compatibility = Backward | Forward
)

// String names the compatibility as Confluent does.
func (c Compatibility) String() string {
	switch c & Full {
	case Full:
		return "FULL"
	case Backward:
		return "BACKWARD"
	case Forward:
		return "FORWARD"
	default:
		return "NONE"
	}
}

// MarshalJSON writes the compatibility's name.
func (c Compatibility) MarshalJSON() ([]byte, error) { return json.Marshal(c.String()) }

// Stable ids of the changes Diff reports. They are part of Accord's interface:
// output formats, docs/check.md and codegen migrations use them.
const (
	PropertyAdded   = "property-added"
	PropertyRemoved = "property-removed"
	RequiredAdded   = "required-added"
	RequiredRemoved = "required-removed"

	TypeNarrowed    = "type-narrowed"
	TypeWidened     = "type-widened"
	TypeChanged     = "type-changed"
	NullableAdded   = "nullable-added"
	NullableRemoved = "nullable-removed"

	EnumAdded        = "enum-added"
	EnumRemoved      = "enum-removed"
	EnumValueAdded   = "enum-value-added"
	EnumValueRemoved = "enum-value-removed"
	ConstAdded       = "const-added"
	ConstRemoved     = "const-removed"
	ConstChanged     = "const-changed"

	BoundTightened = "bound-tightened"
	BoundLoosened  = "bound-loosened"
	BoundChanged   = "bound-changed"

	AdditionalPropertiesClosed = "additional-properties-closed"
	AdditionalPropertiesOpened = "additional-properties-opened"

	PatternAdded   = "pattern-added"
	PatternChanged = "pattern-changed"
	PatternRemoved = "pattern-removed"
	FormatAdded    = "format-added"
	FormatChanged  = "format-changed"
	FormatRemoved  = "format-removed"

	BranchAdded   = "branch-added"
	BranchRemoved = "branch-removed"

	SchemaClosed   = "schema-closed"
	SchemaOpened   = "schema-opened"
	KeywordChanged = "keyword-changed"
	DialectChanged = "dialect-changed"

	PIIAdded           = "pii-added"
	PIIRemoved         = "pii-removed"
	PIIHandlingChanged = "pii-handling-changed"
	PIIKindChanged     = "pii-kind-changed"

	PrivacyControllerChanged = "privacy-controller-changed"
	PrivacySubjectChanged    = "privacy-subject-changed"

	LifecycleStatusChanged = "lifecycle-status-changed"
	RetentionChanged       = "retention-changed"
)

// absent is the type of Absent.
type absent struct{}

// String is how messages show a missing value.
func (absent) String() string { return "absent" }

// Absent is the Old or New value of a change when that side has no such keyword or
// value; it is distinct from a JSON null.
var Absent any = absent{}

// Change is one difference between two versions of a contract that matters to
// producers, consumers or the stored data.
type Change struct {
	// ID is one of the stable change ids (PropertyAdded, TypeNarrowed, ...).
	ID string
	// Keyword is the JSON Schema keyword or annotation concerned (type, minimum,
	// properties, x-pii, ...).
	Keyword string
	// Pointer locates the change in the new schema document; for something
	// removed it is where it was in the old one (Pos finds the nearest ancestor).
	Pointer string
	// OldPointer locates the change in the old schema document. It differs from
	// Pointer when a $ref was followed on one side only, or was moved.
	OldPointer string
	// Path locates the field in the event data; "*" stands for every item of an
	// array or every additional property, "" for the event itself.
	Path string
	// Old and New are the values before and after: a keyword's value, an enum
	// value, a property's schema; Absent when a side has none.
	Old, New any
	// Bump is the smallest SchemaVer bump the change needs.
	Bump contract.Bump
	// Compat is the compatibility the change keeps.
	Compat Compatibility
	// What describes the change in a few words ("optional property \"coupon\" added").
	What string
	// Why says why it needs its bump ("historical events never carry it").
	Why string
	// LoosensPrivacy marks a change that stores personal data less protected
	// than before (tokenize -> keep, x-pii removed, ...).
	LoosensPrivacy bool
}

// Field formats Path for messages.
func (c Change) Field() string {
	if c.Path == "" {
		return "the event"
	}
	return "field " + c.Path
}

// String describes the change with its location and values, e.g.
// `type narrowed at /properties/age/type (field /age): was ["integer","string"], now "integer"`.
func (c Change) String() string {
	return fmt.Sprintf("%s at %s (%s): was %s, now %s", c.What, pointerOrRoot(c.Pointer), c.Field(), Show(c.Old), Show(c.New))
}

func pointerOrRoot(p string) string {
	if p == "" {
		return "the schema root"
	}
	return p
}

// Show formats a JSON value compactly for a message, shortened when long.
func Show(v any) string {
	if _, ok := v.(absent); ok {
		return "absent"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	s := string(b)
	if len(s) > 100 {
		s = s[:97] + "..."
	}
	return s
}

// Summarize returns the bump a set of changes needs (the largest of theirs, NONE
// when there is no change) and the compatibility they keep (the intersection of
// theirs, FULL when there is no change).
func Summarize(changes []Change) (contract.Bump, Compatibility) {
	bump, compat := contract.BumpNone, Full
	for _, c := range changes {
		bump = max(bump, c.Bump)
		compat &= c.Compat
	}
	return bump, compat
}

// Next returns the version that a bump of kind b leads to from v.
func Next(v contract.SchemaVer, b contract.Bump) contract.SchemaVer {
	switch b {
	case contract.BumpModel:
		return contract.SchemaVer{Model: v.Model + 1}
	case contract.BumpRevision:
		return contract.SchemaVer{Model: v.Model, Revision: v.Revision + 1}
	case contract.BumpAddition:
		return contract.SchemaVer{Model: v.Model, Revision: v.Revision, Addition: v.Addition + 1}
	}
	return v
}

// article returns "an" or "a" for a bump name in a sentence.
func article(b contract.Bump) string {
	if b == contract.BumpAddition {
		return "an"
	}
	return "a"
}

// successors lists the versions SchemaVer allows after v.
func successors(v contract.SchemaVer) string {
	return strings.Join([]string{Next(v, contract.BumpAddition).String(), Next(v, contract.BumpRevision).String(), Next(v, contract.BumpModel).String()}, ", ")
}

// MarshalJSON writes the change with snake_case keys, the bump and compatibility
// by name, and without old or new when that side is absent.
func (c Change) MarshalJSON() ([]byte, error) {
	out := struct {
		ID             string `json:"id"`
		Keyword        string `json:"keyword,omitempty"`
		Pointer        string `json:"pointer"`
		OldPointer     string `json:"old_pointer"`
		Path           string `json:"path"`
		Old            any    `json:"old,omitempty"`
		New            any    `json:"new,omitempty"`
		Bump           string `json:"bump"`
		Compat         string `json:"compatibility"`
		What           string `json:"what"`
		Why            string `json:"why"`
		LoosensPrivacy bool   `json:"loosens_privacy,omitempty"`
	}{ID: c.ID, Keyword: c.Keyword, Pointer: c.Pointer, OldPointer: c.OldPointer, Path: c.Path,
		Bump: c.Bump.String(), Compat: c.Compat.String(), What: c.What, Why: c.Why, LoosensPrivacy: c.LoosensPrivacy}
	if _, ok := c.Old.(absent); !ok {
		out.Old = jsonValue{c.Old}
	}
	if _, ok := c.New.(absent); !ok {
		out.New = jsonValue{c.New}
	}
	return json.Marshal(out)
}

// jsonValue keeps a JSON null from being omitted by omitempty.
type jsonValue struct{ v any }

func (j jsonValue) MarshalJSON() ([]byte, error) { return json.Marshal(j.v) }
