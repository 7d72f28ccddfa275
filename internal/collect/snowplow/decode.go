package snowplow

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/accord-dev/accord/internal/collect"
	"github.com/accord-dev/accord/internal/contract"
	"github.com/accord-dev/accord/internal/event"
	"github.com/accord-dev/accord/internal/jsonscan"
)

// The contracts that Snowplow's built-in event types are validated against. The
// names are those Snowplow's own enrichment gives these events (event_vendor and
// event_name), so tables keep their familiar names; structured events, which
// Snowplow files under com.google.analytics/event, get a contract of their own
// under the Snowplow vendor (docs/snowplow.md).
const (
	PageViewSchema        = "iglu:com.snowplowanalytics.snowplow/page_view/jsonschema/1-0-0"
	PagePingSchema        = "iglu:com.snowplowanalytics.snowplow/page_ping/jsonschema/1-0-0"
	StructuredEventSchema = "iglu:com.snowplowanalytics.snowplow/structured_event/jsonschema/1-0-0"
)

// The self-describing wrappers of the tracker protocol. Every version of MODEL 1
// is accepted.
const (
	snowplowVendor   = "com.snowplowanalytics.snowplow"
	payloadDataName  = "payload_data"
	unstructName     = "unstruct_event"
	contextsName     = "contexts"
	payloadDataShape = `{"schema": "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4", "data": [{"e": "pv", ...}, ...]}`
	unstructShape    = `{"schema": "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0", "data": {"schema": "iglu:...", "data": {...}}}`
	contextsShape    = `{"schema": "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0", "data": [{"schema": "iglu:...", "data": {...}}, ...]}`
)

// maxMillis is 9999-12-31T23:59:59.999Z: later times are not timestamps.
const maxMillis = 253402300799999

// piiParams are tracker parameters that identify a person or a device. They are
// never stored as atomic fields; in the bad row of an event that could not be
// decoded they are replaced by a placeholder, as a contract's PII fields are.
var piiParams = map[string]contract.Kind{
	"url": contract.KindURL, "refr": contract.KindURL,
	"ip": contract.KindIP, "ua": contract.KindUserAgent,
	"uid": contract.KindUserID, "duid": contract.KindDeviceID, "nuid": contract.KindDeviceID,
	"tnuid": contract.KindDeviceID, "sid": contract.KindDeviceID, "fp": contract.KindDeviceID,
	"mac": contract.KindDeviceID,
}

