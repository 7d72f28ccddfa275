package collect_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/accord-dev/accord/internal/buffer"
	"github.com/accord-dev/accord/internal/collect"
	"github.com/accord-dev/accord/internal/contract"
	"github.com/accord-dev/accord/internal/event"
)

// sealRecorder is a Scrubber whose Seal replaces an entity's data by the URI
// of the contract that sealed it, so that a test reads in the bad row which
// contract said what is personal.
type sealRecorder struct{}

func (sealRecorder) Scrub(_ context.Context, _ *contract.Contract, data any) (any, []event.Applied, error) {
	return data, nil, nil
}

func (sealRecorder) Seal(_ context.Context, c *contract.Contract, _ any) (any, []string, []string) {
	return "sealed by " + c.Key.URI(), []string{""}, nil
}

// recordBuffer keeps what the pipeline appends.
type recordBuffer struct {
	buffer.Buffer
	records [][]byte
}

func (b *recordBuffer) Append(_ context.Context, records [][]byte) error {
	for _, r := range records {
		b.records = append(b.records, bytes.Clone(r))
	}
	return nil
}

type snapshotOf struct{ s *contract.Snapshot }

func (s snapshotOf) Snapshot() *contract.Snapshot { return s.s }

// badRowsOf processes evs on a pipeline over the bundled contracts and
// returns their results and bad rows, in order.
func badRowsOf(t *testing.T, evs []collect.Incoming) ([]collect.Result, []*event.BadRow) {
	t.Helper()
	snap, err := contract.LoadSnapshot("../../examples/contracts")
	if err != nil {
		t.Fatal(err)
	}
	m, err := collect.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	buf := &recordBuffer{}
	p, err := collect.NewPipeline(collect.Deps{Contracts: snapshotOf{snap}, Scrubber: sealRecorder{}, Buffer: buf, Metrics: m, Limits: collect.DefaultLimits})
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Process(context.Background(), "test", evs, nil)
	if err != nil {
		t.Fatal(err)
	}
	var rows []*event.BadRow
	for _, rec := range buf.records {
		_, row, err := event.DecodeRecord(rec)
		if err != nil {
			t.Fatal(err)
		}
		if row != nil {
			rows = append(rows, row)
		}
	}
	if len(rows) != len(evs) {
		t.Fatalf("%d bad rows for %d events", len(rows), len(evs))
	}
	return res, rows
}

const (
	signupData = `{"shop_id":"shop_1","email":"typo.user@example.com"}`
	signup     = "iglu:com.acme/signup/jsonschema/1-0-0"
)

