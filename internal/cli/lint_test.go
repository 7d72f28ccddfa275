package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// lintTestdata is the lint package's golden registries.
var lintTestdata = filepath.Join("..", "contract", "lint", "testdata", "rules")

func runLint(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), append([]string{"lint"}, args...), strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestLintFormatsAndExitCodes(t *testing.T) {
	examples := filepath.Join("..", "..", "examples", "contracts")
	errorsCase := filepath.Join(lintTestdata, "pii-annotated", "fail", "contracts")      // errors and a warning
	warningCase := filepath.Join(lintTestdata, "retention-present", "fail", "contracts") // one warning
	infoCase := filepath.Join(lintTestdata, "prefer-draft-2020-12", "fail", "contracts") // one info
	tests := []struct {
		name     string
		args     []string
		code     int
		findings int
	}{
		{"clean", []string{"--registry", examples}, 0, 0},
		{"errors", []string{"--registry", errorsCase}, 1, 17},
		{"warning", []string{"--registry", warningCase}, 0, 1},
		{"warning fails on warning", []string{"--registry", warningCase, "--fail-on", "warning"}, 1, 1},
		{"info never fails", []string{"--registry", infoCase, "--fail-on", "warning"}, 0, 1},
		{"errors disabled", []string{"--registry", errorsCase, "--disable", "pii-annotated,property-name-snake-case"}, 0, 0},
		{"errors left after one disabled", []string{"--registry", errorsCase, "--disable", "property-name-snake-case"}, 1, 16},
	}
	for _, tt := range tests {
		for _, format := range []string{"text", "json", "github", "junit"} {
			t.Run(tt.name+"/"+format, func(t *testing.T) {
				code, out, stderr := runLint(t, append(tt.args, "--format", format)...)
				if code != tt.code {
					t.Errorf("exit code %d, want %d (stderr %q)", code, tt.code, stderr)
				}
				if stderr != "" {
					t.Errorf("stderr %q, want nothing", stderr)
				}
				if n := countFindings(t, format, out); n != tt.findings {
					t.Errorf("%d findings, want %d; output:\n%s", n, tt.findings, out)
				}
			})
		}
	}
}

// countFindings parses the output of a format, failing when it is not well-formed.
func countFindings(t *testing.T, format, out string) int {
	t.Helper()
	switch format {
	case "json":
		var doc struct {
			Tool     string `json:"tool"`
			Errors   *int   `json:"errors"`
			Findings []struct {
				Rule, Severity, File, Message string
				Line, Col                     int
			} `json:"findings"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("json output is not valid JSON: %v\n%s", err, out)
		}
		if doc.Tool != "lint" || doc.Errors == nil || doc.Findings == nil {
			t.Fatalf("json output lacks tool, errors or findings:\n%s", out)
		}
		for _, f := range doc.Findings {
			if f.Rule == "" || f.File == "" || f.Message == "" || f.Line == 0 {
				t.Errorf("json finding lacks rule, file, line or message: %+v", f)
			}
		}
		return len(doc.Findings)
	case "junit":
		if !strings.HasPrefix(out, xml.Header) {
			t.Errorf("junit output does not start with an XML header")
		}
		dec := xml.NewDecoder(strings.NewReader(out))
		for {
			if _, err := dec.Token(); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("junit output is not valid XML: %v\n%s", err, out)
			}
		}
		var suites struct {
			XMLName xml.Name `xml:"testsuites"`
			Tests   int      `xml:"tests,attr"`
			Suites  []struct {
				Cases []struct {
					Name string `xml:"name,attr"`
				} `xml:"testcase"`
			} `xml:"testsuite"`
		}
		if err := xml.Unmarshal([]byte(out), &suites); err != nil {
			t.Fatalf("junit output is not a testsuites document: %v", err)
		}
		n := 0
		for _, s := range suites.Suites {
			n += len(s.Cases)
		}
		if n != suites.Tests {
			t.Errorf("junit says tests=%d but holds %d cases", suites.Tests, n)
		}
		return n
	case "github":
		n := 0
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if line == "" {
				continue
			}
			if !strings.HasPrefix(line, "::error file=") && !strings.HasPrefix(line, "::warning file=") && !strings.HasPrefix(line, "::notice file=") {
				t.Errorf("not a GitHub workflow command: %q", line)
			}
			n++
		}
		return n
	default:
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if !strings.HasPrefix(lines[len(lines)-1], "accord lint: ") {
			t.Errorf("text output does not end with a summary: %q", lines[len(lines)-1])
		}
		for _, l := range lines[:len(lines)-1] {
			if !strings.Contains(l, ".yaml:") || !strings.HasSuffix(l, "]") {
				t.Errorf("text finding without file:line:col or rule: %q", l)
			}
		}
		return len(lines) - 1
	}
}

func TestLintUsageErrors(t *testing.T) {
	examples := filepath.Join("..", "..", "examples", "contracts")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown format", []string{"--registry", examples, "--format", "xml"}, `--format "xml"`},
		{"unknown fail-on", []string{"--registry", examples, "--fail-on", "info"}, `--fail-on "info"`},
		{"unknown rule", []string{"--registry", examples, "--disable", "pii-annotated,no-such-rule"}, "no-such-rule"},
		{"missing registry", []string{"--registry", filepath.Join(t.TempDir(), "missing")}, "opening registry"},
		{"registry is a file", []string{"--registry", filepath.Join(examples, "com.acme", "signup", "jsonschema", "1-0-0.yaml")}, "not a folder"},
		{"unknown flag", []string{"--registyr", examples}, "unknown flag"},
		{"argument", []string{examples}, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := runLint(t, tt.args...)
			if code != ExitUsage {
				t.Errorf("exit code %d, want %d", code, ExitUsage)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q does not mention %q", stderr, tt.want)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
		})
	}
}

func TestLintListsRules(t *testing.T) {
	code, out, _ := runLint(t, "--rules")
	if code != 0 || !strings.Contains(out, "pii-annotated") || !strings.Contains(out, "version-sequence") {
		t.Errorf("lint --rules: exit %d, output:\n%s", code, out)
	}
}
