package compat_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/accord-dev/accord/internal/contract"
	"github.com/accord-dev/accord/internal/contract/compat"
	"github.com/accord-dev/accord/internal/contract/report"
)

var update = flag.Bool("update", false, "rewrite the golden want.txt files")

// caseRule names the rule a golden case is about when its folder name does not.
var caseRule = map[string]string{
	"property-added-open":       compat.PropertyAdded,
	"required-property-removed": compat.PropertyRemoved,
	"items-changed":             compat.TypeNarrowed,
	"ref-followed":              compat.BoundTightened,
	"published-version-changed": compat.RulePublishedChanged,
	"published-version-removed": compat.RulePublishedRemoved,
	"first-version":             compat.RuleNotSuccessor,
	"checkout-evolution":        compat.PIIHandlingChanged,
	"unreadable-contract":       contract.RuleParse,
	"version-not-successor":     compat.RuleNotSuccessor,
}

// TestGolden runs accord check's engine on every testdata/<case>/{base,head}
// registry pair and compares its text report with testdata/<case>/want.txt. Cases
// named *-fail must report an error under the rule the case is named after; cases
// named *-pass must report no error, and the change they are named after as info
// or warning. Changes that need only an ADDITION have no *-fail case: every new
// version declares at least an ADDITION.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*-*")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 60 {
		t.Fatalf("found %d golden cases, want at least 60", len(dirs))
	}
	for _, dir := range dirs {
		name := filepath.Base(dir)
		fail := strings.HasSuffix(name, "-fail")
		if !fail && !strings.HasSuffix(name, "-pass") {
			continue
		}
		t.Run(name, func(t *testing.T) {
			findings, out := runCheck(t, filepath.Join(dir, "base"), filepath.Join(dir, "head"))
			golden(t, filepath.Join(dir, "want.txt"), out)

			subject := strings.TrimSuffix(strings.TrimSuffix(name, "-fail"), "-pass")
			rule := subject
			if r, ok := caseRule[subject]; ok {
				rule = r
			}
			worst, _ := report.Worst(findings)
			var ruleSev []report.Severity
			for _, f := range findings {
				if f.Rule == rule {
					ruleSev = append(ruleSev, f.Severity)
				}
			}
			switch {
			case fail && worst != report.Error:
				t.Errorf("case %s reports no error", name)
			case fail && !containsSev(ruleSev, report.Error):
				t.Errorf("case %s reports no error under rule %s", name, rule)
			case !fail && worst == report.Error:
				t.Errorf("case %s reports an error", name)
			case !fail && len(ruleSev) == 0 && !strings.HasPrefix(name, "published-") && !strings.HasPrefix(name, "first-") && !strings.HasPrefix(name, "version-"):
				t.Errorf("case %s does not report rule %s", name, rule)
			}
		})
	}
}

func containsSev(list []report.Severity, s report.Severity) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// runCheck checks head against base and returns the findings and the text report.
func runCheck(tb testing.TB, baseDir, headDir string) ([]report.Finding, string) {
	tb.Helper()
	base, err := compat.LoadBase(context.Background(), baseDir, headDir)
	if err != nil {
		tb.Fatalf("LoadBase: %v", err)
	}
	head, err := contract.Load(headDir)
	if err != nil {
		tb.Fatalf("Load: %v", err)
	}
	findings := compat.Check(base.Set, head)
	var buf bytes.Buffer
	if err := report.Write(&buf, "text", "check", findings, compat.Summary(base.Set, head, base.Label)); err != nil {
		tb.Fatal(err)
	}
	return findings, filepath.ToSlash(buf.String())
}

// golden compares got with the file at path, or rewrites it under -update.
func golden(tb testing.TB, path, got string) {
	tb.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("reading golden file (run go test -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		tb.Errorf("%s (-want +got):\n%s", path, diff)
	}
}