// DecodePayload decodes a tp2 body: a self-describing payload_data whose data is
// an array of events, each an object of tracker parameters. A body that is not a
// payload_data is refused as a whole (*collect.RequestError); an event that cannot
// be decoded becomes an Incoming with Reject set, so it alone is dead-lettered.
//
// The body is checked and read with jsonscan, as encoding/json would decode it
// into the tracker protocol's structs and maps (TestDecodeOracle holds it to
// the encoding/json decoder it replaced).
func DecodePayload(body []byte, lim collect.Limits) ([]collect.Incoming, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, badRequest(event.ReasonMalformedEvent, "the body is empty; a Snowplow tracker POSTs "+payloadDataShape)
	}
	// The refusals are built only when they are answered.
	malformed := func() error {
		return badRequest(event.ReasonMalformedJSON, "the body is not valid JSON ("+collect.NotJSON(body)+"); a Snowplow tracker POSTs "+payloadDataShape)
	}
	notPayload := func() error {
		return badRequest(event.ReasonMalformedEvent, "the body is not a Snowplow payload_data; send "+payloadDataShape)
	}
	if body[0] != '{' {
		if _, _, err := jsonscan.Document(body); err != nil {
			return nil, malformed()
		}
		return nil, notPayload()
	}
	// One pass over the body checks it and decodes the events of its data
	// array as it goes (those beyond the limit are only counted). The members
	// are read as decoded into struct{Schema *string; Data *json.RawMessage}:
	// names matched without regard to case, the last of repeated ones
	// counting, a null member as absent, a schema that is not a string failing
	// the decoding.
	var (
		schema, data []byte
		typeErr      bool
		evs          []collect.Incoming
		n            int
		scratch      []byte
		d            = itemDecoder{lim: dataLimitsOf(lim)}
	)
	end, err := jsonscan.Limits{}.Walk(body, 0, func(k []byte, plain bool, s int) (int, error) {
		if !plain {
			scratch = jsonscan.AppendUnquoted(scratch[:0], k)
			k = scratch
		}
		isData := bytes.EqualFold(k, []byte("data"))
		if isData && body[s] == '[' {
			evs, n = evs[:0], 0
			end, err := jsonscan.Limits{}.WalkElements(body, s, func(i int) (int, error) {
				if n++; n > lim.MaxEvents {
					return jsonscan.Limits{}.Value(body, i, 2) // counted for the answer, not decoded
				}
				in, end, err := d.item(body, i)
				evs = append(evs, in)
				return end, err
			}, 2)
			data = body[s:end]
			return end, err
		}
		end, err := jsonscan.Limits{}.Value(body, s, 1)
		if err != nil {
			return end, err
		}
		switch v := body[s:end]; {
		case bytes.EqualFold(k, []byte("schema")):
			switch v[0] {
			case 'n':
				schema = nil
			case '"':
				schema = v
			default:
				typeErr = true
			}
		case isData:
			data, evs, n = v, nil, 0
			if v[0] == 'n' {
				data = nil
			}
		}
		return end, nil
	}, 1)
	if err != nil || end != len(body) {
		return nil, malformed()
	}
	if typeErr || schema == nil || data == nil {
		return nil, notPayload()
	}
	if s := jsonscan.Unquote(schema); !isWrapper(s, payloadDataName) {
		return nil, badRequest(event.ReasonMalformedEvent, fmt.Sprintf("the body's schema is %q, not a Snowplow payload_data (iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-*-*: any version of MODEL 1); send %s", collect.Clip(s, 100), payloadDataShape))
	}
	if data[0] != '[' {
		return nil, badRequest(event.ReasonMalformedEvent, "the payload_data's data is not an array of events; send "+payloadDataShape)
	}
	if n == 0 {
		return nil, badRequest(event.ReasonMalformedEvent, "the payload_data holds no events; send at least one in its data array")
	}
	if n > lim.MaxEvents {
		return nil, &collect.RequestError{Status: http.StatusRequestEntityTooLarge, Reason: event.ReasonLimitExceeded,
			Msg: fmt.Sprintf("the request holds %d events, more than the limit of %d; lower the tracker's buffer size", n, lim.MaxEvents)}
	}
	return evs, nil
}

// itemDecoder decodes the events of one payload_data, reusing its
// parameters and arena from one event to the next.
type itemDecoder struct {
	lim dataLimits
	p   params
	// arena holds the unquoted names and values of the event being decoded.
	arena []byte
}

