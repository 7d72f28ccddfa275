package contract

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// uriTable holds Iglu URIs and paths, valid and not, that seed FuzzParseURI.
var uriTable = []string{
	"iglu:com.acme/signup/jsonschema/1-0-0",
	"iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1",
	"iglu:com.acme/checkout_completed/jsonschema/12-3-45",
	"iglu:com.acme/signup/jsonschema/0-1-0",
	"iglu:com.acme/signup/jsonschema/1-01-0",
	"iglu:com.acme/signup/avro/1-0-0",
	"iglu:com.acme/sign up/jsonschema/1-0-0",
	"iglu:com.acme/signup/jsonschema/1-0",
	"iglu:com.acme/../jsonschema/1-0-0",
	"iglu:/signup/jsonschema/1-0-0",
	"iglu:com.acme/signup/jsonschema/1-0-0/extra",
	"iglu:com.acme/signup/jsonschema/999999999-0-0",
	"iglu:com.acme/signup/jsonschema/-1-0-0",
	"iglu:",
	"http://iglucentral.com/schemas/com.acme/signup/jsonschema/1-0-0",
	"",
	"iglu:com.acme/signup/jsonschema/1-0-0-0",
	"iglu:com.acme/signup/jsonschema/1--0",
	"iglu:com.acme/signup/jsonschema/1-0-",
	"iglu:com.acme/signup/jsonschema/01-0",
	"iglu:com.acme/signup/jsonschema/x-0-0",
	"iglu:com.acme//jsonschema/1-0-0",
	"iglu:com.acme/signup//1-0-0",
	"iglu:com.acme/signup/jsonschema/",
	"iglu:///",
}

// splitParseURI is ParseURI as it was before it cut the URI instead of splitting
// it (with ParseSchemaVer likewise), kept as FuzzParseURI's oracle: the same
// keys, the same errors, word for word.
func splitParseURI(uri string) (Key, error) {
	if strings.TrimSpace(uri) != uri {
		return Key{}, fmt.Errorf("schema URI %q has spaces or line breaks around it; send it without them (for example iglu:com.acme/signup/jsonschema/1-0-0)", clip(uri))
	}
	rest, ok := strings.CutPrefix(uri, IgluPrefix)
	if !ok {
		return Key{}, fmt.Errorf("schema URI %q must start with %q (for example iglu:com.acme/signup/jsonschema/1-0-0)", clip(uri), IgluPrefix)
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 4 {
		return Key{}, fmt.Errorf("schema URI %q must have four parts iglu:<vendor>/<name>/<format>/<version>", clip(uri))
	}
	if err := checkIdent("vendor", parts[0], true); err != nil {
		return Key{}, err
	}
	if err := checkIdent("name", parts[1], false); err != nil {
		return Key{}, err
	}
	if parts[2] != "jsonschema" {
		return Key{}, fmt.Errorf("format %q is not supported: Accord contracts use the format \"jsonschema\"", clip(parts[2]))
	}
	v, err := splitParseSchemaVer(parts[3])
	if err != nil {
		return Key{}, err
	}
	return Key{Vendor: parts[0], Name: parts[1], Format: parts[2], Version: v}, nil
}

func splitParseSchemaVer(s string) (SchemaVer, error) {
	parts := strings.Split(s, "-")
	if len(parts) != 3 {
		return SchemaVer{}, fmt.Errorf("version %q is not SchemaVer MODEL-REVISION-ADDITION (for example 1-0-0)", s)
	}
	var n [3]int
	for i, p := range parts {
		if p == "" || len(p) > 9 || (len(p) > 1 && p[0] == '0') || strings.Trim(p, "0123456789") != "" {
			return SchemaVer{}, fmt.Errorf("version %q: part %q must be a number without leading zeros (for example 1-0-0)", s, p)
		}
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 {
			return SchemaVer{}, fmt.Errorf("version %q: part %q must be a non-negative number (for example 1-0-0)", s, p)
		}
		n[i] = v
	}
	if n[0] < 1 {
		return SchemaVer{}, fmt.Errorf("version %q: MODEL starts at 1 (for example 1-0-0)", s)
	}
	return SchemaVer{Model: n[0], Revision: n[1], Addition: n[2]}, nil
}

func TestParseURITable(t *testing.T) {
	valid := map[string]bool{
		"iglu:com.acme/signup/jsonschema/1-0-0":                           true,
		"iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1": true,
		"iglu:com.acme/checkout_completed/jsonschema/12-3-45":             true,
		"iglu:com.acme/signup/jsonschema/999999999-0-0":                   true,
	}
	for _, uri := range uriTable {
		k, err := ParseURI(uri)
		if valid[uri] != (err == nil) {
			t.Errorf("ParseURI(%q) = %v, %v; want valid=%v", uri, k, err, valid[uri])
			continue
		}
		if err == nil && k.URI() != uri {
			t.Errorf("ParseURI(%q).URI() = %q", uri, k.URI())
		}
	}
}

// TestURIAllocs: the collector formats and parses a schema URI for events, so
// each costs one allocation at most (the string made), none for parsing.
func TestURIAllocs(t *testing.T) {
	k := Key{Vendor: "com.snowplowanalytics.snowplow", Name: "link_click", Format: "jsonschema", Version: SchemaVer{Model: 12, Revision: 345, Addition: 6789}}
	uri := k.URI()
	for what, f := range map[string]func(){
		"Key.URI":             func() { uriSink = k.URI() },
		"SchemaVer.String":    func() { uriSink = k.Version.String() },
		"ParseURI (no alloc)": func() { keySink, _ = ParseURI(uri) },
	} {
		want := 1.0
		if strings.HasSuffix(what, "(no alloc)") {
			want = 0
		}
		if got := testing.AllocsPerRun(100, f); got != want {
			t.Errorf("%s: %v allocations, want %v", what, got, want)
		}
	}
}

// BenchmarkParseURI parses the reference event's schema URI, as the collector
// does for every event (and every context entity) it takes.
func BenchmarkParseURI(b *testing.B) {
	const uri = "iglu:com.acme/checkout_completed/jsonschema/1-2-0"
	for b.Loop() {
		keySink, _ = ParseURI(uri)
	}
}

// uriSink and keySink keep TestURIAllocs's results on the heap, as a caller's are.
var (
	uriSink string
	keySink Key
)

// FuzzParseURI checks that ParseURI never panics and that every key it accepts
// formats to a URI that parses back to the same key.
func FuzzParseURI(f *testing.F) {
	for _, s := range uriTable {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		k, err := ParseURI(uri)
		wantK, wantErr := splitParseURI(uri)
		if k != wantK || fmt.Sprint(err) != fmt.Sprint(wantErr) {
			t.Fatalf("ParseURI(%q) = %v, %v; the split parser gave %v, %v", uri, k, err, wantK, wantErr)
		}
		if err != nil {
			return
		}
		if want := IgluPrefix + k.Vendor + "/" + k.Name + "/" + k.Format + "/" + strconv.Itoa(k.Version.Model) + "-" +
			strconv.Itoa(k.Version.Revision) + "-" + strconv.Itoa(k.Version.Addition); k.URI() != want {
			t.Fatalf("%v.URI() = %q, want %q", k, k.URI(), want)
		}
		back, err := ParseURI(k.URI())
		if err != nil {
			t.Fatalf("ParseURI(%q) = %v, but its URI %q does not parse: %v", uri, k, k.URI(), err)
		}
		if back != k {
			t.Fatalf("round trip of %q: got %v, want %v", uri, back, k)
		}
		if k.URI() != uri {
			t.Fatalf("ParseURI(%q) accepted a spelling that formats differently: %q", uri, k.URI())
		}
		if pk, err := ParsePath(k.Path() + ".yaml"); err != nil || pk != k {
			t.Fatalf("ParsePath(%q) = %v, %v; want %v", k.Path()+".yaml", pk, err, k)
		}
	})
}

