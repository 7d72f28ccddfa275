package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/spf13/cobra"

	"github.com/accord-dev/accord/internal/contract"
	"github.com/accord-dev/accord/internal/registry"
)

func newValidateCmd(e *env) *cobra.Command {
	var registryDir, format, validator string
	cmd := &cobra.Command{
		Use:   "validate [--registry DIR] <iglu-uri|-> <file|->",
		Short: "Validate events against their contract, offline",
		Long: `Validate checks events against a contract of the registry, without a server and
without storing anything.

The file (or - for stdin) holds one JSON document, which may span many lines, or
NDJSON: one document per line. With an Iglu URI, each document is the data of one
event of that contract. With - instead of the URI, each document is a
self-describing event {"schema": "iglu:...", "data": {...}} and is checked against
the contract it names (its "contexts", if any, too).

Every failure is printed with its line (for NDJSON), the JSON pointer of the
failing value, the JSON Schema keyword and a plain message; values of the events
are never printed.

The fast validator (contracts compiled to byte-level programs) decides by
default; --validator reference validates with santhosh-tekuri/jsonschema alone,
to compare. The verdicts and failures are the same.

Exit status: 0 when every event is valid, 1 when any is invalid, 2 when the
command line is wrong (unknown contract, unreadable file, broken registry).`,
		Example: `  accord validate --registry contracts iglu:com.acme/signup/jsonschema/1-0-0 event.json
  accord validate iglu:com.acme/signup/jsonschema/1-0-0 events.ndjson --format json
  cat events.ndjson | accord validate - -`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return usagef("--format %q is not one of text, json", format)
			}
			if _, err := registry.ParseValidator(validator); err != nil {
				return usageError{err}
			}
			uri, file := args[0], args[1]
			var key contract.Key
			if uri != "-" {
				k, err := contract.ParseURI(uri)
				if err != nil {
					return usageError{err}
				}
				key = k
			}
			dir, err := defaultRegistry(registryDir, e.stderr)
			if err != nil {
				return err
			}
			snap, err := contract.LoadSnapshot(dir)
			if err != nil {
				return usageError{err}
			}
			var c *contract.Compiled
			if uri != "-" {
				var ok bool
				if c, ok = snap.Get(key); !ok {
					return usageError{fmt.Errorf("%s (registry %s)", registry.NotFoundMessage(snap, key), dir)}
				}
			}
			input, name, err := readEvents(e, file)
			if err != nil {
				return usageError{err}
			}
			check, err := registry.NewChecker(snap, validator)
			if err != nil {
				return usageError{err}
			}
			results := check.Input(c, input)
			invalid := 0
			for _, r := range results {
				if !r.Valid {
					invalid++
				}
			}
			if format == "json" {
				err = writeValidateJSON(e.stdout, uri, results, invalid)
			} else {
				err = writeValidateText(e.stdout, name, uri, results, invalid)
			}
			if err != nil {
				return err
			}
			if invalid > 0 {
				return exitError{ExitFindings}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&registryDir, "registry", "", "registry folder in the Iglu layout <vendor>/<name>/jsonschema/<version> (default ./contracts, else the bundled example contracts)")
	f.StringVar(&format, "format", "text", "output format: text or json")
	f.StringVar(&validator, "validator", registry.ValidatorFast, "validation engine: fast (compiled programs) or reference (santhosh-tekuri/jsonschema)")
	return cmd
}

// readEvents reads the file argument, - being stdin, and names it for messages.
func readEvents(e *env, file string) ([]byte, string, error) {
	if file == "-" {
		b, err := io.ReadAll(e.stdin)
		if err != nil {
			return nil, "", fmt.Errorf("reading stdin: %w", err)
		}
		return b, "stdin", nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, "", fmt.Errorf("reading events: %w", err)
	}
	return b, file, nil
}

func writeValidateText(w io.Writer, name, uri string, results []registry.Result, invalid int) error {
	var warnings []string
	for _, r := range results {
		at := name
		if r.Line > 0 {
			at = fmt.Sprintf("%s:%d", name, r.Line)
		}
		printResult(w, at, r)
		for _, wr := range r.Warnings {
			if !slices.Contains(warnings, wr) {
				warnings = append(warnings, wr)
			}
		}
	}
	for _, wr := range warnings {
		fmt.Fprintf(w, "warning: %s\n", wr)
	}
	against := ""
	if uri != "-" {
		against = " against " + uri
	}
	_, err := fmt.Fprintf(w, "%d %s%s: %d valid, %d invalid\n", len(results), eventsWord(len(results)), against, len(results)-invalid, invalid)
	return err
}

// printResult prints one line per failure of an invalid result, prefixed by at.
func printResult(w io.Writer, at string, r registry.Result) {
	if r.Valid {
		return
	}
	if r.Message != "" && r.Reason != registry.ReasonContextViolation {
		fmt.Fprintf(w, "%s: %s: %s\n", at, r.Reason, r.Message)
	}
	for _, f := range r.Failures {
		fmt.Fprintf(w, "%s: %s\n", at, f)
	}
	for i, c := range r.Contexts {
		printResult(w, fmt.Sprintf("%s: context %d (%s)", at, i, schemaOrNone(c.Schema)), c)
	}
}

func schemaOrNone(s string) string {
	if s == "" {
		return "no schema"
	}
	return s
}

func writeValidateJSON(w io.Writer, uri string, results []registry.Result, invalid int) error {
	out := struct {
		Schema  string            `json:"schema,omitempty"`
		Events  int               `json:"events"`
		Valid   int               `json:"valid"`
		Invalid int               `json:"invalid"`
		Results []registry.Result `json:"results"`
	}{Events: len(results), Valid: len(results) - invalid, Invalid: invalid, Results: results}
	if uri != "-" {
		out.Schema = uri
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func eventsWord(n int) string {
	if n == 1 {
		return "event"
	}
	return "events"
}
