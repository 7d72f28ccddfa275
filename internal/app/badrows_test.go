package app_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// TestServeBadRowsSealTypos is the audit's reproduction through accord
// serve: events whose schema URI is malformed but plainly names the signup
// contract (natively, and in a Snowplow tracker's self-describing event) are
// rejected with what is wrong with the URI and the family it seems to name,
// and their bad rows hold the email sealed, as an unknown version's does;
// Snowplow events whose self-describing JSON is cut short, as text or as
// base64, are not kept, as a native one is not. Nothing planted is stored in
// plain text.
func TestServeBadRowsSealTypos(t *testing.T) {
	data := t.TempDir()
	base, stopApp := startApp(t, data, nil)
	stop := sync.OnceFunc(stopApp) // stopped before the files are read
	defer stop()
	email := planted[0]
	uris := []struct{ uri, problem string }{
		{"iglu:com.acme/signup/jsonschema/1.0.0", `version \"1.0.0\" is not SchemaVer`},
		{"com.acme/signup/jsonschema/1-0-0", `must start with \"iglu:\"`},
		{"iglu:com.acme/signup/jsonschema/1-0-0 ", "has spaces or line breaks around it"},
		{"iglu:com.acme/signup/jsonschema/01-0-0", `part \"01\" must be a number without leading zeros`},
		{"iglu:com.acme/signup/json/1-0-0", `format \"json\" is not supported`},
	}
	const family = "; the registry has com.acme/signup in versions 1-0-0 (the newest is iglu:com.acme/signup/jsonschema/1-0-0)"
	for _, u := range uris {
		code, body := post(t, base+"/v1/events", fmt.Sprintf(`{"schema":%q,"data":{"shop_id":"shop_1","email":%q}}`, u.uri, email))
		if code != http.StatusBadRequest || !strings.Contains(body, `"schema_uri_invalid"`) || !strings.Contains(body, u.problem) || !strings.Contains(body, family) {
			t.Errorf("%q: %d %s; want schema_uri_invalid saying %s and %s", u.uri, code, body, u.problem, family)
		}
	}
	sdj := func(schema string) string {
		return fmt.Sprintf(`{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":{"schema":%q,"data":{"shop_id":"shop_1","email":%q}}}`, schema, email)
	}
	cut := strings.TrimSuffix(sdj("iglu:com.acme/signup/jsonschema/1-0-0"), "}}}")
	items := []map[string]string{
		{"e": "ue", "ue_pr": sdj("iglu:com.acme/signup/jsonschema/1-0")},
		{"e": "ue", "ue_pr": cut},
		{"e": "ue", "ue_px": base64.RawURLEncoding.EncodeToString([]byte(cut))},
	}
	js, err := json.Marshal(map[string]any{"schema": "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4", "data": items})
	if err != nil {
		t.Fatal(err)
	}
	code, body := post(t, base+"/com.snowplowanalytics.snowplow/tp2", string(js))
	if code != http.StatusOK || strings.Count(body, `"malformed_json"`) != 2 || !strings.Contains(body, `version \"1-0\" is not SchemaVer MODEL-REVISION-ADDITION (for example 1-0-0)`+family) {
		t.Errorf("tp2: %d %s", code, body)
	}
	if p := plantedIn([]byte(body)); p != "" {
		t.Errorf("an answer echoes %q", p)
	}

	rows := waitBadRows(t, data, len(uris)+len(items))
	sealed, withheld := 0, 0
	for _, r := range rows {
		switch {
		case r.PayloadWithheld != "":
			if !strings.Contains(r.PayloadWithheld, "names iglu:com.acme/signup/jsonschema/1-0-0, which has personal-data fields") {
				t.Errorf("withheld: %q", r.PayloadWithheld)
			}
			withheld++
		case len(r.Sealed) == 1 && r.Sealed[0] == "/data/email" && strings.Contains(string(r.Payload), `"email":"sealed_`):
			sealed++
		default:
			t.Errorf("bad row %s %q: payload %s, sealed %v", r.Reason, r.Schema, r.Payload, r.Sealed)
		}
	}
	if sealed != len(uris)+1 || withheld != 2 {
		t.Errorf("%d bad rows sealed, %d withheld; want %d and 2", sealed, withheld, len(uris)+1)
	}
	stop()
	noPlantedFiles(t, data)
}

