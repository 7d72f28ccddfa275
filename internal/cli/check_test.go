package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// compatTestdata is the compat package's golden base/head registries.
var compatTestdata = filepath.Join("..", "contract", "compat", "testdata")

func runCheck(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), append([]string{"check"}, args...), strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// checkCase returns the --base and --registry arguments of a golden case.
func checkCase(name string) []string {
	return []string{"--base", filepath.Join(compatTestdata, name, "base"), "--registry", filepath.Join(compatTestdata, name, "head")}
}

// checkCounts counts the findings of each severity in a report of any format.
func checkCounts(t *testing.T, format, out string) (errs, warnings, infos int) {
	t.Helper()
	switch format {
	case "text":
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			switch {
			case strings.Contains(line, ": error: "):
				errs++
			case strings.Contains(line, ": warning: "):
				warnings++
			case strings.Contains(line, ": info: "):
				infos++
			}
		}
		if !strings.Contains(out, "accord check: ") {
			t.Errorf("text output has no summary line:\n%s", out)
		}
	case "json":
		var doc struct {
			Tool     string
			Errors   int
			Warnings int
			Infos    int
			Findings []struct{ Rule, Severity, File, Pointer, Message string }
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("json output does not parse: %v\n%s", err, out)
		}
		if doc.Tool != "check" || len(doc.Findings) != doc.Errors+doc.Warnings+doc.Infos {
			t.Errorf("json output: tool %q, %d findings for %d+%d+%d counted", doc.Tool, len(doc.Findings), doc.Errors, doc.Warnings, doc.Infos)
		}
		return doc.Errors, doc.Warnings, doc.Infos
	case "github":
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			switch {
			case strings.HasPrefix(line, "::error file="):
				errs++
			case strings.HasPrefix(line, "::warning file="):
				warnings++
			case strings.HasPrefix(line, "::notice file="):
				infos++
			case line != "":
				t.Errorf("github output line is not a workflow command: %q", line)
			}
			if line != "" && !strings.Contains(line, "title=accord check ") {
				t.Errorf("github annotation has no title: %q", line)
			}
		}
	case "junit":
		var doc struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Suites   []struct {
				Cases []struct {
					Failure *struct {
						Type string `xml:"type,attr"`
					} `xml:"failure"`
				} `xml:"testcase"`
			} `xml:"testsuite"`
		}
		if err := xml.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("junit output does not parse: %v\n%s", err, out)
		}
		for _, s := range doc.Suites {
			for _, c := range s.Cases {
				switch {
				case c.Failure == nil:
					infos++
				case c.Failure.Type == "error":
					errs++
				default:
					warnings++
				}
			}
		}
		if doc.Tests != errs+warnings+infos || doc.Failures != errs+warnings {
			t.Errorf("junit counts: tests %d failures %d, cases %d/%d/%d", doc.Tests, doc.Failures, errs, warnings, infos)
		}
	}
	return errs, warnings, infos
}

func TestCheckFormatsAndExitCodes(t *testing.T) {
	tests := []struct {
		name                  string
		code                  int
		errs, warnings, infos int
		mention               string
	}{
		{"property-added-pass", 0, 0, 0, 2, "property-added"},
		{"type-narrowed-fail", 1, 1, 0, 1, "type-narrowed"},
		{"checkout-evolution-fail", 1, 3, 0, 2, "pii-handling-changed"},
		{"pii-handling-changed-pass", 0, 0, 1, 1, "pii-handling-changed"},
		{"published-version-changed-fail", 1, 1, 0, 0, "published-version-changed"},
	}
	for _, tt := range tests {
		for _, format := range []string{"text", "json", "github", "junit"} {
			t.Run(tt.name+"/"+format, func(t *testing.T) {
				code, out, stderr := runCheck(t, append(checkCase(tt.name), "--format", format)...)
				if code != tt.code {
					t.Errorf("exit code %d, want %d (stderr %q)", code, tt.code, stderr)
				}
				if stderr != "" {
					t.Errorf("stderr %q, want nothing", stderr)
				}
				e, w, i := checkCounts(t, format, out)
				if e != tt.errs || w != tt.warnings || i != tt.infos {
					t.Errorf("%d errors, %d warnings, %d infos; want %d, %d, %d; output:\n%s", e, w, i, tt.errs, tt.warnings, tt.infos, out)
				}
				if !strings.Contains(out, tt.mention) {
					t.Errorf("output does not mention %s:\n%s", tt.mention, out)
				}
			})
		}
	}
}

