package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/accord-dev/accord/examples"
	"github.com/accord-dev/accord/internal/app"
)

// defaultRegistry picks the registry folder when --registry is not given:
// ./contracts when it exists, else the bundled examples, saying so: the
// repository's examples/contracts when run from a checkout, else the copy the
// binary carries, unpacked under the user's cache folder.
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
	// The user's cache folder, else (unset, or read-only as in some containers)
	// the temporary folder.
	var parents []string
	if cache, err := os.UserCacheDir(); err == nil {
		parents = append(parents, filepath.Join(cache, "accord"))
	}
	parents = append(parents, filepath.Join(os.TempDir(), "accord"))
	var dir string
	var errs []error
	for _, parent := range parents {
		d, err := examples.Unpack(parent)
		if err == nil {
			dir = d
			break
		}
		errs = append(errs, err)
	}
	if dir == "" {
		return "", usagef("no registry: create ./contracts in the Iglu layout <vendor>/<name>/jsonschema/<version>, or pass --registry DIR (the bundled example contracts could not be unpacked: %v)", errors.Join(errs...))
	}
	fmt.Fprintf(stderr, "accord: no ./contracts folder; using the bundled example contracts, unpacked to %s (copy them to ./contracts to start your own, or pass --registry DIR)\n", dir)
	return dir, nil
}

// loadConfig reads the config file (the defaults when path is "") with the
// ACCORD_* overrides, as every command that opens what accord serve opens does.
func loadConfig(path string) (app.Config, error) {
	cfg, err := app.Load(path)
	if err != nil {
		return cfg, usageError{err}
	}
	if err := cfg.ApplyEnv(os.Getenv); err != nil {
		return cfg, usageError{err}
	}
	return cfg, nil
}

// existingData checks that the data folder a command reads exists. Only
// accord serve creates one: read by another command, a folder that does not
// exist (a mistyped --data, a config of another machine) would pass for one
// with nothing in it.
func existingData(dir string) error {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return usagef("the data folder %s does not exist; pass --data (or --config) naming the folder accord serve keeps its data in", dir)
	case err != nil:
		return usageError{fmt.Errorf("opening the data folder: %w", err)}
	case !st.IsDir():
		return usagef("the data folder %s is not a folder; pass --data (or --config) naming the folder accord serve keeps its data in", dir)
	}
	return nil
}
