// Package native is Accord's own ingest protocol: POST /v1/events with one
// self-describing event, a JSON array of them, or NDJSON, optionally gzipped.
package native

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

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
	body, err := collect.ReadBody(r, h.p.Limits().MaxBodyBytes)
	if err != nil {
		t.Done(collect.WriteError(w, err))
		return
	}
	defer collect.ReleaseBody(body) // after the answer: nothing is kept from it
	evs, err := Decode(body, h.p.Limits())
	if err != nil {
		t.Done(collect.WriteError(w, err))
		return
	}
	for i := range evs {
		if evs[i].App == "" {
			evs[i].App = app
		}
	}
	results, err := h.p.Process(r.Context(), Protocol, evs)
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
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, &collect.RequestError{Status: http.StatusBadRequest, Reason: event.ReasonMalformedEvent,
			Msg: `the body is empty; send {"schema": "iglu:...", "data": {...}}, a JSON array of such events, or NDJSON`}
	}
	if err := lim.CheckBody(body, 4); err != nil {
		return nil, err
	}
	raws, valid := split(body)
	if len(raws) > lim.MaxEvents {
		return nil, &collect.RequestError{Status: http.StatusRequestEntityTooLarge, Reason: event.ReasonLimitExceeded,
			Msg: fmt.Sprintf("the request holds %d events, more than the limit of %d; split it", len(raws), lim.MaxEvents)}
	}
	out := make([]collect.Incoming, len(raws))
	for i, raw := range raws {
		out[i] = decodeOne(raw, valid)
	}
	return out, nil
}

// split cuts a body (trimmed, not empty) into its events' JSON: the items of an
// array, the body itself, or the non-blank lines of NDJSON. valid says that the body is valid
// JSON (checked in one pass, so that its events need no check of their own).
func split(body []byte) (raws [][]byte, valid bool) {
	if body[0] == '[' {
		// Elements checks the items' syntax as it goes: one pass
		end, err := jsonscan.Elements(body, 0, func(s, e int) error {
			raws = append(raws, body[s:e])
			return nil
		}, 0)
		if err == nil && jsonscan.Space(body, end) == len(body) {
			return raws, true
		}
		raws = nil
	} else if start, end, err := jsonscan.Document(body); err == nil {
		return [][]byte{body[start:end]}, true
	}
	for _, line := range bytes.Split(body, []byte("\n")) {
		if line = bytes.TrimSpace(line); len(line) > 0 {
			raws = append(raws, line)
		}
	}
	return raws, false
}

// wireShape is what a native event is, for messages.
const wireShape = `the event must be {"schema": "iglu:...", "data": {...}, "contexts": [...]} with optional event_id, sent_at, device_created_at, true_timestamp, app, platform`

// decodeOne decodes one event; valid says raw is known to be valid JSON. Member
// names match exactly; a repeated member counts with its last value.
func decodeOne(raw []byte, valid bool) collect.Incoming {
	reject := func(reason event.Reason, msg string) collect.Incoming {
		return collect.Incoming{RawText: string(raw), Reject: &collect.Rejection{Reason: reason, Failures: []event.Failure{{Message: msg}}}}
	}
	if !valid {
		if _, _, err := jsonscan.Document(raw); err != nil {
			return reject(event.ReasonMalformedJSON, "the event is not valid JSON")
		}
	}
	if raw[0] != '{' {
		return reject(event.ReasonMalformedEvent, wireShape+": it is "+kind(raw[0]))
	}
	var in collect.Incoming
	var data, contexts []byte
	var times [3]string
	_, err := jsonscan.Members(raw, 0, func(k []byte, plain bool, s, e int) error {
		if !plain {
			k = jsonscan.AppendUnquoted(nil, k)
		}
		v := raw[s:e]
		var dst *string
		switch name := string(k); name {
		case "data":
			data = v
			return nil
		case "contexts":
			contexts = v
			return nil
		case "schema":
			dst = &in.Schema
		case "event_id":
			dst = &in.EventID
		case "sent_at":
			dst = &times[0]
		case "device_created_at":
			dst = &times[1]
		case "true_timestamp":
			dst = &times[2]
		case "app":
			dst = &in.App
		case "platform":
			dst = &in.Platform
		default:
			return fmt.Errorf("unknown member %q", collect.Clip(name, 64))
		}
		switch v[0] {
		case '"':
			*dst = jsonscan.Unquote(v)
		case 'n':
			*dst = ""
		default:
			return fmt.Errorf("%q must be a string, not %s", string(k), kind(v[0]))
		}
		return nil
	}, 0)
	if err == nil && contexts != nil {
		err = decodeContexts(contexts, &in.Contexts)
	}
	if err != nil {
		return reject(event.ReasonMalformedEvent, wireShape+": "+err.Error())
	}
	if in.Schema == "" {
		return reject(event.ReasonMalformedEvent, `the event has no "schema"; name its contract as "iglu:<vendor>/<name>/jsonschema/<version>"`)
	}
	if len(data) == 0 || string(data) == "null" {
		r := reject(event.ReasonMalformedEvent, `the event has no "data"`)
		r.Schema = in.Schema
		return r
	}
	in.Data = data
	for i, ts := range []struct {
		name string
		dst  **time.Time
	}{{"sent_at", &in.SentAt}, {"device_created_at", &in.DeviceCreatedAt}, {"true_timestamp", &in.TrueTimestamp}} {
		if times[i] == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, times[i])
		if err != nil {
			r := reject(event.ReasonTimestampInvalid, fmt.Sprintf("%s is not an RFC 3339 time such as 2026-11-01T12:34:56.789Z", ts.name))
			r.Schema, r.EventID = in.Schema, in.EventID
			return r
		}
		t = t.UTC()
		*ts.dst = &t
	}
	return in
}

// decodeContexts decodes the "contexts" member: null, or an array of
// {"schema", "data"} entities with nothing else in them.
func decodeContexts(v []byte, dst *[]event.Entity) error {
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return fmt.Errorf(`"contexts" must be an array of {"schema", "data"} entities: %w`, err)
	}
	return nil
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
