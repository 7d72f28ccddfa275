package ir

import (
	"fmt"
	"strings"

	"github.com/accord-dev/accord/internal/contract"
)

// Logical is the storage type of a column, which each SQL dialect, the lake and
// dbt map to their own types (see docs/codegen.md for the tables).
type Logical string

// Logical types. Record is an object with known fields, List an array, JSON any
// value without one static shape (unions, maps, schemas without a type).
const (
	String    Logical = "string"
	Int64     Logical = "int64"
	Float64   Logical = "float64"
	Bool      Logical = "bool"
	Timestamp Logical = "timestamp"
	Date      Logical = "date"
	Record    Logical = "record"
	List      Logical = "list"
	JSON      Logical = "json"
)

// Column is one column of a table, or one field of a Record column, or the element
// of a List column, in the stored shape.
type Column struct {
	// Name is the column's identifier: snake_case, [a-z0-9_], unique (ignoring case)
	// among its siblings. Empty for a List element.
	Name string
	// JSONName is the property name in the stored event data ("" for envelope
	// columns and List elements).
	JSONName string
	Type     Logical
	// Fields are the fields of a Record, in contract order.
	Fields []*Column
	// Elem is the element of a List.
	Elem *Column
	// Nullable reports whether the column may be NULL: the field is optional or
	// nullable in some version of the MODEL.
	Nullable bool
	// Description is the stored shape's description (scrubbing notes included).
	Description string
	// PII is the sent field's x-pii annotation: what it held before scrubbing.
	PII *contract.PII
	// Enum lists the allowed values of an enum column as strings.
	Enum []string
	// Envelope marks the columns that every table has (event_id, received_at, ...).
	Envelope bool
	// Member is, for an envelope column, the member of the envelope's JSON form
	// (event.Envelope) that it stores, dotted when nested (source.tracker); empty
	// for data columns. The lake reads each envelope column from its member, so
	// that this list is the one mapping from the envelope to every table.
	Member string
	// Layout is, for an envelope column, the envelope layout that added it to
	// every table (see EnvelopeLayout): tables made before it lack the column.
	Layout int
	// Since is the first version of the MODEL that has the column (zero for
	// envelope columns).
	Since contract.SchemaVer
}

// Find returns the sibling column stored under the JSON property name, nil when
// none.
func Find(cols []*Column, jsonName string) *Column {
	for _, c := range cols {
		if !c.Envelope && c.JSONName == jsonName {
			return c
		}
	}
	return nil
}

// Table is the stored shape of one MODEL of a contract family: the union of the
// columns of every version of the MODEL, so that rows of older versions still fit.
type Table struct {
	// Name is <vendor>_<name>_<model>, vendor dots and any character outside
	// [a-z0-9_] mapped to "_", lowercase: com_acme_signup_1.
	Name        string
	Description string
	// Columns are the envelope columns followed by the data columns, in order of
	// first appearance (version, then contract order).
	Columns []*Column
}

