// Package codegen deploys a contract registry: from one IR (package ir) it
// generates typed SDKs (Go, TypeScript, Python), table DDL and migrations per SQL
// dialect, dbt sources and JSON Schema / ODCS exports. Output is deterministic:
// the same registry gives the same bytes, and every file says which contract
// versions produced it.
package codegen

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/accord-dev/accord/internal/codegen/dbt"
	"github.com/accord-dev/accord/internal/codegen/export"
	"github.com/accord-dev/accord/internal/codegen/golang"
	"github.com/accord-dev/accord/internal/codegen/ir"
	"github.com/accord-dev/accord/internal/codegen/python"
	"github.com/accord-dev/accord/internal/codegen/sql"
	"github.com/accord-dev/accord/internal/codegen/typescript"
)

// Target is what to generate.
type Target string

// Targets of accord generate.
const (
	TargetGo         Target = "go"
	TargetTypeScript Target = "typescript"
	TargetPython     Target = "python"
	TargetSQL        Target = "sql"
	TargetDBT        Target = "dbt"
	TargetJSONSchema Target = "jsonschema"
	TargetODCS       Target = "odcs"
	// TargetAll generates every target, each in its own folder (sql in every dialect).
	TargetAll Target = "all"
)

// Targets lists the targets in the order help shows them.
var Targets = []Target{TargetGo, TargetTypeScript, TargetPython, TargetSQL, TargetDBT, TargetJSONSchema, TargetODCS, TargetAll}

// ParseTarget checks a target name.
func ParseTarget(s string) (Target, error) {
	for _, t := range Targets {
		if string(t) == s {
			return t, nil
		}
	}
	names := make([]string, len(Targets))
	for i, t := range Targets {
		names[i] = string(t)
	}
	return "", fmt.Errorf("unknown target %q: use one of %s", s, strings.Join(names, ", "))
}

// Options tune the targets; each field applies to the targets it names.
type Options struct {
	// GoPackage is the Go SDK's package name (go; default "events").
	GoPackage string
	// Dialect is the SQL dialect (sql; default postgres).
	Dialect sql.Dialect
	// Base is the registry as deployed (sql): when set, sql writes a migration
	// from Base instead of the full DDL.
	Base *ir.Registry
	// Staging adds staging model stubs to the dbt sources (dbt).
	Staging bool
}

// Files maps slash-separated relative paths to contents.
type Files map[string][]byte

// Generate runs one target over the registry.
func Generate(target Target, reg *ir.Registry, opts Options) (Files, error) {
	switch target {
	case TargetGo:
		return golang.Generate(reg, golang.Options{Package: opts.GoPackage})
	case TargetTypeScript:
		return typescript.Generate(reg)
	case TargetPython:
		return python.Generate(reg)
	case TargetSQL:
		d := opts.Dialect
		if d == "" {
			d = sql.Postgres
		}
		if opts.Base != nil {
			return sql.Migrate(opts.Base, reg, d)
		}
		out, err := sql.Create(reg, d)
		if err != nil {
			return nil, err
		}
		return Files{string(d) + ".sql": out}, nil
	case TargetDBT:
		return dbt.Generate(reg, dbt.Options{Staging: opts.Staging})
	case TargetJSONSchema:
		return export.JSONSchema(reg)
	case TargetODCS:
		return export.ODCS(reg, func(c *ir.Column) string {
			t, err := sql.PhysicalType(sql.Postgres, c)
			if err != nil {
				return ""
			}
			return t
		})
	case TargetAll:
		all := Files{}
		for _, t := range Targets {
			if t == TargetAll {
				continue
			}
			if t == TargetSQL {
				for _, d := range sql.Dialects {
					o := opts
					o.Dialect = d
					files, err := Generate(t, reg, o)
					if err != nil {
						return nil, fmt.Errorf("generating sql for %s: %w", d, err)
					}
					all.add(string(t), files)
				}
				continue
			}
			files, err := Generate(t, reg, opts)
			if err != nil {
				return nil, fmt.Errorf("generating %s: %w", t, err)
			}
			all.add(string(t), files)
		}
		return all, nil
	}
	_, err := ParseTarget(string(target))
	return nil, err
}

func (f Files) add(dir string, files Files) {
	for p, data := range files {
		f[path.Join(dir, p)] = data
	}
}

// Paths returns the file paths, sorted.
func (f Files) Paths() []string {
	out := make([]string, 0, len(f))
	for p := range f {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Write writes the files under dir, creating folders as needed. Files already
// there that are not generated are left alone.
func Write(dir string, files Files) error {
	for _, p := range files.Paths() {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return fmt.Errorf("writing generated files: %w", err)
		}
		if err := os.WriteFile(full, files[p], 0o644); err != nil {
			return fmt.Errorf("writing generated files: %w", err)
		}
	}
	return nil
}
