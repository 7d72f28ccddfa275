package registry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/accord-dev/accord/internal/contract"
	"github.com/google/go-cmp/cmp"
)

// newServer serves the fixture registry on 127.0.0.1.
func newServer(tb testing.TB, cfg Config) (*Registry, *httptest.Server, string) {
	tb.Helper()
	if cfg.Dir == "" {
		cfg.Dir = newRegistryDir(tb)
	}
	r := openTB(tb, cfg)
	srv := httptest.NewServer(r.Handler())
	tb.Cleanup(srv.Close)
	return r, srv, cfg.Dir
}

type response struct {
	code   int
	header http.Header
	body   []byte
}

func do(tb testing.TB, method, url, body string, header ...string) response {
	tb.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return response{code: resp.StatusCode, header: resp.Header, body: b}
}

// decodeBody decodes a JSON body with numbers as json.Number.
func decodeBody(tb testing.TB, b []byte) any {
	tb.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		tb.Fatalf("body is not JSON: %v\n%s", err, b)
	}
	return v
}

func TestIgluRoutes(t *testing.T) {
	r, srv, _ := newServer(t, Config{})
	all := []any{"iglu:com.acme/legacy_click/jsonschema/1-0-0", "iglu:com.acme/signup/jsonschema/1-0-0", "iglu:io.other/page/jsonschema/1-0-0"}
	signupKey, err := contract.ParseURI("iglu:com.acme/signup/jsonschema/1-0-0")
	if err != nil {
		t.Fatal(err)
	}
	signup, ok := r.Snapshot().Get(signupKey)
	if !ok {
		t.Fatal("signup 1-0-0 is not in the snapshot")
	}
	tests := []struct {
		path     string
		wantCode int
		want     any    // the decoded body, when set
		contains string // a substring of the body, when set
	}{
		{path: "/api/schemas", wantCode: 200, want: all},
		{path: "/api/schemas/", wantCode: 200, want: all},
		{path: "/api/schemas?repr=uri", wantCode: 200, want: all},
		{path: "/api/schemas/com.acme", wantCode: 200, want: all[:2]},
		{path: "/api/schemas/com.nope", wantCode: 404, contains: `"reason": "schema_not_found"`},
		{path: "/api/schemas/com.acme/signup", wantCode: 200, want: all[1:2]},
		{path: "/api/schemas/com.acme/signup/jsonschema/1", wantCode: 200, want: all[1:2]},
		{path: "/api/schemas/com.acme/signup/jsonschema/2", wantCode: 404, contains: "schema_not_found"},
		{path: "/api/schemas/com.acme/signup/jsonschema/1-0-0", wantCode: 200, want: signup.Doc},
		{path: "/schemas/com.acme/signup/jsonschema/1-0-0", wantCode: 200, want: signup.Doc},
		{path: "/api/schemas/com.acme/signup/jsonschema/1-0-0?repr=canonical", wantCode: 200, want: signup.Doc},
		{path: "/api/schemas/com.acme/signup/jsonschema/1-0-0?repr=uri", wantCode: 200, want: "iglu:com.acme/signup/jsonschema/1-0-0"},
		{path: "/api/schemas/com.acme/signup/jsonschema/1-0-0?repr=meta", wantCode: 400, contains: "repr must be"},
		{path: "/api/schemas?repr=bogus", wantCode: 400, contains: "repr must be"},
		{path: "/api/schemas/com.acme/signup/jsonschema/9-0-0", wantCode: 404, contains: "no contract iglu:com.acme/signup/jsonschema/9-0-0 in the registry; com.acme/signup has 1-0-0"},
		{path: "/api/schemas/com.acme/signup/jsonschema/1-0", wantCode: 404, contains: "schema_not_found"},
		{path: "/api/schemas/com.acme/signup/avro/1-0-0", wantCode: 404, contains: "format"},
		{path: "/schemas/com.acme/nope/jsonschema/1-0-0", wantCode: 404, contains: "no contract iglu:com.acme/nope/jsonschema/1-0-0"},
		{path: "/nowhere", wantCode: 404, contains: `"reason": "not_found"`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp := do(t, "GET", srv.URL+tt.path, "")
			if resp.code != tt.wantCode {
				t.Fatalf("status %d, want %d\n%s", resp.code, tt.wantCode, resp.body)
			}
			if ct := resp.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			if tt.want != nil {
				if diff := cmp.Diff(tt.want, decodeBody(t, resp.body)); diff != "" {
					t.Errorf("body (-want +got):\n%s", diff)
				}
			}
			if !strings.Contains(string(resp.body), tt.contains) {
				t.Errorf("body does not contain %q:\n%s", tt.contains, resp.body)
			}
		})
	}
}

