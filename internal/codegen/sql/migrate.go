package sql

import (
	"errors"
	"fmt"
	"strings"

	"github.com/accord-dev/accord/internal/codegen/ir"
)

// Migrate returns the statements that bring the tables of base (the registry as
// deployed) to those of next: CREATE TABLE for new tables (a new contract, or a new
// MODEL, which always gets its own table), and for existing tables ALTER TABLE
// statements for what ADDITION and REVISION versions change: new columns, columns
// that became nullable, widened types, new comments.
//
// Changes that cannot be made in place (a column gone, a type that does not
// widen, a nested change the dialect cannot alter) are refused: the error joins a
// Refusal for each, and says to publish the change as a new MODEL instead.
func Migrate(base, next *ir.Registry, d Dialect) ([]byte, error) {
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
		refused = append(refused, alterTable(&tb, w, old.Table, m.Table)...)
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
	return []byte(b.String()), nil
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
	for _, c := range next.Columns {
		oc := find(old.Columns, c)
		if oc == nil {
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

// nestedChange describes what changed inside a record or list column, for the
// dialects that refuse to alter nested types.
func nestedChange(old, next *ir.Column) string {
	var added []string
	var walk func(prefix string, o, n *ir.Column)
	walk = func(prefix string, o, n *ir.Column) {
		switch n.Type {
		case ir.Record:
			for _, nf := range n.Fields {
				var of *ir.Column
				if o != nil && o.Type == ir.Record {
					of = ir.Find(o.Fields, nf.JSONName)
				}
				if of == nil {
					added = append(added, prefix+"."+nf.Name+" "+nf.TypeString())
					continue
				}
				walk(prefix+"."+nf.Name, of, nf)
			}
		case ir.List:
			var oe *ir.Column
			if o != nil && o.Type == ir.List {
				oe = o.Elem
			}
			walk(prefix+"[]", oe, n.Elem)
		}
	}
	walk(next.Name, old, next)
	if len(added) == 0 {
		return "its nested type changes from " + old.TypeString() + " to " + next.TypeString()
	}
	return "it gains nested field(s) " + strings.Join(added, ", ")
}
