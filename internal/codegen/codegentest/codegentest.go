// Package codegentest holds the helpers the code generators' tests share: loading
// a test registry into the IR and finding the external tools (go, tsc, mypy,
// python3) that check generated code.
package codegentest

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/accord-dev/accord/internal/codegen/ir"
	"github.com/accord-dev/accord/internal/contract"
)

// Load loads, compiles and builds the IR of the registry folder dir, failing the
// test on any problem.
func Load(t testing.TB, dir string) *ir.Registry {
	t.Helper()
	snap := Snapshot(t, dir)
	reg, err := ir.Build(snap)
	if err != nil {
		t.Fatalf("building the IR of %s: %v", dir, err)
	}
	return reg
}

// Snapshot loads and compiles the registry folder dir.
func Snapshot(t testing.TB, dir string) *contract.Snapshot {
	t.Helper()
	snap, err := contract.LoadSnapshot(dir)
	if err != nil {
		t.Fatalf("loading %s: %v", dir, err)
	}
	return snap
}

// Tool finds an external checker: the path in the environment variable env when
// set, else the first of names found on PATH. When none is found the test is
// skipped with a message, or fails when the CI environment variable is set: CI
// must run every check.
func Tool(t testing.TB, env string, names ...string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s=%s: %v", env, p, err)
		}
		return p
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	Missing(t, names[0]+" not found (set "+env+" or put it on PATH)")
	return ""
}

// Missing skips the test because a checker is missing, or fails it under CI.
func Missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("%s; CI must run this check", why)
	}
	t.Skipf("skipping: %s", why)
}

// Output runs cmd and returns its standard output, failing the test with the
// output and the standard error when it does not exit 0.
func Output(t testing.TB, cmd *exec.Cmd) []byte {
	t.Helper()
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("%s: %v\n%s%s", strings.Join(cmd.Args, " "), err, out, stderr)
	}
	return out
}
