// Package sql generates table DDL and migrations from the IR, for PostgreSQL,
// ClickHouse, BigQuery, Snowflake and DuckDB: one table per contract MODEL, typed
// columns from the stored shape, the envelope columns first, comments from the
// contract's descriptions and privacy annotations.
package sql

import (
	"fmt"
	"slices"
	"strings"

	"github.com/accord-dev/accord/internal/codegen/ir"
)

// Dialect is a SQL dialect.
type Dialect string

// The dialects Accord writes DDL for.
const (
	Postgres   Dialect = "postgres"
	ClickHouse Dialect = "clickhouse"
	BigQuery   Dialect = "bigquery"
	Snowflake  Dialect = "snowflake"
	DuckDB     Dialect = "duckdb"
)

// Dialects lists every dialect, sorted.
var Dialects = []Dialect{BigQuery, ClickHouse, DuckDB, Postgres, Snowflake}

// ParseDialect checks a dialect name.
func ParseDialect(s string) (Dialect, error) {
	d := Dialect(strings.ToLower(s))
	if slices.Contains(Dialects, d) {
		return d, nil
	}
	names := make([]string, len(Dialects))
	for i, d := range Dialects {
		names[i] = string(d)
	}
	return "", fmt.Errorf("unknown SQL dialect %q: use one of %s", s, strings.Join(names, ", "))
}

// Create returns the DDL that creates every table of the registry.
func Create(reg *ir.Registry, d Dialect) ([]byte, error) {
	w, err := writerFor(d)
	if err != nil {
		return nil, err
	}
	if err := checkNames(reg, d); err != nil {
		return nil, err
	}
	var b strings.Builder
	header(&b, "sql --dialect "+string(d), reg.Sources())
	for _, m := range reg.Models {
		b.WriteString("\n")
		w.create(&b, m)
	}
	return []byte(b.String()), nil
}

// PhysicalType is the column's type in dialect d, as the DDL declares it
// (nullability aside), for exports and catalogs that show physical types.
func PhysicalType(d Dialect, c *ir.Column) (string, error) {
	w, err := writerFor(d)
	if err != nil {
		return "", err
	}
	return w.colType(c), nil
}

// header writes the generated-file header as SQL comments.
func header(b *strings.Builder, target string, sources []string) {
	for _, l := range ir.Header(target, sources) {
		if l == "" {
			b.WriteString("--\n")
			continue
		}
		b.WriteString("-- " + l + "\n")
	}
}

// writer is one dialect's DDL.
type writer interface {
	// create writes the CREATE TABLE statement (and comments) of a model's table.
	create(b *strings.Builder, m *ir.Model)
	// colType is the column's physical type, nullability aside.
	colType(c *ir.Column) string
	// addColumn writes an ALTER TABLE that adds column c (nullable) to table t.
	addColumn(b *strings.Builder, t *ir.Table, c *ir.Column)
	// dropNotNull writes an ALTER TABLE that makes c nullable.
	dropNotNull(b *strings.Builder, t *ir.Table, c *ir.Column)
	// alterType writes an ALTER TABLE that changes c from old's type to its own, or
	// returns an error saying why the dialect cannot do it in place.
	alterType(b *strings.Builder, t *ir.Table, old, c *ir.Column) error
	// comment writes the statement that sets c's comment.
	comment(b *strings.Builder, t *ir.Table, c *ir.Column)
	// nullInType reports whether nullability is part of the column type (as
	// ClickHouse's Nullable), so that alterType also makes a column nullable.
	nullInType() bool
}

// schemaUpdater is a writer whose dialect makes some changes through a schema
// file rather than DDL (BigQuery's nested fields).
type schemaUpdater interface {
	// schemaUpdate is called after the statements that alter table t: when they
	// left changes to a schema file, it writes how to apply it and returns the
	// file's name and contents; else it returns "".
	schemaUpdate(b *strings.Builder, t *ir.Table) (name string, data []byte, err error)
}

func writerFor(d Dialect) (writer, error) {
	switch d {
	case Postgres:
		return postgres{}, nil
	case DuckDB:
		return duckdb{}, nil
	case ClickHouse:
		return clickhouse{}, nil
	case BigQuery:
		return &bigquery{}, nil
	case Snowflake:
		return snowflake{}, nil
	}
	_, err := ParseDialect(string(d))
	return nil, err
}

// maxIdent is the longest identifier a dialect keeps whole (PostgreSQL truncates
// longer ones silently, which could make two tables one).
var maxIdent = map[Dialect]int{Postgres: 63, DuckDB: 0, ClickHouse: 0, BigQuery: 300, Snowflake: 255}

func checkNames(reg *ir.Registry, d Dialect) error {
	limit := maxIdent[d]
	if limit == 0 {
		return nil
	}
	var errs []string
	for _, m := range reg.Models {
		if len(m.Table.Name) > limit {
			errs = append(errs, fmt.Sprintf("table name %s (from %s) is %d bytes, longer than %s's %d: shorten the contract's vendor or name", m.Table.Name, m.Key(), len(m.Table.Name), d, limit))
		}
		var visit func(cols []*ir.Column)
		visit = func(cols []*ir.Column) {
			for _, c := range cols {
				if len(c.Name) > limit {
					errs = append(errs, fmt.Sprintf("column %s.%s (from %s) is %d bytes, longer than %s's %d: shorten the property name", m.Table.Name, c.Name, m.Key(), len(c.Name), d, limit))
				}
				visit(c.Fields)
				if c.Elem != nil {
					visit(c.Elem.Fields)
				}
			}
		}
		visit(m.Table.Columns)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return nil
}

// CommentText is a column's comment: its description and, for personal data, the
// kind and how it was handled before storage.
func CommentText(c *ir.Column) string {
	text := oneLine(c.Description)
	if c.PII != nil {
		if text != "" {
			text += " "
		}
		text += "PII: " + string(c.PII.Kind) + ", " + string(c.PII.Handling) + "."
	}
	return text
}

// tableComment is a table's comment: the contract's description and versions.
func tableComment(m *ir.Model) string {
	text := oneLine(m.Latest.Description)
	if text != "" {
		text += " "
	}
	text += "Contract " + m.Vendor + "/" + m.Name + " versions " + m.VersionList() + "."
	if m.Latest.Owner != nil {
		text += " Owner: " + m.Latest.Owner.Team + "."
	}
	if m.Latest.Lifecycle.Retention != "" {
		text += " Retention: " + m.Latest.Lifecycle.Retention + "."
	}
	return text
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// retentionDays is the model's retention in days, 0 when unset.
func retentionDays(m *ir.Model) int { return m.Latest.Lifecycle.RetentionDays }

// quoteStd quotes a string literal the SQL standard way (” for ').
func quoteStd(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// quoteBackslash quotes a string literal for dialects where backslash escapes.
func quoteBackslash(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return "'" + strings.ReplaceAll(s, "'", `\'`) + "'"
}

// ident quotes name with q when it is a reserved word in some dialect; generated
// names are otherwise plain [a-z_][a-z0-9_]* identifiers.
func ident(name string, q byte) string {
	if reservedWords[name] {
		return string(q) + name + string(q)
	}
	return name
}

// Refusal is a change that a migration cannot make in place.
type Refusal struct {
	Table, Column string
	Reason        string
}

func (r Refusal) Error() string {
	if r.Column == "" {
		return r.Table + ": " + r.Reason
	}
	return r.Table + "." + r.Column + ": " + r.Reason
}