// Column returns the column named name, nil when none.
func (t *Table) Column(name string) *Column {
	for _, c := range t.Columns {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// EnvelopeLayout is the current envelope layout: the set of envelope columns
// every table has. It grows by one whenever a column joins the envelope; older
// tables (and lake files) lack the columns of later layouts, which migrations add
// and readers of the lake see as missing (null).
const EnvelopeLayout = 2

// The envelope columns, first in every table. They mirror event.Envelope: every
// member of its JSON form is either a column's Member or in EnvelopeNotStored
// (TestEnvelopeMembers).
var envelope = []Column{
	{Name: "event_id", Member: "event_id", Layout: 1, Type: String, Description: "Id of the event: the producer's when it sent one, else assigned at collection. Deduplication key."},
	{Name: "contract_version", Member: "schema", Layout: 1, Type: String, Description: "SchemaVer of the contract version the event was validated against, e.g. 1-0-2."},
	{Name: "event_time", Member: "event_time", Layout: 1, Type: Timestamp, Description: "Best estimate of when the event happened: true_timestamp when set, else the device time corrected for clock skew, else the receipt time."},
	{Name: "received_at", Member: "received_at", Layout: 1, Type: Timestamp, Description: "When the collector received the event."},
	{Name: "sent_at", Member: "sent_at", Layout: 1, Type: Timestamp, Nullable: true, Description: "When the producer sent the event, by its clock, if it said."},
	{Name: "device_created_at", Member: "device_created_at", Layout: 1, Type: Timestamp, Nullable: true, Description: "When the event happened by the producer's clock, if it said."},
	{Name: "true_timestamp", Member: "true_timestamp", Layout: 2, Type: Timestamp, Nullable: true, Description: "A time of the event that the producer vouches for (Snowplow ttm, e.g. a server-side tracker's clock), if it said."},
	{Name: "source_protocol", Member: "source.protocol", Layout: 1, Type: String, Description: "How the event arrived: native, snowplow or segment."},
	{Name: "source_app", Member: "source.app", Layout: 1, Type: String, Nullable: true, Description: "The producer's application id, if known."},
	{Name: "source_platform", Member: "source.platform", Layout: 1, Type: String, Nullable: true, Description: "The producer's platform (web, mob, srv, ...), if known."},
	{Name: "source_collector", Member: "source.collector", Layout: 1, Type: String, Description: "The collector instance that accepted the event."},
	{Name: "source_tracker", Member: "source.tracker", Layout: 2, Type: String, Nullable: true, Description: "The tracker library and its version (Snowplow tv, Segment context.library), if the producer said."},
	{Name: "contexts", Member: "contexts", Layout: 1, Type: JSON, Nullable: true, Description: "Entities attached to the event, each validated and scrubbed by its own contract."},
}

// EnvelopeNotStored lists the members of the envelope's JSON form that no table
// has a column for, each with the reason. A member of event.Envelope must be
// here or be an envelope column's Member (TestEnvelopeMembers), so that a new
// envelope field is never dropped by the tables without anyone deciding it.
var EnvelopeNotStored = map[string]string{
	"v":                    "the version of the envelope's JSON form, not a fact about the event; a table's columns follow EnvelopeLayout",
	"data":                 "stored as the table's data columns",
	"validation.outcome":   "always valid in an envelope: rejected events become bad rows, never rows",
	"validation.validator": "which of two equivalent engines checked the event (fast or reference), an operational detail that says nothing of the event",
	"scrubbed":             "the handling each field got is its contract's x-pii annotation, which the tables carry as column comments and dbt meta (pii_kind, pii_handling)",
}

// Envelope column names that other packages refer to.
const (
	ColEventID         = "event_id"
	ColContractVersion = "contract_version"
	ColEventTime       = "event_time"
	ColReceivedAt      = "received_at"
)

// EnvelopeColumns returns fresh copies of the envelope columns, in table order.
func EnvelopeColumns() []*Column {
	out := make([]*Column, len(envelope))
	for i := range envelope {
		c := envelope[i]
		c.Envelope = true
		out[i] = &c
	}
	return out
}

// firstEnvelope returns fresh copies of the first layout's envelope columns:
// data columns are named around these alone, so that adding an envelope column
// never renames a data column of an existing table (names never change once
// given).
func firstEnvelope() []*Column {
	var out []*Column
	for _, c := range EnvelopeColumns() {
		if c.Layout <= 1 {
			out = append(out, c)
		}
	}
	return out
}

// withLaterEnvelope puts the envelope columns of later layouts into cols (whose
// envelope columns are the first layout's, in order), each in its envelope
// place. Such a column keeps its name unless a data column of the table has it
// already (ignoring case): then it is envelope_<name> (with a numeric suffix if
// that is taken too), since the data column had the name first.
func withLaterEnvelope(cols []*Column) []*Column {
	namer := NewNamer("_", strings.ToLower)
	for _, c := range cols {
		namer.Reserve(c.Name)
	}
	out := make([]*Column, 0, len(cols)+len(envelope))
	i := 0
	for _, e := range EnvelopeColumns() {
		if e.Layout <= 1 {
			out = append(out, cols[i])
			i++
			continue
		}
		if namer.Taken(e.Name) {
			e.Name = namer.Take("envelope_" + e.Name)
		} else {
			namer.Reserve(e.Name)
		}
		out = append(out, e)
	}
	return append(out, cols[i:]...)
}

// AtLayout returns the table as an Accord of envelope layout n created it:
// without the envelope columns of later layouts. Column values are shared.
func (t *Table) AtLayout(n int) *Table {
	c := *t
	c.Columns = make([]*Column, 0, len(t.Columns))
	for _, col := range t.Columns {
		if !col.Envelope || col.Layout <= n {
			c.Columns = append(c.Columns, col)
		}
	}
	return &c
}

// columnOf maps a stored-shape type to a column (without Name and JSONName).
func columnOf(t *Type, since contract.SchemaVer) *Column {
	c := &Column{Description: t.Description, Nullable: t.Nullable, Since: since}
	switch t.Kind {
	case KindString:
		switch t.Format {
		case "date-time":
			c.Type = Timestamp
		case "date":
			c.Type = Date
		default:
			c.Type = String
		}
	case KindInteger:
		c.Type = Int64
	case KindNumber:
		c.Type = Float64
	case KindBoolean:
		c.Type = Bool
	case KindObject:
		if t.IsMap() {
			c.Type = JSON
			break
		}
		c.Type = Record
		c.Fields = fieldColumns(t.Fields, since)
	case KindArray:
		c.Type = List
		c.Elem = columnOf(t.Items, since)
	default:
		c.Type = JSON
	}
	if t.IsEnum() {
		c.Enum = t.EnumStrings()
	}
	return c
}

// fieldColumns maps the fields of an object to named columns.
func fieldColumns(fields []*Field, since contract.SchemaVer) []*Column {
	out := make([]*Column, 0, len(fields))
	for _, f := range fields {
		c := columnOf(f.Type, since)
		c.JSONName = f.Name
		c.Nullable = c.Nullable || !f.Required
		c.PII = f.PII
		if f.Description != "" {
			c.Description = f.Description
		}
		out = append(out, c)
	}
	nameColumns(out, nil, false)
	return out
}

// nameColumns gives a name to every column of fresh, avoiding the names of taken.
// With top set, a data column whose name is an envelope column's is named
// data_<name> instead.
func nameColumns(fresh, taken []*Column, top bool) {
	namer := NewNamer("_", strings.ToLower)
	for _, c := range taken {
		namer.Reserve(c.Name)
	}
	cands := make([]Candidate, len(fresh))
	for i, c := range fresh {
		want := Snake(Words(c.JSONName), "field")
		if top && isEnvelopeName(want) {
			want = "data_" + want
		}
		cands[i] = Candidate{Want: want, Source: c.JSONName}
	}
	for i, name := range namer.Assign(cands) {
		fresh[i].Name = name
	}
}

// isEnvelopeName reports whether name is a first-layout envelope column's: later
// envelope columns give way to data columns instead (see withLaterEnvelope).
func isEnvelopeName(name string) bool {
	for _, e := range envelope {
		if e.Layout <= 1 && strings.EqualFold(e.Name, name) {
			return true
		}
	}
	return false
}

// merge folds the columns of a newer version (next) into the columns so far
// (acc): the newer type, description and annotations win; columns that a version
// left out stay, nullable; incompatible types widen (see Widen); columns new in
// next are named avoiding every name in acc, so names never change once given.
func merge(acc, next []*Column, top bool) []*Column {
	out := make([]*Column, 0, len(acc)+len(next))
	for _, old := range acc {
		nc := Find(next, old.JSONName)
		if old.Envelope || nc == nil {
			c := *old
			if !old.Envelope {
				c.Nullable = true
			}
			out = append(out, &c)
			continue
		}
		out = append(out, mergeColumn(old, nc))
	}
	var fresh []*Column
	for _, nc := range next {
		if Find(acc, nc.JSONName) == nil {
			c := *nc
			if hasData(acc) {
				// Rows of the versions before this one have no value.
				c.Nullable = true
			}
			fresh = append(fresh, &c)
		}
	}
	nameColumns(fresh, acc, top)
	return append(out, fresh...)
}

func hasData(cols []*Column) bool {
	for _, c := range cols {
		if !c.Envelope {
			return true
		}
	}
	return false
}

func mergeColumn(old, nc *Column) *Column {
	c := *nc
	c.Name = old.Name
	c.Since = old.Since
	c.Nullable = old.Nullable || nc.Nullable
	c.Type = Widen(old.Type, nc.Type)
	switch c.Type {
	case Record:
		if old.Type == Record {
			c.Fields = merge(old.Fields, nc.Fields, false)
		}
	case List:
		if old.Type == List {
			c.Elem = mergeColumn(old.Elem, nc.Elem)
		}
	default:
		c.Fields, c.Elem = nil, nil
	}
	if c.Type != nc.Type {
		c.Enum = nil
	}
	return &c
}

// Widen returns the type that holds values of both a and b: the same type, float64
// for int64 and float64, string for string, timestamp and date mixed, and json for
// anything else.
func Widen(a, b Logical) Logical {
	switch {
	case a == b:
		return a
	case (a == Int64 || a == Float64) && (b == Int64 || b == Float64):
		return Float64
	case isText(a) && isText(b):
		return String
	}
	return JSON
}

func isText(l Logical) bool { return l == String || l == Timestamp || l == Date }

// TypeString formats a column type in the IR's own notation, for messages and
// tests: record<a string, b list<int64>>.
func (c *Column) TypeString() string {
	switch c.Type {
	case Record:
		parts := make([]string, len(c.Fields))
		for i, f := range c.Fields {
			parts[i] = f.Name + " " + f.TypeString()
		}
		return "record<" + strings.Join(parts, ", ") + ">"
	case List:
		return "list<" + c.Elem.TypeString() + ">"
	}
	return string(c.Type)
}

// String formats the column for messages.
func (c *Column) String() string {
	null := "not null"
	if c.Nullable {
		null = "null"
	}
	return fmt.Sprintf("%s %s %s", c.Name, c.TypeString(), null)
}
