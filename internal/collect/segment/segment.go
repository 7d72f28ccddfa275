// Package segment is a Segment-compatible HTTP tracking API (/v1/track,
// /v1/identify, /v1/page, /v1/screen, /v1/group, /v1/alias, /v1/batch, and the
// other paths Segment's libraries post to), so that Segment's and RudderStack's
// libraries send to Accord unmodified. Each call is
// validated against the contract that declares its event name in x-event-names
// (reserved names such as $identify for the other call types); docs/segment.md
// has the mapping and what is dropped.
package segment

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/accord-dev/accord/internal/collect"
	"github.com/accord-dev/accord/internal/event"
)

// Protocol is the name Segment events carry in their envelope's source.
const Protocol = "segment"

// Handler serves the Segment routes. It is safe for concurrent use.
type Handler struct {
	p          *collect.Pipeline
	access     collect.Access
	controller string
	names      namesCache
}

// New returns the Segment handler. When access holds write keys, every request
// must carry one of them; without any, requests are accepted with no source
// name. unresolvedController, when set, is the data controller under which the
// bad rows of messages that no contract declares keep them sealed, for a
// replay (KeepSealed); without it those rows keep only their fields' names.
func New(p *collect.Pipeline, access collect.Access, unresolvedController string) *Handler {
	return &Handler{p: p, access: access, controller: unresolvedController}
}

// paths maps every path under /v1/ that Segment's API answers to the call type
// it takes: the names of the HTTP API, and the other paths Segment's own
// libraries post to. analytics.js sends each call to its initial (/v1/t,
// /v1/p, ...) and its batches to /v1/b, as the Kotlin and Swift libraries do;
// the Java, Android and Ruby libraries post batches to /v1/import.
var paths = map[string]string{
	TypeTrack: TypeTrack, TypeIdentify: TypeIdentify, TypePage: TypePage, TypeScreen: TypeScreen,
	TypeGroup: TypeGroup, TypeAlias: TypeAlias, TypeBatch: TypeBatch,
	"t": TypeTrack, "i": TypeIdentify, "p": TypePage, "s": TypeScreen, "g": TypeGroup, "a": TypeAlias,
	"b": TypeBatch, "import": TypeBatch,
}

// BeaconPath is where RudderStack's JavaScript SDK sends batches with
// navigator.sendBeacon (its useBeacon option): a beacon can set no header, so
// the write key comes as the query parameter writeKey.
const BeaconPath = "/beacon/v1/batch"

// Routes registers POST (and, for browsers, OPTIONS) /v1/<path> for every path
// of paths, and BeaconPath; and the settings routes of the browser libraries
// (settings.go).
func (h *Handler) Routes(mux *http.ServeMux) {
	for path, t := range paths {
		route := h.access.CORS(h.route(t, false))
		mux.Handle("POST /v1/"+path, route)
		mux.Handle("OPTIONS /v1/"+path, route)
	}
	beacon := h.access.CORS(h.route(TypeBatch, true))
	mux.Handle("POST "+BeaconPath, beacon)
	mux.Handle("OPTIONS "+BeaconPath, beacon)
	for path, serve := range map[string]http.HandlerFunc{SettingsPath: h.serveSettings, SourceConfigPath: h.serveSourceConfig} {
		// (RudderStack's SDK sends its key as Basic auth: a preflight first.)
		mux.Handle("GET "+path, h.access.CORS(serve))
		mux.Handle("OPTIONS "+path, h.access.CORS(serve))
	}
}

