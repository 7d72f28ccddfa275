package export_test

import (
	"bytes"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/accord-dev/accord/internal/codegen/codegentest"
	"github.com/accord-dev/accord/internal/codegen/export"
)

// TestJSONSchemaCompiles compiles every exported document with a JSON Schema
// library and checks it accepts and rejects what the contract does.
func TestJSONSchemaCompiles(t *testing.T) {
	reg := codegentest.Load(t, "../testdata/examples/contracts")
	files, err := export.JSONSchema(reg)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 5 {
		t.Fatalf("%d documents, want 5", len(files))
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(files["com.acme/signup/1-0-0.schema.json"]))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("signup.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("signup.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(map[string]any{"shop_id": "shop_1", "email": "a@example.com"}); err != nil {
		t.Errorf("valid event rejected: %v", err)
	}
	if err := sch.Validate(map[string]any{"shop_id": "shop_1", "email": "a@example.com", "referrer_channel": "tv"}); err == nil {
		t.Error("event with an unknown enum value accepted")
	}
	if !bytes.Contains(files["com.acme/signup/1-0-0.schema.json"], []byte(`"x-pii"`)) {
		t.Error("x-pii annotations dropped")
	}
}

// TestODCSShape decodes an ODCS export and checks the fields ODCS v3.0 requires.
func TestODCSShape(t *testing.T) {
	files, err := export.ODCS(codegentest.Load(t, "../testdata/examples/contracts"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(files["com_acme_signup_1.odcs.yaml"], &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"apiVersion", "kind", "id", "version", "status", "schema"} {
		if doc[k] == nil {
			t.Errorf("ODCS field %s missing", k)
		}
	}
	if doc["apiVersion"] != "v3.0.2" || doc["kind"] != "DataContract" || doc["version"] != "1.0.0" {
		t.Errorf("fundamentals: %v %v %v", doc["apiVersion"], doc["kind"], doc["version"])
	}
	props := doc["schema"].([]any)[0].(map[string]any)["properties"].([]any)
	var email map[string]any
	for _, p := range props {
		if p.(map[string]any)["name"] == "email" {
			email = p.(map[string]any)
		}
	}
	if email == nil || email["classification"] != "restricted" || email["logicalType"] != "string" || email["customProperties"] == nil {
		t.Errorf("email property: %v", email)
	}
}
