package sql

import (
	"fmt"
	"strings"

	"github.com/accord-dev/accord/internal/codegen/ir"
)

// duckdb writes DuckDB DDL: STRUCT for records, T[] for lists, JSON for the rest.
type duckdb struct{}

func (duckdb) q(name string) string { return ident(name, '"') }

func (d duckdb) colType(c *ir.Column) string {
	switch c.Type {
	case ir.String:
		return "VARCHAR"
	case ir.Int64:
		return "BIGINT"
	case ir.Float64:
		return "DOUBLE"
	case ir.Bool:
		return "BOOLEAN"
	case ir.Timestamp:
		return "TIMESTAMPTZ"
	case ir.Date:
		return "DATE"
	case ir.Record:
		parts := make([]string, len(c.Fields))
		for i, f := range c.Fields {
			parts[i] = d.q(f.Name) + " " + d.colType(f)
		}
		return "STRUCT(" + strings.Join(parts, ", ") + ")"
	case ir.List:
		return d.colType(c.Elem) + "[]"
	}
	return "JSON"
}

func (d duckdb) create(b *strings.Builder, m *ir.Model) {
	t := m.Table
	fmt.Fprintf(b, "CREATE TABLE IF NOT EXISTS %s (\n", d.q(t.Name))
	for _, c := range t.Columns {
		null := ""
		if !c.Nullable {
			null = " NOT NULL"
		}
		fmt.Fprintf(b, "    %s %s%s,\n", d.q(c.Name), d.colType(c), null)
	}
	fmt.Fprintf(b, "    PRIMARY KEY (%s)\n);\n", ir.ColEventID)
	fmt.Fprintf(b, "COMMENT ON TABLE %s IS %s;\n", d.q(t.Name), quoteStd(tableComment(m)))
	for _, c := range t.Columns {
		d.comment(b, t, c)
	}
}

func (d duckdb) comment(b *strings.Builder, t *ir.Table, c *ir.Column) {
	fmt.Fprintf(b, "COMMENT ON COLUMN %s.%s IS %s;\n", d.q(t.Name), d.q(c.Name), quoteStd(CommentText(c)))
}

func (d duckdb) addColumn(b *strings.Builder, t *ir.Table, c *ir.Column) {
	fmt.Fprintf(b, "ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s %s;\n", d.q(t.Name), d.q(c.Name), d.colType(c))
}

func (d duckdb) dropNotNull(b *strings.Builder, t *ir.Table, c *ir.Column) {
	fmt.Fprintf(b, "ALTER TABLE %s ALTER COLUMN %s DROP NOT NULL;\n", d.q(t.Name), d.q(c.Name))
}

// alterType changes scalar types with SET DATA TYPE. A STRUCT or list column can
// only gain fields: DuckDB 1.3 and later add a field to a STRUCT with ADD COLUMN
// and the field's path (col.field, and col.element.field inside a list), existing
// rows getting NULL; it has no statement that changes a nested field's type.
func (d duckdb) alterType(b *strings.Builder, t *ir.Table, old, c *ir.Column) error {
	if old.Type == ir.Record || old.Type == ir.List {
		if d.colType(withoutAdditions(old, c)) != d.colType(old) {
			return fmt.Errorf("DuckDB can add fields to a STRUCT in place but not change the ones it has: %s becomes %s", old.TypeString(), c.TypeString())
		}
		for _, f := range addedFields(old, c) {
			path := make([]string, len(f.Path))
			for i, p := range f.Path {
				path[i] = "element"
				if p != "" {
					path[i] = d.q(p)
				}
			}
			fmt.Fprintf(b, "ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s.%s %s;\n", d.q(t.Name), d.q(c.Name), strings.Join(path, "."), d.colType(f.Col))
		}
		return nil
	}
	fmt.Fprintf(b, "ALTER TABLE %s ALTER COLUMN %s SET DATA TYPE %s;\n", d.q(t.Name), d.q(c.Name), d.colType(c))
	return nil
}

func (duckdb) nullInType() bool { return false }
