package sql

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/accord-dev/accord/internal/codegen/ir"
)

// Migrate returns the statements that bring the tables of base (the registry as
// deployed) to those of next: CREATE TABLE for new tables (a new contract, or a new
// MODEL, which always gets its own table), and for existing tables ALTER TABLE
// statements for what ADDITION and REVISION versions change: new columns, columns
// that became nullable, widened types, new comments. Existing tables also get
// the envelope columns of layouts after the first (ir.EnvelopeLayout), IF NOT
// EXISTS, since a registry does not record which layout its tables were created
// with.
//
// Changes that cannot be made in place (a column gone, a type that does not
// widen, a nested change the dialect cannot alter) are refused: the error joins a
// Refusal for each, and says to publish the change as a new MODEL instead.
//
// The result maps file names to contents: "<dialect>.migration.sql", and for
// BigQuery a "bigquery.<table>.schema.json" for each table that gains fields inside
// a STRUCT, which BigQuery's DDL cannot add (the SQL says how to apply it).
func Migrate(base, next *ir.Registry, d Dialect) (map[string][]byte, error) {
	w, err := writerFor(d)
	if err != nil {
		return nil, err
	}
	if err := checkNames(next, d); err != nil {
		return nil, err
	}
	var b strings.Builder
	header(&b, "sql --dialect "+string(d)+" --base", next.Sources())
	b.WriteString("--\n-- Migration from:\n")
	for _, s := range base.Sources() {
		b.WriteString("--   " + s + "\n")
	}
	var refused []error
	baseTables := map[string]*ir.Model{}
	for _, m := range base.Models {
		baseTables[m.Table.Name] = m
	}
	nextTables := map[string]bool{}
	files := map[string][]byte{}
	statements := 0
	for _, m := range next.Models {
		nextTables[m.Table.Name] = true
		old, ok := baseTables[m.Table.Name]
		if !ok {
			b.WriteString("\n-- New table for " + m.Vendor + "/" + m.Name + " MODEL " + fmt.Sprint(m.Number) + ".\n")
			w.create(&b, m)
			statements++
			continue
		}
		var tb strings.Builder
		// The base registry cannot say which Accord created the deployed table,
		// so it is taken to have the first envelope layout's columns only: the
		// later ones are added IF NOT EXISTS, a no-op where the table has them.
		refused = append(refused, alterTable(&tb, w, old.Table.AtLayout(1), m.Table)...)
		if su, ok := w.(schemaUpdater); ok {
			name, data, err := su.schemaUpdate(&tb, m.Table)
			if err != nil {
				return nil, err
			}
			if name != "" {
				files[name] = data
			}
		}
		if tb.Len() > 0 {
			fmt.Fprintf(&b, "\n-- %s: %s -> %s.\n", m.Table.Name, old.VersionList(), m.VersionList())
			b.WriteString(tb.String())
			statements++
		}
	}
	for _, m := range base.Models {
		if !nextTables[m.Table.Name] {
			refused = append(refused, Refusal{Table: m.Table.Name, Reason: fmt.Sprintf("the registry no longer has %s/%s MODEL %d: published versions never disappear; restore them (mark the contract retired instead of deleting it)", m.Vendor, m.Name, m.Number)})
		}
	}
	if len(refused) > 0 {
		return nil, fmt.Errorf("migrating to %s: %d change(s) cannot be made in place; publish them as a new MODEL (e.g. 2-0-0), which gets its own table:\n%w", d, len(refused), errors.Join(refused...))
	}
	if statements == 0 {
		b.WriteString("\n-- No changes.\n")
	}
	files[string(d)+".migration.sql"] = []byte(b.String())
	return files, nil
}