// item decodes the element of a payload_data's data array at b[i], checking
// it as it goes, as decoded into a map of raw members: of repeated
// parameters the last counts. It returns the element's end.
func (d *itemDecoder) item(b []byte, i int) (collect.Incoming, int, error) {
	if b[i] != '{' {
		end, err := jsonscan.Limits{}.Value(b, i, 2)
		return collect.Incoming{RawText: string(b[i:end]), Reject: rejection(event.ReasonMalformedEvent,
			`the event is not a JSON object of tracker parameters such as {"e": "pv", "url": "https://...", "eid": "..."}`)}, end, err
	}
	p := &d.p
	if p.list == nil {
		p.list = make([]param, 0, 32)
	}
	p.reset(false)
	d.arena = d.arena[:0]
	end, err := jsonscan.Limits{}.Walk(b, i, func(key []byte, plain bool, start int) (int, error) {
		name := bytesView(key)
		if !plain {
			n := len(d.arena)
			d.arena = jsonscan.AppendUnquoted(d.arena, key)
			name = bytesView(d.arena[n:])
		}
		if b[start] == '"' {
			// Scanned here rather than by the walk, so that a long value (ue_px
			// or cx, base64 of a whole event) is scanned once.
			end, plain, err := jsonscan.String(b, start)
			if err != nil {
				return end, err
			}
			value := bytesView(b[start+1 : end-1])
			if !plain {
				n := len(d.arena)
				d.arena = jsonscan.AppendUnquoted(d.arena, b[start+1:end-1])
				value = bytesView(d.arena[n:])
			}
			// Escapes are ASCII: the raw text is UTF-8 unless the tracker sent
			// bytes that are not, which unquoting turned into U+FFFD.
			p.add(name, value, 's', plain || utf8.Valid(b[start+1:end-1]))
			return end, nil
		}
		end, err := jsonscan.Limits{}.Value(b, start, 3)
		if err != nil {
			return end, err
		}
		switch b[start] {
		case 'n': // null: as if absent
			p.add(name, "", 'n', true)
		case '{', '[':
			p.add(name, "", 'o', true)
		default: // numbers and booleans, which some trackers send unquoted
			p.add(name, bytesView(b[start:end]), 's', true)
		}
		return end, nil
	}, 3)
	if err != nil {
		return collect.Incoming{}, end, err
	}
	return fromParams(p, d.lim), end, nil
}

// DecodeQuery decodes one event sent as the query string of a GET /i pixel
// request. It never fails: an event that cannot be decoded has Reject set.
// lim are the limits the event's data and entities are checked against as they
// are read (Incoming.LimitsChecked), as for DecodePayload.
func DecodeQuery(rawQuery string, lim collect.Limits) collect.Incoming {
	p := params{list: make([]param, 0, 32)}
	if !readQuery(&p, rawQuery) {
		in := collect.Incoming{Reject: rejection(event.ReasonMalformedEvent, badQuery)}
		in.RawText, in.RawInner = undecoded(finalMap(&p))
		return in
	}
	return fromParams(&p, dataLimitsOf(lim))
}

// badQuery is what DecodeQuery says of a query string that url.ParseQuery
// refuses.
const badQuery = "the query string is not valid URL encoding (a % not followed by two hex digits, or a ; separator); trackers percent-encode every parameter"

// meta is an Incoming with the event's metadata only: its id and where it
// came from, copied in one allocation (the parameters view the request).
func meta(p lookup) collect.Incoming {
	f := [4]string{p.get("eid"), p.get("aid"), p.get("p"), p.get("tv")}
	n := 0
	for _, s := range f {
		n += len(s)
	}
	buf := make([]byte, 0, n)
	for i, s := range f {
		buf = append(buf, s...)
		f[i] = bytesView(buf[len(buf)-len(s):])
	}
	return collect.Incoming{EventID: f[0], App: f[1], Platform: f[2], Tracker: f[3]}
}

// dataLimits are the depth and string limits of an event's data (and its
// entities' data), which the decoder checks as it reads the self-describing
// JSON that holds them, so that the pipeline need not scan them again
// (Incoming.LimitsChecked); the zero value checks nothing.
type dataLimits struct{ maxDepth, maxString int }

func dataLimitsOf(lim collect.Limits) dataLimits {
	if lim.MaxDepth < 1 || lim.MaxStringBytes < 1 { // a zero limit would bound nothing
		return dataLimits{}
	}
	return dataLimits{lim.MaxDepth, lim.MaxStringBytes}
}

// scan is the scanner's bounds for JSON whose data members are wrapping
// containers deep (2 for an event in its unstruct_event wrapper, 3 for an
// entity in its contexts wrapper's array); none for the zero dataLimits.
func (l dataLimits) scan(wrapping int) jsonscan.Limits {
	if l == (dataLimits{}) {
		return jsonscan.Limits{}
	}
	return jsonscan.Limits{MaxDepth: l.maxDepth + wrapping, MaxString: l.maxString}
}

