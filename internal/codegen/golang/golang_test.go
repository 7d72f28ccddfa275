package golang_test

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/accord-dev/accord/internal/codegen"
	"github.com/accord-dev/accord/internal/codegen/codegentest"
	"github.com/accord-dev/accord/internal/codegen/golang"
	"github.com/accord-dev/accord/internal/codegen/ir"
)

var update = flag.Bool("update", false, "regenerate internal/acmeevents")

// TestCompiles writes the SDK of every golden case into a fresh module and runs go
// build and go vet on it, with a program that uses it.
func TestCompiles(t *testing.T) {
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		codegentest.Missing(t, "the go command is not at "+goBin)
	}
	cases, err := filepath.Glob("../testdata/*/contracts")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, dir := range cases {
		name := filepath.Base(filepath.Dir(dir))
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			reg := codegentest.Load(t, dir)
			files, err := golang.Generate(reg, golang.Options{Package: "sdk"})
			if err != nil {
				t.Fatal(err)
			}
			mod := t.TempDir()
			if err := codegen.Write(filepath.Join(mod, "sdk"), files); err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(mod, "go.mod"), "module example.com/check\n\ngo 1.24\n")
			write(t, filepath.Join(mod, "main.go"), usage(reg))
			for _, args := range [][]string{{"build", "./..."}, {"vet", "./..."}} {
				cmd := exec.Command(goBin, args...)
				cmd.Dir = mod
				cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local")
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
				}
			}
		})
	}
}

// usage is a program that refers to every event type and its Track method, so
// that the build checks the names the docs promise.
func usage(reg *ir.Registry) string {
	var b strings.Builder
	b.WriteString("package main\n\nimport (\n\t\"context\"\n\t\"fmt\"\n\n\t\"example.com/check/sdk\"\n)\n\nfunc main() {\n")
	b.WriteString("\tc, err := sdk.New(sdk.Config{Endpoint: \"http://127.0.0.1:1\"})\n\tif err != nil {\n\t\tpanic(err)\n\t}\n")
	b.WriteString("\tdefer c.Close(context.Background())\n")
	names := golang.TypeNames(reg)
	for _, m := range reg.Models {
		n := names[m]
		b.WriteString("\tfmt.Println(c.Track" + n + "(sdk." + n + "{}), sdk." + n + "{}.SchemaURI() == sdk." + n + "Schema)\n")
	}
	b.WriteString("\tfmt.Println(c.Stats())\n}\n")
	return b.String()
}

func write(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestAcmeEventsUpToDate checks that internal/acmeevents, the SDK of the example
// registry that the round-trip test imports, is what the generator writes today.
func TestAcmeEventsUpToDate(t *testing.T) {
	reg := codegentest.Load(t, "../testdata/examples/contracts")
	files, err := golang.Generate(reg, golang.Options{Package: "acmeevents"})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("internal", "acmeevents")
	if *update {
		old, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range old {
			if !strings.HasSuffix(f, "_test.go") {
				if err := os.Remove(f); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := codegen.Write(dir, files); err != nil {
			t.Fatal(err)
		}
		return
	}
	for _, p := range codegen.Files(files).Paths() {
		got, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			t.Fatalf("%v (run go test ./internal/codegen/golang -update)", err)
		}
		if !bytes.Equal(got, files[p]) {
			t.Errorf("%s is stale (-committed +generated); run go test ./internal/codegen/golang -update:\n%s", p, cmp.Diff(string(got), string(files[p])))
		}
	}
}
