// Package examples carries the bundled example contracts (examples/contracts)
// inside the accord binary, so that `accord serve` runs its embedded default
// from any folder, not only from a checkout of the repository.
package examples

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Contracts is examples/contracts as it was when the binary was built, in the
// Iglu layout under "contracts".
//
//go:embed contracts
var Contracts embed.FS

// Unpack writes the bundled contracts into a folder named after their content
// under parent (created if needed) and returns the registry folder. A folder
// that an earlier Unpack of the same contracts left is reused; concurrent
// Unpacks of the same contracts are safe (each writes a temporary folder and
// renames it into place). The files are read-only: they are a copy of what the
// binary carries, and a registry of one's own belongs in ./contracts.
func Unpack(parent string) (string, error) {
	sum, err := digest()
	if err != nil {
		return "", err
	}
	final := filepath.Join(parent, "examples-"+sum)
	registry := filepath.Join(final, "contracts")
	if st, err := os.Stat(registry); err == nil && st.IsDir() {
		return registry, nil
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", fmt.Errorf("unpacking the bundled contracts: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, ".examples-*")
	if err != nil {
		return "", fmt.Errorf("unpacking the bundled contracts: %w", err)
	}
	defer os.RemoveAll(tmp) // nothing left once renamed
	if err := writeTree(tmp); err != nil {
		return "", fmt.Errorf("unpacking the bundled contracts into %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		// Another process put the same contracts in place first.
		if st, serr := os.Stat(registry); serr == nil && st.IsDir() {
			return registry, nil
		}
		return "", fmt.Errorf("unpacking the bundled contracts: %w", err)
	}
	return registry, nil
}

// writeTree writes Contracts under dir, files read-only.
func writeTree(dir string) error {
	return fs.WalkDir(Contracts, "contracts", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := Contracts.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o444)
	})
}

// digest names the contracts by their paths and contents (12 bytes of SHA-256,
// hex), so that a binary with other contracts unpacks into another folder.
func digest() (string, error) {
	h := sha256.New()
	n := 0
	err := fs.WalkDir(Contracts, "contracts", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := Contracts.ReadFile(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(b))
		h.Write(b)
		n++
		return nil
	})
	if err == nil && n == 0 {
		err = errors.New("the binary carries no contracts")
	}
	if err != nil {
		return "", fmt.Errorf("reading the bundled contracts: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)[:12]), nil
}
