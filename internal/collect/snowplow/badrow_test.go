package snowplow

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A self-describing event and a contexts wrapper that name contracts with
// personal data (the signup event, and signup data as an entity), each cut
// short, so that no field of them can be told apart.
const (
	cutEmail    = "cut.short.7f3a@example.com"
	cutSignupUE = `{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":{"schema":"iglu:com.acme/signup/jsonschema/1-0-0","data":{"shop_id":"shop_1","email":"` + cutEmail + `"`
	webPageUE   = `{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":{"schema":"iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0","data":{"id":"x"`
	signupCO    = `{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0","data":[{"schema":"iglu:com.acme/signup/jsonschema/1-0-0","data":{"shop_id":"shop_1","email":"` + cutEmail + `"}}]}`
)

// TestBadRowsWithheld: a Snowplow event that cannot be decoded is not kept
// in its bad row when the self-describing JSON it carries, as text or as
// base64 (decoded first, as far as it decodes), names a contract with
// personal data, as a native event's text is not; otherwise its parameters
// are kept. A schema URI that plainly names a family, malformed, has its
// data sealed by that family's contract (here redacted: the rig's scrubber
// has no sealer).
func TestBadRowsWithheld(t *testing.T) {
	r := newRig(t, rigOptions{})
	px := base64.RawURLEncoding.EncodeToString([]byte(cutSignupUE))
	for _, tc := range []struct {
		name   string
		params map[string]any
		reason string
		// withheld: the bad row keeps nothing; else kept names what the
		// bad row holds of the event.
		withheld bool
		kept     string
	}{
		{"ue_pr cut short", map[string]any{"e": "ue", "ue_pr": cutSignupUE}, "malformed_json", true, ""},
		{"ue_px cut short", map[string]any{"e": "ue", "ue_px": px}, "malformed_json", true, ""},
		{"ue_px not base64 past the email", map[string]any{"e": "ue", "ue_px": px + "!!!"}, "malformed_event", true, ""},
		{"ue_px in the standard alphabet, cut mid-group", map[string]any{"e": "ue", "ue_px": base64.StdEncoding.EncodeToString([]byte(cutSignupUE))[:len(px)-1]}, "malformed_event", true, ""},
		{"no e, with ue_pr", map[string]any{"ue_pr": strings.TrimSuffix(cutSignupUE, `"`) + `"}}}`}, "malformed_event", true, ""},
		{"co names it, ue_pr broken", map[string]any{"e": "ue", "ue_pr": webPageUE, "co": signupCO}, "malformed_json", true, ""},
		{"cx names it, ue_pr broken", map[string]any{"e": "ue", "ue_pr": webPageUE, "cx": base64.URLEncoding.EncodeToString([]byte(signupCO))}, "malformed_json", true, ""},
		{"no personal data named", map[string]any{"e": "ue", "ue_pr": webPageUE}, "malformed_json", false, "web_page"},
		{"a URI without iglu:", map[string]any{"e": "ue", "ue_pr": strings.Replace(jsSignupUE, "iglu:com.acme", "com.acme", 1)}, "schema_uri_invalid", false, `"email":"\u003credacted:email\u003e"`},
		{"a version cut short", map[string]any{"e": "ue", "ue_pr": strings.Replace(jsSignupUE, "signup/jsonschema/1-0-0", "signup/jsonschema/1-0", 1)}, "schema_uri_invalid", false, `"email":"\u003credacted:email\u003e"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, via := range []string{"POST", "GET"} {
				var resp *http.Response
				if via == "POST" {
					resp = send(t, http.MethodPost, r.url+TP2Path, tp2Body(tp2Item(t, tc.params)))
				} else {
					resp = send(t, http.MethodGet, r.url+PixelPath+"?"+query(tc.params), nil)
				}
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("%s: status %d", via, resp.StatusCode)
				}
				_, bad, raw := r.records(t)
				if len(bad) != 1 || string(bad[0].Reason) != tc.reason {
					t.Fatalf("%s: bad rows %+v, want one %s", via, bad, tc.reason)
				}
				for _, rec := range raw {
					for _, p := range append([]string{cutEmail}, planted...) {
						if strings.Contains(rec, p) {
							t.Errorf("%s: a stored record holds %q in plain text: %s", via, p, rec)
						}
					}
				}
				row := bad[0]
				if tc.withheld {
					if row.PayloadText != "" || row.Payload != nil || !strings.Contains(row.PayloadWithheld, "names iglu:com.acme/signup/jsonschema/1-0-0, which has personal-data fields") {
						t.Errorf("%s: kept %q %s, withheld %q; want nothing kept, for the signup contract", via, row.PayloadText, row.Payload, row.PayloadWithheld)
					}
					continue
				}
				if got := row.PayloadText + string(row.Payload); row.PayloadWithheld != "" || !strings.Contains(got, tc.kept) {
					t.Errorf("%s: kept %q, withheld %q; want %q kept", via, got, row.PayloadWithheld, tc.kept)
				}
			}
		})
	}
}

// TestUndecodedInner: the bad row's texts of an event that cannot be decoded
// are its self-describing JSON as sent (ue_pr, co) and decoded (ue_px, cx),
// base64 that breaks decoded up to where it does.
func TestUndecodedInner(t *testing.T) {
	for _, tc := range []struct {
		name   string
		params map[string]string
		want   []string
	}{
		{"text", map[string]string{"ue_pr": "{x", "co": "{y"}, []string{"{x", "{y"}},
		{"base64url", map[string]string{"ue_px": base64.RawURLEncoding.EncodeToString([]byte("{x?>")), "cx": base64.URLEncoding.EncodeToString([]byte("{y"))}, []string{"{x?>", "{y"}},
		{"base64, standard alphabet", map[string]string{"ue_px": base64.StdEncoding.EncodeToString([]byte("{x?>"))}, []string{"{x?>"}},
		{"broken base64", map[string]string{"ue_px": base64.RawURLEncoding.EncodeToString([]byte("{abcdef")) + "*zz"}, []string{"{abcde"}},
		{"cut mid-group", map[string]string{"ue_px": base64.RawURLEncoding.EncodeToString([]byte("{abcdef"))[:9]}, []string{"{abcde"}},
		{"none", map[string]string{"e": "pv", "url": "https://a.example/"}, nil},
	} {
		text, inner := undecoded(tc.params)
		if diff := cmp.Diff(tc.want, inner); diff != "" {
			t.Errorf("%s: inner texts (-want +got):\n%s", tc.name, diff)
		}
		var m map[string]string
		if err := json.Unmarshal([]byte(text), &m); err != nil || len(m) != len(tc.params) {
			t.Errorf("%s: text %q, %v", tc.name, text, err)
		}
	}
}
