package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// decodeScan decodes one JSON document with the scanner into the values
// encoding/json gives with UseNumber (the last of repeated keys wins).
func decodeScan(b []byte) (any, error) {
	start, end, err := Document(b)
	if err != nil {
		return nil, err
	}
	var val func(s, e int) (any, error)
	val = func(s, e int) (any, error) {
		switch c := b[s]; {
		case c == '{' && s%2 == 0: // Walk at even offsets, Members at odd ones
			m := map[string]any{}
			_, err := Walk(b, s, func(k []byte, _ bool, vs int) (int, error) {
				ve, err := Value(b, vs)
				if err != nil {
					return ve, err
				}
				v, err := val(vs, ve)
				m[string(AppendUnquoted(nil, k))] = v
				return ve, err
			})
			return m, err
		case c == '{':
			m := map[string]any{}
			_, err := Members(b, s, func(k []byte, _ bool, vs, ve int) error {
				v, err := val(vs, ve)
				m[string(AppendUnquoted(nil, k))] = v
				return err
			}, 0)
			return m, err
		case c == '[' && s%2 == 0: // WalkElements at even offsets, Elements at odd ones
			l := []any{}
			_, err := WalkElements(b, s, func(vs int) (int, error) {
				ve, err := Value(b, vs)
				if err != nil {
					return ve, err
				}
				v, err := val(vs, ve)
				l = append(l, v)
				return ve, err
			})
			return l, err
		case c == '[':
			l := []any{}
			_, err := Elements(b, s, func(vs, ve int) error {
				v, err := val(vs, ve)
				l = append(l, v)
				return err
			}, 0)
			return l, err
		case c == '"':
			return Unquote(b[s:e]), nil
		case c == 't' || c == 'f':
			return c == 't', nil
		case c == 'n':
			return nil, nil
		}
		return json.Number(b[s:e]), nil
	}
	return val(start, end)
}

var scanSeeds = []string{
	`{"a":[1,-2.5e+3,0,true,false,null],"b":{"c":"\u00e9\ud83d\ude00\ud800\"\\\/\b\f\n\r\t"},"a":"last"}`,
	` [ ] `, `{}`, ` {"a":{"b":[{"c":1}, {"d":{}}]}, "e":{"f":"g"}}`, `{"a":`, ` {"a":1`, `[1,[2,[3]],{"a":[]}]`, ` [1,`, `[[`, `"\xff\xfe"`, `-0.0E-0`, `01`, `1.`, `.5`, `{"a" 1}`, `[1,]`, `{"a":1,}`, `"\x01"`,
	`"\u12"`, `"\q"`, `tru`, `nul`, `[1]x`, `{"k":"v"}{}`, `1e`, `"abc`, `[[[[]]]]`,
}

// TestScan checks the scanner against encoding/json on valid and invalid
// documents.
func TestScan(t *testing.T) {
	for _, s := range scanSeeds {
		checkScan(t, []byte(s))
	}
}

func checkScan(t *testing.T, b []byte) {
	t.Helper()
	got, err := decodeScan(b)
	var want any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	werr := dec.Decode(&want)
	if werr == nil && dec.More() || werr == nil && !json.Valid(b) {
		werr = ErrSyntax
	}
	switch {
	case (err == nil) != (werr == nil):
		t.Fatalf("%q: scanner error %v, encoding/json error %v", b, err, werr)
	case err == nil && !reflect.DeepEqual(got, want):
		t.Fatalf("%q:\n scanner %#v\n    json %#v", b, got, want)
	}
}

// FuzzScan compares the scanner with encoding/json on any bytes.
func FuzzScan(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkScan(t, b) })
}

// TestObjectMembers: keys come unquoted, values as written, repeated members
// each in turn, and a syntax error ends the walk with an error.
func TestObjectMembers(t *testing.T) {
	var got []string
	doc := `{"a":1, "\u0062" : [ 2 ],"a\"":{"c":"d"},"a":null} tail`
	end, err := ObjectMembers([]byte(doc), func(k, v []byte) {
		got = append(got, string(k)+"="+string(v))
	})
	want := []string{"a=1", "b=[ 2 ]", `a"={"c":"d"}`, "a=null"}
	if wantEnd := strings.Index(doc, " tail"); err != nil || end != wantEnd || strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("ObjectMembers: %q, end %d, %v; want %q, end %d", got, end, err, want, wantEnd)
	}
	if _, err := ObjectMembers([]byte(`{"a":1,}`), func(k, v []byte) {}); !errors.Is(err, ErrSyntax) {
		t.Fatalf("ObjectMembers on a trailing comma: %v, want a syntax error", err)
	}
}

// TestObjectMembersNotObject: a text that does not start with a brace is a
// syntax error, not read as members.
func TestObjectMembersNotObject(t *testing.T) {
	for _, doc := range []string{``, `[1]`, ` {"a":1}`, `"a":1}`} {
		if _, err := ObjectMembers([]byte(doc), func(k, v []byte) { t.Errorf("%q: member %q read", doc, k) }); !errors.Is(err, ErrSyntax) {
			t.Errorf("ObjectMembers(%q): %v, want a syntax error", doc, err)
		}
	}
}
