package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const signupURI = "iglu:com.acme/signup/jsonschema/1-0-0"

// validateSecret stands for personal data in test events; it must never be
// printed.
const validateSecret = "s3cr3t-Value"

func runValidate(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), append([]string{"validate"}, args...), strings.NewReader(stdin), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidateCommand(t *testing.T) {
	examples := filepath.Join("..", "..", "examples", "contracts")
	valid := `{"shop_id": "shop_1", "email": "buyer@example.com", "marketing_opt_in": true}`
	pretty := "{\n  \"shop_id\": \"shop_1\",\n  \"email\": \"buyer@example.com\"\n}\n"
	invalid := `{"shop_id": "` + validateSecret + `", "email": "` + validateSecret + `", "referrer_channel": "tv"}`
	ndjson := writeFile(t, "events.ndjson", valid+"\n"+valid+"\n"+invalid+"\n\n{\"shop_id\": \n")
	selfDescribing := `{"schema": "` + signupURI + `", "data": ` + valid + "}\n" +
		`{"schema": "iglu:com.acme/nope/jsonschema/1-0-0", "data": {}}` + "\n" +
		`{"schema": "` + signupURI + `", "data": ` + valid + `, "contexts": [{"schema": "` + signupURI + `", "data": {"shop_id": 1}}]}` + "\n"
	brokenRegistry := t.TempDir()
	if err := os.MkdirAll(filepath.Join(brokenRegistry, "com.acme", "x", "jsonschema"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(brokenRegistry, "com.acme", "x", "jsonschema", "1-0-0.yaml"), []byte("type: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		stdin      string
		args       []string
		wantCode   int
		wantStdout []string // lines of stdout, in order, when set
		wantStderr string   // a substring of stderr
	}{
		{name: "valid file", args: []string{signupURI, writeFile(t, "event.json", pretty)}, wantCode: 0,
			wantStdout: []string{"1 event against " + signupURI + ": 1 valid, 0 invalid"}},
		{name: "invalid stdin", stdin: invalid, args: []string{signupURI, "-"}, wantCode: 1,
			wantStdout: []string{
				"stdin: /email: is not a valid email (format)",
				`stdin: /referrer_channel: must be one of "organic", "paid_search", "social", "email", "referral", "direct" (enum)`,
				"stdin: /shop_id: does not match the pattern ^shop_[0-9]+$ (pattern)",
				"1 event against " + signupURI + ": 0 valid, 1 invalid",
			}},
		{name: "ndjson", args: []string{signupURI, ndjson}, wantCode: 1,
			wantStdout: []string{
				ndjson + ":3: /email: is not a valid email (format)",
				ndjson + `:3: /referrer_channel: must be one of "organic", "paid_search", "social", "email", "referral", "direct" (enum)`,
				ndjson + ":3: /shop_id: does not match the pattern ^shop_[0-9]+$ (pattern)",
				ndjson + ":5: malformed_json: not valid JSON: the document ends early at column 12",
				"4 events against " + signupURI + ": 2 valid, 2 invalid",
			}},
		{name: "valid ndjson stdin", stdin: valid + "\n" + valid + "\n", args: []string{signupURI, "-"}, wantCode: 0,
			wantStdout: []string{"2 events against " + signupURI + ": 2 valid, 0 invalid"}},
		{name: "self-describing", stdin: selfDescribing, args: []string{"-", "-"}, wantCode: 1,
			wantStdout: []string{
				"stdin:2: schema_not_found: no contract iglu:com.acme/nope/jsonschema/1-0-0 in the registry",
				"stdin:3: context 0 (" + signupURI + "): /: is missing the required property \"email\" (required)",
				"stdin:3: context 0 (" + signupURI + "): /shop_id: must be string, not number (type)",
				"3 events: 1 valid, 2 invalid",
			}},
		{name: "not UTF-8", stdin: "{\"shop_id\": \"shop_1\", \"email\": \"buyer@example.com\", \"referrer_channel\": \"" + validateSecret + "\xff\"}\n" + valid + "\n",
			args: []string{signupURI, "-"}, wantCode: 1,
			wantStdout: []string{
				"stdin:1: invalid_utf8: the event is not valid UTF-8",
				"stdin:1: /referrer_channel: is not valid UTF-8 (byte 0xFF): JSON text must be UTF-8; fix how the producer encodes its text",
				"2 events against " + signupURI + ": 1 valid, 1 invalid",
			}},
		{name: "self-describing, not UTF-8", stdin: "{\"schema\": \"" + signupURI + "\", \"data\": " + valid + ", \"contexts\": [{\"schema\": \"" + signupURI + "\", \"data\": {\"shop_id\": \"\xe2\x82\"}}]}\n",
			args: []string{"-", "-"}, wantCode: 1,
			wantStdout: []string{
				"stdin: invalid_utf8: the event is not valid UTF-8",
				"stdin: /contexts/0/data/shop_id: is not valid UTF-8 (byte 0xE2): JSON text must be UTF-8; fix how the producer encodes its text",
				"1 event: 0 valid, 1 invalid",
			}},
		{name: "unknown uri", args: []string{"iglu:com.acme/nope/jsonschema/1-0-0", ndjson}, wantCode: 2,
			wantStderr: "no contract iglu:com.acme/nope/jsonschema/1-0-0 in the registry"},
		{name: "unknown version", args: []string{"iglu:com.acme/signup/jsonschema/1-0-7", ndjson}, wantCode: 2,
			wantStderr: "com.acme/signup has 1-0-0"},
		{name: "malformed uri", args: []string{"com.acme/signup", ndjson}, wantCode: 2, wantStderr: `must start with "iglu:"`},
		{name: "unreadable file", args: []string{signupURI, filepath.Join(t.TempDir(), "missing.json")}, wantCode: 2, wantStderr: "reading events"},
		{name: "broken registry", args: []string{"--registry", brokenRegistry, signupURI, ndjson}, wantCode: 2, wantStderr: "1-0-0.yaml"},
		{name: "bad format", args: []string{"--format", "xml", signupURI, ndjson}, wantCode: 2, wantStderr: `--format "xml"`},
		{name: "one argument", args: []string{signupURI}, wantCode: 2, wantStderr: "accepts 2 arg(s)"},
		{name: "bad validator", args: []string{"--validator", "slow", signupURI, ndjson}, wantCode: 2, wantStderr: `validator "slow" is not fast or reference`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if !strings.HasPrefix(args[0], "--registry") {
				args = append([]string{"--registry", examples}, args...)
			}
			code, stdout, stderr := runValidate(t, tt.stdin, args...)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, stdout, stderr)
			}
			if tt.wantStdout != nil {
				if diff := cmp.Diff(tt.wantStdout, strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")); diff != "" {
					t.Errorf("stdout (-want +got):\n%s", diff)
				}
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr does not contain %q:\n%s", tt.wantStderr, stderr)
			}
			if strings.Contains(stdout+stderr, validateSecret) {
				t.Errorf("an event value was printed:\n%s%s", stdout, stderr)
			}
			// The fast validator decides by default; the reference one must
			// print exactly the same.
			refCode, refStdout, refStderr := runValidate(t, tt.stdin, append([]string{"--validator", "reference"}, args...)...)
			if refCode != code || refStdout != stdout || refStderr != stderr {
				t.Errorf("--validator reference gives %d\n%s%s\nthe default gives %d\n%s%s", refCode, refStdout, refStderr, code, stdout, stderr)
			}
		})
	}
}

