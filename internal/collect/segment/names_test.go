package segment

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/accord-dev/accord/internal/collect"
	"github.com/accord-dev/accord/internal/event"
)

func TestNamesLookup(t *testing.T) {
	names := NewNames(loadSnapshot(t))
	for _, tc := range []struct {
		name, want, warning string
	}{
		// 1-0-0 and 2-0-0 declare it; 2-1-0 renamed it.
		{"Order Completed", "iglu:com.acme/order_completed/jsonschema/2-0-0", ""},
		{"Order Placed", "iglu:com.acme/order_completed/jsonschema/2-1-0", ""},
		{"$identify", "iglu:com.acme/identify/jsonschema/1-0-0", ""},
		{"$page", "iglu:com.acme/page/jsonschema/1-0-0", ""},
		{"Legacy Event", "iglu:com.acme/legacy_event/jsonschema/1-0-0", ""},
		// Two families: the first in vendor/name order wins, with a warning.
		{"Item Viewed", "iglu:com.acme/shared_name/jsonschema/1-0-0", "also by com.zeta/shared_name/jsonschema"},
		{"order completed", "", ""},
		{"$screen", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, warning, ok := names.Lookup(tc.name)
			got := ""
			if ok {
				got = c.Key.URI()
			}
			if got != tc.want {
				t.Errorf("Lookup(%q) = %q, want %q", tc.name, got, tc.want)
			}
			if (tc.warning == "") != (warning == "") || !strings.Contains(warning, tc.warning) {
				t.Errorf("warning %q, want one containing %q", warning, tc.warning)
			}
		})
	}
}

func TestNamesPreferActiveOverRetired(t *testing.T) {
	snap := loadSnapshot(t)
	// The retired contract keeps its name while nothing else declares it.
	c, _, ok := NewNames(snap).Lookup("Legacy Event")
	if !ok || c.Lifecycle.Status != "retired" {
		t.Fatalf("Legacy Event resolved to %v", c)
	}
	for _, c := range snap.All() {
		if c.Lifecycle.Status == "retired" {
			if got := better(c, c); got {
				t.Errorf("better(x, x) = true; the order must be strict")
			}
			for _, o := range snap.All() {
				if o.Lifecycle.Status != "retired" && !better(o, c) {
					t.Errorf("%s (active) does not rank before %s (retired)", o.Key, c.Key)
				}
			}
		}
	}
}

func TestNamesCacheRebuildsOnSwap(t *testing.T) {
	var cache namesCache
	a, b := loadSnapshot(t), loadSnapshot(t)
	na := cache.get(a)
	if cache.get(a) != na {
		t.Error("the index was rebuilt for the same snapshot")
	}
	nb := cache.get(b)
	if nb == na || nb.snap != b {
		t.Error("the index was not rebuilt for a new snapshot")
	}
	if _, _, ok := cache.get(nil).Lookup("Order Completed"); ok {
		t.Error("a nil snapshot resolved a name")
	}
}