// TestBadRowFamilyLookup: the bad row of an event whose schema URI is
// malformed but plainly names a contract family, or names a version or a
// spelling the registry lacks, is sealed by that family's newest contract,
// as an unknown version's is; the answer still says what is wrong with the
// URI, then names the family. An event that names no family is kept as sent.
func TestBadRowFamilyLookup(t *testing.T) {
	for _, tc := range []struct {
		schema, reason, message string
		sealedBy                string // "" when the data is kept as sent
	}{
		{"iglu:com.acme/signup/jsonschema/1.0.0", "schema_uri_invalid", `version "1.0.0" is not SchemaVer`, signup},
		{"com.acme/signup/jsonschema/1-0-0", "schema_uri_invalid", `must start with "iglu:"`, signup},
		{"iglu:com.acme/signup/jsonschema/1-0-0 ", "schema_uri_invalid", "has spaces or line breaks around it", signup},
		{"\tiglu:com.acme/signup/jsonschema/1-0-0", "schema_uri_invalid", "has spaces or line breaks around it", signup},
		{"iglu:com.acme/signup/jsonschema/01-0-0", "schema_uri_invalid", `part "01" must be a number without leading zeros`, signup},
		{"iglu:com.acme/signup/json/1-0-0", "schema_uri_invalid", `format "json" is not supported`, signup},
		{"iglu:com.acme/signup/jsonschema/1-0", "schema_uri_invalid", `version "1-0" is not SchemaVer`, signup},
		{"iglu:com.acme/signup", "schema_uri_invalid", "must have four parts", signup},
		{"IGLU:com.acme/signup/jsonschema/1-0-0", "schema_uri_invalid", `must start with "iglu:"`, signup},
		{"https://iglu.example/schemas/com.acme/signup/jsonschema/1-0-0", "schema_uri_invalid", `must start with "iglu:"`, signup},
		{"iglu:com.acme/signup/jsonschema/1-0-9", "schema_not_found", "known versions: 1-0-0", signup},
		{"iglu:com.acme/SignUp/jsonschema/1-0-0", "schema_not_found", "no contract iglu:com.acme/SignUp/jsonschema/1-0-0 in the registry", signup},
		{"iglu:COM.ACME/signup/jsonschema/1-0-0", "schema_not_found", "no contract iglu:COM.ACME/signup/jsonschema/1-0-0 in the registry", signup},
		// What only the letters and digits still name (the fourth audit's).
		{"iglu:com.acme/signup\u200b/jsonschema/1-0-0", "schema_uri_invalid", "", signup},
		{"iglu:com.acme/ｓignup/jsonschema/1-0-0", "schema_uri_invalid", "", signup},
		{"iglu:com.acme/sign%75p/jsonschema/1-0-0", "schema_uri_invalid", "", signup},
		{"iglu:com.acme/signup.yaml", "schema_uri_invalid", "", signup},
		{"iglu:com.acme:signup:jsonschema:1-0-0", "schema_uri_invalid", "", signup},
		{"iglu:com.acme.signup/jsonschema/1-0-0", "schema_uri_invalid", "", signup},
		{"com_acme/signup/jsonschema/1-0-0", "schema_uri_invalid", "", signup},
		{"iglu:com.acme/sign-up/jsonschema/1-0-0", "schema_not_found", "no contract", signup},
		{"iglu:com.acme\\/signup/jsonschema/1-0-0", "schema_uri_invalid", "", signup},
		{"iglu:com.acme/nope/jsonschema/1-0-0", "schema_not_found", "no contract", ""},
		{"not a schema", "schema_uri_invalid", `must start with "iglu:"`, ""},
	} {
		t.Run(tc.schema, func(t *testing.T) {
			res, rows := badRowsOf(t, []collect.Incoming{{Schema: tc.schema, Data: []byte(signupData)}})
			msg := res[0].Failures[0].Message
			if string(res[0].Reason) != tc.reason || !strings.Contains(msg, tc.message) {
				t.Errorf("answer %s %q, want %s with %q", res[0].Reason, msg, tc.reason, tc.message)
			}
			// The family is named, unless the message names its versions
			// already (an unknown version of it) or there is none.
			hint := tc.sealedBy != "" && !strings.Contains(msg, "known versions")
			if strings.Contains(msg, "; the registry has com.acme/signup in versions 1-0-0 (the newest is "+signup+")") != hint {
				t.Errorf("answer %q: want the family named: %v", msg, hint)
			}
			payload := string(rows[0].Payload)
			if tc.sealedBy == "" {
				if !strings.Contains(payload, "typo.user@example.com") {
					t.Errorf("an event that names no family is kept as sent, got %s", payload)
				}
				return
			}
			if !strings.Contains(payload, `"data":"sealed by `+tc.sealedBy+`"`) || len(rows[0].Sealed) != 1 {
				t.Errorf("bad row %s sealed %v, want its data sealed by %s", payload, rows[0].Sealed, tc.sealedBy)
			}
		})
	}
	// A context's malformed URI: its data is sealed by its family's contract too.
	ctx := event.Entity{Schema: "com.acme/signup/jsonschema/1-0-0", Data: []byte(signupData)}
	_, rows := badRowsOf(t, []collect.Incoming{{Schema: "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0", Data: []byte(`{"id":"x"}`), Contexts: []event.Entity{ctx}}})
	if p := string(rows[0].Payload); !strings.Contains(p, `"data":"sealed by `+signup+`"`) || strings.Contains(p, "typo.user") {
		t.Errorf("context with a malformed URI: bad row %s", p)
	}
}

