package contract

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// looseTable holds schema references as producers get them wrong, and the
// families LooseFamilies reads in them, in order.
var looseTable = []struct {
	ref  string
	want []string
}{
	{"iglu:com.acme/signup/jsonschema/1-0-0", []string{"com.acme/signup", "signup/jsonschema", "jsonschema/1-0-0"}},
	{"iglu:com.acme/signup/jsonschema/1.0.0", []string{"com.acme/signup", "signup/jsonschema"}},
	{"com.acme/signup/jsonschema/1-0-0", []string{"com.acme/signup", "signup/jsonschema", "jsonschema/1-0-0"}},
	{"iglu:com.acme/signup/jsonschema/1-0-0 ", []string{"com.acme/signup", "signup/jsonschema", "jsonschema/1-0-0"}},
	{"\t iglu:com.acme/signup/jsonschema/1-0-0\n", []string{"com.acme/signup", "signup/jsonschema", "jsonschema/1-0-0"}},
	{"iglu:com.acme/signup/jsonschema/01-0-0", []string{"com.acme/signup", "signup/jsonschema", "jsonschema/01-0-0"}},
	{"iglu:com.acme/signup/json/1-0-0", []string{"com.acme/signup", "signup/json", "json/1-0-0"}},
	{"iglu:com.acme/signup/jsonschema/1-0", []string{"com.acme/signup", "signup/jsonschema", "jsonschema/1-0"}},
	{"iglu:com.acme/signup", []string{"com.acme/signup"}},
	{"IGLU:com.acme/signup/jsonschema/1-0-0", []string{"com.acme/signup", "signup/jsonschema", "jsonschema/1-0-0"}},
	{"iglu://com.acme/signup/jsonschema/1-0-0", []string{"com.acme/signup", "signup/jsonschema", "jsonschema/1-0-0"}},
	{"iglu: com.acme / signup / jsonschema / 1-0-0", []string{"com.acme/signup", "signup/jsonschema", "jsonschema/1-0-0"}},
	{"iglu:com.acme//signup/jsonschema/1-0-0", []string{"com.acme/signup", "signup/jsonschema", "jsonschema/1-0-0"}},
	{"iglu:com.acme/Signup/jsonschema/1-0-0", []string{"com.acme/Signup", "Signup/jsonschema", "jsonschema/1-0-0"}},
	// A vendor may have dots, a name may not: "signup.v2" names no family.
	{"iglu:com.acme/signup.v2/jsonschema/1-0-0", []string{"signup.v2/jsonschema", "jsonschema/1-0-0"}},
	// An Iglu server's URL: the pairs before and after the family are read
	// too, and the registry holds none of them.
	{"https://iglu.example/api/schemas/com.acme/signup/jsonschema/1-0-0", []string{
		"iglu.example/api", "api/schemas", "com.acme/signup", "signup/jsonschema", "jsonschema/1-0-0"}},
	{"iglu:com acme/signup/jsonschema/1-0-0", []string{"signup/jsonschema", "jsonschema/1-0-0"}},
	{"iglu:../signup/jsonschema/1-0-0", []string{"signup/jsonschema", "jsonschema/1-0-0"}},
	{"iglu:com.acme", nil},
	{"signup", nil},
	{"", nil},
	{"   ", nil},
	{"iglu:", nil},
	{"iglu:///", nil},
}

func looseList(ref string) []string {
	var got []string
	for f := range LooseFamilies(ref) {
		if f.Format != "jsonschema" {
			got = append(got, "format "+f.Format)
		}
		got = append(got, f.Vendor+"/"+f.Name)
	}
	return got
}

func TestLooseFamilies(t *testing.T) {
	for _, tc := range looseTable {
		if diff := cmp.Diff(tc.want, looseList(tc.ref)); diff != "" {
			t.Errorf("LooseFamilies(%q) (-want +got):\n%s", tc.ref, diff)
		}
	}
	// A caller that stops at the first candidate it finds stops the reading.
	n := 0
	for range LooseFamilies("a/b/c/d/e") {
		n++
		break
	}
	if n != 1 {
		t.Errorf("the reading went on after the caller stopped: %d", n)
	}
}

// TestParseURISpaces: a URI with spaces around it is refused for them, not
// for the character next to them.
func TestParseURISpaces(t *testing.T) {
	for _, uri := range []string{"iglu:com.acme/signup/jsonschema/1-0-0 ", " iglu:com.acme/signup/jsonschema/1-0-0", "iglu:com.acme/signup/jsonschema/1-0-0\n", "\u00a0iglu:com.acme/signup/jsonschema/1-0-0"} {
		if _, err := ParseURI(uri); err == nil || !strings.Contains(err.Error(), "spaces or line breaks around it") {
			t.Errorf("ParseURI(%q) = %v, want the spaces named", uri, err)
		}
	}
}

// FuzzLooseFamilies checks the lenient reader on any reference: it never
// panics; every candidate is a vendor and a name ParseURI accepts, adjacent
// in the reference; a URI ParseURI accepts reads as its own family first;
// spaces and a prefix "iglu:" around a reference change nothing.
func FuzzLooseFamilies(f *testing.F) {
	for _, tc := range looseTable {
		f.Add(tc.ref)
	}
	for _, s := range uriTable {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		got := slices.Collect(LooseFamilies(ref))
		for _, fam := range got {
			k, err := ParseURI(IgluPrefix + fam.Vendor + "/" + fam.Name + "/" + fam.Format + "/1-0-0")
			if err != nil || k.Family() != fam {
				t.Fatalf("LooseFamilies(%q) gave %v, which is no family: %v", ref, fam, err)
			}
			if !strings.Contains(ref, fam.Vendor) || !strings.Contains(ref, fam.Name) {
				t.Fatalf("LooseFamilies(%q) gave %v, which it does not name", ref, fam)
			}
		}
		if k, err := ParseURI(ref); err == nil && (len(got) == 0 || got[0] != k.Family()) {
			t.Fatalf("LooseFamilies(%q) = %v, want %v first", ref, got, k.Family())
		}
		if len(ref) < maxLooseRef-16 && !strings.HasPrefix(strings.ToLower(strings.TrimSpace(ref)), IgluPrefix) {
			if again := slices.Collect(LooseFamilies(" iglu:" + ref + "\n")); !slices.Equal(again, got) {
				t.Fatalf("LooseFamilies(%q) = %v, but with spaces and iglu: around it %v", ref, got, again)
			}
		}
	})
}