func TestMap(t *testing.T) {
	names := NewNames(loadSnapshot(t))
	for _, tc := range []struct {
		name, route, body string
		schema            string
		data              map[string]any // nil: compare nothing
		reason            event.Reason
		failure           string
		warning           string
	}{
		{
			name: "track injects declared identifiers only", route: TypeTrack,
			body:   `{"userId":"u_1","anonymousId":"a_1","event":"Order Completed","properties":{"total_cents":5,"currency":"EUR"},"context":{"ip":"81.2.69.142"}}`,
			schema: "iglu:com.acme/order_completed/jsonschema/2-0-0",
			data:   map[string]any{"user_id": "u_1", "total_cents": 5.0, "currency": "EUR"},
		},
		{
			name: "properties win over top-level identifiers", route: TypeTrack,
			body:   `{"userId":"u_top","event":"Order Completed","properties":{"user_id":"u_prop"}}`,
			schema: "iglu:com.acme/order_completed/jsonschema/2-0-0",
			data:   map[string]any{"user_id": "u_prop"},
		},
		{
			name: "nothing declared, payload as sent", route: TypeTrack,
			body:   `{"userId":"u_1","event":"Order Placed","properties":{"total_cents":5}}`,
			schema: "iglu:com.acme/order_completed/jsonschema/2-1-0",
			data:   map[string]any{"total_cents": 5.0},
		},
		{
			name: "identify maps traits, ids and context", route: TypeIdentify,
			body:   `{"userId":"u_1","anonymousId":"a_1","traits":{"email":"jane@example.com"},"context":{"ip":"81.2.69.142","userAgent":"Mozilla/5.0","locale":"de"}}`,
			schema: "iglu:com.acme/identify/jsonschema/1-0-0",
			data:   map[string]any{"user_id": "u_1", "anonymous_id": "a_1", "email": "jane@example.com", "ip": "81.2.69.142", "user_agent": "Mozilla/5.0"},
		},
		{
			name: "page maps name and category", route: TypePage,
			body:   `{"anonymousId":"a_1","name":"Home","category":"Shop","properties":{"url":"https://shop.example/"}}`,
			schema: "iglu:com.acme/page/jsonschema/1-0-0",
			data:   map[string]any{"anonymous_id": "a_1", "name": "Home", "category": "Shop", "url": "https://shop.example/"},
		},
		{
			name: "group maps groupId", route: TypeGroup,
			body:   `{"userId":"u_1","groupId":"g_1","traits":{"employees":3}}`,
			schema: "iglu:com.acme/group/jsonschema/1-0-0",
			data:   map[string]any{"user_id": "u_1", "group_id": "g_1", "employees": 3.0},
		},
		{
			name: "alias maps previousId", route: TypeAlias,
			body:   `{"userId":"u_1","previousId":"a_1"}`,
			schema: "iglu:com.acme/alias/jsonschema/1-0-0",
			data:   map[string]any{"user_id": "u_1", "previous_id": "a_1"},
		},
		{
			name: "unknown event name", route: TypeTrack,
			body:   `{"userId":"u_1","event":"Cart Viewed","properties":{"email":"jane@example.com","total":1}}`,
			data:   map[string]any{"type": "track", "event": "Cart Viewed", "fields": []any{"email", "total"}, "values_withheld": true},
			reason: event.ReasonEventNameUnknown, failure: `add "Cart Viewed" to the x-event-names`,
		},
		{
			name: "no contract for a reserved name", route: TypeScreen,
			body:   `{"anonymousId":"a_1","name":"Cart"}`,
			data:   map[string]any{"type": "screen", "name": "Cart", "values_withheld": true},
			reason: event.ReasonEventNameUnknown, failure: `(x-event-names: ["$screen"])`,
		},
		{
			name: "track may not use a reserved name", route: TypeTrack,
			body:   `{"anonymousId":"a_1","event":"$identify","properties":{"email":"jane@example.com"}}`,
			reason: event.ReasonEventNameUnknown, failure: "reserved for identify calls",
		},
		{
			name: "ambiguous name warns", route: TypeTrack,
			body:    `{"anonymousId":"a_1","event":"Item Viewed","properties":{"sku":"S-1"}}`,
			schema:  "iglu:com.acme/shared_name/jsonschema/1-0-0",
			data:    map[string]any{"sku": "S-1"},
			warning: "lint rule event-names-unique",
		},
		{
			name: "bad timestamp keeps the contract and the data for the bad row", route: TypeTrack,
			body:   `{"userId":"u_1","event":"Order Completed","properties":{"total_cents":5},"timestamp":"soon"}`,
			schema: "iglu:com.acme/order_completed/jsonschema/2-0-0",
			data:   map[string]any{"user_id": "u_1", "total_cents": 5.0},
			reason: event.ReasonTimestampInvalid, failure: `"timestamp" is not an ISO 8601 time`,
		},
		{
			name: "a message without ids withholds values", route: TypeTrack,
			body:   `{"event":"Order Completed","properties":{"email":"jane@example.com","total_cents":5}}`,
			data:   map[string]any{"type": "track", "event": "Order Completed", "fields": []any{"email", "total_cents"}, "values_withheld": true},
			reason: event.ReasonMalformedEvent, failure: `a message needs a "userId" or an "anonymousId"`,
		},
		{
			name: "malformed message withholds values", route: TypeTrack,
			body:   `{"userId":"u_1","properties":{"email":"jane@example.com"}}`,
			data:   map[string]any{"type": "track", "fields": []any{"email"}, "values_withheld": true},
			reason: event.ReasonMalformedEvent, failure: `needs a non-empty "event"`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := Decode([]byte(tc.body), tc.route, collect.DefaultLimits)
			if err != nil || len(req.Messages) != 1 {
				t.Fatalf("Decode: %v (%d messages)", err, len(req.Messages))
			}
			m := Map(&req.Messages[0], names, "shop-web")
			in := m.Incoming
			if in.Schema != tc.schema {
				t.Errorf("schema %q, want %q", in.Schema, tc.schema)
			}
			if in.App != "shop-web" {
				t.Errorf("app %q, want shop-web", in.App)
			}
			var reason event.Reason
			failures := ""
			if in.Reject != nil {
				reason = in.Reject.Reason
				for _, f := range in.Reject.Failures {
					failures += f.Message + "\n"
				}
			}
			if reason != tc.reason || !strings.Contains(failures, tc.failure) {
				t.Errorf("rejection %q %q, want %q containing %q", reason, failures, tc.reason, tc.failure)
			}
			if tc.data != nil {
				var data map[string]any
				if err := json.Unmarshal(in.Data, &data); err != nil {
					t.Fatalf("data %s: %v", in.Data, err)
				}
				if diffs := mapDiff(tc.data, data); diffs != "" {
					t.Errorf("data %s: %s", in.Data, diffs)
				}
			}
			if in.Reject != nil && in.Schema == "" && strings.Contains(string(in.Data), "jane@example.com") {
				t.Errorf("a message with no contract kept a property value: %s", in.Data)
			}
			if (tc.warning == "") != (m.Warning == "") || !strings.Contains(m.Warning, tc.warning) {
				t.Errorf("warning %q, want one containing %q", m.Warning, tc.warning)
			}
		})
	}
}

// mapDiff compares decoded JSON objects through their encodings.
func mapDiff(want, got map[string]any) string {
	w, err1 := json.Marshal(want)
	g, err2 := json.Marshal(got)
	if err1 != nil || err2 != nil {
		return "cannot encode"
	}
	if string(w) != string(g) {
		return "want " + string(w) + ", got " + string(g)
	}
	return ""
}
