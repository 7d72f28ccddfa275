package snowplow

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/accord-dev/accord/internal/collect"
	"github.com/accord-dev/accord/internal/event"
)

// The tp2 decoder on encoding/json that DecodePayload replaced (json.Valid,
// then structs and maps of raw members): TestDecodeOracle and
// FuzzDecodeOracle hold DecodePayload to it, event for event.

// oracleDecodePayload is the old DecodePayload. It decodes a tp2 body: a self-describing payload_data whose data is
// an array of events, each an object of tracker parameters. A body that is not a
// payload_data is refused as a whole (*collect.RequestError); an event that cannot
// be decoded becomes an Incoming with Reject set, so it alone is dead-lettered.
func oracleDecodePayload(body []byte, lim collect.Limits) ([]collect.Incoming, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, badRequest(event.ReasonMalformedEvent, "the body is empty; a Snowplow tracker POSTs "+payloadDataShape)
	}
	if !json.Valid(body) {
		return nil, badRequest(event.ReasonMalformedJSON, "the body is not valid JSON ("+collect.NotJSON(body)+"); a Snowplow tracker POSTs "+payloadDataShape)
	}
	var pd struct {
		Schema *string          `json:"schema"`
		Data   *json.RawMessage `json:"data"`
	}
	if body[0] != '{' || json.Unmarshal(body, &pd) != nil || pd.Schema == nil || pd.Data == nil {
		return nil, badRequest(event.ReasonMalformedEvent, "the body is not a Snowplow payload_data; send "+payloadDataShape)
	}
	if !isWrapper(*pd.Schema, payloadDataName) {
		return nil, badRequest(event.ReasonMalformedEvent, fmt.Sprintf("the body's schema is %q, not a Snowplow payload_data (iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-*-*: any version of MODEL 1); send %s", collect.Clip(*pd.Schema, 100), payloadDataShape))
	}
	var items []json.RawMessage
	if d := bytes.TrimSpace(*pd.Data); len(d) == 0 || d[0] != '[' || json.Unmarshal(d, &items) != nil {
		return nil, badRequest(event.ReasonMalformedEvent, "the payload_data's data is not an array of events; send "+payloadDataShape)
	}
	if len(items) == 0 {
		return nil, badRequest(event.ReasonMalformedEvent, "the payload_data holds no events; send at least one in its data array")
	}
	if len(items) > lim.MaxEvents {
		return nil, &collect.RequestError{Status: http.StatusRequestEntityTooLarge, Reason: event.ReasonLimitExceeded,
			Msg: fmt.Sprintf("the request holds %d events, more than the limit of %d; lower the tracker's buffer size", len(items), lim.MaxEvents)}
	}
	out := make([]collect.Incoming, len(items))
	for i, raw := range items {
		out[i] = oracleItem(raw)
	}
	return out, nil
}

// oracleParams are one event's tracker parameters as the old decoders read
// them, each as the string a tracker sent.
type oracleParams map[string]string

func (p oracleParams) get(name string) string { return p[name] }

// oracleItem is the old decodeItem. It decodes one element of a payload_data's data array.
func oracleItem(raw json.RawMessage) collect.Incoming {
	raw = bytes.TrimSpace(raw)
	var fields map[string]json.RawMessage
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &fields) != nil {
		return collect.Incoming{RawText: string(raw), Reject: rejection(event.ReasonMalformedEvent,
			`the event is not a JSON object of tracker parameters such as {"e": "pv", "url": "https://...", "eid": "..."}`)}
	}
	p := make(oracleParams, len(fields))
	notUTF8 := map[string]bool{}
	var bad []string
	for k, v := range fields {
		switch v[0] {
		case '"':
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				bad = append(bad, k)
				continue
			}
			p[k] = s
			notUTF8[k] = !utf8.Valid(v)
		case 'n': // null: as if absent
		case '{', '[':
			bad = append(bad, k)
		default: // numbers and booleans, which some trackers send unquoted
			p[k] = string(v)
		}
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		for i := range bad {
			bad[i] = strconv.Quote(collect.Clip(bad[i], 32))
		}
		in := meta(p)
		in.RawText, in.RawInner = undecoded(p)
		in.Reject = rejection(event.ReasonMalformedEvent, fmt.Sprintf("tracker parameters %s must be strings (or numbers); objects and arrays are sent as JSON text in ue_pr/co or base64url in ue_px/cx", strings.Join(bad, ", ")))
		return in
	}
	return oracleFromParams(p, notUTF8)
}

