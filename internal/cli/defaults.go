package cli

import (
	"fmt"
	"io"
	"os"
)

// defaultRegistry picks the registry folder when --registry is not given:
// ./contracts when it exists, else the bundled examples/contracts, saying so.
func defaultRegistry(flag string, stderr io.Writer) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if st, err := os.Stat("contracts"); err == nil && st.IsDir() {
		return "contracts", nil
	}
	if st, err := os.Stat("examples/contracts"); err == nil && st.IsDir() {
		fmt.Fprintln(stderr, "accord: no ./contracts folder; using the bundled examples/contracts (pass --registry DIR for yours)")
		return "examples/contracts", nil
	}
	return "", usagef("no registry: create ./contracts in the Iglu layout <vendor>/<name>/jsonschema/<version>, or pass --registry DIR")
}
