package sql

import (
	"fmt"
	"strings"

	"github.com/accord-dev/accord/internal/codegen/ir"
)

// postgres writes PostgreSQL DDL: jsonb for records and JSON, arrays of scalars as
// SQL arrays, timestamptz for timestamps, comments with COMMENT ON.
type postgres struct{}

func (postgres) q(name string) string { return ident(name, '"') }

func (p postgres) colType(c *ir.Column) string {
	switch c.Type {
	case ir.String:
		return "text"
	case ir.Int64:
		return "bigint"
	case ir.Float64:
		return "double precision"
	case ir.Bool:
		return "boolean"
	case ir.Timestamp:
		return "timestamptz"
	case ir.Date:
		return "date"
	case ir.List:
		switch c.Elem.Type {
		case ir.Record, ir.List, ir.JSON:
			return "jsonb"
		}
		return p.colType(c.Elem) + "[]"
	}
	return "jsonb"
}

func (p postgres) create(b *strings.Builder, m *ir.Model) {
	t := m.Table
	fmt.Fprintf(b, "CREATE TABLE IF NOT EXISTS %s (\n", p.q(t.Name))
	for _, c := range t.Columns {
		null := ""
		if !c.Nullable {
			null = " NOT NULL"
		}
		fmt.Fprintf(b, "    %s %s%s,\n", p.q(c.Name), p.colType(c), null)
	}
	fmt.Fprintf(b, "    PRIMARY KEY (%s)\n);\n", ir.ColEventID)
	fmt.Fprintf(b, "COMMENT ON TABLE %s IS %s;\n", p.q(t.Name), quoteStd(tableComment(m)))
	for _, c := range t.Columns {
		p.comment(b, t, c)
	}
}

func (p postgres) comment(b *strings.Builder, t *ir.Table, c *ir.Column) {
	fmt.Fprintf(b, "COMMENT ON COLUMN %s.%s IS %s;\n", p.q(t.Name), p.q(c.Name), quoteStd(CommentText(c)))
}

func (p postgres) addColumn(b *strings.Builder, t *ir.Table, c *ir.Column) {
	fmt.Fprintf(b, "ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s %s;\n", p.q(t.Name), p.q(c.Name), p.colType(c))
}

func (p postgres) dropNotNull(b *strings.Builder, t *ir.Table, c *ir.Column) {
	fmt.Fprintf(b, "ALTER TABLE %s ALTER COLUMN %s DROP NOT NULL;\n", p.q(t.Name), p.q(c.Name))
}

func (p postgres) alterType(b *strings.Builder, t *ir.Table, old, c *ir.Column) error {
	typ := p.colType(c)
	using := p.q(c.Name) + "::" + typ
	if p.colType(old) == "timestamptz" && typ == "text" {
		// Keep the ISO 8601 form the events carried, not the session's DateStyle.
		using = "to_char(" + p.q(c.Name) + " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
	}
	fmt.Fprintf(b, "ALTER TABLE %s ALTER COLUMN %s TYPE %s USING %s;\n", p.q(t.Name), p.q(c.Name), typ, using)
	return nil
}

func (postgres) nullInType() bool { return false }
