package codegentest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/accord-dev/accord/internal/codegen"
)

// TSC finds the TypeScript compiler: $ACCORD_TSC, tsc on PATH, or where
// internal/codegen/typescript/testdata/install-tsc.sh puts it; else the test is
// skipped (failed under CI).
func TSC(t testing.TB) string {
	t.Helper()
	if os.Getenv("ACCORD_TSC") == "" {
		if _, err := exec.LookPath("tsc"); err != nil {
			if home, err := os.UserHomeDir(); err == nil {
				p := filepath.Join(home, ".cache", "accord-tools", "typescript-5.9.3", "node_modules", ".bin", "tsc")
				if _, err := os.Stat(p); err == nil {
					return p
				}
			}
		}
	}
	return Tool(t, "ACCORD_TSC", "tsc")
}

// TSConfig is the strict tsconfig.json the TypeScript SDK is checked with; %s
// is the list of its files, quoted.
const TSConfig = `{
  "compilerOptions": {
    "strict": true,
    "target": "ES2022",
    "lib": ["ES2022", "DOM"],
    "module": "commonjs",
    "outDir": "out",
    "skipLibCheck": false,
    "noEmitOnError": true
  },
  "files": [%s]
}
`

// Program is a program that uses a generated SDK, built and ready to run:
// Command returns the command that runs it with args.
type Program struct {
	Dir     string
	command func(ctx context.Context, args ...string) *exec.Cmd
}

// Command returns the command that runs the program with args.
func (p Program) Command(ctx context.Context, args ...string) *exec.Cmd {
	return p.command(ctx, args...)
}

// GoProgram builds main (package main) with the Go SDK files (generated with
// package name events) in a temporary module, example.com/sdkprogram, where the
// program imports them as example.com/sdkprogram/events.
func GoProgram(t testing.TB, sdk map[string][]byte, main string) Program {
	t.Helper()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		Missing(t, "the go command is not at "+goBin)
	}
	mod := t.TempDir()
	if err := codegen.Write(filepath.Join(mod, "events"), sdk); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, mod, map[string]string{"go.mod": "module example.com/sdkprogram\n\ngo 1.24\n", "main.go": main})
	bin := filepath.Join(mod, "sdkprogram")
	build := exec.Command(goBin, "build", "-o", bin, ".")
	build.Dir = mod
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return Program{Dir: mod, command: func(ctx context.Context, args ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Dir = mod
		return cmd
	}}
}

// NodeProgram compiles the script name (TypeScript source) with the TypeScript
// SDK files under TSConfig's strict checks and returns it, run with node.
func NodeProgram(t testing.TB, sdk map[string][]byte, name, source string) Program {
	t.Helper()
	tsc := TSC(t)
	node := Tool(t, "ACCORD_NODE", "node")
	dir := t.TempDir()
	if err := codegen.Write(dir, sdk); err != nil {
		t.Fatal(err)
	}
	files := []string{`"` + name + `"`}
	for p := range sdk {
		files = append(files, `"`+p+`"`)
	}
	writeFiles(t, dir, map[string]string{name: source, "tsconfig.json": strings.Replace(TSConfig, "%s", strings.Join(files, ", "), 1)})
	cmd := exec.Command(tsc, "-p", "tsconfig.json")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tsc: %v\n%s", err, out)
	}
	js := filepath.Join("out", strings.TrimSuffix(name, ".ts")+".js")
	return Program{Dir: dir, command: func(ctx context.Context, args ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, node, append([]string{js}, args...)...)
		cmd.Dir = dir
		return cmd
	}}
}

// PythonProgram writes the script name (Python source) beside the Python SDK
// files and returns it, run with python3; the script must pass mypy --strict.
func PythonProgram(t testing.TB, sdk map[string][]byte, name, source string) Program {
	t.Helper()
	py := Tool(t, "ACCORD_PYTHON", "python3")
	mypy := Tool(t, "ACCORD_MYPY", "mypy")
	dir := t.TempDir()
	if err := codegen.Write(dir, sdk); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{name: source})
	check := exec.Command(mypy, "--strict", name)
	check.Dir = dir
	check.Env = append(os.Environ(), "MYPY_CACHE_DIR="+filepath.Join(dir, ".mypy_cache"))
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("mypy --strict %s: %v\n%s", name, err, out)
	}
	return Program{Dir: dir, command: func(ctx context.Context, args ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, py, append([]string{name}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
		return cmd
	}}
}

func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
