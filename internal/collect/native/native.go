// Package native is Accord's own ingest protocol: POST /v1/events with one
// self-describing event, a JSON array of them, or NDJSON, optionally gzipped.
package native

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/accord-dev/accord/internal/collect"
	"github.com/accord-dev/accord/internal/event"
	"github.com/accord-dev/accord/internal/jsonscan"
)

// Protocol is the name native events carry in their envelope's source.
const Protocol = "native"

// Handler serves POST /v1/events.
type Handler struct {
	p      *collect.Pipeline
	access collect.Access
}

// New returns the native handler.
func New(p *collect.Pipeline, access collect.Access) *Handler { return &Handler{p: p, access: access} }

// Routes registers the native routes on mux.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.Handle("POST /v1/events", h.access.CORS(h))
	mux.Handle("OPTIONS /v1/events", h.access.CORS(h))
}

// ServeHTTP decodes, processes and answers one request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := h.p.StartTimer(Protocol)
	app, err := h.access.Authorize(r, "send it as Basic auth username, Bearer token or X-Accord-Write-Key")
	if err != nil {
		t.Done(collect.WriteError(w, err))
		return
	}
	body, err := h.p.ReadBody(r)
	if err != nil {
		t.Done(collect.WriteError(w, err))
		return
	}
	pooled := eventsPool.Get().(*[]collect.Incoming)
	evs, err := decode(*pooled, body.Bytes, h.p.Limits())
	// The events point into body: both go back to their pools together, once,
	// when Process is done with them (before its durable wait), or when the
	// request ends.
	released := false
	release := func() {
		if !released {
			released = true
			releaseEvents(pooled, evs)
			body.Release()
		}
	}
	defer release()
	if err != nil {
		t.Done(collect.WriteError(w, err))
		return
	}
	for i := range evs {
		if evs[i].App == "" {
			evs[i].App = app
		}
	}
	results, err := h.p.Process(r.Context(), Protocol, evs, release)
	if err != nil {
		t.Done(collect.WriteError(w, err))
		return
	}
	t.Done(collect.WriteResults(w, results))
}

// Decode splits a native body into events: one JSON object, a JSON array of
// objects, or NDJSON (one object per line; a malformed line rejects only itself).
// The events' data and contexts are slices of body, which must not change
// while they are in use.
func Decode(body []byte, lim collect.Limits) ([]collect.Incoming, error) {
	return decode(nil, body, lim)
}

// eventsPool recycles the handler's slices of decoded events (an Incoming is 240
// bytes: the slice of a request of 100 events is 24 KB); slices of more than
// maxPooledEvents are left to the GC.
var eventsPool = sync.Pool{New: func() any { return new([]collect.Incoming) }}

const maxPooledEvents = 1024

// releaseEvents puts evs, taken from eventsPool as *p, back once the request is
// answered, without the references to its body.
func releaseEvents(p *[]collect.Incoming, evs []collect.Incoming) {
	if evs == nil {
		evs = *p // a request refused whole: its events may be in *p's storage
	}
	if cap(evs) > maxPooledEvents {
		return
	}
	clear(evs[:cap(evs)])
	*p = evs[:0]
	eventsPool.Put(p)
}

// decode is Decode appending the events to dst[:0].
func decode(dst []collect.Incoming, body []byte, lim collect.Limits) ([]collect.Incoming, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, &collect.RequestError{Status: http.StatusBadRequest, Reason: event.ReasonMalformedEvent,
			Msg: `the body is empty; send {"schema": "iglu:...", "data": {...}}, a JSON array of such events, or NDJSON`}
	}
	// The common body, a JSON array of events or one event within the depth and
	// string limits, is checked against them, checked as JSON and cut into
	// events in one pass; its events are then within the limits too. Any other
	// body (NDJSON, not JSON, over a limit, or nested deeper than an event may
	// be, where an event's own nesting must be checked apart) takes the two
	// passes below, which answer it as they did before the first existed.
	// (A zero limit would bound nothing; Limits.Validate refuses both.)
	if lim.MaxDepth >= 1 && lim.MaxStringBytes >= 1 {
		within := jsonscan.Limits{MaxDepth: lim.MaxDepth, MaxString: lim.MaxStringBytes}
		if evs, ok, err := decodeJSON(dst[:0], body, lim, within); ok {
			if err == nil {
				for i := range evs {
					evs[i].LimitsChecked = true
				}
			}
			return evs, err
		}
	}
	return decodeChecked(dst[:0], body, lim)
}

