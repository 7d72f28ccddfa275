package contract

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fastTable holds documents for the fast decoder: fast says whether it must
// take them (the rest it may decline). Whatever it takes must decode exactly as
// decodeYAML decodes it.
var fastTable = []struct {
	name string
	src  string
	fast bool
}{
	{"plain scalars", "a: b\nc: d e f\n$schema: https://json-schema.org/draft/2020-12/schema\n", true},
	{"core schema", "n: null\nN: Null\nt: ~\nb: true\nB: FALSE\ni: 12\nneg: -3\nf: 2.5\no: 017\nh: 0x1F\nbin: 0b101\ne: 1e5\nd: 5.\nu: 1_000\np: +7\nz: -0\nbig: 99999999999999999999\nfe: 1.5e3\nyes: yes\nts: 2024-01-02\nver: 1.2.3\nnf: .nan\n", false},
	{"numbers", "a: [0, 1, -1, 3.25, 1.0, 0.000001, 1e-7, 10000000000000000000000.0, 18446744073709551615, -9223372036854775808, .5, -.5, 0o17, 0b2, 08, 0x, face, inf, -inf, nan, +.5]\n", true},
	{"infinity", "a: .inf\n", false},
	{"comments", "# head\na: b # tail\n  # indented\nc: 'x' # q\nd: [1, 2] # f\ne: x#y\n\n# end\n", true},
	{"quoted", "a: \"x \\\" \\\\ \\/ \\n \\t \\u00e9 \\b \\f \\r\"\nb: 'it''s'\nc: \"\"\nd: ''\n'e f': 1\n\"g\": 2\n", true},
	{"escapes declined", "a: \"\\x41 \\e \\N\"\n", false},
	{"surrogates", "a: \"\\ud83d\\ude00\"\n", false},
	{"block sequence", "a:\n  - x\n  - y: 1\n    z: 2\n  - [1, 2]\n  - {k: v}\n  - 'q'\nb:\n- 1\n- 2\nc: 3\n", true},
	{"nested", "a:\n  b:\n    c:\n      - d:\n          e: [f, {g: [h]}]\n", true},
	{"empty values", "a:\nb: {}\nc: []\nd:\n  # only a comment\ne: x\n", true},
	{"literal", "a: |\n  one\n   two\n\n  three\nb: |-\n  x\n\n\nc: |+\n  y\n\nd: x\n", true},
	{"folded", "a: >\n  one\n  two\n\n  three\n\n\n  four\nb: >-\n  x\n  y\nc: >+\n  z\n\n", true},
	{"folded more indented", "a: >\n  one\n    two\n  three\n", false},
	{"block scalar in sequence", "a:\n  - |\n    text\n  - >-\n    more\n    text\n  - b: |\n      in map\n    c: 1\n", true},
	{"block scalar header comment", "a: | # note\n  x\n", true},
	{"block scalar indicator", "a: |2\n    x\n", false},
	{"block scalar comment lines", "a: |\n  x\n  # kept\n# dropped\nb: 1\n", true},
	{"json", "{\"$schema\": \"https://json-schema.org/draft/2020-12/schema\",\n \"self\": {\"vendor\": \"com.acme\", \"name\": \"x\", \"format\": \"jsonschema\", \"version\": \"1-0-0\"},\n \"properties\": {\"a\": {\"type\": [\"string\", \"null\"], \"minimum\": -1.5e3}},\n \"required\": [\n  \"a\"\n ]\n}\n", true},
	{"json compact", "{\"a\":1,\"b\":[true,false,null],\"c\":{}}", true},
	{"json spaced colon", "{\"a\" : 1}", true},
	{"property names", "properties:\n  a: {type: object, properties: {b: {}, c: {}}}\n  d:\n    properties:\n      e: 1\n", true},
	{"flow plain", "a: {b: c d, e: x/y, f: [g, h i]}\n", true},
	{"flow plain colon", "a: {e: https://x.example/y}\nb: [0:0]\n", false},
	{"flow keys without values", "a: {b: c, d e., \"f\", g: h}\nb: {x}\n", true},
	{"flow colon without value", "a: {b: }\n", false},
	{"unicode", "é: ü\nk: {ö: [ä, \"ß\"]}\n", true},
	{"indented root", "  a: 1\n  b:\n    - 2\n", true},
	{"no final newline", "a: 1\nb: [2]", true},
	{"anchor", "a: &x 1\nb: *x\n", false},
	{"merge", "a: {b: 1}\n<<: {c: 2}\n", false},
	{"tag", "a: !!str 1\n", false},
	{"document marker", "---\na: 1\n", false},
	{"two documents", "a: 1\n---\nb: 2\n", false},
	{"duplicate key", "a: 1\na: 2\n", false},
	{"duplicate flow key", "a: {b: 1, b: 2}\n", false},
	{"multi-line plain", "a: one\n  two\n", false},
	{"multi-line flow", "a: [1,\n  2]\n", false},
	{"multi-line quoted", "a: \"one\n  two\"\n", false},
	{"tab", "a:\tb\n", false},
	{"crlf", "a: b\r\n", false},
	{"non-string key", "1: a\n", false},
	{"null key", "null: a\n", false},
	{"trailing comma", "a: [1, 2,]\n", false},
	{"bad indentation", "a:\n    b: 1\n  c: 2\n", false},
	{"mapping in scalar", "a: b: c\n", false},
	{"sequence root", "- a\n- b\n", false},
	{"scalar root", "just text\n", false},
	{"empty", "", false},
	{"comment only", "# nothing\n", false},
	{"flow root junk", "{\"a\": 1} x\n", false},
	{"unterminated flow", "a: [1, 2\n", false},
	{"unterminated quote", "a: \"x\n", false},
	{"question key", "? a\n: b\n", false},
	{"dash plain", "a: -x\nb: -\n", false},
	{"colon plain", "a: x:y\nb: ::x\n", true},
	{"hash in plain", "a: x #y\nb: 'x'#y\n", false},
	{"seq item on next line", "a:\n  -\n    b: 1\n", false},
	{"nested compact seq", "a:\n  - - 1\n", false},
	{"long key", strings.Repeat("k", 1100) + ": 1\n", false},
	{"deep", strings.Repeat("{a: ", 70) + "1" + strings.Repeat("}", 70) + "\n", false},
}