// oracleFromParams is fromParams on the old decoders. It maps one event's
// tracker parameters to an Incoming event; notUTF8 names the parameters that
// were not valid UTF-8 as sent.
func oracleFromParams(p oracleParams, notUTF8 map[string]bool) collect.Incoming {
	in := meta(p)
	reject := func(reason event.Reason, msg string) collect.Incoming {
		in.Reject = rejection(reason, msg)
		if in.Data == nil {
			in.Schema = ""
			in.RawText, in.RawInner = undecoded(p)
		}
		return in
	}
	switch e := p["e"]; e {
	case "":
		return reject(event.ReasonMalformedEvent, `the event has no "e" parameter (its type): send e=ue (self-describing event), pv (page view), pp (page ping) or se (structured event)`)
	case "ue":
		schema, data, rej := oracleUnstruct(p)
		if rej != nil {
			in.Reject = rej
			in.RawText, in.RawInner = undecoded(p)
			return in
		}
		in.Schema, in.Data = schema, data
	case "pv", "pp", "se":
		var b obj
		in.Schema = builtInData(&b, p, e)
		in.Data = b.done()
	default:
		return reject(event.ReasonEventNameUnknown, fmt.Sprintf("event type e=%q is not supported: send e=ue (self-describing event), pv (page view), pp (page ping) or se (structured event); track transactions and other events as self-describing events with their own contracts", collect.Clip(e, 16)))
	}
	ctxs, rej := oracleContexts(p)
	if rej != nil {
		in.Reject = rej
		return in
	}
	in.Contexts = ctxs
	badTime := ""
	for _, ts := range []struct {
		name string
		dst  **time.Time
	}{{"dtm", &in.DeviceCreatedAt}, {"stm", &in.SentAt}, {"ttm", &in.TrueTimestamp}} {
		s, ok := p[ts.name]
		if !ok || s == "" {
			continue
		}
		t, ok := millis(s)
		if !ok {
			badTime = ts.name
			break
		}
		*ts.dst = &t
	}
	for _, name := range []string{"e", "eid", "aid", "p", "tv", "ue_pr", "ue_px", "co", "cx", "dtm", "stm", "ttm", "url", "page", "refr",
		"pp_mix", "pp_max", "pp_miy", "pp_may", "se_ca", "se_ac", "se_la", "se_pr", "se_va"} {
		if notUTF8[name] {
			return reject(event.ReasonInvalidUTF8, fmt.Sprintf("tracker parameter %s is not valid UTF-8: trackers send text as UTF-8 (percent-encoded in a query string); fix how the producer encodes its text", name))
		}
	}
	if badTime != "" {
		return reject(event.ReasonTimestampInvalid, fmt.Sprintf("%s is not a time in milliseconds since the Unix epoch, such as 1700000000000", badTime))
	}
	return in
}

// oracleUnstruct is the old unstructEvent. It unwraps ue_pr or ue_px: the unstruct_event wrapper whose data is
// the self-describing event.
func oracleUnstruct(p oracleParams) (string, json.RawMessage, *collect.Rejection) {
	raw, rej := oracleSelfDescribing(p, "ue_pr", "ue_px")
	if rej != nil {
		return "", nil, rej
	}
	if raw == nil {
		return "", nil, rejection(event.ReasonMalformedEvent, "an e=ue event needs ue_pr (JSON) or ue_px (base64url JSON) holding "+unstructShape)
	}
	var w struct {
		Schema string          `json:"schema"`
		Data   json.RawMessage `json:"data"`
	}
	if raw[0] != '{' || json.Unmarshal(raw, &w) != nil || !isWrapper(w.Schema, unstructName) {
		return "", nil, rejection(event.ReasonMalformedEvent, "the self-describing event is not an unstruct_event wrapper; send "+unstructShape)
	}
	var inner struct {
		Schema string          `json:"schema"`
		Data   json.RawMessage `json:"data"`
	}
	d := bytes.TrimSpace(w.Data)
	if len(d) == 0 || d[0] != '{' || json.Unmarshal(d, &inner) != nil || inner.Schema == "" {
		return "", nil, rejection(event.ReasonMalformedEvent, `the unstruct_event's data must be the self-describing event {"schema": "iglu:<vendor>/<name>/jsonschema/<version>", "data": {...}}`)
	}
	inner.Data = bytes.TrimSpace(inner.Data)
	if len(inner.Data) == 0 || bytes.Equal(inner.Data, []byte("null")) {
		return "", nil, rejection(event.ReasonMalformedEvent, `the self-describing event has no "data"`)
	}
	return inner.Schema, inner.Data, nil
}

