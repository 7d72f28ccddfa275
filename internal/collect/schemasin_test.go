package collect

import (
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// schemasInTable holds texts of events that could not be decoded, and the
// schema references schemasIn reads in them, in order.
var schemasInTable = []struct {
	text string
	want []string
}{
	{`{"schema":"iglu:a/b/jsonschema/1-0-0","data":{"email":"x@example.com"`, []string{"iglu:a/b/jsonschema/1-0-0"}},
	{`{"schema" : "iglu:a/b/jsonschema/1-0-0" ,"data":{}}`, []string{"iglu:a/b/jsonschema/1-0-0"}},
	{`{"Schema":"a/b","data":{}`, []string{"a/b"}},
	{`{"sch\u0065ma":"iglu:a\/b\/jsonschema\/1-0-0"`, []string{"iglu:a/b/jsonschema/1-0-0"}},
	{`{"schema":"iglu:a/b/jsonschema/1-0-0","data":{},"contexts":[{"schema":"iglu:c/d/jsonschema/1-0-0","data":{"x":`, []string{"iglu:a/b/jsonschema/1-0-0", "iglu:c/d/jsonschema/1-0-0"}},
	{`{"data":{"note":"\"schema\":\"iglu:a/b/jsonschema/1-0-0\""},"schema":"iglu:c/d/jsonschema/1-0-0"`, []string{"iglu:c/d/jsonschema/1-0-0"}},
	{`{"schema":"iglu:a/b/jsonschema/1-0-0`, nil},
	{`{"schema":`, nil},
	{`{"schema":5,"data":"schema"}`, nil},
	{`{"schema":"bad escape \x here"}`, []string{`bad escape x here`}},
	{`["schema","x"]`, nil},
	{`{"e":"ue","ue_pr":"{\"schema\":\"iglu:a/b/jsonschema/1-0-0\"}"}`, nil},
	{`{"schema":"` + strings.Repeat("a", maxSchemaRef+1) + `","data":{},"schema":"x"}`, []string{"x"}},
	{"", nil},
	{`"`, nil},
	{`\`, nil},
}

func schemasInList(text string) []string {
	var got []string
	schemasIn(text, func(s string) bool {
		got = append(got, s)
		return true
	})
	return got
}

func TestSchemasIn(t *testing.T) {
	for _, tc := range schemasInTable {
		if diff := cmp.Diff(tc.want, schemasInList(tc.text)); diff != "" {
			t.Errorf("schemasIn(%q) (-want +got):\n%s", tc.text, diff)
		}
	}
	n := 0
	schemasIn(`{"schema":"a","schema":"b"}`, func(string) bool { n++; return false })
	if n != 1 {
		t.Errorf("the reading went on after yield said stop: %d", n)
	}
}

// jsonSchemas is schemasIn's oracle on valid JSON: encoding/json's tokens,
// every string value of a member named "schema" in any case, in order; ok is
// false when one is too long for schemasIn to take.
func jsonSchemas(text string) (out []string, ok bool) {
	dec := json.NewDecoder(strings.NewReader(text))
	type frame struct{ object, key bool }
	var stack []frame
	ok = true
	schemaNext := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) || err != nil {
			return out, ok
		}
		inKey := len(stack) > 0 && stack[len(stack)-1].object && stack[len(stack)-1].key
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].key = !inKey
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '{' || v == '[' {
				stack = append(stack, frame{object: v == '{', key: true})
			} else {
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].object {
					stack[len(stack)-1].key = true
				}
			}
			schemaNext = false
			continue
		case string:
			if inKey {
				schemaNext = strings.EqualFold(v, "schema")
				continue
			}
			if schemaNext {
				if len(v) > 100 {
					ok = false
				}
				out = append(out, v)
			}
		}
		schemaNext = false
	}
}

// FuzzSchemasIn checks the lenient reader on any text: it never panics; what
// it reads in a text cut anywhere is what it reads in the whole, up to the
// cut; in valid JSON it reads exactly encoding/json's schema members.
func FuzzSchemasIn(f *testing.F) {
	for _, tc := range schemasInTable {
		f.Add(tc.text, uint16(len(tc.text)/2))
	}
	f.Fuzz(func(t *testing.T, text string, cut uint16) {
		got := schemasInList(text)
		for _, s := range got {
			if len(s) > maxSchemaRef {
				t.Fatalf("schemasIn(%q) took %d bytes for a reference", text, len(s))
			}
		}
		if k := int(cut); k <= len(text) {
			if part := schemasInList(text[:k]); len(part) > len(got) || !slices.Equal(part, got[:len(part)]) {
				t.Fatalf("schemasIn(%q) = %q, but cut at %d %q", text, got, k, part)
			}
		}
		if !json.Valid([]byte(text)) || !utf8.ValidString(text) {
			return
		}
		// (schemasIn unquotes keys of up to 64 bytes as sent: a key that reads
		// as "schema" in any case is 36 at most, every letter escaped.)
		if want, ok := jsonSchemas(text); ok && !slices.Equal(got, want) {
			t.Fatalf("schemasIn(%q) = %q, encoding/json reads %q", text, got, want)
		}
	})
}

// TestSchemaRefs: the distinct schemas a broken body names, in order, at most
// maxNamed of them.
func TestSchemaRefs(t *testing.T) {
	body := []byte("{\n \"schema\": \"iglu:a/b/jsonschema/1-0-0\",\n \"data\": {\"note\": \"\\\"schema\\\": \\\"iglu:x/y/jsonschema/1-0-0\\\"\"},\n}\n" +
		`{"schema":"iglu:a/b/jsonschema/1-0-0"}` + "\n" + `{"SCHEMA":"iglu:c/d/jsonschema/1-0-0","data":{"sch`)
	if diff := cmp.Diff([]string{"iglu:a/b/jsonschema/1-0-0", "iglu:c/d/jsonschema/1-0-0"}, SchemaRefs(body)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	var many strings.Builder
	for i := range maxNamed + 10 {
		many.WriteString(`{"schema":"iglu:a/b/jsonschema/1-0-` + strconv.Itoa(i) + `"}` + "\n")
	}
	if got := SchemaRefs([]byte(many.String())); len(got) != maxNamed {
		t.Errorf("%d references, want at most %d", len(got), maxNamed)
	}
	if got := SchemaRefs([]byte("not json")); len(got) != 0 {
		t.Errorf("references in text without any: %q", got)
	}
}

// FuzzSkeleton: the letters-and-digits reading of any schema reference (the
// last family lookup of a bad row) never panics and holds only letters and
// digits; a family's own skeleton is found in any URI that names it.
func FuzzSkeleton(f *testing.F) {
	for _, s := range []string{"iglu:com.acme/signup/jsonschema/1-0-0", "iglu:com.acme/sign%75p/x", "ｓignup\u200b", "%zz", "İSTANBUL", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sk := skeleton(s)
		for _, r := range sk {
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				t.Fatalf("skeleton(%q) = %q holds %q", s, sk, r)
			}
		}
		if uri := "iglu:com.acme/signup/jsonschema/1-0-0" + s; !strings.Contains(skeleton(uri), skeleton("com.acme"+"signup")) && !strings.Contains(s, "%") {
			t.Fatalf("skeleton(%q) lost the family it names", uri)
		}
	})
}
