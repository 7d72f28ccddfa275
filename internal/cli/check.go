package cli

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/accord-dev/accord/internal/contract"
	"github.com/accord-dev/accord/internal/contract/compat"
	"github.com/accord-dev/accord/internal/contract/report"
)

func newCheckCmd(e *env) *cobra.Command {
	var base, registry, format string
	cmd := &cobra.Command{
		Use:   "check --base <folder|git-ref>",
		Short: "Check contract changes against the registry's previous state (SchemaVer bumps, published versions)",
		Long: `Check compares the registry with its previous state, a folder or a git ref such as
origin/main or HEAD~1. A published version must never change. Each new version is
compared with its predecessor: every change is classified into the SchemaVer bump it
needs (ADDITION, REVISION, MODEL) and the compatibility it keeps (BACKWARD, FORWARD,
FULL, NONE). Check fails when a declared bump is too small or a version skips one.

Exit status: 0 when every change is allowed, 1 when one is not, 2 on usage errors.
See docs/check.md for the table of changes.`,
		Example: `  accord check --base origin/main --registry contracts --format github
  accord check --base ../registry-before --registry contracts`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if base == "" {
				return usagef("--base is required: a folder holding the previous registry, or a git ref such as origin/main")
			}
			if !slices.Contains(report.Formats, format) {
				return usagef("--format %q is not one of %s", format, strings.Join(report.Formats, ", "))
			}
			registry, err := defaultRegistry(registry, e.stderr)
			if err != nil {
				return err
			}
			head, err := contract.Load(registry)
			if err != nil {
				return usageError{err}
			}
			b, err := compat.LoadBase(cmd.Context(), base, registry)
			if err != nil {
				return usageError{err}
			}
			if b.Note != "" {
				fmt.Fprintln(e.stderr, "accord check:", b.Note)
			}
			findings := compat.Check(b.Set, head)
			if err := report.Write(e.stdout, format, "check", findings, compat.Summary(b.Set, head, b.Label)); err != nil {
				return fmt.Errorf("writing the report: %w", err)
			}
			if worst, ok := report.Worst(findings); ok && worst == report.Error {
				return exitError{ExitFindings}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&base, "base", "", "the registry's previous state: a folder, or a git ref (origin/main, HEAD~1)")
	cmd.Flags().StringVar(&registry, "registry", "", "registry folder in the Iglu layout <vendor>/<name>/jsonschema/<version> (default ./contracts, else the bundled example contracts)")
	cmd.Flags().StringVar(&format, "format", "text", "output format: "+strings.Join(report.Formats, ", "))
	return cmd
}