// oracleContexts is the old contexts. It unwraps co or cx: the contexts wrapper whose data is an array of
// self-describing entities. Neither parameter means no entities.
func oracleContexts(p oracleParams) ([]event.Entity, *collect.Rejection) {
	raw, rej := oracleSelfDescribing(p, "co", "cx")
	if rej != nil || raw == nil {
		return nil, rej
	}
	var w struct {
		Schema string          `json:"schema"`
		Data   json.RawMessage `json:"data"`
	}
	if raw[0] != '{' || json.Unmarshal(raw, &w) != nil || !isWrapper(w.Schema, contextsName) {
		return nil, rejection(event.ReasonMalformedEvent, "the entities are not a contexts wrapper; send "+contextsShape)
	}
	var ents []struct {
		Schema string          `json:"schema"`
		Data   json.RawMessage `json:"data"`
	}
	d := bytes.TrimSpace(w.Data)
	if len(d) == 0 || d[0] != '[' || json.Unmarshal(d, &ents) != nil {
		return nil, rejection(event.ReasonMalformedEvent, "the contexts wrapper's data must be an array of self-describing entities; send "+contextsShape)
	}
	out := make([]event.Entity, 0, len(ents))
	for i, e := range ents {
		data := bytes.TrimSpace(e.Data)
		if e.Schema == "" || len(data) == 0 || bytes.Equal(data, []byte("null")) {
			return nil, rejection(event.ReasonMalformedEvent, fmt.Sprintf(`entity %d of the contexts has no "schema" or no "data"; each entity is {"schema": "iglu:...", "data": {...}}`, i))
		}
		out = append(out, event.Entity{Schema: e.Schema, Data: data})
	}
	return out, nil
}

// oracleSelfDescribing is the old selfDescribing. It returns the JSON a tracker sent either as plain JSON text in
// jsonKey or as base64url in b64Key, nil when it sent neither.
func oracleSelfDescribing(p oracleParams, jsonKey, b64Key string) (json.RawMessage, *collect.Rejection) {
	plain, b64 := p[jsonKey], p[b64Key]
	var raw []byte
	switch {
	case plain != "" && b64 != "":
		return nil, rejection(event.ReasonMalformedEvent, fmt.Sprintf("the event has both %s and %s; send one of them", jsonKey, b64Key))
	case plain != "":
		raw = []byte(plain)
		if !json.Valid(raw) {
			return nil, rejection(event.ReasonMalformedJSON, jsonKey+" is not valid JSON")
		}
	case b64 != "":
		var err error
		if raw, err = decodeBase64URL(b64); err != nil {
			return nil, rejection(event.ReasonMalformedEvent, b64Key+" is not valid base64url (RFC 4648 section 5, with or without = padding)")
		}
		if !json.Valid(raw) {
			return nil, rejection(event.ReasonMalformedJSON, b64Key+" decodes to text that is not valid JSON")
		}
	default:
		return nil, nil
	}
	return bytes.TrimSpace(raw), nil
}