// withinLimits reads one piece of self-describing JSON with read, within lim's
// bounds first. JSON that breaks them, or is not JSON, is read again without
// bounds, so that it is answered as if none had been set, and the pipeline
// checks the limits itself (within is false).
func withinLimits[T any](lim dataLimits, wrapping int, read func(jsonscan.Limits) (T, *collect.Rejection)) (v T, within bool, rej *collect.Rejection) {
	if lim == (dataLimits{}) {
		v, rej = read(jsonscan.Limits{})
		return v, false, rej
	}
	v, rej = read(lim.scan(wrapping))
	if rej == nil || rej.Reason != event.ReasonMalformedJSON {
		return v, true, rej
	}
	v, rej = read(jsonscan.Limits{})
	return v, false, rej
}

// fromParams maps one event's tracker parameters to an Incoming event; lim
// are the limits it checks the event's data and entities against.
func fromParams(p *params, lim dataLimits) collect.Incoming {
	if p.objects {
		m, bad := p.final()
		if len(bad) > 0 {
			slices.Sort(bad)
			for i := range bad {
				bad[i] = strconv.Quote(collect.Clip(bad[i], 32))
			}
			in := meta(p)
			in.RawText, in.RawInner = undecoded(m)
			in.Reject = rejection(event.ReasonMalformedEvent, fmt.Sprintf("tracker parameters %s must be strings (or numbers); objects and arrays are sent as JSON text in ue_pr/co or base64url in ue_px/cx", strings.Join(bad, ", ")))
			return in
		}
	}
	in := meta(p)
	reject := func(reason event.Reason, msg string) collect.Incoming {
		in.Reject, in.LimitsChecked = rejection(reason, msg), false // (a rejected event is not checked)
		if in.Data == nil {
			in.Schema = ""
			in.RawText, in.RawInner = undecoded(finalMap(p))
		}
		return in
	}
	switch e := p.get("e"); e {
	case "":
		return reject(event.ReasonMalformedEvent, `the event has no "e" parameter (its type): send e=ue (self-describing event), pv (page view), pp (page ping) or se (structured event)`)
	case "ue":
		ev, within, rej := withinLimits(lim, 2, func(scan jsonscan.Limits) (selfDescribed, *collect.Rejection) {
			return unstructEvent(p, scan)
		})
		if rej != nil {
			in.Reject = rej
			in.RawText, in.RawInner = undecoded(finalMap(p))
			return in
		}
		in.Schema, in.Data, in.LimitsChecked = ev.schema, ev.data, within
	case "pv", "pp", "se":
		var b obj
		in.Schema = builtInData(&b, p, e)
		// The data is one object of parameters: within the limits when its
		// longest string is, as written in it (the depth limit is at least 1).
		in.Data, in.LimitsChecked = b.done(), lim != (dataLimits{}) && b.longest <= lim.maxString
	default:
		return reject(event.ReasonEventNameUnknown, fmt.Sprintf("event type e=%q is not supported: send e=ue (self-describing event), pv (page view), pp (page ping) or se (structured event); track transactions and other events as self-describing events with their own contracts", collect.Clip(e, 16)))
	}
	ctxs, within, rej := withinLimits(lim, 3, func(scan jsonscan.Limits) ([]event.Entity, *collect.Rejection) {
		return contexts(p, scan)
	})
	if rej != nil {
		in.Reject = rej
		in.LimitsChecked = false
		return in
	}
	in.Contexts = ctxs
	in.LimitsChecked = in.LimitsChecked && within
	var times *[3]time.Time // the three in one allocation
	badTime := ""
	for i, ts := range [...]struct {
		name string
		dst  **time.Time
	}{{"dtm", &in.DeviceCreatedAt}, {"stm", &in.SentAt}, {"ttm", &in.TrueTimestamp}} {
		s := p.get(ts.name)
		if s == "" {
			continue
		}
		t, ok := millis(s)
		if !ok {
			badTime = ts.name
			break
		}
		if times == nil {
			times = new([3]time.Time)
		}
		times[i] = t
		*ts.dst = &times[i]
	}
	// Checked once the data and the times are read, so that the bad row keeps
	// them as every rejected event's (its personal data sealed by its
	// contract), for a replay.
	if name := p.notUTF8Name(); name != "" {
		return reject(event.ReasonInvalidUTF8, fmt.Sprintf("tracker parameter %s is not valid UTF-8: trackers send text as UTF-8 (percent-encoded in a query string); fix how the producer encodes its text", name))
	}
	if badTime != "" {
		return reject(event.ReasonTimestampInvalid, fmt.Sprintf("%s is not a time in milliseconds since the Unix epoch, such as 1700000000000", badTime))
	}
	return in
}

