package sql

import (
	"fmt"
	"strings"

	"github.com/accord-dev/accord/internal/codegen/ir"
)

// bigquery writes BigQuery DDL: STRUCT and ARRAY where BigQuery allows them (no
// array of arrays), JSON otherwise, partitioned by day of receipt with the
// contract's retention as partition expiration, clustered by event_id.
type bigquery struct{}

func (bigquery) q(name string) string { return ident(name, '`') }

func (bq bigquery) colType(c *ir.Column) string {
	switch c.Type {
	case ir.String:
		return "STRING"
	case ir.Int64:
		return "INT64"
	case ir.Float64:
		return "FLOAT64"
	case ir.Bool:
		return "BOOL"
	case ir.Timestamp:
		return "TIMESTAMP"
	case ir.Date:
		return "DATE"
	case ir.Record:
		parts := make([]string, len(c.Fields))
		for i, f := range c.Fields {
			parts[i] = bq.q(f.Name) + " " + bq.colType(f)
			if d := CommentText(f); d != "" {
				parts[i] += " OPTIONS(description=" + quoteBackslash(d) + ")"
			}
		}
		return "STRUCT<" + strings.Join(parts, ", ") + ">"
	case ir.List:
		if c.Elem.Type == ir.List {
			return "JSON" // BigQuery has no array of arrays
		}
		return "ARRAY<" + bq.colType(c.Elem) + ">"
	}
	return "JSON"
}

// notNull reports whether c is declared NOT NULL: arrays are REPEATED in BigQuery
// and never are.
func (bq bigquery) notNull(c *ir.Column) bool {
	return !c.Nullable && !strings.HasPrefix(bq.colType(c), "ARRAY<")
}

func (bq bigquery) create(b *strings.Builder, m *ir.Model) {
	t := m.Table
	fmt.Fprintf(b, "CREATE TABLE IF NOT EXISTS %s (\n", bq.q(t.Name))
	for _, c := range t.Columns {
		null := ""
		if bq.notNull(c) {
			null = " NOT NULL"
		}
		fmt.Fprintf(b, "    %s %s%s OPTIONS(description=%s),\n", bq.q(c.Name), bq.colType(c), null, quoteBackslash(CommentText(c)))
	}
	fmt.Fprintf(b, "    PRIMARY KEY (%s) NOT ENFORCED\n)\n", ir.ColEventID)
	fmt.Fprintf(b, "PARTITION BY DATE(%s)\nCLUSTER BY %s\n", ir.ColReceivedAt, ir.ColEventID)
	opts := "description=" + quoteBackslash(tableComment(m))
	if days := retentionDays(m); days > 0 {
		opts += fmt.Sprintf(", partition_expiration_days=%d", days)
	}
	fmt.Fprintf(b, "OPTIONS(%s);\n", opts)
}

func (bq bigquery) comment(b *strings.Builder, t *ir.Table, c *ir.Column) {
	fmt.Fprintf(b, "ALTER TABLE %s ALTER COLUMN %s SET OPTIONS(description=%s);\n", bq.q(t.Name), bq.q(c.Name), quoteBackslash(CommentText(c)))
}

func (bq bigquery) addColumn(b *strings.Builder, t *ir.Table, c *ir.Column) {
	fmt.Fprintf(b, "ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s %s;\n", bq.q(t.Name), bq.q(c.Name), bq.colType(c))
}

func (bq bigquery) dropNotNull(b *strings.Builder, t *ir.Table, c *ir.Column) {
	if strings.HasPrefix(bq.colType(c), "ARRAY<") {
		return
	}
	fmt.Fprintf(b, "ALTER TABLE %s ALTER COLUMN %s DROP NOT NULL;\n", bq.q(t.Name), bq.q(c.Name))
}

func (bq bigquery) alterType(b *strings.Builder, t *ir.Table, old, c *ir.Column) error {
	// BigQuery's SET DATA TYPE only coerces INT64 to NUMERIC, BIGNUMERIC and FLOAT64.
	if old.Type == ir.Int64 && c.Type == ir.Float64 {
		fmt.Fprintf(b, "ALTER TABLE %s ALTER COLUMN %s SET DATA TYPE FLOAT64;\n", bq.q(t.Name), bq.q(c.Name))
		return nil
	}
	if old.Type == ir.Record || old.Type == ir.List {
		return fmt.Errorf("BigQuery DDL cannot change a STRUCT or ARRAY column and %s; add nested fields with `bq update` and a schema file, or publish a new MODEL", nestedChange(old, c))
	}
	return fmt.Errorf("BigQuery cannot change %s to %s in place", bq.colType(old), bq.colType(c))
}

func (bigquery) nullInType() bool { return false }