// checkOracle decodes body with DecodePayload and with the old decoder and
// fails unless both give the same events (data as bytes) or the same refusal.
func checkOracle(t *testing.T, body []byte, lim collect.Limits) {
	t.Helper()
	// The events are read from a copy that is then overwritten: what the
	// decoder returns must not view the request body, which is reused once
	// the request is answered.
	own := bytes.Clone(body)
	got, err := DecodePayload(own, lim)
	for i := range own {
		own[i] = '#'
	}
	want, wantErr := oracleDecodePayload(body, lim)
	if (err == nil) != (wantErr == nil) {
		t.Fatalf("%q: error %v, the old decoder's %v", body, err, wantErr)
	}
	if err != nil {
		var re, wantRE *collect.RequestError
		if !errors.As(err, &re) || !errors.As(wantErr, &wantRE) || *re != *wantRE {
			t.Fatalf("%q: refused with %#v, the old decoder with %#v", body, err, wantErr)
		}
		return
	}
	if len(got) != len(want) {
		t.Fatalf("%q: %d events, the old decoder %d", body, len(got), len(want))
	}
	for i := range got {
		// The decoder checks the limits of an event's data and entities as it
		// reads them (the old one left that to the pipeline): when it says so,
		// they must be within them.
		if got[i].LimitsChecked {
			checkWithinLimits(t, body, i, want[i], lim)
			got[i].LimitsChecked = false
		}
		if !reflect.DeepEqual(normalized(got[i]), normalized(want[i])) {
			t.Fatalf("%q: event %d is\n%+v\nthe old decoder's\n%+v", body, i, got[i], want[i])
		}
	}
}

// checkWithinLimits fails unless event i of body, as the old decoder read it
// (in), is accepted, with data and entities' data within lim's depth and
// string limits, as the pipeline checks them.
func checkWithinLimits(t *testing.T, body []byte, i int, in collect.Incoming, lim collect.Limits) {
	t.Helper()
	if in.Reject != nil {
		t.Fatalf("%q: event %d is rejected (%v), yet said to be within the limits", body, i, in.Reject.Reason)
	}
	datas := [][]byte{in.Data}
	for _, e := range in.Contexts {
		datas = append(datas, e.Data)
	}
	for _, d := range datas {
		if _, err := lim.CheckBody(d, 0); err != nil {
			t.Fatalf("%q: event %d is said to be within the limits, but %q is not: %v", body, i, d, err)
		}
	}
}

// normalized makes empty and nil data, contexts and entity data compare equal:
// the decoders differ only in whether an empty slice is allocated.
func normalized(in collect.Incoming) collect.Incoming {
	if len(in.Data) == 0 {
		in.Data = nil
	}
	if len(in.Contexts) == 0 {
		in.Contexts = nil
	}
	return in
}