// selfDescribed is a self-describing event: its schema URI and its data.
type selfDescribed struct {
	schema string
	data   json.RawMessage
}

// unstructEvent unwraps ue_pr or ue_px: the unstruct_event wrapper whose data is
// the self-describing event, read within scan's bounds.
func unstructEvent(p lookup, scan jsonscan.Limits) (selfDescribed, *collect.Rejection) {
	raw, notJSON, rej := selfDescribing(p, &unstructParams)
	if rej != nil {
		return selfDescribed{}, rej
	}
	if raw == nil {
		return selfDescribed{}, rejection(event.ReasonMalformedEvent, "an e=ue event needs ue_pr (JSON) or ue_px (base64url JSON) holding "+unstructShape)
	}
	// One pass checks the text and reads the wrapper and the event it holds.
	var inner wrapper
	w, valid := readWrapper(raw, scan, func(data []byte, s, level int) (int, error) {
		inner = wrapper{}
		if data[s] != '{' {
			return scan.Value(data, s, level)
		}
		return inner.walk(data, s, level+1, scan, nil)
	})
	switch {
	case !valid:
		return selfDescribed{}, rejection(event.ReasonMalformedJSON, notJSON)
	case !w.ok || !isWrapper(w.schema, unstructName):
		return selfDescribed{}, rejection(event.ReasonMalformedEvent, "the self-describing event is not an unstruct_event wrapper; send "+unstructShape)
	case !inner.ok || inner.schema == "":
		return selfDescribed{}, rejection(event.ReasonMalformedEvent, `the unstruct_event's data must be the self-describing event {"schema": "iglu:<vendor>/<name>/jsonschema/<version>", "data": {...}}`)
	case len(inner.data) == 0 || bytes.Equal(inner.data, []byte("null")):
		return selfDescribed{}, rejection(event.ReasonMalformedEvent, `the self-describing event has no "data"`)
	}
	return selfDescribed{inner.schema, inner.data}, nil // views of raw, the decoder's own copy
}

// wrapper is a {"schema": ..., "data": ...} object read as encoding/json
// decodes it into struct{Schema string; Data json.RawMessage}: member names
// matched without regard to case, the last of repeated members counting, a
// null schema leaving it as it was and a null data read as "null". ok is
// false where that decoding fails: the value is not an object, or its schema
// neither a string nor null. schema views the text read.
type wrapper struct {
	schema string
	data   []byte
	ok     bool
}

// walk reads the object at b[i], at nesting level, into w, checking it, and
// returns its end. onData, when not nil, scans the value of each data member
// (at b[s], enclosed by level containers) in place of a plain scan, to read
// what it holds in the same pass.
func (w *wrapper) walk(b []byte, i, level int, scan jsonscan.Limits, onData func(b []byte, s, level int) (int, error)) (int, error) {
	w.ok = true
	var scratch []byte
	return scan.Walk(b, i, func(k []byte, plain bool, s int) (int, error) {
		if !plain {
			scratch = jsonscan.AppendUnquoted(scratch[:0], k)
			k = scratch
		}
		switch {
		case bytes.EqualFold(k, []byte("schema")):
			if b[s] == '"' {
				end, plain, err := jsonscan.String(b, s)
				if err == nil {
					w.schema = unquoted(b[s:end], plain)
				}
				return end, err
			}
			if b[s] != 'n' {
				w.ok = false
			}
		case bytes.EqualFold(k, []byte("data")):
			var end int
			var err error
			if onData != nil {
				end, err = onData(b, s, level)
			} else {
				end, err = scan.Value(b, s, level)
			}
			w.data = b[s:end]
			return end, err
		}
		return scan.Value(b, s, level)
	}, level)
}

