package ir_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/accord-dev/accord/internal/codegen/codegentest"
	"github.com/accord-dev/accord/internal/codegen/ir"
)

func TestWords(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"checkout_completed", []string{"checkout", "completed"}},
		{"userId", []string{"user", "id"}},
		{"HTTPServer", []string{"http", "server"}},
		{"user-agent 2", []string{"user", "agent", "2"}},
		{"address2", []string{"address2"}},
		{"v2Beta", []string{"v2", "beta"}},
		{"2fa", []string{"2fa"}},
		{"__", nil},
		{"Größe", []string{"größe"}},
	} {
		if got := ir.Words(tc.in); !cmp.Equal(got, tc.want) {
			t.Errorf("Words(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSnake(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"userId", "user_id"},
		{"2fa", "_2fa"},
		{"with space", "with_space"},
		{"Größe", "gre"},
		{"", "field"},
		{"日本", "field"},
	} {
		if got := ir.Snake(ir.Words(tc.in), "field"); got != tc.want {
			t.Errorf("Snake(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestAssignOrderIndependent checks that collisions resolve the same whatever the
// order of the candidates.
func TestAssignOrderIndependent(t *testing.T) {
	cands := []ir.Candidate{{Want: "user_id", Source: "userId"}, {Want: "user_id", Source: "user-id"}, {Want: "user_id", Source: "user_id"}}
	want := map[string]string{"user_id": "user_id", "user-id": "user_id_2", "userId": "user_id_3"}
	for i := range cands {
		rot := append(append([]ir.Candidate(nil), cands[i:]...), cands[:i]...)
		names := ir.NewNamer("_", strings.ToLower).Assign(rot)
		for j, c := range rot {
			if names[j] != want[c.Source] {
				t.Errorf("rotation %d: %s got %s, want %s", i, c.Source, names[j], want[c.Source])
			}
		}
	}
}

func TestTableName(t *testing.T) {
	if got := ir.TableName("com.Acme-EU", "page-view", 2); got != "com_acme_eu_page_view_2" {
		t.Errorf("TableName = %q", got)
	}
}

// TestModelBump checks the table of a MODEL is the union of its versions: a column
// added in 1-0-1 is nullable and keeps its place, MODEL 2 is another table, and
// names given by an earlier version never change.
func TestModelBump(t *testing.T) {
	reg := codegentest.Load(t, "../testdata/model_bump/contracts")
	if len(reg.Models) != 2 || reg.Models[0].Table.Name != "com_acme_signup_1" || reg.Models[1].Table.Name != "com_acme_signup_2" {
		t.Fatalf("models %v, want tables com_acme_signup_1 and com_acme_signup_2", reg.Models)
	}
	m1 := reg.Models[0]
	if got := m1.VersionList(); got != "1-0-0, 1-0-1" {
		t.Errorf("versions %s", got)
	}
	var data []string
	for _, c := range m1.Table.Columns {
		if !c.Envelope {
			data = append(data, c.String())
		}
	}
	want := []string{
		"shop_id string not null", "email string not null", "plan string not null", "seats int64 null",
		"profile record<company string, size int64> null", "referrer string null",
	}
	if diff := cmp.Diff(want, data); diff != "" {
		t.Errorf("columns of MODEL 1 (-want +got):\n%s", diff)
	}
	if c := m1.Table.Column("plan"); !cmp.Equal(c.Enum, []string{"free", "pro", "team"}) {
		t.Errorf("plan enum %v, want the latest version's", c.Enum)
	}
	if c := m1.Table.Column("referrer"); c.Since.String() != "1-0-1" {
		t.Errorf("referrer since %s, want 1-0-1", c.Since)
	}
	if c := reg.Models[1].Table.Column("seats"); c.Type != ir.String || c.Nullable {
		t.Errorf("MODEL 2 seats %s, want string not null", c)
	}
	if w := strings.Join(reg.Models[1].Words, " "); w != "signup v2" {
		t.Errorf("MODEL 2 words %q, want signup v2", w)
	}
}

// TestCollisions checks the reserved case: envelope names, camelCase collisions and
// vendors that share a contract name.
func TestCollisions(t *testing.T) {
	reg := codegentest.Load(t, "../testdata/reserved/contracts")
	m := reg.Model("com.example", "reserved_words", 1)
	for json, col := range map[string]string{"event_id": "data_event_id", "received_at": "data_received_at", "user_id": "user_id", "user-id": "user_id_2", "userId": "user_id_3", "2fa": "_2fa", "select": "select"} {
		c := ir.Find(m.Table.Columns, json)
		if c == nil || c.Name != col {
			t.Errorf("%s: column %v, want %s", json, c, col)
		}
	}
	if a, b := reg.Model("com.example", "signup", 1), reg.Model("org.other", "signup", 1); strings.Join(a.Words, " ") != "com example signup" || strings.Join(b.Words, " ") != "org other signup" {
		t.Errorf("signup words %q and %q, want the vendors in front", a.Words, b.Words)
	}
}

// TestStoredShape checks that the table follows the stored shape: tokenized email
// is a string, an obfuscated IP a record with geo fields, a dropped field gone,
// and PII annotations carried to the columns.
func TestStoredShape(t *testing.T) {
	reg := codegentest.Load(t, "../testdata/examples/contracts")
	m := reg.Model("com.acme", "delivery_address_updated", 1)
	if c := m.Table.Column("delivery_note"); c != nil {
		t.Errorf("dropped delivery_note is a column: %s", c)
	}
	if c := m.Table.Column("phone"); c == nil || c.Type != ir.String || c.PII == nil || c.PII.Handling != "tokenize" {
		t.Errorf("phone: %v", c)
	}
	sig := reg.Model("com.acme", "signup", 1)
	if c := sig.Table.Column("ip"); c == nil || c.TypeString() != "record<city string, country string, masked string, region string>" || c.PII == nil {
		t.Errorf("ip: %v", c)
	}
	// The sent shape keeps the IP a string, for SDKs.
	for _, f := range sig.Event.Fields {
		if f.Name == "ip" && f.Type.Kind != ir.KindString {
			t.Errorf("sent ip is %s, want string", f.Type.Kind)
		}
	}
}

// TestTypes checks the mapping of every JSON Schema shape in the types case.
func TestTypes(t *testing.T) {
	reg := codegentest.Load(t, "../testdata/types/contracts")
	m := reg.Models[0]
	want := map[string]string{
		"id": "string not null", "count": "int64 not null", "ratio": "float64 not null", "ok": "bool not null",
		"at": "timestamp not null", "day": "date not null", "kind": "string not null", "level": "int64 not null",
		"mode": "string null", "version_tag": "string null", "nickname": "string null", "score": "float64 null",
		"amount": "float64 null", "either": "json null", "anything": "json null", "tags": "list<string> not null",
		"matrix": "list<list<float64>> not null", "meta": "json not null",
		"line_items": "list<record<sku string, quantity int64, flags list<string>>> not null",
		"location":   "record<lat float64, lon float64> not null", "previous": "record<lat float64, lon float64> null",
		"extra": "record<a string, b int64> null", "nested": "record<inner record<deep bool>> null",
	}
	for name, w := range want {
		c := m.Table.Column(name)
		if c == nil {
			t.Errorf("no column %s", name)
			continue
		}
		if got := strings.TrimPrefix(c.String(), name+" "); got != w {
			t.Errorf("%s: %s, want %s", name, got, w)
		}
	}
}
