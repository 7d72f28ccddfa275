package registry

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var decodeTests = []struct {
	name      string
	in        string
	expand    bool
	wantShape Shape
	wantLines []int    // Line of each document
	wantErrs  []string // a substring of each document's error, "" for none
}{
	{name: "object", in: `{"a": 1}`, wantShape: ShapeSingle, wantLines: []int{0}, wantErrs: []string{""}},
	{name: "pretty object", in: "{\n  \"a\": 1,\n  \"b\": [1, 2]\n}\n", wantShape: ShapeSingle, wantLines: []int{0}, wantErrs: []string{""}},
	{name: "array kept", in: `[{"a": 1}, 2]`, wantShape: ShapeSingle, wantLines: []int{0}, wantErrs: []string{""}},
	{name: "array expanded", in: `[{"a": 1}, 2]`, expand: true, wantShape: ShapeArray, wantLines: []int{0, 0}, wantErrs: []string{"", ""}},
	{name: "ndjson", in: "{\"a\": 1}\n\n{\"a\": 2}\r\n", wantShape: ShapeLines, wantLines: []int{1, 3}, wantErrs: []string{"", ""}},
	{name: "ndjson broken line", in: "{\"a\": 1}\n{\"a\": \n{\"a\": 3}\n", wantShape: ShapeLines, wantLines: []int{1, 2, 3},
		wantErrs: []string{"", "ends early", ""}},
	{name: "broken pretty object", in: "{\n  \"a\": 1,\n  \"b\" 2\n}\n", wantShape: ShapeSingle, wantLines: []int{0},
		wantErrs: []string{"line 3, column 7: invalid character after object key"}},
	{name: "trailing data", in: `{"a": 1} x`, wantShape: ShapeSingle, wantLines: []int{0}, wantErrs: []string{"line 1, column 10"}},
	{name: "empty", in: " \n ", wantShape: ShapeSingle, wantLines: []int{0}, wantErrs: []string{"empty"}},
	{name: "truncated", in: `{"a": `, wantShape: ShapeSingle, wantLines: []int{0}, wantErrs: []string{"not valid JSON"}},
}

