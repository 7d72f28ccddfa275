package sql

import (
	"fmt"
	"strings"

	"github.com/accord-dev/accord/internal/codegen/ir"
)

// clickhouse writes ClickHouse DDL: a ReplacingMergeTree deduplicating on
// event_id, partitioned by month of receipt, with a TTL from the contract's
// retention; named Tuples for records, Arrays for lists, JSON for the rest, and
// LowCardinality strings for enums.
type clickhouse struct{}

func (clickhouse) q(name string) string { return ident(name, '`') }

// base is the column's type without Nullable.
func (ch clickhouse) base(c *ir.Column) string {
	switch c.Type {
	case ir.String:
		return "String"
	case ir.Int64:
		return "Int64"
	case ir.Float64:
		return "Float64"
	case ir.Bool:
		return "Bool"
	case ir.Timestamp:
		return "DateTime64(6, 'UTC')"
	case ir.Date:
		return "Date32"
	case ir.Record:
		parts := make([]string, len(c.Fields))
		for i, f := range c.Fields {
			parts[i] = ch.q(f.Name) + " " + ch.colType(f)
		}
		return "Tuple(" + strings.Join(parts, ", ") + ")"
	case ir.List:
		return "Array(" + ch.colType(c.Elem) + ")"
	}
	return "JSON"
}

// colType wraps scalars in Nullable when the column is nullable: ClickHouse has no
// Nullable Tuple, Array or JSON, whose empty value stands for absent.
func (ch clickhouse) colType(c *ir.Column) string {
	t := ch.base(c)
	scalar := c.Type != ir.Record && c.Type != ir.List && c.Type != ir.JSON
	if c.Nullable && scalar {
		t = "Nullable(" + t + ")"
	}
	if len(c.Enum) > 0 && c.Type == ir.String {
		t = "LowCardinality(" + t + ")"
	}
	return t
}

func (ch clickhouse) create(b *strings.Builder, m *ir.Model) {
	t := m.Table
	fmt.Fprintf(b, "CREATE TABLE IF NOT EXISTS %s\n(\n", ch.q(t.Name))
	for i, c := range t.Columns {
		sep := ","
		if i == len(t.Columns)-1 {
			sep = ""
		}
		fmt.Fprintf(b, "    %s %s COMMENT %s%s\n", ch.q(c.Name), ch.colType(c), quoteBackslash(CommentText(c)), sep)
	}
	b.WriteString(")\nENGINE = ReplacingMergeTree(" + ir.ColReceivedAt + ")\n")
	b.WriteString("PARTITION BY toYYYYMM(" + ir.ColReceivedAt + ")\n")
	b.WriteString("ORDER BY " + ir.ColEventID + "\n")
	if days := retentionDays(m); days > 0 {
		fmt.Fprintf(b, "TTL toDateTime(%s) + INTERVAL %d DAY\n", ir.ColReceivedAt, days)
	}
	fmt.Fprintf(b, "COMMENT %s;\n", quoteBackslash(tableComment(m)))
}

func (ch clickhouse) comment(b *strings.Builder, t *ir.Table, c *ir.Column) {
	fmt.Fprintf(b, "ALTER TABLE %s COMMENT COLUMN %s %s;\n", ch.q(t.Name), ch.q(c.Name), quoteBackslash(CommentText(c)))
}

func (ch clickhouse) addColumn(b *strings.Builder, t *ir.Table, c *ir.Column) {
	nc := *c
	nc.Nullable = true
	fmt.Fprintf(b, "ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s %s;\n", ch.q(t.Name), ch.q(c.Name), ch.colType(&nc))
}

func (clickhouse) nullInType() bool { return true }

func (ch clickhouse) dropNotNull(b *strings.Builder, t *ir.Table, c *ir.Column) {
	if c.Type == ir.Record || c.Type == ir.List || c.Type == ir.JSON {
		return // never Nullable in ClickHouse: nothing to change
	}
	fmt.Fprintf(b, "ALTER TABLE %s MODIFY COLUMN %s %s;\n", ch.q(t.Name), ch.q(c.Name), ch.colType(c))
}

// alterType gives the column its new type with MODIFY COLUMN, which converts the
// stored values with CAST. For a Tuple (or an Array of Tuples) that gained
// elements, the full new type is given: ClickHouse converts named Tuples element by
// element name, so existing rows get each new element's default (NULL for the
// Nullable scalars, empty for Tuples and Arrays).
func (ch clickhouse) alterType(b *strings.Builder, t *ir.Table, old, c *ir.Column) error {
	fmt.Fprintf(b, "ALTER TABLE %s MODIFY COLUMN %s %s;\n", ch.q(t.Name), ch.q(c.Name), ch.colType(c))
	return nil
}