// TestBadRowUndecoded: an event that could not be decoded is not kept when
// it names, anywhere (its schema, a schema member of its text, a text its
// text holds encoded), with whatever typo the family lookup reads, a
// contract with personal data; it is kept otherwise.
func TestBadRowUndecoded(t *testing.T) {
	cut := `{"schema":"` + signup + `","data":{"shop_id":"shop_1","email":"typo.user@example.com"`
	for _, tc := range []struct {
		name     string
		in       collect.Incoming
		withheld string // the contract named, "" when the text is kept
	}{
		{"cut short", collect.Incoming{RawText: cut}, signup},
		{"a malformed URI", collect.Incoming{RawText: strings.Replace(cut, "iglu:", "", 1)}, signup},
		{"an escaped URI", collect.Incoming{RawText: strings.ReplaceAll(cut, "/", `\/`)}, signup},
		{"an escaped member name", collect.Incoming{RawText: strings.Replace(cut, `"schema"`, `"sch\u0065ma"`, 1)}, signup},
		{"a context names it", collect.Incoming{RawText: `{"schema":"iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0","data":{},"contexts":[{"schema":"` + signup + `","data":{"email":"typo.user@example.com"`}, signup},
		{"a text inside it names it", collect.Incoming{RawText: `{"e":"ue","ue_pr":"<the same, escaped>"}`, RawInner: []string{cut}}, signup},
		{"the schema it was given", collect.Incoming{Schema: "com.acme/signup", RawText: `{"email":"typo.user@example.com"`}, signup},
		{"a schema inside a string value is no schema", collect.Incoming{RawText: `{"note":"\"schema\":\"` + signup + `\"","email":"typo.user@example.com"`}, ""},
		{"no contract", collect.Incoming{RawText: `{"schema":"iglu:com.acme/nope/jsonschema/1-0-0","data":{"email":"typo.user@example.com"`}, ""},
		{"a contract without personal data", collect.Incoming{RawText: `{"schema":"iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0","data":{"email":"typo.user@example.com"`}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.Reject = &collect.Rejection{Reason: event.ReasonMalformedJSON, Failures: []event.Failure{{Message: "not JSON"}}}
			_, rows := badRowsOf(t, []collect.Incoming{in})
			row := rows[0]
			if tc.withheld == "" {
				if row.PayloadText != in.RawText || row.PayloadWithheld != "" {
					t.Errorf("kept %q, withheld %q; want the text kept", row.PayloadText, row.PayloadWithheld)
				}
				return
			}
			if row.PayloadText != "" || !strings.Contains(row.PayloadWithheld, "names "+tc.withheld+", which has personal-data fields") {
				t.Errorf("kept %q, withheld %q; want it withheld for %s", row.PayloadText, row.PayloadWithheld, tc.withheld)
			}
		})
	}
}

// TestDataNotJSONWords: data that is not JSON (from a protocol that did not
// check it) is answered in the words every body gets, not the JSON
// decoder's, and its bad row keeps none of it.
func TestDataNotJSONWords(t *testing.T) {
	res, rows := badRowsOf(t, []collect.Incoming{{Schema: signup, Data: []byte(`{"shop_id":"shop_1","email":"typo.user@example.com"`)}})
	if msg := res[0].Failures[0].Message; res[0].Reason != event.ReasonMalformedJSON || msg != "data is not valid JSON: it ends before its JSON does (cut short?)" {
		t.Errorf("answer %s %q", res[0].Reason, msg)
	}
	if rows[0].PayloadWithheld == "" || rows[0].Payload != nil {
		t.Errorf("bad row kept %s", rows[0].Payload)
	}
}

// TestRejectedEventIDs: every rejected event is named in its answer and its
// bad row, as an envelope would be: by the producer's id, else (rejected
// before its contract read its data) by its data's event_id, else by an id
// the collector assigns.
func TestRejectedEventIDs(t *testing.T) {
	long := strings.Repeat("x", 300)
	res, rows := badRowsOf(t, []collect.Incoming{
		{EventID: "producer-1", Schema: "iglu:com.acme/nope/jsonschema/1-0-0", Data: []byte(`{"event_id":"data-1"}`)},
		{Schema: "iglu:com.acme/nope/jsonschema/1-0-0", Data: []byte(`{"a":{"event_id":"nested"},"event_id":"data-2"}`)},
		{Schema: "iglu:com.acme/nope/jsonschema/1-0-0", Data: []byte(`{"event_id":"` + long + `"}`)},
		{Schema: "iglu:com.acme/nope/jsonschema/1-0-0", Data: []byte(`{"event_id":42}`)},
		{Schema: "not a uri", RawText: "{broken", Reject: &collect.Rejection{Reason: event.ReasonMalformedJSON}},
	})
	for i, want := range []string{"producer-1", "data-2", "", "", ""} {
		got := res[i].EventID
		if want == "" {
			if _, err := uuid.Parse(got); err != nil {
				t.Errorf("event %d: answered event id %q, want one assigned (a UUID)", i, got)
			}
		} else if got != want {
			t.Errorf("event %d: answered event id %q, want %q", i, got, want)
		}
		if rows[i].EventID != got {
			t.Errorf("event %d: bad row names %q, the answer %q", i, rows[i].EventID, got)
		}
	}
}