// decodeChecked is decode in two passes: the body's limits, then its events.
func decodeChecked(dst []collect.Incoming, body []byte, lim collect.Limits) ([]collect.Incoming, error) {
	covers, err := lim.CheckBody(body, 4)
	if err != nil {
		return nil, err
	}
	evs, err := decodeBody(dst, body, lim)
	if covers {
		for i := range evs {
			evs[i].LimitsChecked = true
		}
	}
	return evs, err
}

// decodeJSON decodes a body that is a JSON array of events or one event,
// checking its syntax and scan's limits as it goes (one pass); ok is false
// when the body is neither or breaks a limit, and dst's storage may then hold
// partly decoded events.
func decodeJSON(dst []collect.Incoming, body []byte, lim collect.Limits, scan jsonscan.Limits) (evs []collect.Incoming, ok bool, err error) {
	if body[0] == '[' {
		out := slices.Grow(dst, min(lim.MaxEvents, 1+len(body)/600))
		n := 0
		end, err := scan.WalkElements(body, 0, func(s int) (int, error) {
			if n++; n > lim.MaxEvents {
				return scan.Value(body, s, 1) // counted for the answer, not decoded
			}
			in, end, err := decodeAt(body, s, 1, scan)
			out = append(out, in)
			return end, err
		}, 1)
		if err != nil || jsonscan.Space(body, end) != len(body) {
			return nil, false, nil
		}
		if n > lim.MaxEvents {
			return nil, true, tooMany(n, lim)
		}
		return out, true, nil
	}
	if in, end, err := decodeAt(body, 0, 0, scan); err == nil && end == len(body) {
		return append(dst, in), true, nil
	}
	return nil, false, nil
}

// decodeBody decodes a body that is within the limits.
func decodeBody(dst []collect.Incoming, body []byte, lim collect.Limits) ([]collect.Incoming, error) {
	// A JSON array or one JSON document: its events are decoded as the body is
	// checked, in one pass. A body that is not valid JSON is read as NDJSON.
	if evs, ok, err := decodeJSON(dst, body, lim, jsonscan.Limits{}); ok {
		return evs, err
	}
	type line struct {
		text []byte
		n    int // its number in the body, from 1
	}
	var lines []line
	for i, text := range bytes.Split(body, []byte("\n")) {
		if text = bytes.TrimSpace(text); len(text) > 0 {
			lines = append(lines, line{text, i + 1})
		}
	}
	if len(lines) > lim.MaxEvents {
		return nil, tooMany(len(lines), lim)
	}
	out := slices.Grow(dst, len(lines))
	var named []string // the schemas the whole body names, once a line is broken
	looked := false
	for _, l := range lines {
		in := decodeOne(l.text)
		if in.Reject != nil && in.Reject.Reason == event.ReasonMalformedJSON {
			// A broken line may be a fragment of a pretty-printed event
			// that names its contract on another line: its text is kept
			// only when no contract the body names has personal data.
			if !looked {
				named, looked = collect.SchemaRefs(body), true
			}
			in.Named = named
			if len(lines) > 1 {
				in.Reject.Failures[0].Message = fmt.Sprintf("line %d of the body is not valid JSON: %s (a body that is not one JSON document is read as NDJSON, an event per line: send a pretty-printed event or array as valid JSON whole)",
					l.n, collect.NotJSON(l.text))
			}
		}
		out = append(out, in)
	}
	return out, nil
}

func tooMany(n int, lim collect.Limits) error {
	return &collect.RequestError{Status: http.StatusRequestEntityTooLarge, Reason: event.ReasonLimitExceeded,
		Msg: fmt.Sprintf("the request holds %d events, more than the limit of %d; split it", n, lim.MaxEvents)}
}