func TestValidateJSONFormat(t *testing.T) {
	examples := filepath.Join("..", "..", "examples", "contracts")
	in := `{"shop_id": "shop_1", "email": "buyer@example.com"}` + "\n" + `{"shop_id": "shop_1"}` + "\n"
	code, stdout, stderr := runValidate(t, in, "--registry", examples, "--format", "json", signupURI, "-")
	if code != 1 {
		t.Fatalf("exit code %d, want 1 (stderr %s)", code, stderr)
	}
	var out struct {
		Schema  string `json:"schema"`
		Events  int    `json:"events"`
		Valid   int    `json:"valid"`
		Invalid int    `json:"invalid"`
		Results []struct {
			Line     int    `json:"line"`
			Valid    bool   `json:"valid"`
			Reason   string `json:"reason"`
			Failures []struct {
				Pointer, Keyword, Message string
				KeywordLocation           string `json:"keyword_location"`
			} `json:"failures"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	if out.Schema != signupURI || out.Events != 2 || out.Valid != 1 || out.Invalid != 1 || len(out.Results) != 2 {
		t.Fatalf("summary = %+v", out)
	}
	r := out.Results[1]
	if r.Line != 2 || r.Valid || r.Reason != "schema_violation" || len(r.Failures) != 1 ||
		r.Failures[0].Keyword != "required" || r.Failures[0].KeywordLocation != "/required" || r.Failures[0].Pointer != "" {
		t.Errorf("second result = %+v, want line 2 missing email", r)
	}
}

func TestValidateDefaultRegistry(t *testing.T) {
	event := `{"shop_id": "shop_1", "email": "buyer@example.com"}`

	// From the repository root there is no ./contracts: the bundled examples are
	// used, and stderr says so.
	t.Run("examples", func(t *testing.T) {
		t.Chdir(filepath.Join("..", ".."))
		code, _, stderr := runValidate(t, event, signupURI, "-")
		if code != 0 || !strings.Contains(stderr, "using the bundled examples/contracts") {
			t.Errorf("exit code %d, stderr %q; want 0 and a note about examples/contracts", code, stderr)
		}
	})
	// Anywhere else (an installed binary), the copy the binary carries is
	// unpacked under the user's cache folder, and stderr says where.
	t.Run("embedded", func(t *testing.T) {
		cache := t.TempDir()
		t.Setenv("XDG_CACHE_HOME", cache)
		t.Chdir(t.TempDir())
		for range 2 {
			code, _, stderr := runValidate(t, event, signupURI, "-")
			if code != 0 || !strings.Contains(stderr, "using the bundled example contracts, unpacked to "+filepath.Join(cache, "accord", "examples-")) {
				t.Errorf("exit code %d, stderr %q; want 0 and where the bundled contracts were unpacked", code, stderr)
			}
		}
	})
	// A cache folder that cannot be written (a read-only home in a container):
	// the temporary folder instead.
	t.Run("embedded-tmp", func(t *testing.T) {
		cache := filepath.Join(t.TempDir(), "not-a-folder")
		if err := os.WriteFile(cache, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Setenv("XDG_CACHE_HOME", cache)
		tmp := t.TempDir()
		t.Setenv("TMPDIR", tmp)
		t.Chdir(t.TempDir())
		code, _, stderr := runValidate(t, event, signupURI, "-")
		if code != 0 || !strings.Contains(stderr, "unpacked to "+filepath.Join(tmp, "accord", "examples-")) {
			t.Errorf("exit code %d, stderr %q; want 0 and the contracts unpacked under TMPDIR", code, stderr)
		}
	})
	// A ./contracts folder wins, silently.
	t.Run("contracts", func(t *testing.T) {
		dir := t.TempDir()
		src, err := os.ReadFile(filepath.Join("..", "..", "examples", "contracts", "com.acme", "signup", "jsonschema", "1-0-0.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(dir, "contracts", "com.acme", "signup", "jsonschema")
		if err := os.MkdirAll(target, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(target, "1-0-0.yaml"), src, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Chdir(dir)
		code, _, stderr := runValidate(t, event, signupURI, "-")
		if code != 0 || stderr != "" {
			t.Errorf("exit code %d, stderr %q; want 0 and nothing", code, stderr)
		}
		if code, _, _ := runValidate(t, event, "iglu:com.acme/search/jsonschema/1-0-0", "-"); code != 2 {
			t.Errorf("a contract only in examples/contracts was found: exit code %d, want 2", code)
		}
	})
}
