package lint

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/accord-dev/accord/internal/contract"
	"github.com/accord-dev/accord/internal/contract/report"
)

var update = flag.Bool("update", false, "rewrite the golden want.txt files from the current output")

// lintDir lints the registry testdata/<dir>/contracts, naming files
// contracts/... so that golden output does not depend on where the test runs.
func lintDir(tb testing.TB, dir string, opts Options) []report.Finding {
	tb.Helper()
	root := filepath.Join(dir, "contracts")
	set, err := contract.LoadFS(os.DirFS(root), "contracts")
	if err != nil {
		tb.Fatalf("loading %s: %v", root, err)
	}
	fs, err := Run(set, opts)
	if err != nil {
		tb.Fatalf("Run: %v", err)
	}
	return fs
}

func text(tb testing.TB, fs []report.Finding) string {
	tb.Helper()
	var b bytes.Buffer
	if err := report.Write(&b, "text", "lint", fs, "accord lint"); err != nil {
		tb.Fatal(err)
	}
	return b.String()
}

// golden compares got with dir/want.txt, or rewrites it with -update.
func golden(t *testing.T, dir, got string) {
	t.Helper()
	want := filepath.Join(dir, "want.txt")
	if *update {
		if err := os.WriteFile(want, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(want)
	if err != nil {
		t.Fatalf("reading golden file (run go test -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(b), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", want, diff)
	}
}

// TestRules runs every rule's failing and passing registry: the failing one must
// produce the rule's findings, the passing one no finding at all, and both must
// match their golden output.
func TestRules(t *testing.T) {
	for _, r := range Rules() {
		t.Run(r.ID, func(t *testing.T) {
			for _, kind := range []string{"fail", "pass"} {
				dir := filepath.Join("testdata", "rules", r.ID, kind)
				if _, err := os.Stat(filepath.Join(dir, "contracts")); err != nil {
					t.Fatalf("rule %s has no %s case: %v", r.ID, kind, err)
				}
				fs := lintDir(t, dir, Options{})
				switch kind {
				case "fail":
					n := 0
					for _, f := range fs {
						if f.Rule == r.ID {
							n++
							if f.Severity != r.Severity {
								t.Errorf("finding %v has severity %s, the rule's is %s", f, f.Severity, r.Severity)
							}
							if f.Line == 0 && r.ID != contract.RuleLayout {
								t.Errorf("finding %v has no position", f)
							}
						}
					}
					if n == 0 {
						t.Errorf("the failing case produced no %s finding:\n%s", r.ID, text(t, fs))
					}
				case "pass":
					if len(fs) != 0 {
						t.Errorf("the passing case produced findings:\n%s", text(t, fs))
					}
				}
				golden(t, dir, text(t, fs))
			}
		})
	}
}

// TestEveryCaseIsARule keeps testdata/rules in step with the rule table.
func TestEveryCaseIsARule(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join("testdata", "rules"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, ok := lookup(e.Name()); !ok {
			t.Errorf("testdata/rules/%s is not a rule id", e.Name())
		}
	}
}

func TestRuleTable(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Rules() {
		if seen[r.ID] {
			t.Errorf("rule %s is listed twice", r.ID)
		}
		seen[r.ID] = true
		if !kebab(r.ID) {
			t.Errorf("rule id %q is not kebab-case", r.ID)
		}
		if r.Doc == "" || strings.Contains(r.Doc, "\n") {
			t.Errorf("rule %s needs a one-line doc", r.ID)
		}
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "lint.md"))
	if err != nil {
		t.Fatalf("reading docs/lint.md: %v", err)
	}
	for _, r := range Rules() {
		if !bytes.Contains(doc, []byte("### "+r.ID)) {
			t.Errorf("docs/lint.md does not document rule %s (want a heading \"### %s\")", r.ID, r.ID)
		}
	}
}

func kebab(s string) bool {
	for i, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' && i > 0 && i < len(s)-1) {
			return false
		}
	}
	return s != ""
}

