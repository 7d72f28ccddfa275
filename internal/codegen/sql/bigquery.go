package sql

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/accord-dev/accord/internal/codegen/ir"
)

// bigquery writes BigQuery DDL: STRUCT and ARRAY where BigQuery allows them (no
// array of arrays), JSON otherwise, partitioned by day of receipt with the
// contract's retention as partition expiration, clustered by event_id.
type bigquery struct {
	// nested holds the tables whose migration adds fields inside STRUCT columns,
	// which only a schema update can do.
	nested map[string]bool
}

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

// alterType changes INT64 to FLOAT64 with SET DATA TYPE, the only widening
// BigQuery's DDL can make (it coerces INT64 to NUMERIC, BIGNUMERIC and FLOAT64). DDL
// cannot add a field to a STRUCT, but the schema update API can ("Add a nested
// column to a RECORD column" in BigQuery's "Modifying table schemas"): when a
// STRUCT or ARRAY column only gains nullable fields, which BigQuery appends at the
// end of the record as the IR does, the table is marked for a schema file (see
// schemaUpdate).
func (bq *bigquery) alterType(b *strings.Builder, t *ir.Table, old, c *ir.Column) error {
	if old.Type == ir.Int64 && c.Type == ir.Float64 {
		fmt.Fprintf(b, "ALTER TABLE %s ALTER COLUMN %s SET DATA TYPE FLOAT64;\n", bq.q(t.Name), bq.q(c.Name))
		return nil
	}
	if old.Type == ir.Record || old.Type == ir.List {
		if bq.colType(withoutAdditions(old, c)) != bq.colType(old) {
			return fmt.Errorf("BigQuery can add fields to a STRUCT in place but not change the ones it has: %s becomes %s", old.TypeString(), c.TypeString())
		}
		fmt.Fprintf(b, "-- New fields in %s: %s. BigQuery DDL cannot add fields to a STRUCT; the schema file below adds them.\n", c.Name, describeAdded(c, addedFields(old, c)))
		if bq.nested == nil {
			bq.nested = map[string]bool{}
		}
		bq.nested[t.Name] = true
		return nil
	}
	return fmt.Errorf("BigQuery cannot change %s to %s in place", bq.colType(old), bq.colType(c))
}

// schemaUpdate ends the migration of table t when alterType marked it: the bq
// command that applies t's full schema, which is the returned file. It runs after
// the table's DDL statements, so that the file differs from the table only by the
// nested fields that DDL cannot add (bq update takes the whole schema, and refuses
// a type change that DDL has not made first).
func (bq *bigquery) schemaUpdate(b *strings.Builder, t *ir.Table) (string, []byte, error) {
	if !bq.nested[t.Name] {
		return "", nil, nil
	}
	name := "bigquery." + t.Name + ".schema.json"
	fields := make([]bqField, len(t.Columns))
	for i, c := range t.Columns {
		fields[i] = bq.schemaField(c, true)
	}
	var data bytes.Buffer
	enc := json.NewEncoder(&data)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(fields); err != nil {
		return "", nil, fmt.Errorf("encoding the BigQuery schema of %s: %w", t.Name, err)
	}
	fmt.Fprintf(b, "-- Then apply the table's full schema with the bq tool (DATASET: the dataset that holds it):\n--   bq update DATASET.%s %s\n", t.Name, name)
	return name, data.Bytes(), nil
}

// bqField is a column in BigQuery's JSON schema format (bq show --schema, bq
// update), with the types' names as bq show prints them.
type bqField struct {
	Name        string    `json:"name"`
	Type        string    `json:"type"`
	Mode        string    `json:"mode"`
	Description string    `json:"description,omitempty"`
	Fields      []bqField `json:"fields,omitempty"`
}

// bqSchemaTypes names the logical types in a bq schema file; JSON for the rest
// (maps, unions and, as in the DDL, arrays of arrays).
var bqSchemaTypes = map[ir.Logical]string{ir.String: "STRING", ir.Int64: "INTEGER", ir.Float64: "FLOAT", ir.Bool: "BOOLEAN",
	ir.Timestamp: "TIMESTAMP", ir.Date: "DATE", ir.Record: "RECORD", ir.JSON: "JSON", ir.List: "JSON"}

// schemaField is column c as the DDL declares it: REQUIRED for NOT NULL (top-level
// columns only; STRUCT fields are never NOT NULL), REPEATED for arrays, JSON for
// arrays of arrays.
func (bq *bigquery) schemaField(c *ir.Column, top bool) bqField {
	f := bqField{Name: c.Name, Mode: "NULLABLE", Description: CommentText(c)}
	if top && bq.notNull(c) {
		f.Mode = "REQUIRED"
	}
	t := c
	if c.Type == ir.List && c.Elem.Type != ir.List {
		f.Mode, t = "REPEATED", c.Elem
	}
	f.Type = bqSchemaTypes[t.Type]
	if t.Type == ir.Record {
		for _, sub := range t.Fields {
			f.Fields = append(f.Fields, bq.schemaField(sub, false))
		}
	}
	return f
}

func (bigquery) nullInType() bool { return false }
