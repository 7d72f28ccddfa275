// Package dbt generates dbt sources from the IR: sources.yml with one table per
// contract MODEL, column descriptions, data tests (unique and not_null on event_id,
// not_null on required columns, accepted_values on enums), config.meta with the
// owner, contract versions, PII kind and handling and retention, and freshness on
// received_at; optionally staging model stubs. It targets dbt 1.10.5 and later
// (data_tests with arguments, freshness and loaded_at_field under config).
package dbt

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/accord-dev/accord/internal/codegen/ir"
)

// SourceName is the dbt source the tables are declared under.
const SourceName = "accord"

// Options configures the dbt target.
type Options struct {
	// Staging adds a staging model stub per contract family.
	Staging bool
}

type sourcesFile struct {
	Version int      `yaml:"version"`
	Sources []source `yaml:"sources"`
}

type source struct {
	Name        string  `yaml:"name"`
	Description string  `yaml:"description"`
	Schema      string  `yaml:"schema"`
	Tables      []table `yaml:"tables"`
}

type table struct {
	Name        string      `yaml:"name"`
	Description string      `yaml:"description"`
	Config      tableConfig `yaml:"config"`
	Columns     []column    `yaml:"columns"`
}

type tableConfig struct {
	Meta          yaml.MapSlice `yaml:"meta"`
	LoadedAtField string        `yaml:"loaded_at_field"`
	Freshness     freshness     `yaml:"freshness"`
}

type freshness struct {
	WarnAfter  period `yaml:"warn_after"`
	ErrorAfter period `yaml:"error_after"`
}

type period struct {
	Count  int    `yaml:"count"`
	Period string `yaml:"period"`
}

type column struct {
	Name        string        `yaml:"name"`
	Description string        `yaml:"description"`
	DataTests   []any         `yaml:"data_tests,omitempty"`
	Config      *columnConfig `yaml:"config,omitempty"`
}

type columnConfig struct {
	Meta yaml.MapSlice `yaml:"meta"`
}

// Generate returns sources.yml and, with Staging, models/staging stubs.
func Generate(reg *ir.Registry, opts Options) (map[string][]byte, error) {
	src := source{
		Name:        SourceName,
		Description: "Events collected by Accord: one table per contract MODEL, validated and scrubbed.",
		Schema:      "{{ var('accord_schema', 'accord') }}",
	}
	for _, m := range reg.Models {
		src.Tables = append(src.Tables, tableOf(m))
	}
	body, err := yaml.MarshalWithOptions(sourcesFile{Version: 2, Sources: []source{src}}, yaml.Indent(2), yaml.IndentSequence(true))
	if err != nil {
		return nil, fmt.Errorf("encoding sources.yml: %w", err)
	}
	files := map[string][]byte{"sources.yml": append(header("#", reg.Sources()), body...)}
	if opts.Staging {
		latest := map[string]*ir.Model{}
		for _, m := range reg.Models {
			latest[m.Vendor+"/"+m.Name] = m // Models are sorted: the last MODEL wins
		}
		for _, m := range latest {
			name := "staging/stg_" + ir.Snake(ir.Words(m.Vendor), "vendor") + "__" + ir.Snake(ir.Words(m.Name), "event") + ".sql"
			files[name] = staging(m)
		}
	}
	return files, nil
}

func header(prefix string, sources []string) []byte {
	var b strings.Builder
	for _, l := range ir.Header("dbt", sources) {
		b.WriteString(strings.TrimRight(prefix+" "+l, " ") + "\n")
	}
	return []byte(b.String())
}