// Response is the answer to a request whose messages were processed: Segment's
// {"success": true} plus Accord's result for every message, in request order.
// When every message was rejected it also carries code and message, which
// Segment's and RudderStack's Python libraries read from any answer but a 200
// (without them they take the answer for a transport error and retry).
type Response struct {
	Success bool   `json:"success"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
	collect.Response
}

// ErrorResponse is the answer to a request refused as a whole: Accord's error
// and reason, repeated as the code and message that libraries read.
type ErrorResponse struct {
	Success bool         `json:"success"`
	Error   string       `json:"error"`
	Reason  event.Reason `json:"reason"`
	Code    string       `json:"code"`
	Message string       `json:"message"`
}

// route serves one call type's route; queryKey reads the write key from the
// query parameter writeKey when no header carries one (BeaconPath).
func (h *Handler) route(callType string, queryKey bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := h.p.StartTimer(Protocol)
		t.Done(h.serve(w, r, callType, queryKey))
	})
}

// serve handles one request and returns its status code.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, callType string, queryKey bool) int {
	headerKey, invalid := collect.KeyFromRequest(r), "the write key is not valid: send a configured write key as the Basic auth username (password empty)"
	if headerKey == "" && queryKey {
		headerKey, invalid = r.URL.Query().Get("writeKey"), "the writeKey query parameter is not a configured write key"
	}
	app, authed := "", false
	if len(h.access.WriteKeys) > 0 && headerKey != "" {
		// A key in the headers (or the beacon's query) is checked before the
		// body is read.
		if app, authed = h.access.Lookup(headerKey); !authed {
			return writeError(w, unauthorized(invalid))
		}
	}
	body, err := h.p.ReadBody(r)
	if err != nil {
		return writeError(w, err)
	}
	// The messages may point into body: it goes back when Process is done with
	// them (before its durable wait), or when the request ends.
	defer body.Release()
	req, err := Decode(body.Bytes, callType, h.p.Limits())
	if err != nil {
		return writeError(w, err)
	}
	if len(h.access.WriteKeys) > 0 && !authed {
		// Producers that cannot set headers (analytics.js sending text/plain)
		// put the key in the body.
		switch len(req.WriteKeys) {
		case 0:
			return writeError(w, unauthorized("a write key is required: send it as the Basic auth username (password empty), as Segment's and RudderStack's libraries do"))
		case 1:
			if app, authed = h.access.Lookup(req.WriteKeys[0]); !authed {
				return writeError(w, unauthorized("the write key is not valid: send a configured write key as the Basic auth username (password empty)"))
			}
		default:
			return writeError(w, unauthorized("the messages of this request name different write keys; send one request per write key"))
		}
	}
	if len(req.Messages) == 0 {
		return writeResults(w, nil)
	}
	names := h.names.get(h.p.Snapshot())
	evs := make([]collect.Incoming, len(req.Messages))
	warnings := make([]string, len(req.Messages))
	maxString := h.p.Limits().MaxStringBytes
	for i := range req.Messages {
		m := Map(&req.Messages[i], names, app)
		if m.Unknown {
			KeepSealed(&m.Incoming, &req.Messages[i], h.controller)
		}
		evs[i], warnings[i] = m.Incoming, m.Warning
		evs[i].LimitsChecked = req.LimitsChecked && m.Injected <= maxString
	}
	results, err := h.p.Process(r.Context(), Protocol, evs, body.Release)
	if err != nil {
		return writeError(w, err)
	}
	for i, wmsg := range warnings {
		if wmsg != "" && i < len(results) {
			results[i].Warnings = append(results[i].Warnings, wmsg)
		}
	}
	return writeResults(w, results)
}

func unauthorized(msg string) error {
	return &collect.RequestError{Status: http.StatusUnauthorized, Reason: "unauthorized", Msg: msg}
}

// writeResults answers 200 {"success": true, ...} when at least one message was
// accepted (or there were none), and 400 {"success": false, ...} when every one
// was rejected. Rejected messages are stored as bad rows either way; libraries
// do not retry a 400.
func writeResults(w http.ResponseWriter, results []collect.Result) int {
	resp := Response{Response: collect.NewResponse(results)}
	code := http.StatusOK
	if resp.Accepted == 0 && resp.Rejected > 0 {
		code = http.StatusBadRequest
		resp.Code = string(results[0].Reason)
		for _, r := range results {
			if r.Reason != results[0].Reason {
				resp.Code = "events_rejected"
			}
		}
		resp.Message = "every message was rejected and stored as a bad row; the events list says why (retrying will not help)"
	}
	resp.Success = code == http.StatusOK
	writeJSON(w, code, resp)
	return code
}

// writeError answers a request refused as a whole, with Retry-After on 503.
func writeError(w http.ResponseWriter, err error) int {
	var re *collect.RequestError
	if !errors.As(err, &re) {
		re = &collect.RequestError{Status: http.StatusInternalServerError, Reason: "internal", Msg: "internal error"}
	}
	if re.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(collect.RetryAfterSeconds))
	}
	collect.AllowAnswer(w, re)
	writeJSON(w, re.Status, ErrorResponse{Error: re.Msg, Reason: re.Reason, Code: string(re.Reason), Message: re.Msg})
	return re.Status
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	// The status is sent; a failed write means the producer went away.
	_ = json.NewEncoder(w).Encode(v)
}