// readWrapper checks raw as one JSON document within scan's bounds (valid
// reports that it is) and reads it as a wrapper (w.ok is false when it is not
// an object), in one pass; onData is as for wrapper.walk.
func readWrapper(raw []byte, scan jsonscan.Limits, onData func(b []byte, s, level int) (int, error)) (w wrapper, valid bool) {
	i := jsonscan.Space(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		_, _, err := jsonscan.Document(raw)
		return wrapper{}, err == nil
	}
	end, err := w.walk(raw, i, 1, scan, onData)
	if err != nil || jsonscan.Space(raw, end) != len(raw) {
		return wrapper{}, false
	}
	return w, true
}

// unquoted is the content of the checked JSON string s (a view of s when
// it has no escapes); plain is what jsonscan.String said of it.
func unquoted(s []byte, plain bool) string {
	if plain {
		return bytesView(s[1 : len(s)-1])
	}
	return string(jsonscan.AppendUnquoted(nil, s[1:len(s)-1]))
}

// contexts unwraps co or cx: the contexts wrapper whose data is an array of
// self-describing entities, read within scan's bounds. Neither parameter
// means no entities.
func contexts(p lookup, scan jsonscan.Limits) ([]event.Entity, *collect.Rejection) {
	raw, notJSON, rej := selfDescribing(p, &contextsParams)
	if rej != nil || raw == nil {
		return nil, rej
	}
	// One pass checks the text and reads the wrapper and its entities, as
	// decoded into a slice of wrappers: a null element is a zero one, any
	// other that is not a wrapper fails the decoding.
	var ents []wrapper
	entsOK := false
	w, valid := readWrapper(raw, scan, func(data []byte, s, level int) (int, error) {
		ents, entsOK = ents[:0], data[s] == '['
		if !entsOK {
			return scan.Value(data, s, level)
		}
		return scan.WalkElements(data, s, func(e int) (int, error) {
			var ent wrapper
			var end int
			var err error
			if data[e] == '{' {
				end, err = ent.walk(data, e, level+2, scan, nil)
				entsOK = entsOK && ent.ok
			} else {
				end, err = scan.Value(data, e, level+1)
				entsOK = entsOK && data[e] == 'n'
			}
			ents = append(ents, ent)
			return end, err
		}, level+1)
	})
	switch {
	case !valid:
		return nil, rejection(event.ReasonMalformedJSON, notJSON)
	case !w.ok || !isWrapper(w.schema, contextsName):
		return nil, rejection(event.ReasonMalformedEvent, "the entities are not a contexts wrapper; send "+contextsShape)
	case !entsOK:
		return nil, rejection(event.ReasonMalformedEvent, "the contexts wrapper's data must be an array of self-describing entities; send "+contextsShape)
	}
	out := make([]event.Entity, 0, len(ents))
	for i, e := range ents {
		if e.schema == "" || len(e.data) == 0 || bytes.Equal(e.data, []byte("null")) {
			return nil, rejection(event.ReasonMalformedEvent, fmt.Sprintf(`entity %d of the contexts has no "schema" or no "data"; each entity is {"schema": "iglu:...", "data": {...}}`, i))
		}
		out = append(out, event.Entity{Schema: e.schema, Data: e.data}) // views of raw, the decoder's own copy
	}
	return out, nil
}

// sdParams are the two parameters that may carry one piece of
// self-describing JSON, as JSON text or as base64url, and what to say of
// them (built once: an event does not pay for its messages).
type sdParams struct {
	jsonKey, b64Key                          string
	both, badBase64, notJSON, notJSONDecoded string
}