func tableOf(m *ir.Model) table {
	versions := make([]string, len(m.Versions))
	for i, k := range m.Versions {
		versions[i] = k.Version.String()
	}
	meta := yaml.MapSlice{
		{Key: "contract", Value: m.Vendor + "/" + m.Name},
		{Key: "model", Value: m.Number},
		{Key: "latest_schema", Value: m.URI()},
		{Key: "versions", Value: versions},
	}
	if o := m.Latest.Owner; o != nil {
		meta = append(meta, yaml.MapItem{Key: "owner", Value: o.Team})
		if o.Contact != "" {
			meta = append(meta, yaml.MapItem{Key: "owner_contact", Value: o.Contact})
		}
	}
	lc := m.Latest.Lifecycle
	meta = append(meta, yaml.MapItem{Key: "status", Value: string(lc.Status)})
	if lc.Retention != "" {
		meta = append(meta, yaml.MapItem{Key: "retention", Value: lc.Retention}, yaml.MapItem{Key: "retention_days", Value: lc.RetentionDays})
	}
	if lc.ReplacedBy != "" {
		meta = append(meta, yaml.MapItem{Key: "replaced_by", Value: lc.ReplacedBy})
	}
	var pii []string
	for _, c := range m.Table.Columns {
		if c.PII != nil {
			pii = append(pii, c.Name)
		}
	}
	if len(pii) > 0 {
		meta = append(meta, yaml.MapItem{Key: "pii_columns", Value: pii})
	}
	t := table{
		Name:        m.Table.Name,
		Description: oneLine(m.Latest.Description),
		Config: tableConfig{
			Meta:          meta,
			LoadedAtField: ir.ColReceivedAt,
			Freshness:     freshness{WarnAfter: period{24, "hour"}, ErrorAfter: period{48, "hour"}},
		},
	}
	for _, c := range m.Table.Columns {
		col := column{Name: c.Name, Description: oneLine(c.Description)}
		switch {
		case c.Name == ir.ColEventID && c.Envelope:
			col.DataTests = []any{"unique", "not_null"}
		case !c.Nullable:
			col.DataTests = []any{"not_null"}
		}
		if len(c.Enum) > 0 && (c.Type == ir.String || c.Type == ir.Int64 || c.Type == ir.Float64) {
			args := yaml.MapSlice{{Key: "values", Value: enumValues(c)}}
			if c.Type != ir.String {
				args = append(args, yaml.MapItem{Key: "quote", Value: false})
			}
			col.DataTests = append(col.DataTests, yaml.MapSlice{{Key: "accepted_values", Value: yaml.MapSlice{{Key: "arguments", Value: args}}}})
		}
		if c.PII != nil {
			col.Config = &columnConfig{Meta: yaml.MapSlice{
				{Key: "pii_kind", Value: string(c.PII.Kind)},
				{Key: "pii_handling", Value: string(c.PII.Handling)},
			}}
		}
		t.Columns = append(t.Columns, col)
	}
	return t
}

// enumValues are the accepted values: strings for string columns, numbers as
// written in the contract otherwise.
func enumValues(c *ir.Column) []any {
	out := make([]any, len(c.Enum))
	for i, v := range c.Enum {
		if c.Type == ir.String {
			out[i] = quoted(v)
		} else {
			out[i] = yamlNumber(v)
		}
	}
	return out
}

// quoted is a string always written double-quoted, so that YAML 1.1 readers such
// as dbt's PyYAML never take an enum value like "yes" or "1.0" for a bool or number.
type quoted string

// MarshalYAML writes the string as a JSON string, which is a YAML double-quoted scalar.
func (q quoted) MarshalYAML() ([]byte, error) { return json.Marshal(string(q)) }

// yamlNumber keeps a number's contract spelling in YAML.
type yamlNumber string

// MarshalYAML writes the number unquoted.
func (n yamlNumber) MarshalYAML() ([]byte, error) { return []byte(n), nil }

func staging(m *ir.Model) []byte {
	var b strings.Builder
	b.Write(header("--", ir.ModelSources(m)))
	fmt.Fprintf(&b, "\n-- Staging model for %s/%s MODEL %d: rename, cast and filter here.\n", m.Vendor, m.Name, m.Number)
	fmt.Fprintf(&b, "with source as (\n    select * from {{ source('%s', '%s') }}\n),\n\nrenamed as (\n    select\n", SourceName, m.Table.Name)
	for i, c := range m.Table.Columns {
		sep := ","
		if i == len(m.Table.Columns)-1 {
			sep = ""
		}
		name := c.Name
		if needsQuote(name) {
			name = "{{ adapter.quote('" + name + "') }}"
		}
		note := ""
		if c.PII != nil {
			note = " -- PII: " + string(c.PII.Kind) + ", " + string(c.PII.Handling)
		}
		fmt.Fprintf(&b, "        %s%s%s\n", name, sep, note)
	}
	b.WriteString("    from source\n)\n\nselect * from renamed\n")
	return []byte(b.String())
}

// needsQuote reports SQL keywords that a column may be named after.
func needsQuote(name string) bool {
	switch name {
	case "select", "from", "where", "default", "order", "group", "table", "user", "date", "limit", "to", "all", "and", "or", "not", "null", "true", "false", "case", "end", "when", "then", "else", "as", "by", "on", "in", "is", "with", "union", "join", "having", "distinct", "check", "column", "create", "primary", "references", "unique", "values", "window", "partition", "over", "range", "rows":
		return true
	}
	return false
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