// oracleItems are tracker events on the edges of what the decoders read:
// repeated parameters (the last counts, null and objects included), escaped
// names, wrappers with their member names in other cases, null and missing
// members, entities that are not wrappers.
var oracleItems = []string{
	"{\"e\":\"pv\",\"url\":\"https://a.example/\",\"page\":\"\xff\",\"page\":\"ok\",\"refr\":\"\\u00e9\xc3\"}",
	"{\"e\":\"pv\",\"url\":\"https://a.example/\",\"xyz\":\"\xff\",\"dtm\":\"x\"}",
	`{"e":"pv","url":"https://a.example/","e":"se","se_ca":"c","se_ac":"a"}`,
	`{"e":"pv","url":"https://a.example/","url":null}`,
	`{"e":"pv","url":{"x":1},"url":"https://a.example/"}`,
	`{"e":"pv","url":"https://a.example/","url":[1],"page":{}}`,
	`{"\u0065":"pp","url":"u","pp_mix":1,"pp_max":"2","pp_miy":true,"pp_may":"-1e3"}`,
	`{"e":"se","se_ca":"c","se_ac":"a","se_va":"12.50","se_la":"\ud800x","dtm":1700000000123.7,"stm":"1.7e12","ttm":"x"}`,
	`{"e":"ue","ue_pr":"{\"Schema\":\"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0\",\"DATA\":{\"sChEmA\":\"iglu:com.acme/x/jsonschema/1-0-0\",\"data\":{\"a\":1}}}"}`,
	`{"e":"ue","ue_pr":"{\"schema\":\"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0\",\"data\":{\"schema\":\"iglu:com.acme/x/jsonschema/1-0-0\",\"schema\":null,\"data\":{\"a\":1},\"data\":null}}"}`,
	`{"e":"ue","ue_pr":"{\"schema\":\"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0\",\"data\":{\"schema\":5,\"data\":{}}}"}`,
	`{"e":"ue","ue_pr":"{\"schema\":\"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0\",\"data\":null}"}`,
	`{"e":"ue","ue_pr":"{\"schema\":\"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0\",\"data\":{\"schema\":\"s\",\"data\":[1, 2 ]}}"}`,
	`{"e":"ue","ue_pr":" {\"\\u017fchema\":\"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0\",\"data\":{\"schema\":\"s\",\"data\":{ }}} "}`,
	`{"e":"ue","ue_pr":"{\"schema\":\"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0\",\"data\":{\"schema\":\"s\",\"data\":{}}}","ue_px":"eyJ9"}`,
	`{"e":"ue","ue_pr":"{\"schema\":"}`,
	`{"e":"ue","ue_px":"e30"}`,
	`{"e":"ue","ue_px":"!!"}`,
	`{"e":"pv","url":"u","co":"{\"schema\":\"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0\",\"data\":[{\"schema\":\"iglu:a/b/jsonschema/1-0-0\",\"data\":{\"x\":1}},null]}"}`,
	`{"e":"pv","url":"u","co":"{\"schema\":\"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0\",\"data\":[{\"schema\":\"iglu:a/b/jsonschema/1-0-0\",\"data\":{\"x\":1}},\"x\",null]}"}`,
	`{"e":"pv","url":"u","co":"{\"schema\":\"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0\",\"data\":[null,{\"schema\":7}]}"}`,
	`{"e":"pv","url":"u","co":"{\"schema\":\"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0\",\"data\":[]}"}`,
	`{"e":"pv","url":"u","co":"{\"schema\":\"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0\",\"data\":{}}"}`,
	`{"e":"pv","url":"u","co":"{\"schema\":\"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/2-0-0\",\"data\":[]}"}`,
	`{"e":"pv","url":"u","co":"{\"data\":[{\"schema\":\"iglu:a/b/jsonschema/1-0-0\",\"data\":null}],\"Schema\":\"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0\"}"}`,
	`{"e":"ue","ue_pr":"{\"schema\":\"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0\",\"data\":{\"schema\":\"iglu:a/first/jsonschema/1-0-0\",\"Schema\":\"iglu:a/second/jsonschema/1-0-0\",\"data\":{}}}"}`,
	`{"e":"ue","ue_pr":"{\"schema\":\"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0\",\"data\":{\"schema\":\"iglu:a/b/jsonschema/1-0-0\",\"data\":{}},\"data\":5}"}`,
	`{"e":"ue","ue_pr":"{\"schema\":\"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0\",\"data\":{\"schema\":\"iglu:a/b/jsonschema/1-0-0\",\"data\":{}},\"data\":{\"data\":{}}}"}`,
	`{"e":"pv","url":"u","co":"{\"schema\":\"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0\",\"data\":[5],\"data\":[{\"schema\":\"iglu:a/b/jsonschema/1-0-0\",\"data\":{}}]}"}`,
	`{"e":"pv","url":"u","co":"{\"schema\":\"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0\",\"data\":[{\"schema\":\"iglu:a/b/jsonschema/1-0-0\",\"data\":{}}],\"data\":[]}"}`,
	`{"e":"tr"}`, `{}`, `[]`, `"pv"`, `null`, `7`,
}

