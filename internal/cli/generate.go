package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/accord-dev/accord/internal/codegen"
	"github.com/accord-dev/accord/internal/codegen/ir"
	"github.com/accord-dev/accord/internal/codegen/sql"
	"github.com/accord-dev/accord/internal/contract"
)

func newGenerateCmd(e *env) *cobra.Command {
	var (
		registry, out, dialect, base, goPackage string
		staging                                 bool
	)
	targets := make([]string, len(codegen.Targets))
	for i, t := range codegen.Targets {
		targets[i] = string(t)
	}
	cmd := &cobra.Command{
		Use:   "generate <target> --out DIR",
		Short: "Generate SDKs, SQL DDL and migrations, dbt sources and exports from the contracts",
		Long: `Generate everything downstream of the contracts from one intermediate
representation, so that a reviewed contract change deploys at once.

Targets: ` + strings.Join(targets, ", ") + `

Every file says which contract versions produced it and holds no timestamp: the
same registry always gives the same bytes. See docs/codegen.md.`,
		Example: `  accord generate go --registry contracts --out sdk/events
  accord generate sql --dialect clickhouse --out ddl
  accord generate sql --dialect postgres --base deployed-contracts --out migrations
  accord generate all --out deploy`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			target, err := codegen.ParseTarget(args[0])
			if err != nil {
				return usageError{err}
			}
			if out == "" {
				return usagef("--out is required: the folder to write the generated files to")
			}
			opts := codegen.Options{GoPackage: goPackage, Staging: staging}
			if dialect != "" {
				d, err := sql.ParseDialect(dialect)
				if err != nil {
					return usageError{err}
				}
				opts.Dialect = d
			}
			reg, err := loadIR(registry)
			if err != nil {
				return err
			}
			if base != "" {
				if opts.Base, err = loadIR(base); err != nil {
					return fmt.Errorf("loading --base: %w", err)
				}
			}
			files, err := codegen.Generate(target, reg, opts)
			if err != nil {
				return err
			}
			if err := codegen.Write(out, files); err != nil {
				return err
			}
			_, err = fmt.Fprintf(e.stdout, "accord generate %s: wrote %d file(s) to %s\n", target, len(files), out)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&registry, "registry", "contracts", "registry folder in the Iglu layout")
	f.StringVar(&out, "out", "", "folder to write the generated files to (required)")
	f.StringVar(&dialect, "dialect", "", "SQL dialect for sql: "+joinDialects()+" (default postgres)")
	f.StringVar(&base, "base", "", "registry as deployed: sql writes a migration from it instead of CREATE TABLEs")
	f.StringVar(&goPackage, "go-package", "", "package name of the Go SDK (default events)")
	f.BoolVar(&staging, "staging", false, "dbt: also write staging model stubs stg_<vendor>__<name>.sql")
	return cmd
}

func loadIR(dir string) (*ir.Registry, error) {
	snap, err := contract.LoadSnapshot(dir)
	if err != nil {
		return nil, err
	}
	return ir.Build(snap)
}

func joinDialects() string {
	names := make([]string, len(sql.Dialects))
	for i, d := range sql.Dialects {
		names[i] = string(d)
	}
	return strings.Join(names, "|")
}