func newSDParams(jsonKey, b64Key string) sdParams {
	return sdParams{jsonKey: jsonKey, b64Key: b64Key,
		both:           fmt.Sprintf("the event has both %s and %s; send one of them", jsonKey, b64Key),
		badBase64:      b64Key + " is not valid base64url (RFC 4648 section 5, with or without = padding)",
		notJSON:        jsonKey + " is not valid JSON",
		notJSONDecoded: b64Key + " decodes to text that is not valid JSON",
	}
}

var (
	unstructParams = newSDParams("ue_pr", "ue_px")
	contextsParams = newSDParams("co", "cx")
)

// selfDescribing returns the JSON text a tracker sent in either of k's
// parameters, nil when it sent neither, with what to say when it is not JSON,
// which its reader finds out. raw is always a new copy (what is read from it,
// the event's data and schema, outlives the request).
func selfDescribing(p lookup, k *sdParams) (raw []byte, notJSON string, rej *collect.Rejection) {
	plain, b64 := p.get(k.jsonKey), p.get(k.b64Key)
	switch {
	case plain != "" && b64 != "":
		return nil, "", rejection(event.ReasonMalformedEvent, k.both)
	case plain != "":
		return []byte(plain), k.notJSON, nil
	case b64 != "":
		raw, err := decodeBase64URL(b64)
		if err != nil {
			return nil, "", rejection(event.ReasonMalformedEvent, k.badBase64)
		}
		return raw, k.notJSONDecoded, nil
	}
	return nil, "", nil
}

// decodeBase64URL decodes base64url with or without padding. Trackers that use
// the standard alphabet ('+' and '/') are accepted too; whitespace is not.
func decodeBase64URL(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if strings.IndexByte(s, '+') >= 0 || strings.IndexByte(s, '/') >= 0 { // vectorised, unlike ContainsAny
		return base64.RawStdEncoding.Strict().DecodeString(s)
	}
	return base64.RawURLEncoding.Strict().DecodeString(s)
}

// builtInData builds the data of a page view, page ping or structured event (e
// is pv, pp or se) into b and returns its contract's schema.
func builtInData(b *obj, p lookup, e string) string {
	switch e {
	case "pv":
		pageData(b, p, false)
		return PageViewSchema
	case "pp":
		pageData(b, p, true)
		return PagePingSchema
	}
	structData(b, p)
	return StructuredEventSchema
}

// pageData builds a page view's or page ping's data from the tracker parameters.
func pageData(b *obj, p lookup, ping bool) {
	b.str("page_url", p.get("url"))
	b.str("page_title", p.get("page"))
	b.str("page_referrer", p.get("refr"))
	if ping {
		b.num("pp_xoffset_min", p.get("pp_mix"))
		b.num("pp_xoffset_max", p.get("pp_max"))
		b.num("pp_yoffset_min", p.get("pp_miy"))
		b.num("pp_yoffset_max", p.get("pp_may"))
	}
}

// structData builds a structured event's data from the tracker parameters.
func structData(b *obj, p lookup) {
	b.str("se_category", p.get("se_ca"))
	b.str("se_action", p.get("se_ac"))
	b.str("se_label", p.get("se_la"))
	b.str("se_property", p.get("se_pr"))
	b.num("se_value", p.get("se_va"))
}

// obj writes a JSON object in a fixed key order, leaving out empty values (which
// trackers leave out too). longest is the length of its longest string value as
// written, escapes included, which is what the pipeline's limit counts.
type obj struct {
	b       []byte
	longest int
}

func (o *obj) key(k string) {
	if len(o.b) == 0 {
		o.b = append(o.b, '{')
	} else {
		o.b = append(o.b, ',')
	}
	o.b = strconv.AppendQuote(o.b, k)
	o.b = append(o.b, ':')
}

func (o *obj) str(k, v string) {
	if v == "" {
		return
	}
	o.key(k)
	start := len(o.b)
	o.b = event.AppendString(o.b, v)
	o.longest = max(o.longest, len(o.b)-start-2) // less the quotes
}

