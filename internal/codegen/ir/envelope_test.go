package ir_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/accord-dev/accord/internal/codegen/codegentest"
	"github.com/accord-dev/accord/internal/codegen/ir"
	"github.com/accord-dev/accord/internal/event"
)

// envelopeMembers lists the members of a struct's JSON form as dotted paths,
// going into nested structs (source.tracker) but not into times, raw JSON or
// lists, which are one value each.
func envelopeMembers(t reflect.Type, prefix string) []string {
	var out []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[time.Time]() {
			out = append(out, envelopeMembers(ft, prefix+name+".")...)
			continue
		}
		out = append(out, prefix+name)
	}
	return out
}

// TestEnvelopeMembers holds the envelope columns to event.Envelope: every member
// of its JSON form is stored by exactly one envelope column (its Member) or is
// listed in ir.EnvelopeNotStored with the reason, and neither list names a
// member the envelope does not have. A field added to the envelope fails here
// until someone decides where it goes.
func TestEnvelopeMembers(t *testing.T) {
	members := envelopeMembers(reflect.TypeFor[event.Envelope](), "")
	stored := map[string]string{}
	for _, c := range ir.EnvelopeColumns() {
		if c.Member == "" {
			t.Errorf("envelope column %s names no envelope member", c.Name)
			continue
		}
		if other, ok := stored[c.Member]; ok {
			t.Errorf("envelope member %s is stored twice: %s and %s", c.Member, other, c.Name)
		}
		stored[c.Member] = c.Name
		if c.Layout < 1 || c.Layout > ir.EnvelopeLayout {
			t.Errorf("envelope column %s: layout %d, want 1 to %d", c.Name, c.Layout, ir.EnvelopeLayout)
		}
	}
	for _, m := range members {
		col, isStored := stored[m]
		reason, notStored := ir.EnvelopeNotStored[m]
		switch {
		case isStored && notStored:
			t.Errorf("envelope member %s is stored (column %s) and listed as not stored", m, col)
		case !isStored && !notStored:
			t.Errorf("envelope member %s is neither stored by an envelope column (ir.Column.Member) nor listed in ir.EnvelopeNotStored with the reason: add it to one of them (and to the lake, internal/sink/lake/envelope.go)", m)
		case notStored && strings.TrimSpace(reason) == "":
			t.Errorf("envelope member %s is not stored, without a reason", m)
		}
	}
	for m, col := range stored {
		if !slices.Contains(members, m) {
			t.Errorf("envelope column %s stores member %s, which event.Envelope does not have", col, m)
		}
	}
	for m := range ir.EnvelopeNotStored {
		if !slices.Contains(members, m) {
			t.Errorf("ir.EnvelopeNotStored names %s, which event.Envelope does not have", m)
		}
	}
	// The walk itself finds nested and optional members: the check above cannot
	// pass vacuously.
	for _, m := range []string{"true_timestamp", "source.tracker", "validation.validator", "contexts"} {
		if !slices.Contains(members, m) {
			t.Fatalf("the walk of event.Envelope misses %s: %v", m, members)
		}
	}
	// An envelope with every member set encodes every listed member.
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	full := event.Envelope{V: 1, EventID: "e", Schema: "iglu:com.acme/x/jsonschema/1-0-0", ReceivedAt: at, SentAt: &at, DeviceCreatedAt: &at,
		TrueTimestamp: &at, EventTime: at, Source: event.Source{Protocol: "p", App: "a", Platform: "web", Collector: "c", Tracker: "t"},
		Validation: event.Validation{Outcome: "valid", Validator: "fast"}, Data: json.RawMessage(`{}`),
		Contexts: []event.Entity{{Schema: "s", Data: json.RawMessage(`{}`)}}, Scrubbed: []event.Applied{{Pointer: "/x", Kind: "k", Handling: "h"}}}
	js, err := json.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	var decoded map[string]any
	if err := json.Unmarshal(js, &decoded); err != nil {
		t.Fatal(err)
	}
	var encoded []string
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok && k != "data" {
				walk(prefix+k+".", sub)
				continue
			}
			encoded = append(encoded, prefix+k)
		}
	}
	walk("", decoded)
	sort.Strings(encoded)
	sorted := slices.Sorted(slices.Values(members))
	if diff := cmp.Diff(sorted, encoded); diff != "" {
		t.Errorf("members found by the walk differ from those a full envelope encodes (-walk +encoded):\n%s", diff)
	}
}

// TestLaterEnvelopeGivesWay: an envelope column of a later layout never renames
// a data column that had its name first (true_timestamp, and sourceTracker as
// source_tracker): the envelope column is envelope_<name> in that table and
// keeps its name elsewhere, and AtLayout(1) is the table as the first layout
// made it.
func TestLaterEnvelopeGivesWay(t *testing.T) {
	reg := codegentest.Load(t, "../testdata/reserved/contracts")
	m := reg.Model("com.example", "reserved_words", 1)
	for json, col := range map[string]string{"true_timestamp": "true_timestamp", "sourceTracker": "source_tracker", "event_id": "data_event_id"} {
		if c := ir.Find(m.Table.Columns, json); c == nil || c.Name != col {
			t.Errorf("data %s: column %v, want %s", json, c, col)
		}
	}
	var env []string
	for _, c := range m.Table.Columns {
		if c.Envelope {
			env = append(env, c.Name)
		}
	}
	want := []string{"event_id", "contract_version", "event_time", "received_at", "sent_at", "device_created_at", "envelope_true_timestamp",
		"source_protocol", "source_app", "source_platform", "source_collector", "envelope_source_tracker", "contexts"}
	if diff := cmp.Diff(want, env); diff != "" {
		t.Errorf("envelope columns of reserved_words (-want +got):\n%s", diff)
	}
	other := reg.Model("com.example", "signup", 1).Table
	if c := other.Column("true_timestamp"); c == nil || !c.Envelope || c.Member != "true_timestamp" {
		t.Errorf("signup true_timestamp: %v, want the envelope column", c)
	}
	old := other.AtLayout(1)
	if old.Column("true_timestamp") != nil || old.Column("source_tracker") != nil || old.Column("plan") == nil || len(old.Columns) != len(other.Columns)-2 {
		t.Errorf("signup at layout 1: %v, want it without true_timestamp and source_tracker", old.Columns)
	}
}
