package python_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/accord-dev/accord/internal/codegen"
	"github.com/accord-dev/accord/internal/codegen/codegentest"
	"github.com/accord-dev/accord/internal/codegen/python"
)

// module writes the SDK of the registry dir and the given testdata files into a
// fresh folder.
func module(t *testing.T, dir string, extra ...string) string {
	t.Helper()
	files, err := python.Generate(codegentest.Load(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := codegen.Write(out, files); err != nil {
		t.Fatal(err)
	}
	for _, e := range extra {
		data, err := os.ReadFile(filepath.Join("testdata", e))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, e), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func run(dir, bin string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1", "MYPY_CACHE_DIR="+filepath.Join(dir, ".mypy_cache"))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestCompiles byte-compiles the SDK of every golden case and type-checks it with
// mypy --strict.
func TestCompiles(t *testing.T) {
	py := codegentest.Tool(t, "ACCORD_PYTHON", "python3")
	cases, err := filepath.Glob("../testdata/*/contracts")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, dir := range cases {
		t.Run(filepath.Base(filepath.Dir(dir)), func(t *testing.T) {
			m := module(t, dir)
			if out, err := run(m, py, "-m", "py_compile", python.FileName); err != nil {
				t.Fatalf("py_compile: %v\n%s", err, out)
			}
			mypy := codegentest.Tool(t, "ACCORD_MYPY", "mypy")
			if out, err := run(m, mypy, "--strict", python.FileName); err != nil {
				t.Fatalf("mypy --strict: %v\n%s", err, out)
			}
		})
	}
}

// TestTypeErrors checks that mypy rejects a wrong enum value.
func TestTypeErrors(t *testing.T) {
	mypy := codegentest.Tool(t, "ACCORD_MYPY", "mypy")
	m := module(t, "../testdata/examples/contracts", "bad_enum.py")
	out, err := run(m, mypy, "--strict", "bad_enum.py")
	if err == nil {
		t.Fatalf("bad_enum.py type-checks; it must not:\n%s", out)
	}
	if !strings.Contains(out, "bad_enum.py:5") || !strings.Contains(out, `Argument "referrer_channel" to "Signup" has incompatible type "Literal['tv']"`) {
		t.Fatalf("mypy failed, but not on the enum value:\n%s", out)
	}
}

// TestRoundTrip runs testdata/roundtrip.py with the example SDK against a collector
// on 127.0.0.1 that validates every event against the registry.
func TestRoundTrip(t *testing.T) {
	py := codegentest.Tool(t, "ACCORD_PYTHON", "python3")
	m := module(t, "../testdata/examples/contracts", "roundtrip.py")
	col, url := codegentest.NewCollector(t, codegentest.Snapshot(t, "../testdata/examples/contracts"))
	cmd := exec.Command(py, "roundtrip.py", url)
	cmd.Dir = m
	out := codegentest.Output(t, cmd)
	var res struct {
		Stats    map[string]int `json:"stats"`
		Problems string         `json:"problems"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("roundtrip.py printed %q: %v", out, err)
	}
	if res.Stats["sent"] != 5 || res.Stats["invalid"] != 1 || res.Stats["failed"]+res.Stats["dropped"]+res.Stats["rejected"] != 0 {
		t.Errorf("stats %v, want 5 sent, 1 invalid, nothing lost", res.Stats)
	}
	if res.Problems != "/query,/filters/0/facet" {
		t.Errorf("validation problems at %q, want /query,/filters/0/facet", res.Problems)
	}
	if col.Total() != 5 || len(col.Valid()) != 5 || col.Gzipped() == 0 {
		t.Errorf("collector got %v (%d gzipped requests), want one valid event of each of 5 contracts, gzipped", col.Valid(), col.Gzipped())
	}
}

// TestRetryAfter runs testdata/retry_after.py with the example SDK against a
// server that answers each client's first request with 503 or 429 and a
// Retry-After header: in seconds, as an HTTP date, and an hour that the client
// must cap at its maximum backoff.
func TestRetryAfter(t *testing.T) {
	py := codegentest.Tool(t, "ACCORD_PYTHON", "python3")
	m := module(t, "../testdata/examples/contracts", "retry_after.py")
	srv, url := codegentest.NewRetryAfterServer(t)
	// A Retry-After of an hour that is not capped runs into close's timeout.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "retry_after.py", url)
	cmd.Dir = m
	codegentest.CheckRetryStats(t, codegentest.Output(t, cmd))
	srv.Check(t)
}

// TestAnswers runs the answer cases that every SDK passes
// (codegentest.RunAnswers) through testdata/answer.py with the example SDK:
// events settled by the collector's per-event answer, rejections reported to
// on_drop with the collector's reason and failures, unreadable answers failed.
// The script, which uses the drop's types, must pass mypy --strict too.
func TestAnswers(t *testing.T) {
	files, err := python.Generate(codegentest.Load(t, "../testdata/examples/contracts"))
	if err != nil {
		t.Fatal(err)
	}
	source, err := os.ReadFile(filepath.Join("testdata", "answer.py"))
	if err != nil {
		t.Fatal(err)
	}
	prog := codegentest.PythonProgram(t, files, "answer.py", string(source))
	codegentest.RunAnswers(t, codegentest.Snapshot(t, "../testdata/examples/contracts"),
		func(t *testing.T, endpoint string, signups []map[string]any) codegentest.AnswerReport {
			arg, err := json.Marshal(signups)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			return codegentest.ReadReport(t, codegentest.Output(t, prog.Command(ctx, endpoint, string(arg))))
		})
}