// TestBadInput runs the committed malformed registries: each must give clear
// findings and no panic.
func TestBadInput(t *testing.T) {
	// legal lists the cases that look hostile but are valid contracts.
	legal := map[string]bool{"recursive-ref": true}
	entries, err := os.ReadDir(filepath.Join("testdata", "bad"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Run(e.Name(), func(t *testing.T) {
			dir := filepath.Join("testdata", "bad", e.Name())
			done := make(chan []report.Finding, 1)
			go func() { done <- lintDir(t, dir, Options{}) }()
			var fs []report.Finding
			select {
			case fs = <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("lint did not finish in 20s")
			}
			worst, any := report.Worst(fs)
			switch {
			case legal[e.Name()] && any && worst == report.Error:
				t.Errorf("a legal registry has errors:\n%s", text(t, fs))
			case !legal[e.Name()] && !any:
				t.Error("no finding for a malformed registry")
			}
			golden(t, dir, text(t, fs))
		})
	}
}

// TestRecursiveSchemaFields checks that a recursive schema loads its fields once
// per level of recursion instead of expanding every possible path.
func TestRecursiveSchemaFields(t *testing.T) {
	set, err := contract.Load(filepath.Join("testdata", "bad", "recursive-ref", "contracts"))
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Contracts) != 1 {
		t.Fatalf("loaded %d contracts, want 1 (problems: %v)", len(set.Contracts), set.Err())
	}
	if n := len(set.Contracts[0].Fields); n == 0 || n > 100 {
		t.Errorf("recursive contract has %d fields, want a few", n)
	}
}

// writeContract writes a contract file into a registry folder.
func writeContract(tb testing.TB, root, rel, content string) string {
	tb.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

func readGoldenContract(tb testing.TB, rel string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "rules", "owner-present", "pass", "contracts", filepath.FromSlash(rel)))
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

const cartPath = "com.acme/cart_updated/jsonschema/1-0-0.yaml"