// TestDecodeOracle holds DecodePayload to the old decoder on oracleItems (as
// payload_data bodies, alone and together), on bodies that are not a
// payload_data, on the unit tests' events and on the reference events.
func TestDecodeOracle(t *testing.T) {
	lim := collect.DefaultLimits
	var all [][]byte
	for _, it := range oracleItems {
		checkOracle(t, tp2Body([]byte(it)), lim)
		all = append(all, []byte(it))
	}
	checkOracle(t, tp2Body(all...), lim)
	for _, body := range oracleBodies {
		checkOracle(t, []byte(body), lim)
	}
	for _, tc := range eventCases {
		checkOracle(t, tp2Body(tp2Item(t, tc.params)), lim)
	}
	checkOracle(t, jsBody(t), lim)
	checkOracle(t, tp2Body(referenceItems(t, 3)...), lim)
	small := lim
	small.MaxEvents = 2
	checkOracle(t, tp2Body(referenceItems(t, 3)...), small)
	// Data and entities at and over small depth and string limits, which the
	// decoder checks as it reads them.
	small.MaxDepth, small.MaxStringBytes = 2, 8
	for _, data := range []string{`{}`, `[[]]`, `[[[]]]`, `{"a":{"b":[]}}`, `"12345678"`, `"123456789"`, `"1234567\u0078"`, `{"12345678":1}`, `{"123456789":1}`} {
		ue := `{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":{"schema":"iglu:a/b/jsonschema/1-0-0","data":` + data + `}}`
		co := `{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0","data":[{"schema":"iglu:a/b/jsonschema/1-0-0","data":` + data + `}]}`
		for _, params := range []map[string]any{
			{"e": "ue", "ue_pr": ue}, {"e": "ue", "ue_px": base64.RawURLEncoding.EncodeToString([]byte(ue))},
			{"e": "ue", "ue_pr": ue, "co": co}, {"e": "pv", "url": "u", "cx": base64.RawURLEncoding.EncodeToString([]byte(co))},
			{"e": "ue", "ue_pr": strings.Replace(ue, data, "{}", 1), "co": co},
		} {
			checkOracle(t, tp2Body(tp2Item(t, params)), small)
		}
	}
	// encoding/json's bound on nesting: 10,000 levels, the body's own three
	// (the payload_data, its array, the event) included.
	// And in the JSON of ue_pr and co, a document of its own: the wrappers'
	// levels count.
	for _, depth := range []int{9997, 9998, 9999, 10000} {
		deep := strings.Repeat("[", depth) + strings.Repeat("]", depth)
		ue := `{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0","data":{"schema":"iglu:a/b/jsonschema/1-0-0","data":` + deep + `}}`
		const contexts = `{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0","data":[`
		entity := contexts + `{"schema":"iglu:a/b/jsonschema/1-0-0","data":` + deep[2:len(deep)-2] + `}]}`
		notEntity := contexts + deep[1:len(deep)-1] + `]}`
		checkOracle(t, tp2Body(tp2Item(t, map[string]any{"e": "ue", "ue_pr": ue})), lim)
		checkOracle(t, tp2Body(tp2Item(t, map[string]any{"e": "pv", "url": "u", "co": entity})), lim)
		checkOracle(t, tp2Body(tp2Item(t, map[string]any{"e": "pv", "url": "u", "co": notEntity})), lim)
	}
	for _, depth := range []int{9996, 9997, 9998} {
		deep := strings.Repeat("[", depth) + strings.Repeat("]", depth)
		checkOracle(t, tp2Body([]byte(`{"e":"pv","url":"u","x":`+deep+`}`)), lim)
		checkOracle(t, tp2Body([]byte(`{"e":"pv"}`), []byte(deep[1:len(deep)-1])), lim)
	}
}

// oracleBodies are bodies that are not, or not quite, a payload_data.
var oracleBodies = []string{
	"", " ", "{}", "[]", "null", `{"schema":null,"data":[]}`, `{"schema":5,"data":[{}]}`,
	`{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4"}`,
	`{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":null}`,
	`{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[]}`,
	`{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":{}}`,
	`{"SCHEMA":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","Data":[{"e":"pv","url":"u"}]}`,
	`{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[{"e":"pv","url":"u"}],"schema":null}`,
	`{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/2-0-0","data":[{"e":"pv"}]}`,
	`{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[{"e":"pv"}]} x`,
	`{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[{"e":"pv"},]}`,
	"\f{\"schema\":\"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4\",\"data\":[{\"e\":\"pv\",\"url\":\"u\"}]}\u00a0",
}

// FuzzDecodeOracle holds DecodePayload to the old decoder on any body.
func FuzzDecodeOracle(f *testing.F) {
	for _, it := range oracleItems {
		f.Add(tp2Body([]byte(it)))
	}
	for _, b := range oracleBodies {
		f.Add([]byte(b))
	}
	lim := smallLimits()
	f.Fuzz(func(t *testing.T, body []byte) { checkOracle(t, body, lim) })
}

// oracleDecodeQuery is the old DecodeQuery, on url.ParseQuery: each name's
// first value.
func oracleDecodeQuery(rawQuery string) collect.Incoming {
	q, err := url.ParseQuery(rawQuery)
	p := make(oracleParams, len(q))
	notUTF8 := map[string]bool{}
	for k, vs := range q {
		if len(vs) > 0 {
			p[k] = vs[0]
			notUTF8[k] = !utf8.ValidString(vs[0])
		}
	}
	if err != nil {
		in := collect.Incoming{Reject: rejection(event.ReasonMalformedEvent, badQuery)}
		in.RawText, in.RawInner = undecoded(p)
		return in
	}
	return oracleFromParams(p, notUTF8)
}