func TestSchemaDocument(t *testing.T) {
	_, srv, _ := newServer(t, Config{})
	resp := do(t, "GET", srv.URL+"/api/schemas/com.acme/legacy_click/jsonschema/1-0-0", "")
	if resp.code != 200 {
		t.Fatalf("status %d\n%s", resp.code, resp.body)
	}
	body := string(resp.body)
	// Keys keep the author's order, and nothing is HTML-escaped.
	order := []string{`"$schema"`, `"self"`, `"description"`, `"x-owner"`, `"x-lifecycle"`, `"type"`, `"properties"`}
	last := -1
	for _, k := range order {
		i := strings.Index(body, k)
		if i < last {
			t.Errorf("key %s is out of the source order:\n%s", k, body)
		}
		last = i
	}
	if !strings.Contains(body, "The link <a> clicked.") {
		t.Errorf("the description was escaped:\n%s", body)
	}

	etag := resp.header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	if again := do(t, "GET", srv.URL+"/api/schemas/com.acme/legacy_click/jsonschema/1-0-0", "", "If-None-Match", etag); again.code != http.StatusNotModified {
		t.Errorf("revalidation with the ETag answered %d, want 304", again.code)
	}
	if head := do(t, "HEAD", srv.URL+"/schemas/com.acme/legacy_click/jsonschema/1-0-0", ""); head.code != 200 || len(head.body) != 0 {
		t.Errorf("HEAD answered %d with %d bytes, want 200 and no body", head.code, len(head.body))
	}

	list := do(t, "GET", srv.URL+"/api/schemas/com.acme?repr=canonical", "")
	docs, ok := decodeBody(t, list.body).([]any)
	if list.code != 200 || !ok || len(docs) != 2 {
		t.Fatalf("repr=canonical list: status %d, %d documents, want 2\n%s", list.code, len(docs), list.body)
	}
	if self := docs[1].(map[string]any)["self"]; !cmp.Equal(self, map[string]any{"vendor": "com.acme", "name": "signup", "format": "jsonschema", "version": "1-0-0"}) {
		t.Errorf("second document's self = %v, want signup 1-0-0", self)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	_, srv, _ := newServer(t, Config{})
	resp := do(t, "DELETE", srv.URL+"/api/schemas/com.acme/signup/jsonschema/1-0-0", "")
	if resp.code != http.StatusMethodNotAllowed {
		t.Fatalf("status %d, want 405", resp.code)
	}
	if !strings.Contains(resp.header.Get("Allow"), "GET") || !strings.Contains(string(resp.body), `"reason": "method_not_allowed"`) {
		t.Errorf("405 without Allow or a JSON body: %v\n%s", resp.header, resp.body)
	}
	if get := do(t, "GET", srv.URL+"/v1/validate", ""); get.code != http.StatusMethodNotAllowed {
		t.Errorf("GET /v1/validate answered %d, want 405", get.code)
	}
}

func TestContractRoutes(t *testing.T) {
	_, srv, _ := newServer(t, Config{})
	resp := do(t, "GET", srv.URL+"/v1/contracts", "")
	if resp.code != 200 {
		t.Fatalf("status %d\n%s", resp.code, resp.body)
	}
	var list struct {
		Contracts []FamilySummary `json:"contracts"`
	}
	if err := json.Unmarshal(resp.body, &list); err != nil {
		t.Fatal(err)
	}
	want := []FamilySummary{
		{Vendor: "com.acme", Name: "legacy_click", Format: "jsonschema", Description: "An old click event.",
			Owner: &contract.Owner{Team: "web"}, Status: contract.StatusRetired, Versions: []string{"1-0-0"}, Latest: "1-0-0",
			LatestURI: "iglu:com.acme/legacy_click/jsonschema/1-0-0", ReplacedBy: "iglu:com.acme/signup/jsonschema/1-0-1",
			EventNames: []string{}, PII: []PIIField{}},
		{Vendor: "com.acme", Name: "signup", Format: "jsonschema", Description: "A buyer created an account.",
			Owner: &contract.Owner{Team: "growth", Contact: "growth@acme.example"}, Status: contract.StatusActive,
			Versions: []string{"1-0-0"}, Latest: "1-0-0", LatestURI: "iglu:com.acme/signup/jsonschema/1-0-0",
			Retention: "P400D", RetentionDays: 400, EventNames: []string{"Signed Up"},
			PII: []PIIField{{Field: "/email", Kind: contract.KindEmail, Handling: contract.HandlingTokenize}, {Field: "/ip", Kind: contract.KindIP, Handling: contract.HandlingObfuscate}}},
		{Vendor: "io.other", Name: "page", Format: "jsonschema", Description: "A page view.", Owner: &contract.Owner{Team: "web"},
			Status: contract.StatusDeprecated, Versions: []string{"1-0-0"}, Latest: "1-0-0", LatestURI: "iglu:io.other/page/jsonschema/1-0-0",
			Sunset: "2030-01-01", EventNames: []string{}, PII: []PIIField{}},
	}
	if diff := cmp.Diff(want, list.Contracts); diff != "" {
		t.Errorf("GET /v1/contracts (-want +got):\n%s", diff)
	}

	resp = do(t, "GET", srv.URL+"/v1/contracts/com.acme/signup", "")
	if resp.code != 200 {
		t.Fatalf("status %d\n%s", resp.code, resp.body)
	}
	var detail FamilyDetail
	if err := json.Unmarshal(resp.body, &detail); err != nil {
		t.Fatal(err)
	}
	if detail.Name != "signup" || len(detail.VersionDetails) != 1 {
		t.Fatalf("detail = %+v, want signup with 1 version", detail)
	}
	v := detail.VersionDetails[0]
	var paths []string
	for _, f := range v.Fields {
		paths = append(paths, f.Path)
	}
	if diff := cmp.Diff([]string{"/shop_id", "/email", "/ip"}, paths); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	if v.Fields[1].PII == nil || v.Fields[1].PII.Handling != contract.HandlingTokenize || !v.Fields[1].Required {
		t.Errorf("email field = %+v, want required, tokenized", v.Fields[1])
	}
	if v.SchemaURL != "/api/schemas/com.acme/signup/jsonschema/1-0-0" || v.Privacy == nil || v.Privacy.Subject.Field != "/email" {
		t.Errorf("version detail = %+v", v)
	}
	var stored struct {
		Properties map[string]struct {
			Type        any    `json:"type"`
			Description string `json:"description"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(v.StoredSchema, &stored); err != nil {
		t.Fatal(err)
	}
	if ip := stored.Properties["ip"]; ip.Type != "object" {
		t.Errorf("stored ip has type %v, want the obfuscated object", ip.Type)
	}
	if email := stored.Properties["email"]; !strings.Contains(email.Description, "Tokenized") {
		t.Errorf("stored email = %+v, want a tokenized string", email)
	}

	if resp := do(t, "GET", srv.URL+"/v1/contracts/com.acme/nope", ""); resp.code != 404 || !strings.Contains(string(resp.body), "com.acme/nope") {
		t.Errorf("unknown family answered %d\n%s", resp.code, resp.body)
	}
	if resp := do(t, "GET", srv.URL+"/v1/registry", ""); resp.code != 200 || !strings.Contains(string(resp.body), `"generation": 1`) {
		t.Errorf("GET /v1/registry answered %d\n%s", resp.code, resp.body)
	}
}

// secret is a value that must never appear in a response.
const secret = "s3cr3t-Value"

// TestValidate runs every case on the default (fast) engine and on the reference
// validator: both must answer byte for byte the same.
func TestValidate(t *testing.T) {
	r, srv, dir := newServer(t, Config{MaxBodyBytes: 4096})
	_, ref, _ := newServer(t, Config{Dir: dir, MaxBodyBytes: 4096, Validator: ValidatorReference})
	valid := `{"schema": "iglu:com.acme/signup/jsonschema/1-0-0", "data": {"shop_id": "shop_1", "email": "a@b.example"}}`
	invalid := `{"schema": "iglu:com.acme/signup/jsonschema/1-0-0", "data": {"shop_id": "` + secret + `", "email": "` + secret + `", "extra": "` + secret + `"}}`
	type failure struct{ Pointer, Keyword string }
	tests := []struct {
		name         string
		body         string
		wantCode     int
		wantType     string
		wantReason   string    // of the single result or error
		wantValid    []bool    // per result, for batches
		wantFailures []failure // of the single result
		contains     string
	}{
		{name: "valid", body: valid, wantCode: 200, wantType: "application/json", wantValid: []bool{true}},
		{name: "invalid", body: invalid, wantCode: 200, wantType: "application/json", wantReason: "schema_violation", wantValid: []bool{false},
			wantFailures: []failure{{"", "additionalProperties"}, {"/email", "format"}, {"/shop_id", "pattern"}}},
		{name: "unknown schema", body: `{"schema": "iglu:com.acme/nope/jsonschema/1-0-0", "data": {}}`, wantCode: 400, wantType: "application/json",
			wantReason: "schema_not_found", contains: "iglu:com.acme/nope/jsonschema/1-0-0"},
		{name: "unknown version", body: `{"schema": "iglu:com.acme/signup/jsonschema/2-0-0", "data": {}}`, wantCode: 400, wantType: "application/json",
			wantReason: "schema_not_found", contains: "com.acme/signup has 1-0-0"},
		{name: "malformed uri", body: `{"schema": "` + secret + `", "data": {}}`, wantCode: 400, wantType: "application/json", wantReason: "schema_uri_invalid"},
		{name: "no data", body: `{"schema": "iglu:com.acme/signup/jsonschema/1-0-0"}`, wantCode: 400, wantType: "application/json", wantReason: "malformed_event"},
		{name: "not an object", body: `"` + secret + `"`, wantCode: 400, wantType: "application/json", wantReason: "malformed_event"},
		{name: "malformed json", body: `{"schema": ` + secret + `}`, wantCode: 400, wantType: "application/json", wantReason: "malformed_json", contains: "line 1, column 12"},
		{name: "empty", body: "  ", wantCode: 400, wantType: "application/json", wantReason: "malformed_json"},
		{name: "retired", body: `{"schema": "iglu:com.acme/legacy_click/jsonschema/1-0-0", "data": {"target": "x"}}`, wantCode: 200, wantType: "application/json",
			wantReason: "contract_retired", wantValid: []bool{false}, contains: "send iglu:com.acme/signup/jsonschema/1-0-1 instead"},
		{name: "deprecated", body: `{"schema": "iglu:io.other/page/jsonschema/1-0-0", "data": {"url": "x"}}`, wantCode: 200, wantType: "application/json",
			wantValid: []bool{true}, contains: "deprecated; it is retired after 2030-01-01"},
		{name: "array", body: "[" + valid + "," + invalid + `, {"schema": "iglu:x.y/z/jsonschema/1-0-0", "data": {}}]`, wantCode: 200, wantType: "application/json",
			wantValid: []bool{true, false, false}},
		{name: "empty array", body: "[]", wantCode: 200, wantType: "application/json", wantValid: []bool{}},
		{name: "ndjson", body: valid + "\n\n" + invalid + "\n" + valid + "\n", wantCode: 200, wantType: "application/x-ndjson", wantValid: []bool{true, false, true}},
		{name: "ndjson with a broken line", body: valid + "\n{" + secret + "\n", wantCode: 400, wantType: "application/json", wantReason: "malformed_json", contains: "line 2:"},
		{name: "contexts", body: `{"schema": "iglu:com.acme/signup/jsonschema/1-0-0", "data": {"shop_id": "shop_1", "email": "a@b.example"},
			"contexts": [{"schema": "iglu:io.other/page/jsonschema/1-0-0", "data": {"url": 5}}]}`, wantCode: 200, wantType: "application/json",
			wantReason: "context_violation", wantValid: []bool{false}, contains: `"pointer": "/url"`},
		{name: "contexts not an array", body: `{"schema": "iglu:com.acme/signup/jsonschema/1-0-0", "data": {"shop_id": "shop_1", "email": "a@b.example"}, "contexts": {}}`,
			wantCode: 400, wantType: "application/json", wantReason: "malformed_event"},
		{name: "too large", body: `{"schema": "iglu:com.acme/signup/jsonschema/1-0-0", "data": {"shop_id": "` + strings.Repeat("x", 5000) + `"}}`,
			wantCode: 413, wantType: "application/json", wantReason: "payload_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(t, "POST", srv.URL+"/v1/validate", tt.body, "Content-Type", "application/json")
			body := string(resp.body)
			if refResp := do(t, "POST", ref.URL+"/v1/validate", tt.body, "Content-Type", "application/json"); refResp.code != resp.code || string(refResp.body) != body {
				t.Errorf("the fast engine answers %d\n%s\nthe reference validator %d\n%s", resp.code, body, refResp.code, refResp.body)
			}
			if resp.code != tt.wantCode {
				t.Fatalf("status %d, want %d\n%s", resp.code, tt.wantCode, body)
			}
			if ct := resp.header.Get("Content-Type"); ct != tt.wantType {
				t.Errorf("Content-Type %q, want %q", ct, tt.wantType)
			}
			if strings.Contains(body, secret) {
				t.Errorf("the response repeats a value of the event:\n%s", body)
			}
			if !strings.Contains(body, tt.contains) {
				t.Errorf("body does not contain %q:\n%s", tt.contains, body)
			}
			var results []Result
			switch {
			case resp.code != 200:
				var e apiError
				if err := json.Unmarshal(resp.body, &e); err != nil {
					t.Fatal(err)
				}
				if e.Reason != tt.wantReason || e.Message == "" {
					t.Errorf("error %+v, want reason %q and a message", e, tt.wantReason)
				}
				return
			case tt.wantType == "application/x-ndjson":
				for i, line := range strings.Split(strings.TrimSpace(body), "\n") {
					var r Result
					if err := json.Unmarshal([]byte(line), &r); err != nil {
						t.Fatalf("line %d: %v", i+1, err)
					}
					results = append(results, r)
				}
				if results[0].Line != 1 || results[1].Line != 3 || results[2].Line != 4 {
					t.Errorf("NDJSON results carry lines %d, %d, %d, want 1, 3, 4", results[0].Line, results[1].Line, results[2].Line)
				}
			case strings.HasPrefix(strings.TrimSpace(body), "["):
				if err := json.Unmarshal(resp.body, &results); err != nil {
					t.Fatal(err)
				}
			default:
				var r Result
				if err := json.Unmarshal(resp.body, &r); err != nil {
					t.Fatal(err)
				}
				results = []Result{r}
				if r.Reason != tt.wantReason {
					t.Errorf("reason %q, want %q", r.Reason, tt.wantReason)
				}
				if tt.wantFailures != nil {
					var got []failure
					for _, f := range r.Failures {
						got = append(got, failure{f.Pointer, f.Keyword})
						if f.Message == "" || f.KeywordLocation == "" {
							t.Errorf("failure %+v lacks a message or keyword location", f)
						}
					}
					if diff := cmp.Diff(tt.wantFailures, got); diff != "" {
						t.Errorf("failures (-want +got):\n%s", diff)
					}
				}
			}
			got := []bool{}
			for _, r := range results {
				got = append(got, r.Valid)
				if r.Failures == nil {
					t.Errorf("result %+v has null failures, want []", r)
				}
			}
			if diff := cmp.Diff(tt.wantValid, got); diff != "" {
				t.Errorf("valid per event (-want +got):\n%s", diff)
			}
		})
	}
	if fast := r.cur.Load().check.Fast; fast == nil || fast.Len() < 2 {
		t.Errorf("the default engine compiled no programs for the events it checked (%v)", fast)
	}
}

// TestReloadUnderLoad swaps snapshots while requests run: every answer must come
// whole from one snapshot or the other, never an error or a mix. Run with -race.
func TestReloadUnderLoad(t *testing.T) {
	r, srv, dir := newServer(t, Config{})
	v2 := filepath.Join(dir, "com.acme", "signup", "jsonschema", "1-0-1.yaml")
	before := `["iglu:com.acme/legacy_click/jsonschema/1-0-0","iglu:com.acme/signup/jsonschema/1-0-0","iglu:io.other/page/jsonschema/1-0-0"]`
	after := `["iglu:com.acme/legacy_click/jsonschema/1-0-0","iglu:com.acme/signup/jsonschema/1-0-0","iglu:com.acme/signup/jsonschema/1-0-1","iglu:io.other/page/jsonschema/1-0-0"]`
	event := `{"schema": "iglu:com.acme/signup/jsonschema/1-0-1", "data": {"shop_id": "s", "email": "e", "referrer": "r"}}`

	stop := make(chan struct{})
	errs := make(chan error, 100)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Go(func() {
			client := &http.Client{}
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Get(srv.URL + "/api/schemas")
				if err != nil {
					errs <- err
					return
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					errs <- err
					return
				}
				var list []string
				if err := json.Unmarshal(b, &list); err != nil || resp.StatusCode != 200 {
					errs <- fmt.Errorf("GET /api/schemas: %d %s", resp.StatusCode, b)
					return
				}
				if s := "[\"" + strings.Join(list, "\",\"") + "\"]"; s != before && s != after {
					errs <- fmt.Errorf("a list from neither snapshot: %s", s)
					return
				}
				resp, err = client.Post(srv.URL+"/v1/validate", "application/json", strings.NewReader(event))
				if err != nil {
					errs <- err
					return
				}
				b, err = io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					errs <- err
					return
				}
				// 1-0-1 is either valid (after) or not found (before), nothing else.
				if !(resp.StatusCode == 200 && bytes.Contains(b, []byte(`"valid": true`))) &&
					!(resp.StatusCode == 400 && bytes.Contains(b, []byte(`"schema_not_found"`))) {
					errs <- fmt.Errorf("POST /v1/validate: %d %s", resp.StatusCode, b)
					return
				}
			}
		})
	}
	for i := 0; i < 40; i++ {
		if i%2 == 0 {
			writeContract(t, dir, "com.acme/signup/jsonschema/1-0-1.yaml", signupV2)
		} else if err := os.Remove(v2); err != nil {
			t.Fatal(err)
		}
		if err := r.Reload(); err != nil {
			t.Fatalf("reload %d: %v", i, err)
		}
		// Every few rounds a broken edit must change nothing.
		if i%5 == 0 {
			writeContract(t, dir, "com.acme/broken/jsonschema/1-0-0.yaml", "[")
			if err := r.Reload(); err == nil {
				t.Fatal("a broken registry reloaded")
			}
			if err := os.RemoveAll(filepath.Join(dir, "com.acme", "broken")); err != nil {
				t.Fatal(err)
			}
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if g := r.Status().Generation; g != 41 {
		t.Errorf("generation %d after 40 reloads, want 41", g)
	}
}
