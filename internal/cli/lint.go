package cli

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/accord-dev/accord/internal/contract"
	"github.com/accord-dev/accord/internal/contract/lint"
	"github.com/accord-dev/accord/internal/contract/report"
)

func newLintCmd(e *env) *cobra.Command {
	var (
		registry, format, failOn string
		disable                  []string
		listRules                bool
	)
	cmd := &cobra.Command{
		Use:   "lint",
		Short: "Check every contract of a registry against Accord's rules",
		Long: `Lint loads and compiles every contract of a registry folder and checks it: versions
without gaps, owners, descriptions, personal data annotated and handled, retention,
closed objects, snake_case names. Every finding is reported at once, with its file,
line and column and what to do.

Silence a rule for a run with --disable, for a contract with
  x-lint: {disable: [rule-id], reason: "why"}
at its root, and for a field with x-lint-disable: [rule-id] on its schema.
The rules are listed by --rules and documented in docs/lint.md.

Exit status: 1 when a finding is an error (or a warning, with --fail-on warning),
2 when the command line is wrong, 0 otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if listRules {
				return lint.WriteRules(e.stdout)
			}
			if !slices.Contains(report.Formats, format) {
				return usagef("--format %q is not one of %s", format, strings.Join(report.Formats, ", "))
			}
			failSev, err := report.ParseSeverity(failOn)
			if err != nil || failSev == report.Info {
				return usagef("--fail-on %q is not one of error, warning", failOn)
			}
			opts := lint.Options{Disable: disable}
			if err := opts.Validate(); err != nil {
				return usageError{fmt.Errorf("--disable: %w", err)}
			}
			registry, err := defaultRegistry(registry, e.stderr)
			if err != nil {
				return err
			}
			set, err := contract.Load(registry)
			if err != nil {
				return usageError{err}
			}
			findings, err := lint.Run(set, opts)
			if err != nil {
				return usageError{err}
			}
			summary := fmt.Sprintf("accord lint: %d contracts in %s", len(set.Contracts), registry)
			if err := report.Write(e.stdout, format, "lint", findings, summary); err != nil {
				return fmt.Errorf("writing the report: %w", err)
			}
			if lint.Fails(findings, failSev) {
				return exitError{ExitFindings}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&registry, "registry", "", "registry folder in the Iglu layout <vendor>/<name>/jsonschema/<version> (default ./contracts, else the bundled example contracts)")
	f.StringVar(&format, "format", "text", "output format: "+strings.Join(report.Formats, ", "))
	f.StringSliceVar(&disable, "disable", nil, "rule ids to leave out of this run, comma-separated")
	f.StringVar(&failOn, "fail-on", "error", "lowest severity that makes lint exit 1: error or warning")
	f.BoolVar(&listRules, "rules", false, "list every rule with its severity and exit")
	return cmd
}