// contractSeeds are documents that seed FuzzParse besides the registries on disk.
var contractSeeds = []string{
	`{"self": {"vendor": "com.acme", "name": "x", "format": "jsonschema", "version": "1-0-0"}, "type": "object"}`,
	"self: {vendor: com.acme, name: x, format: jsonschema, version: 1-0-0}\nproperties:\n  a: {$ref: \"#\"}\n  b: {$ref: \"#\"}\n",
	"properties:\n  a: &x {type: string}\n  b: *x\n",
	"$schema: http://json-schema.org/draft-04/schema#\nproperties: {a: {type: [string, \"null\"]}}\n",
	"x-pii: {kind: 1}\nx-privacy: {controller: {field: a}}\nx-lifecycle: {retention: P}\n",
	"items: [{type: string}, {items: {prefixItems: [{}]}}]\n",
	"- a\n- b\n",
	"a: b\n---\nc: d\n",
	"{",
	"",
}

// FuzzParse feeds arbitrary bytes to the contract parser, and what it accepts to
// the compiler: neither may panic, whatever the input.
func FuzzParse(f *testing.F) {
	for _, s := range contractSeeds {
		f.Add([]byte(s))
	}
	for _, root := range []string{
		filepath.Join("..", "..", "examples", "contracts"),
		filepath.Join("lint", "testdata"),
	} {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.Contains(p, "jsonschema") {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			f.Add(b)
			return nil
		})
		if err != nil {
			f.Fatalf("seeding from %s: %v", root, err)
		}
	}
	key := Key{Vendor: "com.acme", Name: "fuzz", Format: "jsonschema", Version: SchemaVer{Model: 1}}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, problems := Parse(data, "fuzz.yaml", key)
		for _, p := range problems {
			if p.Rule == "" || p.Message == "" {
				t.Fatalf("problem without rule or message: %+v", p)
			}
		}
		if c == nil {
			if len(problems) == 0 {
				t.Fatal("Parse returned neither a contract nor a problem")
			}
			return
		}
		for _, fd := range c.Fields {
			_ = c.Pos(fd.Pointer)
		}
		CompileOne(c)
	})
}
