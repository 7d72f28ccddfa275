package typescript_test

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
	"github.com/accord-dev/accord/internal/codegen/typescript"
)

// project writes the SDK of the registry dir and the given extra files into a
// fresh folder with a strict tsconfig.json.
func project(t *testing.T, dir string, extra ...string) string {
	t.Helper()
	files, err := typescript.Generate(codegentest.Load(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := codegen.Write(out, files); err != nil {
		t.Fatal(err)
	}
	names := []string{`"events.ts"`}
	for _, e := range extra {
		data, err := os.ReadFile(filepath.Join("testdata", e))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, e), data, 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, `"`+e+`"`)
	}
	cfg := strings.Replace(codegentest.TSConfig, "%s", strings.Join(names, ", "), 1)
	if err := os.WriteFile(filepath.Join(out, "tsconfig.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

func runTSC(t *testing.T, bin, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-p", "tsconfig.json"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestTypeCheck type-checks the SDK of every golden case with tsc --strict, in one
// project (one folder per case) because each tsc start costs seconds.
func TestTypeCheck(t *testing.T) {
	bin := codegentest.TSC(t)
	cases, err := filepath.Glob("../testdata/*/contracts")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	root := t.TempDir()
	var names []string
	for _, dir := range cases {
		name := filepath.Base(filepath.Dir(dir))
		files, err := typescript.Generate(codegentest.Load(t, dir))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := codegen.Write(filepath.Join(root, name), files); err != nil {
			t.Fatal(err)
		}
		names = append(names, `"`+name+`/events.ts"`)
	}
	cfg := strings.Replace(codegentest.TSConfig, "%s", strings.Join(names, ", "), 1)
	if err := os.WriteFile(filepath.Join(root, "tsconfig.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runTSC(t, bin, root, "--noEmit"); err != nil {
		t.Fatalf("tsc --noEmit --strict: %v\n%s", err, out)
	}
}

// TestTypeErrors checks that the types catch what they promise to: a wrong enum
// value and a missing required field do not compile.
func TestTypeErrors(t *testing.T) {
	bin := codegentest.TSC(t)
	for _, tc := range []struct{ file, want string }{
		{"bad_enum.ts", `Type '"tv"' is not assignable to type 'SignupReferrerChannel`},
		{"missing_required.ts", `Property 'shop_id' is missing`},
	} {
		t.Run(tc.file, func(t *testing.T) {
			p := project(t, "../testdata/examples/contracts", tc.file)
			out, err := runTSC(t, bin, p, "--noEmit")
			if err == nil {
				t.Fatalf("%s compiled; it must not", tc.file)
			}
			if !strings.Contains(out, tc.file) || !strings.Contains(out, tc.want) {
				t.Fatalf("tsc failed, but not with %q in %s:\n%s", tc.want, tc.file, out)
			}
		})
	}
}

// nodeScript compiles the testdata file script with the example SDK and returns
// the command that runs it with node and the given arguments.
func nodeScript(t *testing.T, script string) func(ctx context.Context, args ...string) *exec.Cmd {
	t.Helper()
	files, err := typescript.Generate(codegentest.Load(t, "../testdata/examples/contracts"))
	if err != nil {
		t.Fatal(err)
	}
	source, err := os.ReadFile(filepath.Join("testdata", script))
	if err != nil {
		t.Fatal(err)
	}
	return codegentest.NodeProgram(t, files, script, string(source)).Command
}

// TestRoundTrip compiles testdata/roundtrip.ts with the example SDK, runs it with
// node against a collector on 127.0.0.1 that validates every event against the
// registry, and checks what arrived.
func TestRoundTrip(t *testing.T) {
	run := nodeScript(t, "roundtrip.ts")
	col, url := codegentest.NewCollector(t, codegentest.Snapshot(t, "../testdata/examples/contracts"))
	out := codegentest.Output(t, run(context.Background(), url))
	var res struct {
		Stats    map[string]int `json:"stats"`
		Problems string         `json:"problems"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("roundtrip.js printed %q: %v", out, err)
	}
	if res.Stats["sent"] != 5 || res.Stats["invalid"] != 1 || res.Stats["failed"]+res.Stats["dropped"]+res.Stats["rejected"] != 0 {
		t.Errorf("stats %v, want 5 sent, 1 invalid, nothing lost", res.Stats)
	}
	if res.Problems != "/query,/filters/0/facet" {
		t.Errorf("validation problems at %q, want /query,/filters/0/facet", res.Problems)
	}
	if col.Total() != 5 || len(col.Valid()) != 5 {
		t.Errorf("collector got %v, want one valid event of each of 5 contracts", col.Valid())
	}
	if col.Gzipped() == 0 {
		t.Errorf("no request was gzipped; node has CompressionStream")
	}
}

// TestRetryAfter compiles testdata/retry_after.ts with the example SDK and runs it
// with node against a server that answers each client's first request with 503 or
// 429 and a Retry-After header: in seconds, as an HTTP date, and an hour that the
// client must cap at its maximum backoff.
func TestRetryAfter(t *testing.T) {
	run := nodeScript(t, "retry_after.ts")
	srv, url := codegentest.NewRetryAfterServer(t)
	// A Retry-After of an hour that is not capped runs into this timeout.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	codegentest.CheckRetryStats(t, codegentest.Output(t, run(ctx, url)))
	srv.Check(t)
}

// TestAnswers compiles testdata/answer.ts with the example SDK and runs the
// answer cases that every SDK passes (codegentest.RunAnswers) with node: events
// settled by the collector's per-event answer, rejections reported to onDrop
// with the collector's reason and failures, unreadable answers failed.
func TestAnswers(t *testing.T) {
	run := nodeScript(t, "answer.ts")
	codegentest.RunAnswers(t, codegentest.Snapshot(t, "../testdata/examples/contracts"),
		func(t *testing.T, endpoint string, signups []map[string]any) codegentest.AnswerReport {
			arg, err := json.Marshal(signups)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			return codegentest.ReadReport(t, codegentest.Output(t, run(ctx, endpoint, string(arg))))
		})
}