// wireShape is what a native event is, for messages.
const wireShape = `the event must be {"schema": "iglu:...", "data": {...}, "contexts": [...]} with optional event_id, sent_at, device_created_at, true_timestamp, app, platform`

// decodeOne decodes one NDJSON line.
func decodeOne(raw []byte) collect.Incoming {
	if in, end, err := decodeAt(raw, 0, 0, jsonscan.Limits{}); err == nil && end == len(raw) {
		return in
	}
	return reject(raw, event.ReasonMalformedJSON, "the event is not valid JSON: "+collect.NotJSON(raw))
}

func reject(raw []byte, reason event.Reason, msg string) collect.Incoming {
	return collect.Incoming{RawText: string(raw), Reject: &collect.Rejection{Reason: reason, Failures: []event.Failure{{Message: msg}}}}
}

// shapeError is an event that is JSON but not a native event.
type shapeError struct{ msg string }

func (e *shapeError) Error() string { return e.msg }

// stringMembers are the event's string members, in the order decodeAt numbers
// them.
var stringMembers = [...]string{"schema", "event_id", "sent_at", "device_created_at", "true_timestamp", "app", "platform"}

// decodeAt decodes the event whose JSON starts at b[s], enclosed by depth
// containers, and returns its end, checking its syntax and scan's limits as
// it goes (one pass); err is a syntax error, which makes b unusable as JSON,
// or a limit that it breaks. Member names match exactly; a repeated member
// counts with its last value.
func decodeAt(b []byte, s, depth int, scan jsonscan.Limits) (in collect.Incoming, end int, err error) {
	if b[s] != '{' {
		if end, err = scan.Value(b, s, depth); err != nil {
			return in, end, err
		}
		return reject(b[s:end], event.ReasonMalformedEvent, wireShape+": it is "+kind(b[s])), end, nil
	}
	var data, contexts []byte
	var times [3]string
	var notUTF8 [len(stringMembers)]bool // as sent, the last of a repeated member counting
	end, err = scan.Members(b, s, func(k []byte, plain bool, vs, ve int) error {
		if !plain {
			k = jsonscan.AppendUnquoted(nil, k)
		}
		v := b[vs:ve]
		var dst *string
		var i int
		switch string(k) { // no string is allocated for the comparison
		case "data":
			data = v
			return nil
		case "contexts":
			contexts = v
			return nil
		case "schema":
			dst, i = &in.Schema, 0
		case "event_id":
			dst, i = &in.EventID, 1
		case "sent_at":
			dst, i = &times[0], 2
		case "device_created_at":
			dst, i = &times[1], 3
		case "true_timestamp":
			dst, i = &times[2], 4
		case "app":
			dst, i = &in.App, 5
		case "platform":
			dst, i = &in.Platform, 6
		default:
			return &shapeError{fmt.Sprintf("unknown member %q", collect.Clip(string(k), 64))}
		}
		switch v[0] {
		case '"':
			*dst = jsonscan.Unquote(v)
			notUTF8[i] = !utf8.Valid(v)
		case 'n':
			*dst, notUTF8[i] = "", false
		default:
			return &shapeError{fmt.Sprintf("%q must be a string, not %s", string(k), kind(v[0]))}
		}
		return nil
	}, depth+1)
	if shape, ok := err.(*shapeError); ok { // Members returns f's error as it is
		// The rest of the event was not scanned: find its end (and check it).
		if end, err = scan.Value(b, s, depth); err != nil {
			return collect.Incoming{}, end, err
		}
		return reject(b[s:end], event.ReasonMalformedEvent, wireShape+": "+shape.msg), end, nil
	}
	if err != nil {
		return collect.Incoming{}, end, err
	}
	raw := b[s:end]
	if contexts != nil {
		// Returned rather than decoded into &in.Contexts: that address would
		// move every event's Incoming to the heap.
		if in.Contexts, err = decodeContexts(contexts); err != nil {
			return reject(raw, event.ReasonMalformedEvent, wireShape+": "+err.Error()), end, nil
		}
	}
	if in.Schema == "" {
		return reject(raw, event.ReasonMalformedEvent, `the event has no "schema"; name its contract as "iglu:<vendor>/<name>/jsonschema/<version>"`), end, nil
	}
	if len(data) == 0 || string(data) == "null" {
		r := reject(raw, event.ReasonMalformedEvent, `the event has no "data"`)
		r.Schema = in.Schema
		return r, end, nil
	}
	in.Data = data
	var parsed [3]*time.Time
	badTime := ""
	for i, name := range timeMembers {
		if times[i] == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, times[i])
		if err != nil {
			if badTime == "" {
				badTime = name
			}
			continue
		}
		t = t.UTC()
		parsed[i] = &t
	}
	in.SentAt, in.DeviceCreatedAt, in.TrueTimestamp = parsed[0], parsed[1], parsed[2]
	if i := slices.Index(notUTF8[:], true); i >= 0 {
		// Data and times kept, so that the bad row seals the data by its
		// contract and a replay restores the event.
		in.Reject = &collect.Rejection{Reason: event.ReasonInvalidUTF8, Failures: []event.Failure{{
			Message: jsonscan.MemberNotUTF8(stringMembers[i])}}}
		return in, end, nil
	}
	if badTime != "" {
		r := reject(raw, event.ReasonTimestampInvalid, fmt.Sprintf("%s is not an RFC 3339 time such as 2026-11-01T12:34:56.789Z", badTime))
		r.Schema, r.EventID = in.Schema, in.EventID
		return r, end, nil
	}
	return in, end, nil
}

