package dbt_test

import (
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/accord-dev/accord/internal/codegen/codegentest"
	"github.com/accord-dev/accord/internal/codegen/dbt"
)

// TestSourcesShape decodes sources.yml and checks what dbt reads from it: the
// tests on event_id, not_null on required columns, accepted_values with
// arguments, freshness and PII meta under config.
func TestSourcesShape(t *testing.T) {
	files, err := dbt.Generate(codegentest.Load(t, "../testdata/examples/contracts"), dbt.Options{Staging: true})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version int `yaml:"version"`
		Sources []struct {
			Name   string `yaml:"name"`
			Tables []struct {
				Name   string `yaml:"name"`
				Config struct {
					Meta          map[string]any `yaml:"meta"`
					LoadedAtField string         `yaml:"loaded_at_field"`
					Freshness     map[string]any `yaml:"freshness"`
				} `yaml:"config"`
				Columns []struct {
					Name      string `yaml:"name"`
					DataTests []any  `yaml:"data_tests"`
					Config    struct {
						Meta map[string]string `yaml:"meta"`
					} `yaml:"config"`
				} `yaml:"columns"`
			} `yaml:"tables"`
		} `yaml:"sources"`
	}
	if err := yaml.Unmarshal(files["sources.yml"], &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != 2 || len(doc.Sources) != 1 || len(doc.Sources[0].Tables) != 5 {
		t.Fatalf("version %d, %d sources: want version 2 and one source with 5 tables", doc.Version, len(doc.Sources))
	}
	tables := doc.Sources[0].Tables
	signup := tables[4]
	if signup.Name != "com_acme_signup_1" || signup.Config.LoadedAtField != "received_at" || signup.Config.Freshness["warn_after"] == nil || signup.Config.Meta["owner"] != "growth" || signup.Config.Meta["retention"] != "P400D" {
		t.Errorf("signup table: %+v", signup)
	}
	found := map[string]bool{}
	for _, c := range signup.Columns {
		switch c.Name {
		case "event_id":
			found["event_id"] = len(c.DataTests) == 2 && c.DataTests[0] == "unique" && c.DataTests[1] == "not_null"
		case "email":
			found["email"] = c.Config.Meta["pii_kind"] == "email" && c.Config.Meta["pii_handling"] == "tokenize" && len(c.DataTests) == 1
		case "referrer_channel":
			if len(c.DataTests) == 1 {
				av, _ := c.DataTests[0].(map[string]any)["accepted_values"].(map[string]any)
				args, _ := av["arguments"].(map[string]any)
				vals, _ := args["values"].([]any)
				found["referrer_channel"] = len(vals) == 6 && vals[0] == "organic"
			}
		}
	}
	for _, name := range []string{"event_id", "email", "referrer_channel"} {
		if !found[name] {
			t.Errorf("column %s lacks its tests or meta", name)
		}
	}
	if _, ok := files["staging/stg_com_acme__signup.sql"]; !ok {
		t.Errorf("no staging stub for signup: %v", len(files))
	}
}