// num writes v as a JSON number when it is one (trackers send numbers as
// strings); otherwise as a string, so that the contract's type check names the
// field rather than the decoder dropping it.
func (o *obj) num(k, v string) {
	v = strings.TrimSpace(v)
	if v == "" {
		return
	}
	if !isJSONNumber(v) {
		o.str(k, v)
		return
	}
	o.key(k)
	o.b = append(o.b, v...)
}

func (o *obj) done() json.RawMessage {
	if len(o.b) == 0 {
		return json.RawMessage("{}")
	}
	return append(o.b, '}')
}

// isJSONNumber reports whether s is a finite number in JSON's syntax.
func isJSONNumber(s string) bool {
	if s == "" || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) || !json.Valid([]byte(s)) {
		return false
	}
	f, err := strconv.ParseFloat(s, 64)
	return err == nil && !math.IsInf(f, 0)
}

// millis parses a tracker timestamp: milliseconds since the Unix epoch, an
// integer (a fraction is cut off).
func millis(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		if !isJSONNumber(s) {
			return time.Time{}, false
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < 0 || f > maxMillis {
			return time.Time{}, false
		}
		n = int64(f)
	}
	if n < 0 || n > maxMillis {
		return time.Time{}, false
	}
	return time.UnixMilli(n).UTC(), true
}

// isWrapper reports whether uri names MODEL 1 of one of Snowplow's
// self-describing wrappers.
func isWrapper(uri, name string) bool {
	k, err := contract.ParseURI(uri)
	return err == nil && k.Vendor == snowplowVendor && k.Name == name && k.Version.Model == 1
}

// finalMap is the event's parameters as a map, for rawText.
func finalMap(p *params) map[string]string {
	m, _ := p.final()
	return m
}

// undecoded is what the bad row of an event that could not be decoded keeps
// of its parameters p (rawText), and the self-describing JSON they hold, for
// the bad row to find the contracts it names (collect.Incoming.RawInner):
// ue_pr and co as sent, what ue_px and cx decode to (as far as they do:
// what is kept of base64 that breaks somewhere decodes as far too).
func undecoded(p map[string]string) (text string, inner []string) {
	for _, k := range [...]string{"ue_pr", "co"} {
		if v := p[k]; v != "" {
			inner = append(inner, v)
		}
	}
	for _, k := range [...]string{"ue_px", "cx"} {
		if v := p[k]; v != "" {
			inner = append(inner, decodeBase64Prefix(v))
		}
	}
	return rawText(p), inner
}

// decodeBase64Prefix decodes s as decodeBase64URL does, else as much of it
// as decodes: the whole groups of four before the first byte that is not
// base64 (of either alphabet).
func decodeBase64Prefix(s string) string {
	if b, err := decodeBase64URL(s); err == nil {
		return string(b)
	}
	n := 0
	for n < len(s) && isBase64(s[n]) {
		n++
	}
	s = strings.NewReplacer("+", "-", "/", "_").Replace(s[:n-n%4])
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "" // not reached: whole groups of the alphabet decode
	}
	return string(b)
}

func isBase64(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '+' || c == '/'
}

// rawText is the event's parameters as JSON for the bad row of an event that
// could not be decoded, with the parameters that identify a person or device
// replaced by "<redacted:kind>".
func rawText(p map[string]string) string {
	m := make(map[string]string, len(p))
	for k, v := range p {
		if kind, ok := piiParams[k]; ok && v != "" {
			v = "<redacted:" + string(kind) + ">"
		}
		m[k] = v
	}
	js, err := json.Marshal(m)
	if err != nil {
		return ""
	}
	return string(js)
}

func rejection(reason event.Reason, msg string) *collect.Rejection {
	return &collect.Rejection{Reason: reason, Failures: []event.Failure{{Message: msg}}}
}

func badRequest(reason event.Reason, msg string) error {
	return &collect.RequestError{Status: http.StatusBadRequest, Reason: reason, Msg: msg}
}