// checkQueryOracle fails unless DecodeQuery and the old decoder give the
// same event for q, and unless an event DecodeQuery says is within lim is.
func checkQueryOracle(t *testing.T, q string, lim collect.Limits) {
	t.Helper()
	got, want := DecodeQuery(q, lim), oracleDecodeQuery(q)
	if got.LimitsChecked {
		checkWithinLimits(t, []byte(q), 0, want, lim)
		got.LimitsChecked = false
	}
	if !reflect.DeepEqual(normalized(got), normalized(want)) {
		t.Fatalf("%q: the event is\n%+v\nthe old decoder's\n%+v", q, got, want)
	}
}

// oracleQueries are query strings on the edges of what url.ParseQuery reads:
// repeated names (the first counts), escapes in names and values, '+',
// malformed escapes and ';' (the pair is left out, the event rejected), empty
// pairs and names, and the parameters the decoder reads under other names.
var oracleQueries = []string{
	"", "&", "&&e=pv&&url=u&", "e=pv&e=se&se_ca=c&se_ac=a", "%65=pv&url=a+b%20c", "e=pv&url=%", "e=pv&url=%4", "e=pv&url=%4g",
	"e=pv&url=%41%42", "e=pv&url=%e2%82%ac&page=%E2%82%AC", "e=pv;url=u", "e=pv&x;=1", "e=pv&=x", "e=pv&url", "e=pv&url=&url=u",
	"e=pv&%zz=1&url=u", "e=pv&url=u&uid=%zz", "e+=pv", "e=p+v", "e=pp&pp_mix=1&pp_max=%2B2&pp_miy=-1e3&pp_may=x",
	"e=se&se_ca=c&se_ac=a&se_va=12.50&dtm=1700000000123.7&stm=1.7e12&ttm=x",
	"e=ue&ue_pr=%7B%22schema%22%3A%22iglu%3Acom.snowplowanalytics.snowplow%2Funstruct_event%2Fjsonschema%2F1-0-0%22%2C%22data%22%3A%7B%22schema%22%3A%22iglu%3Aa%2Fb%2Fjsonschema%2F1-0-0%22%2C%22data%22%3A%7B%7D%7D%7D",
	"e=ue&ue_px=e30", "e=ue&ue_px=!!", "e=ue&ue_px=e30&ue_pr=x", "e=pv&url=u&cx=e30", "e=tr", "eid=1&aid=a&p=web&tv=t&e=pv&eid=2",
	"e=pv&url=u&refr=r&ip=1.2.3.4&ua=x&uid=u&duid=d&sid=s&fp=f&mac=m&nuid=n&tnuid=t&e=x",
	"e=pv&EID=1&Url=u", "e=pv&url=%00%ff",
}

// TestQueryOracle holds DecodeQuery to the old decoder on oracleQueries, the
// unit tests' events, the reference event and a query of more parameters
// than net/url reads.
func TestQueryOracle(t *testing.T) {
	var qs []string
	qs = append(qs, oracleQueries...)
	for _, tc := range eventCases {
		qs = append(qs, query(tc.params))
	}
	for _, p := range referenceParams(t, 3) {
		qs = append(qs, query(p))
	}
	for _, n := range []int{maxQueryParams - 1, maxQueryParams, maxQueryParams + 1} {
		qs = append(qs, "e=pv&url=u"+strings.Repeat("&", n-2))
	}
	for _, q := range qs {
		for _, lim := range []collect.Limits{collect.DefaultLimits, smallLimits()} {
			checkQueryOracle(t, q, lim)
		}
	}
}

// smallLimits are depth and string limits small enough that the decoders'
// checks of them (which must not change an answer) meet their edges often.
func smallLimits() collect.Limits {
	lim := collect.DefaultLimits
	lim.MaxEvents, lim.MaxDepth, lim.MaxStringBytes = 5, 3, 16
	return lim
}

// FuzzQueryOracle holds DecodeQuery to the old decoder on any query string.
func FuzzQueryOracle(f *testing.F) {
	for _, q := range oracleQueries {
		f.Add(q)
	}
	for _, tc := range eventCases {
		f.Add(query(tc.params))
	}
	lim := smallLimits()
	f.Fuzz(func(t *testing.T, q string) { checkQueryOracle(t, q, lim) })
}