func TestCheckUsageErrors(t *testing.T) {
	pass := checkCase("property-added-pass")
	empty := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no base", []string{"--registry", pass[3]}, "--base is required"},
		{"bad format", append(append([]string{}, pass...), "--format", "xml"), `--format "xml" is not one of`},
		{"unknown flag", append(append([]string{}, pass...), "--nope"), "unknown flag"},
		{"arguments", append(append([]string{}, pass...), "extra"), "unknown command"},
		{"base not a registry", []string{"--base", empty, "--registry", pass[3]}, "is not a registry"},
		{"missing registry", []string{"--base", pass[1], "--registry", filepath.Join(empty, "missing")}, "opening registry"},
		{"base neither folder nor ref", []string{"--base", "no-such-ref-or-folder", "--registry", pass[3]}, "no-such-ref-or-folder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := runCheck(t, tt.args...)
			if code != ExitUsage {
				t.Errorf("exit code %d, want %d (stdout %q)", code, ExitUsage, out)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q, want it to contain %q", stderr, tt.want)
			}
		})
	}
}

// TestCheckGitRef commits a registry to a fresh git repository, adds a version
// with too small a bump, and checks it against HEAD as a CI job would.
func TestCheckGitRef(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("git is needed by this test and is not installed: %v", err)
	}
	dir := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=Accord Test", "-c", "user.email=test@accord.example", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_DIR="+filepath.Join(dir, ".git"), "GIT_WORK_TREE="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	copyFile := func(from, to string) {
		t.Helper()
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src := filepath.Join(compatTestdata, "type-narrowed-fail", "head", "com.acme", "ev", "jsonschema")
	reg := filepath.Join(dir, "contracts")
	git("init", "-q")
	copyFile(filepath.Join(src, "1-0-0.yaml"), filepath.Join(reg, "com.acme", "ev", "jsonschema", "1-0-0.yaml"))
	git("add", ".")
	git("commit", "-q", "-m", "publish 1-0-0")

	code, out, stderr := runCheck(t, "--base", "HEAD", "--registry", reg)
	if code != ExitOK || stderr != "" {
		t.Fatalf("unchanged registry: exit %d, stderr %q, output:\n%s", code, stderr, out)
	}

	copyFile(filepath.Join(src, "1-1-0.yaml"), filepath.Join(reg, "com.acme", "ev", "jsonschema", "1-1-0.yaml"))
	code, out, stderr = runCheck(t, "--base", "HEAD", "--registry", reg, "--format", "github")
	if code != ExitFindings {
		t.Errorf("narrowed type declared as REVISION: exit %d, want 1 (stderr %q)", code, stderr)
	}
	if !strings.Contains(out, "::error file="+filepath.Join(reg, "com.acme", "ev", "jsonschema", "1-1-0.yaml")+",line=9,col=9,title=accord check type-narrowed::") {
		t.Errorf("output has no located type-narrowed error:\n%s", out)
	}

	code, _, stderr = runCheck(t, "--base", "HEAD~5", "--registry", reg)
	if code != ExitUsage || !strings.Contains(stderr, `"HEAD~5" is neither a folder nor a git ref`) {
		t.Errorf("missing ref: exit %d, stderr %q", code, stderr)
	}

	// A registry folder that did not exist at the ref: every contract is new.
	newReg := filepath.Join(dir, "more")
	copyFile(filepath.Join(src, "1-0-0.yaml"), filepath.Join(newReg, "com.acme", "ev", "jsonschema", "1-0-0.yaml"))
	code, out, stderr = runCheck(t, "--base", "HEAD", "--registry", newReg)
	if code != ExitOK || !strings.Contains(stderr, "more did not exist at HEAD") || !strings.Contains(out, "first version") {
		t.Errorf("new folder: exit %d, stderr %q, output:\n%s", code, stderr, out)
	}
}