// timeMembers are the event's optional times, in the order of decodeAt's times.
var timeMembers = [3]string{"sent_at", "device_created_at", "true_timestamp"}

// decodeContexts decodes the "contexts" member: null, or an array of
// {"schema", "data"} entities with nothing else in them.
func decodeContexts(v []byte) ([]event.Entity, error) {
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.DisallowUnknownFields()
	var ents []event.Entity
	if err := dec.Decode(&ents); err != nil {
		// encoding/json's words name Go types; the producer needs the
		// protocol's.
		return nil, errors.New(contextsProblem(v))
	}
	return ents, nil
}

// contextsShape is what the "contexts" member must be, for messages.
const contextsShape = `"contexts" must be an array of self-describing entities [{"schema": "iglu:...", "data": {...}}, ...]`

// errStop ends a scan of contextsProblem's once it found the problem.
var errStop = errors.New("stop")

// contextsProblem says why v, a "contexts" value that decodeContexts could
// not decode, is not an array of entities, as encoding/json reads one into
// []event.Entity: null elements allowed, member names matched without
// regard to case, "schema" a string or null. It never quotes a value.
func contextsProblem(v []byte) string {
	if v[0] != '[' {
		return contextsShape + "; it is " + kind(v[0])
	}
	problem, i := "", 0
	_, _ = jsonscan.Elements(v, 0, func(s, _ int) error {
		defer func() { i++ }()
		switch v[s] {
		case 'n':
			return nil
		case '{':
		default:
			problem = fmt.Sprintf("; entity %d is %s", i, kind(v[s]))
			return errStop
		}
		_, err := jsonscan.Members(v, s, func(k []byte, plain bool, vs, _ int) error {
			if !plain {
				k = jsonscan.AppendUnquoted(nil, k)
			}
			switch {
			case bytes.EqualFold(k, []byte("schema")):
				if v[vs] != '"' && v[vs] != 'n' {
					problem = fmt.Sprintf(`; the "schema" of entity %d is %s, not a string`, i, kind(v[vs]))
					return errStop
				}
			case bytes.EqualFold(k, []byte("data")):
			default:
				problem = fmt.Sprintf(`; entity %d has a member %q, and an entity has only "schema" and "data"`, i, collect.Clip(string(k), 64))
				return errStop
			}
			return nil
		}, 1)
		return err
	}, 0)
	return contextsShape + problem
}

// kind names the JSON type of a value from its first byte.
func kind(c byte) string {
	switch c {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}
