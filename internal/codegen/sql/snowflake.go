package sql

import (
	"fmt"
	"strings"

	"github.com/accord-dev/accord/internal/codegen/ir"
)

// snowflake writes Snowflake DDL: OBJECT for records, ARRAY for lists, VARIANT for
// the rest, TIMESTAMP_TZ for timestamps. Quoted identifiers are case-sensitive in
// Snowflake: only reserved words are quoted, and they must be quoted in queries too.
type snowflake struct{}

func (snowflake) q(name string) string { return ident(name, '"') }

func (snowflake) colType(c *ir.Column) string {
	switch c.Type {
	case ir.String:
		return "VARCHAR"
	case ir.Int64:
		return "NUMBER(38,0)"
	case ir.Float64:
		return "FLOAT"
	case ir.Bool:
		return "BOOLEAN"
	case ir.Timestamp:
		return "TIMESTAMP_TZ"
	case ir.Date:
		return "DATE"
	case ir.Record:
		return "OBJECT"
	case ir.List:
		return "ARRAY"
	}
	return "VARIANT"
}

// quote escapes a Snowflake string literal, where backslash is an escape character.
func (snowflake) quote(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", "''") + "'"
}

func (s snowflake) create(b *strings.Builder, m *ir.Model) {
	t := m.Table
	fmt.Fprintf(b, "CREATE TABLE IF NOT EXISTS %s (\n", s.q(t.Name))
	for _, c := range t.Columns {
		null := ""
		if !c.Nullable {
			null = " NOT NULL"
		}
		fmt.Fprintf(b, "    %s %s%s COMMENT %s,\n", s.q(c.Name), s.colType(c), null, s.quote(CommentText(c)))
	}
	fmt.Fprintf(b, "    PRIMARY KEY (%s)\n)\n", ir.ColEventID)
	fmt.Fprintf(b, "COMMENT = %s;\n", s.quote(tableComment(m)))
}

func (s snowflake) comment(b *strings.Builder, t *ir.Table, c *ir.Column) {
	fmt.Fprintf(b, "COMMENT ON COLUMN %s.%s IS %s;\n", s.q(t.Name), s.q(c.Name), s.quote(CommentText(c)))
}

func (s snowflake) addColumn(b *strings.Builder, t *ir.Table, c *ir.Column) {
	fmt.Fprintf(b, "ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s %s;\n", s.q(t.Name), s.q(c.Name), s.colType(c))
}

func (s snowflake) dropNotNull(b *strings.Builder, t *ir.Table, c *ir.Column) {
	fmt.Fprintf(b, "ALTER TABLE %s ALTER COLUMN %s DROP NOT NULL;\n", s.q(t.Name), s.q(c.Name))
}

func (s snowflake) alterType(b *strings.Builder, t *ir.Table, old, c *ir.Column) error {
	// Snowflake changes a column's type only within a type family (longer VARCHAR,
	// more precision): none of the widenings the IR makes.
	return fmt.Errorf("Snowflake cannot change %s to %s in place", s.colType(old), s.colType(c))
}

func (snowflake) nullInType() bool { return false }