// TestGeneratedBadInput covers inputs that cannot be committed: a 50 MB
// contract, symlinks to files and folders outside the registry, and a $ref that
// names a file which exists next to the registry.
func TestGeneratedBadInput(t *testing.T) {
	clean := readGoldenContract(t, cartPath)
	const secret = "TOP-SECRET-CONTENT-7f3a"
	tests := []struct {
		name  string
		setup func(t *testing.T, root, outside string)
		rule  string
		want  string
	}{
		{
			name: "50MB contract",
			setup: func(t *testing.T, root, _ string) {
				p := writeContract(t, root, cartPath, clean)
				f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				line := []byte("# " + strings.Repeat("padding ", 12) + "\n")
				for n := 0; n < 50<<20; n += len(line) {
					if _, err := f.Write(line); err != nil {
						t.Fatal(err)
					}
				}
			},
			rule: contract.RuleParse,
			want: "byte limit",
		},
		{
			name: "symlink to a file outside",
			setup: func(t *testing.T, root, outside string) {
				target := writeContract(t, outside, "secret.yaml", clean+"# "+secret+"\n")
				p := filepath.Join(root, filepath.FromSlash(cartPath))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(target, p); err != nil {
					t.Skipf("symlinks unavailable: %v", err)
				}
			},
			rule: contract.RuleLayout,
			want: "symlinks are not followed",
		},
		{
			name: "symlink to a folder outside",
			setup: func(t *testing.T, root, outside string) {
				writeContract(t, outside, "cart_updated/jsonschema/1-0-0.yaml", clean+"# "+secret+"\n")
				if err := os.MkdirAll(filepath.Join(root, "com.acme"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(filepath.Join(outside, "cart_updated"), filepath.Join(root, "com.acme", "cart_updated")); err != nil {
					t.Skipf("symlinks unavailable: %v", err)
				}
			},
			rule: contract.RuleLayout,
			want: "symlinks are not followed",
		},
		{
			name: "$ref to a file that exists",
			setup: func(t *testing.T, root, outside string) {
				writeContract(t, outside, "money.json", `{"type": "string", "description": "`+secret+`"}`)
				ref := strings.Replace(clean, "  sku: {", "  price: {$ref: \"../../../../outside/money.json\", description: A shared definition.}\n  sku: {", 1)
				writeContract(t, root, cartPath, ref)
			},
			rule: RuleRefLocal,
			want: "points outside the contract",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			root, outside := filepath.Join(base, "registry"), filepath.Join(base, "outside")
			for _, d := range []string{root, outside} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			tt.setup(t, root, outside)
			set, err := contract.Load(root)
			if err != nil {
				t.Fatal(err)
			}
			fs, err := Run(set, Options{})
			if err != nil {
				t.Fatal(err)
			}
			out := text(t, fs)
			if strings.Contains(out, secret) {
				t.Errorf("output shows content from outside the registry:\n%s", out)
			}
			i := slices.IndexFunc(fs, func(f report.Finding) bool { return f.Rule == tt.rule && strings.Contains(f.Message, tt.want) })
			if i < 0 {
				t.Errorf("want a %s finding saying %q, got:\n%s", tt.rule, tt.want, out)
			}
		})
	}
}

// TestDisable checks the three ways to silence a rule.
func TestDisable(t *testing.T) {
	dir := filepath.Join("testdata", "rules", RuleRetentionPresent, "fail")
	if fs := lintDir(t, dir, Options{}); len(fs) == 0 {
		t.Fatal("the failing case has no finding to silence")
	}
	if fs := lintDir(t, dir, Options{Disable: []string{RuleRetentionPresent}}); len(fs) != 0 {
		t.Errorf("--disable %s left findings:\n%s", RuleRetentionPresent, text(t, fs))
	}
	if _, err := Run(&contract.Set{}, Options{Disable: []string{"no-such-rule"}}); err == nil || !strings.Contains(err.Error(), "no-such-rule") {
		t.Errorf("Run with an unknown rule: err = %v, want it named", err)
	}
	// The passing case of lint-directive silences retention-present for the
	// contract (with a reason) and pii-annotated for a field.
	pass := filepath.Join("testdata", "rules", RuleDirective, "pass")
	set, err := contract.LoadFS(os.DirFS(filepath.Join(pass, "contracts")), "contracts")
	if err != nil {
		t.Fatal(err)
	}
	c := set.Contracts[0]
	delete(c.Doc, directiveRoot)
	delete(c.Doc["properties"].(map[string]any)["billing_email"].(map[string]any), directiveField)
	fs, err := Run(set, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var rules []string
	for _, f := range fs {
		rules = append(rules, f.Rule)
	}
	slices.Sort(rules)
	if want := []string{RulePII, RuleRetentionPresent}; !slices.Equal(rules, want) {
		t.Errorf("without its directives the contract has findings %v, want %v", rules, want)
	}
}

// TestExamples keeps the bundled example registry clean: no finding at all.
func TestExamples(t *testing.T) {
	set, err := contract.Load(filepath.Join("..", "..", "..", "examples", "contracts"))
	if err != nil {
		t.Fatal(err)
	}
	fs, err := Run(set, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Contracts) < 5 || len(fs) > 0 {
		t.Errorf("examples: %d contracts, findings:\n%s", len(set.Contracts), text(t, fs))
	}
}

func TestPIIHeuristics(t *testing.T) {
	tests := []struct {
		name   string
		schema string
		want   contract.Kind // "" when the field must not be flagged
	}{
		{"email", `type: string`, contract.KindEmail},
		{"billing_email", `type: string`, contract.KindEmail},
		{"emailAddress", `type: string`, contract.KindEmail},
		{"email_sha256", `type: string`, contract.KindEmail},
		{"email_domain", `type: string`, ""},
		{"email_opt_in", `type: boolean`, ""},
		{"email_count", `type: integer`, ""},
		{"ip_address", `type: string`, contract.KindIP},
		{"client_ip", `type: string`, contract.KindIP},
		{"ship", `type: string`, ""},
		{"user_agent", `type: string`, contract.KindUserAgent},
		{"lat", `type: number`, contract.KindGeo},
		{"latitude", `type: number`, contract.KindGeo},
		{"long", `type: number`, contract.KindGeo},
		{"long", `type: string`, ""},
		{"idfa", `type: string`, contract.KindAdvertisingID},
		{"gaid", `type: string`, contract.KindAdvertisingID},
		{"device_id", `type: string`, contract.KindDeviceID},
		{"deviceId", `type: string`, contract.KindDeviceID},
		{"first_name", `type: string`, contract.KindName},
		{"product_name", `type: string`, ""},
		{"name", `type: string`, ""},
		{"shipping_address_line1", `type: string`, contract.KindAddress},
		{"postal_code", `type: string`, contract.KindPostalCode},
		{"dob", `type: string`, contract.KindDateOfBirth},
		{"search_query", `type: string`, contract.KindFreeText},
		{"notes", `type: string`, contract.KindFreeText},
		{"message_id", `type: string`, ""},
		{"ssn", `type: string`, contract.KindGovernmentID},
		{"card_number", `type: string`, contract.KindPaymentCard},
		{"phone", `type: integer`, contract.KindPhone},
		{"contact", `{type: string, format: idn-email}`, contract.KindEmail},
		{"origin", `{type: string, format: ipv6}`, contract.KindIP},
		{"callback", `{type: string, pattern: "^\\+[0-9]{7,15}$"}`, contract.KindPhone},
		{"host", `{type: string, pattern: "^\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}$"}`, contract.KindIP},
		{"sku", `{type: string, pattern: "^SKU-[0-9]{5}$"}`, ""},
		{"owner", `{type: string, examples: [jane@example.com]}`, contract.KindEmail},
		{"owner", `{type: string, default: "+44 20 7946 0958"}`, contract.KindPhone},
		{"peer", `{type: string, const: "2001:db8::1"}`, contract.KindIP},
		{"pay", `{type: string, examples: ["4242424242424242"]}`, contract.KindPaymentCard},
		{"order_ref", `{type: string, examples: ["4242424242424241"]}`, ""},
		{"channel", `{type: string, enum: [email, sms]}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name+" "+tt.schema, func(t *testing.T) {
			schema := tt.schema
			if !strings.HasPrefix(schema, "{") {
				schema = "{" + schema + "}"
			}
			doc := fmt.Sprintf("self: {vendor: com.acme, name: x, format: jsonschema, version: 1-0-0}\nproperties:\n  %s: %s\n", tt.name, schema)
			k, err := contract.ParsePath("com.acme/x/jsonschema/1-0-0")
			if err != nil {
				t.Fatal(err)
			}
			c, problems := contract.Parse([]byte(doc), "x.yaml", k)
			if c == nil {
				t.Fatalf("parse: %v", problems)
			}
			chain := resolve(c.Doc, c.Doc["properties"].(map[string]any)[tt.name].(map[string]any))
			ev, ok := looksLikePII(tt.name, chain)
			if tt.want == "" && ok {
				t.Errorf("flagged as %s (%s), want not flagged", ev.kind, ev.why)
			}
			if tt.want != "" && ev.kind != tt.want {
				t.Errorf("kind = %q (%v), want %s", ev.kind, ok, tt.want)
			}
		})
	}
}

func TestWords(t *testing.T) {
	tests := map[string][]string{
		"billing_email":  {"billing", "email"},
		"emailAddress":   {"email", "address"},
		"IPAddress":      {"ip", "address"},
		"address_line1":  {"address", "line", "1"},
		"user-agent":     {"user", "agent"},
		"userID":         {"user", "id"},
		"HTTPUserAgent2": {"http", "user", "agent", "2"},
	}
	for in, want := range tests {
		if diff := cmp.Diff(want, words(in)); diff != "" {
			t.Errorf("words(%q) (-want +got):\n%s", in, diff)
		}
	}
}