// TestServeBadInputWords: the answers to malformed contexts, data nested too
// deep and a payload_data of another MODEL say what is wrong in the
// protocol's and the configuration's words: no Go type, the limit as
// configured and its setting's name, the versions accepted.
func TestServeBadInputWords(t *testing.T) {
	base, stop := startApp(t, t.TempDir(), nil)
	defer stop()
	deep := func(levels int) string { // data nested levels deep, its object level 1
		return `{"schema":"iglu:com.acme/signup/jsonschema/1-0-0","data":{"shop_id":"shop_1","x":` +
			strings.Repeat("[", levels-1) + strings.Repeat("]", levels-1) + `}}`
	}
	for _, tc := range []struct {
		name, path, body string
		code             int
		want             []string
	}{
		{"contexts an object", "/v1/events", `{"schema":"iglu:com.acme/signup/jsonschema/1-0-0","data":{"shop_id":"shop_1"},"contexts":{}}`, 400,
			[]string{`\"contexts\" must be an array of self-describing entities [{\"schema\": \"iglu:...\", \"data\": {...}}, ...]; it is an object`}},
		{"data at the limit", "/v1/events", deep(32), 400, []string{`"schema_violation"`}},
		{"data one level over", "/v1/events", deep(33), 400,
			[]string{"the data is nested more than 32 levels deep (limits.max_depth; its outermost object or array is level 1)"}},
		{"data past the body's allowance", "/v1/events", deep(36), 400,
			[]string{"the body is nested more than 36 levels deep: an event's data may be nested 32 levels (limits.max_depth, its outermost object or array being level 1)"}},
		{"payload_data MODEL 2", "/com.snowplowanalytics.snowplow/tp2", `{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/2-0-0","data":[{"e":"pv"}]}`, 400,
			[]string{"payload_data/jsonschema/1-*-*: any version of MODEL 1"}},
		{"payload_data 1-1-0", "/com.snowplowanalytics.snowplow/tp2", `{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-1-0","data":[{"e":"pv","url":"https://shop.example/"}]}`, 200,
			[]string{`"accepted":1`}},
	} {
		code, body := post(t, base+tc.path, tc.body)
		if code != tc.code {
			t.Errorf("%s: %d %s; want %d", tc.name, code, body, tc.code)
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: %s; want %s", tc.name, body, w)
			}
		}
		for _, goWords := range []string{"Go value", "event.Entity", "unmarshal"} {
			if strings.Contains(body, goWords) {
				t.Errorf("%s: %s speaks Go", tc.name, body)
			}
		}
	}
}

// TestServeBrokenPrettyJSON: a pretty-printed event, or array, with a syntax
// error is read line by line (as NDJSON, since it is not one JSON document):
// no line fragment may keep the email in plain text because its schema is on
// another line, and each answer says which line of the body broke.
func TestServeBrokenPrettyJSON(t *testing.T) {
	data := t.TempDir()
	base, stopApp := startApp(t, data, nil)
	stop := sync.OnceFunc(stopApp)
	defer stop()
	email := planted[0]
	pretty := fmt.Sprintf("{\n  \"schema\": \"iglu:com.acme/signup/jsonschema/1-0-0\",\n  \"data\": {\"shop_id\": \"shop_1\", \"email\": %q,}\n}\n", email)
	array := fmt.Sprintf("[\n  {\"schema\": \"iglu:com.acme/signup/jsonschema/1-0-0\", \"data\": {\"shop_id\": \"shop_1\", \"email\": %q}},\n  {\"schema\": \"iglu:com.acme/signup/jsonschema/1-0-0\", \"data\": {\"shop_id\": \"shop_2\",,}}\n]\n", email)
	rows := 0
	for _, body := range []string{pretty, array} {
		code, answer := post(t, base+"/v1/events", body)
		if code != http.StatusBadRequest || !strings.Contains(answer, "line 2 of the body is not valid JSON") || strings.Contains(answer, email) {
			t.Errorf("%d %s", code, answer)
		}
		rows += strings.Count(body, "\n")
	}
	got := waitBadRows(t, data, rows)
	stop()
	for _, r := range got {
		if r.PayloadText != "" {
			t.Errorf("a fragment's text is kept: %q", r.PayloadText)
		}
		if r.PayloadWithheld == "" {
			t.Errorf("a fragment's bad row does not say why it holds nothing: %+v", r)
		}
	}
	noPlantedFiles(t, data)
}