// alterTable writes the statements that turn table old into next.
func alterTable(b *strings.Builder, w writer, old, next *ir.Table) []error {
	var refused []error
	find := func(cols []*ir.Column, c *ir.Column) *ir.Column {
		for _, o := range cols {
			if o.Envelope == c.Envelope && (c.Envelope && o.Name == c.Name || !c.Envelope && o.JSONName == c.JSONName) {
				return o
			}
		}
		return nil
	}
	for _, oc := range old.Columns {
		if find(next.Columns, oc) == nil {
			refused = append(refused, Refusal{Table: old.Name, Column: oc.Name, Reason: "the column is gone from the registry; published versions never change, so restore the version that had it"})
		}
	}
	envelopeNote := false
	for _, c := range next.Columns {
		oc := find(old.Columns, c)
		if oc == nil {
			if c.Envelope && !envelopeNote {
				fmt.Fprintf(b, "-- Envelope columns of layouts after the first (up to %d), for tables created before them; a no-op where the table has them.\n", ir.EnvelopeLayout)
				envelopeNote = true
			}
			w.addColumn(b, next, c)
			w.comment(b, next, c)
			continue
		}
		if oc.Name != c.Name {
			refused = append(refused, Refusal{Table: next.Name, Column: oc.Name, Reason: fmt.Sprintf("the column would be renamed to %s; names never change once given, so the base registry differs from the deployed one", c.Name)})
			continue
		}
		if !compatible(oc, c) {
			refused = append(refused, Refusal{Table: next.Name, Column: c.Name, Reason: fmt.Sprintf("type %s cannot become %s in place", oc.TypeString(), c.TypeString())})
			continue
		}
		same := *oc
		same.Nullable = c.Nullable
		typeChanged := w.colType(&same) != w.colType(c)
		if typeChanged {
			if err := w.alterType(b, next, oc, c); err != nil {
				refused = append(refused, Refusal{Table: next.Name, Column: c.Name, Reason: err.Error()})
				continue
			}
		}
		if !oc.Nullable && c.Nullable && !(typeChanged && w.nullInType()) {
			w.dropNotNull(b, next, c)
		}
		if CommentText(oc) != CommentText(c) {
			w.comment(b, next, c)
		}
	}
	return refused
}

// compatible reports whether every value old can hold fits next: the same type, a
// widened scalar (see ir.Widen), records that only gained fields, lists of
// compatible elements.
func compatible(old, next *ir.Column) bool {
	if old.Type != next.Type {
		return ir.Widen(old.Type, next.Type) == next.Type && next.Type != ir.JSON
	}
	switch old.Type {
	case ir.Record:
		for _, of := range old.Fields {
			nf := ir.Find(next.Fields, of.JSONName)
			if nf == nil || nf.Name != of.Name || !compatible(of, nf) {
				return false
			}
		}
	case ir.List:
		return compatible(old.Elem, next.Elem)
	}
	return true
}

// nestedField is a field that a newer version adds inside a record column, or
// inside the records of a list column, at any depth.
type nestedField struct {
	// Path leads from the column to the new field: field names, and "" for the
	// element of a list.
	Path []string
	Col  *ir.Column
}

// addedFields lists the fields that next has and old lacks inside a record or list
// column, outermost first: a new record field is one addition, not one per field.
func addedFields(old, next *ir.Column) []nestedField {
	var added []nestedField
	var walk func(path []string, o, n *ir.Column)
	walk = func(path []string, o, n *ir.Column) {
		switch {
		case n.Type == ir.Record && o.Type == ir.Record:
			for _, nf := range n.Fields {
				p := append(slices.Clone(path), nf.Name)
				if of := ir.Find(o.Fields, nf.JSONName); of != nil {
					walk(p, of, nf)
				} else {
					added = append(added, nestedField{Path: p, Col: nf})
				}
			}
		case n.Type == ir.List && o.Type == ir.List:
			walk(append(slices.Clone(path), ""), o.Elem, n.Elem)
		}
	}
	walk(nil, old, next)
	return added
}

// withoutAdditions is next less the fields that addedFields lists: when a dialect
// gives it the same type as old, adding those fields is all that changed.
func withoutAdditions(old, next *ir.Column) *ir.Column {
	c := *next
	switch {
	case next.Type == ir.Record && old.Type == ir.Record:
		c.Fields = nil
		for _, nf := range next.Fields {
			if of := ir.Find(old.Fields, nf.JSONName); of != nil {
				c.Fields = append(c.Fields, withoutAdditions(of, nf))
			}
		}
	case next.Type == ir.List && old.Type == ir.List:
		c.Elem = withoutAdditions(old.Elem, next.Elem)
	}
	return &c
}

// describeAdded lists the fields added inside column next, for comments:
// "profile.size int64, lines[].qty int64".
func describeAdded(next *ir.Column, added []nestedField) string {
	parts := make([]string, len(added))
	for i, a := range added {
		path := next.Name
		for _, p := range a.Path {
			if p == "" {
				path += "[]"
			} else {
				path += "." + p
			}
		}
		parts[i] = path + " " + a.Col.TypeString()
	}
	return strings.Join(parts, ", ")
}