// checkFast decodes src with fastDecode and, when it takes the document,
// requires what decodeYAML makes of it.
func checkFast(tb testing.TB, src []byte) bool {
	tb.Helper()
	got := map[string]Pos{}
	doc, ok := fastDecode(src, got, true)
	if !ok {
		return false
	}
	// Without all, the same value and the positions of property names.
	names := map[string]Pos{}
	if doc2, ok2 := fastDecode(src, names, false); !ok2 {
		tb.Fatalf("fast decoder took %q for every position, not for property names", src)
	} else if diff := cmp.Diff(any(doc), any(doc2)); diff != "" {
		tb.Fatalf("fast decoder's value of %q differs with property names only (-all +names):\n%s", src, diff)
	}
	for ptr, at := range got {
		i := strings.LastIndexByte(ptr, '/')
		if _, isMap := SchemaAt(doc, ptr[:i]); isMap && strings.HasSuffix(ptr[:i], "/properties") && names[ptr] != at {
			tb.Fatalf("fast decoder's position of property name %s in %q is %v with property names only, want %v", ptr, src, names[ptr], at)
		}
	}
	want, wantPos, p := decodeYAML(src)
	if p != nil {
		tb.Fatalf("fast decoder took %q, which decodeYAML refuses: %v", src, p)
	}
	if diff := cmp.Diff(want, any(doc)); diff != "" {
		tb.Fatalf("fast decoder's value of %q differs (-want +got):\n%s", src, diff)
	}
	if diff := cmp.Diff(wantPos, got); diff != "" {
		tb.Fatalf("fast decoder's positions in %q differ (-want +got):\n%s", src, diff)
	}
	return true
}

func TestFastDecodeTable(t *testing.T) {
	for _, tc := range fastTable {
		t.Run(tc.name, func(t *testing.T) {
			if took := checkFast(t, []byte(tc.src)); tc.fast && !took {
				t.Errorf("fast decoder declined %q", tc.src)
			}
		})
	}
}

// contractFiles returns the contract files of the repository's examples and
// test registries.
func contractFiles(tb testing.TB) []string {
	tb.Helper()
	var files []string
	for _, root := range []string{filepath.Join("..", "..", "examples"), filepath.Join("..")} {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "fuzz" {
				return fs.SkipDir
			}
			if !d.IsDir() && strings.Contains(p, "jsonschema") {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			tb.Fatalf("listing contracts under %s: %v", root, err)
		}
	}
	return files
}

// TestFastDecodeContracts holds the fast decoder to decodeYAML on every
// contract in the repository, and requires it to take the examples and the
// benchmark's contracts, so that loading a registry does not quietly fall back.
func TestFastDecodeContracts(t *testing.T) {
	files := contractFiles(t)
	if len(files) < 50 {
		t.Fatalf("found %d contract files, want the repository's test registries", len(files))
	}
	taken := 0
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		took := checkFast(t, src)
		if took {
			taken++
		}
		if !took && strings.Contains(f, filepath.Join("examples", "contracts")) {
			t.Errorf("fast decoder declined %s", f)
		}
	}
	t.Logf("fast decoder took %d of %d contract files", taken, len(files))
	for v := range 4 {
		src := benchContract("com.vendor01", "event_0001", "1-0-0", 1, v)
		if !checkFast(t, []byte(src)) {
			t.Errorf("fast decoder declined the benchmark contract of version %d", v)
		}
	}
	dir := t.TempDir()
	writeBenchRegistryOf(t, dir, 1, 1, true)
	src, err := os.ReadFile(filepath.Join(dir, "com.vendor00", "event_0000", "jsonschema", "1-0-0.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !checkFast(t, src) {
		t.Error("fast decoder declined the distinct benchmark's contract")
	}
}

// FuzzFastDecode holds the fast decoder to goccy/go-yaml on arbitrary input:
// what it takes must decode to the same values and positions, and nothing may
// panic. Seeded from the table and the repository's contracts.
func FuzzFastDecode(f *testing.F) {
	for _, tc := range fastTable {
		f.Add([]byte(tc.src))
	}
	for _, s := range contractSeeds {
		f.Add([]byte(s))
	}
	for _, p := range contractFiles(f) {
		src, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Add([]byte(benchContract("com.vendor01", "event_0001", "1-0-0", 1, 3)))
	f.Fuzz(func(t *testing.T, src []byte) {
		if !utf8Valid(src) {
			return // decode refuses it before either decoder
		}
		checkFast(t, src)
	})
}

// TestFastInterned checks that every shared keyword and value is what the
// fast decoder would make of it as a plain scalar.
func TestFastInterned(t *testing.T) {
	for w, v := range fastInterned {
		if got, ok := resolvePlain(w); !ok || got != v {
			t.Errorf("resolvePlain(%q) = %#v, %v; the shared value is %#v", w, got, ok, v)
		}
	}
}
