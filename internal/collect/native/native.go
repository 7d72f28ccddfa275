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
)

// Protocol is the name native events carry in their envelope's source.
const Protocol = "native"

// wireEvent is one self-describing event on the wire.
type wireEvent struct {
	Schema          string          `json:"schema"`
	Data            json.RawMessage `json:"data"`
	Contexts        []event.Entity  `json:"contexts"`
	EventID         string          `json:"event_id"`
	SentAt          string          `json:"sent_at"`
	DeviceCreatedAt string          `json:"device_created_at"`
	TrueTimestamp   string          `json:"true_timestamp"`
	App             string          `json:"app"`
	Platform        string          `json:"platform"`
}

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
func Decode(body []byte, lim collect.Limits) ([]collect.Incoming, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, &collect.RequestError{Status: http.StatusBadRequest, Reason: event.ReasonMalformedEvent,
			Msg: `the body is empty; send {"schema": "iglu:...", "data": {...}}, a JSON array of such events, or NDJSON`}
	}
	if err := lim.CheckBody(body, 4); err != nil {
		return nil, err
	}
	// Each check of the body is a full pass over it: the whole body is checked
	// once, and the events of a valid body are not checked again one by one.
	var raws [][]byte
	var arr []json.RawMessage
	valid := false
	switch {
	case body[0] == '[' && json.Unmarshal(body, &arr) == nil: // Unmarshal fails exactly when the body is not valid JSON
		valid = true
		raws = make([][]byte, len(arr))
		for i, a := range arr {
			raws[i] = a
		}
	case body[0] != '[' && json.Valid(body):
		valid = true
		raws = [][]byte{body}
	default:
		for _, line := range bytes.Split(body, []byte("\n")) {
			if line = bytes.TrimSpace(line); len(line) > 0 {
				raws = append(raws, line)
			}
		}
	}
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

// decodeOne decodes one event; valid says raw is known to be valid JSON.
func decodeOne(raw []byte, valid bool) collect.Incoming {
	reject := func(reason event.Reason, msg string) collect.Incoming {
		return collect.Incoming{RawText: string(raw), Reject: &collect.Rejection{Reason: reason, Failures: []event.Failure{{Message: msg}}}}
	}
	if !valid && !json.Valid(raw) {
		return reject(event.ReasonMalformedJSON, "the event is not valid JSON")
	}
	var we wireEvent
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&we); err != nil {
		return reject(event.ReasonMalformedEvent, `the event must be {"schema": "iglu:...", "data": {...}, "contexts": [...]} with optional event_id, sent_at, device_created_at, true_timestamp, app, platform: `+err.Error())
	}
	if we.Schema == "" {
		return reject(event.ReasonMalformedEvent, `the event has no "schema"; name its contract as "iglu:<vendor>/<name>/jsonschema/<version>"`)
	}
	if len(we.Data) == 0 || bytes.Equal(we.Data, []byte("null")) {
		in := reject(event.ReasonMalformedEvent, `the event has no "data"`)
		in.Schema = we.Schema
		return in
	}
	in := collect.Incoming{Schema: we.Schema, Data: we.Data, Contexts: we.Contexts, EventID: we.EventID, App: we.App, Platform: we.Platform}
	for _, ts := range []struct {
		name, v string
		dst     **time.Time
	}{{"sent_at", we.SentAt, &in.SentAt}, {"device_created_at", we.DeviceCreatedAt, &in.DeviceCreatedAt}, {"true_timestamp", we.TrueTimestamp, &in.TrueTimestamp}} {
		if ts.v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, ts.v)
		if err != nil {
			in := reject(event.ReasonTimestampInvalid, fmt.Sprintf("%s is not an RFC 3339 time such as 2026-11-01T12:34:56.789Z", ts.name))
			in.Schema, in.EventID = we.Schema, we.EventID
			return in
		}
		t = t.UTC()
		*ts.dst = &t
	}
	return in
}
