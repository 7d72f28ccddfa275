// Package cli turns command lines into calls of Accord's packages. It holds flags and
// wiring only; the logic lives in the domain packages.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes of the accord binary.
const (
	ExitOK       = 0
	ExitFindings = 1 // the command ran and found problems (lint errors, invalid events, ...)
	ExitUsage    = 2 // the command line or a config file is wrong
)

// exitError carries an exit code out of a command; its message, if any, has been
// printed already.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// usageError marks an error in the command line or a config file.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// env is what every command gets: its streams.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// commands lists every subcommand, in the order help shows them. This is the one
// place where commands are registered.
func commands(e *env) []*cobra.Command {
	return []*cobra.Command{
		newCheckCmd(e),
		newServeCmd(e),
		newGenerateCmd(e),
		newVaultCmd(e),
		newBadCmd(e),
		newVersionCmd(e),
		newLintCmd(e),
		newValidateCmd(e),
		newRegistryCmd(e),
	}
}

// Run executes the accord command line args and returns the process exit code.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "accord",
		Short: "Event contracts, collection, privacy and delivery in one binary",
		Long: `Accord puts a contract in front of every event: a JSON Schema with its owner,
version, field documentation, privacy context and lifecycle. From the contracts it
lints and checks changes in CI, serves a registry, validates events at collection
time, scrubs personal data, forgets people on request and delivers to your lake.

Contracts live in a registry folder in the Iglu layout:
  <registry>/<vendor>/<name>/jsonschema/<MODEL-REVISION-ADDITION>[.yaml|.yml|.json]`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w (see accord %s --help)", err, c.Name())}
	})
	root.AddCommand(commands(e)...)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ex exitError
	if errors.As(err, &ex) {
		return ex.code
	}
	fmt.Fprintln(stderr, "accord:", err)
	var ue usageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		return ExitUsage
	}
	return ExitFindings
}

// isCobraUsage recognises cobra's own argument errors, which it does not type.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires at least", "requires at most", "flag needs an argument", "invalid argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