func TestDecodeDocuments(t *testing.T) {
	for _, tt := range decodeTests {
		t.Run(tt.name, func(t *testing.T) {
			shape, docs := DecodeDocuments([]byte(tt.in), tt.expand)
			if shape != tt.wantShape {
				t.Errorf("shape %d, want %d", shape, tt.wantShape)
			}
			var lines []int
			var errs []string
			for _, d := range docs {
				lines = append(lines, d.Line)
				switch {
				case d.Err == nil:
					errs = append(errs, "")
				case len(tt.wantErrs) > len(errs) && tt.wantErrs[len(errs)] != "" && strings.Contains(d.Err.Error(), tt.wantErrs[len(errs)]):
					errs = append(errs, tt.wantErrs[len(errs)])
				default:
					errs = append(errs, d.Err.Error())
				}
			}
			if diff := cmp.Diff(tt.wantLines, lines); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantErrs, errs); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeKeepsNumbersExact(t *testing.T) {
	_, docs := DecodeDocuments([]byte(`{"n": 12345678901234567890.5}`), false)
	if docs[0].Err != nil {
		t.Fatal(docs[0].Err)
	}
	if n := docs[0].Value.(map[string]any)["n"]; n != json.Number("12345678901234567890.5") {
		t.Errorf("n = %#v, want the exact json.Number", n)
	}
}

// FuzzDecodeDocuments checks that any input decodes without panicking, that
// every document without an error is a JSON value whose Raw bytes decode to it, and that errors never repeat
// the input.
func FuzzDecodeDocuments(f *testing.F) {
	for _, tt := range decodeTests {
		f.Add([]byte(tt.in), tt.expand)
	}
	f.Fuzz(func(t *testing.T, in []byte, expand bool) {
		_, docs := DecodeDocuments(in, expand)
		if len(docs) == 0 && !expand {
			t.Fatal("no document and no error")
		}
		for _, d := range docs {
			if d.Err == nil {
				if _, err := json.Marshal(d.Value); err != nil {
					t.Fatalf("decoded value does not encode: %v", err)
				}
				// Raw is the same document: the fast validator reads it
				back, err := decodeOne(d.Raw, false)
				if err != nil || !reflect.DeepEqual(back, d.Value) {
					t.Fatalf("Raw %q decodes to %v (%v), not to the document's value %v", d.Raw, back, err, d.Value)
				}
				continue
			}
			if strings.Contains(d.Err.Error(), "'") {
				t.Fatalf("error quotes the input: %v", d.Err)
			}
		}
	})
}

// FuzzValidateRequest sends arbitrary bodies to POST /v1/validate: every answer
// must be a JSON (or NDJSON) document with a known status. When the body is JSON,
// it is sent a second time with every string value (outside "schema") replaced by
// a marker, which must never come back.
func FuzzValidateRequest(f *testing.F) {
	dir := newRegistryDir(f)
	r := openTB(f, Config{Dir: dir, MaxBodyBytes: 1 << 16})
	h := r.Handler()
	seeds := []string{
		`{"schema": "iglu:com.acme/signup/jsonschema/1-0-0", "data": {"shop_id": "shop_1", "email": "a@b.example"}}`,
		`{"schema": "iglu:com.acme/signup/jsonschema/1-0-0", "data": {"shop_id": "zz", "email": 5, "more": true}}`,
		`[{"schema": "iglu:com.acme/nope/jsonschema/1-0-0", "data": {}}, {"schema": "x"}, 3]`,
		"{\"schema\": \"iglu:io.other/page/jsonschema/1-0-0\", \"data\": {\"url\": \"u\"}}\n{\"schema\": 1}\n",
		`{"schema": "iglu:com.acme/signup/jsonschema/1-0-0", "data": {}, "contexts": [{"schema": "iglu:io.other/page/jsonschema/1-0-0", "data": []}, 7]}`,
		`{"schema": "iglu:com.acme/legacy_click/jsonschema/1-0-0", "data": {"target": ["x"]}}`,
		`{"schema": `, ``, `[]`, `null`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	const marker = "MARKER-9f3k"
	f.Fuzz(func(t *testing.T, body []byte) {
		bodies := [][]byte{body}
		if v, err := decodeOne(body, false); err == nil {
			marked, err := json.Marshal(markValues(v, marker))
			if err != nil {
				t.Fatal(err)
			}
			bodies = append(bodies, marked)
		}
		for i, b := range bodies {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/validate", strings.NewReader(string(b))))
			switch rec.Code {
			case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			default:
				t.Fatalf("status %d\n%s", rec.Code, rec.Body)
			}
			out := rec.Body.String()
			if rec.Header().Get("Content-Type") == "application/x-ndjson" {
				for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
					if !json.Valid([]byte(line)) {
						t.Fatalf("NDJSON line is not JSON: %s", line)
					}
				}
			} else if !json.Valid([]byte(out)) {
				t.Fatalf("answer is not JSON: %s", out)
			}
			if i == 1 && strings.Contains(out, marker) {
				t.Fatalf("answer repeats a value of the request %s:\n%s", b, out)
			}
		}
	})
}

// markValues replaces every string value with marker, except under "schema" keys,
// which name contracts rather than carry event data.
func markValues(v any, marker string) any {
	switch n := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(n))
		for k, sub := range n {
			if k == "schema" {
				out[k] = sub
				continue
			}
			out[k] = markValues(sub, marker)
		}
		return out
	case []any:
		out := make([]any, len(n))
		for i, sub := range n {
			out[i] = markValues(sub, marker)
		}
		return out
	case string:
		return marker
	default:
		return v
	}
}
