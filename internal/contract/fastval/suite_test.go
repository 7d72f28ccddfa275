package fastval

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

const suiteEnv = "ACCORD_JSON_SCHEMA_TEST_SUITE"

type suiteGroup struct {
	Description string
	Schema      json.RawMessage
	Tests       []struct {
		Description string
		Data        json.RawMessage
		Valid       bool
	}
}

// suiteRemotes serves the suite's remotes/ folder to santhosh on the fallback
// path, as the suite expects of http://localhost:1234/.
type suiteRemotes string

func (rl suiteRemotes) Load(url string) (any, error) {
	rem, ok := strings.CutPrefix(url, "http://localhost:1234/")
	if !ok {
		return nil, errors.New("no network in tests: " + url)
	}
	f, err := os.Open(filepath.Join(string(rl), "remotes", filepath.FromSlash(rem)))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return jsonschema.UnmarshalJSON(f)
}

// TestSuite runs the official JSON Schema Test Suite (required tests of drafts
// 2020-12, 7 and 4) through the fast program, or through santhosh when Compile
// says the schema is unsupported, and checks every verdict.
func TestSuite(t *testing.T) {
	root := os.Getenv(suiteEnv)
	if root == "" {
		t.Skipf("set %s to the JSON-Schema-Test-Suite folder to run the official suite", suiteEnv)
	}
	drafts := []struct {
		dir   string
		draft Draft
		ref   *jsonschema.Draft
	}{
		{"draft2020-12", Draft2020, jsonschema.Draft2020},
		{"draft7", Draft7, jsonschema.Draft7},
		{"draft4", Draft4, jsonschema.Draft4},
	}
	for _, withLoader := range []bool{false, true} {
		for _, d := range drafts {
			name := d.dir
			if withLoader {
				name += "/with-loader"
			}
			runSuiteDraft(t, root, name, d.dir, d.draft, d.ref, withLoader)
		}
	}
}

// runSuiteDraft runs one draft folder. withLoader gives Compile the suite's
// remotes (as the registry would give contracts), so remote $refs stay fast.
func runSuiteDraft(t *testing.T, root, name, dirName string, draft Draft, refDraft *jsonschema.Draft, withLoader bool) {
	d := struct {
		dir   string
		draft Draft
		ref   *jsonschema.Draft
	}{dirName, draft, refDraft}
	{
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(root, "tests", d.dir)
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatalf("reading suite: %v", err)
			}
			fast, fallback, cases := 0, 0, 0
			reasons := map[string]int{}
			for _, e := range entries {
				if e.IsDir() || filepath.Ext(e.Name()) != ".json" {
					continue
				}
				raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
				if err != nil {
					t.Fatal(err)
				}
				var groups []suiteGroup
				if err := json.Unmarshal(raw, &groups); err != nil {
					t.Fatalf("%s: %v", e.Name(), err)
				}
				for gi, g := range groups {
					schema, err := jsonschema.UnmarshalJSON(bytes.NewReader(g.Schema))
					if err != nil {
						t.Fatalf("%s: %v", e.Name(), err)
					}
					opts := Options{Draft: d.draft, BaseURL: "http://testsuites.com/schema.json"}
					if withLoader {
						opts.Loader = jsonschema.SchemeURLLoader{"http": suiteRemotes(root)}
					}
					prog, err := Compile(schema, opts)
					var unsup *UnsupportedError
					switch {
					case errors.As(err, &unsup):
						fallback++
						reasons[unsup.Keyword]++
						ref := compileSuiteRef(t, root, d.ref, g.Schema)
						for _, tc := range g.Tests {
							cases++
							inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(tc.Data))
							if err != nil {
								t.Fatal(err)
							}
							if got := ref.Validate(inst) == nil; got != tc.Valid {
								t.Errorf("%s #%d %q / %q (fallback): valid = %v, want %v", e.Name(), gi, g.Description, tc.Description, got, tc.Valid)
							}
						}
					case err != nil:
						t.Errorf("%s #%d %q: compile: %v", e.Name(), gi, g.Description, err)
					default:
						fast++
						var res Result
						for _, tc := range g.Tests {
							cases++
							got := prog.Validate(tc.Data, &res)
							if got != tc.Valid {
								t.Errorf("%s #%d %q / %q: valid = %v, want %v\nschema: %s\ndata: %s\nfailures: %+v", e.Name(), gi, g.Description, tc.Description, got, tc.Valid, g.Schema, tc.Data, res.Failures())
							}
							if !got && len(res.Failures()) == 0 {
								t.Errorf("%s %q / %q: invalid without failures", e.Name(), g.Description, tc.Description)
							}
						}
					}
				}
			}
			var rs []string
			for k, n := range reasons {
				rs = append(rs, k+"="+itoa(n))
			}
			sort.Strings(rs)
			t.Logf("%s: %d groups on the fast path, %d on the fallback (%s); %d test cases", name, fast, fallback, strings.Join(rs, ", "), cases)
		})
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func compileSuiteRef(t testing.TB, root string, draft *jsonschema.Draft, schema []byte) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(draft)
	c.UseLoader(jsonschema.SchemeURLLoader{"http": suiteRemotes(root)})
	const url = "http://testsuites.com/schema.json"
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(url)
	if err != nil {
		t.Fatalf("reference compile: %v", err)
	}
	return s
}
