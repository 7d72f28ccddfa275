// Package snowplow is the Snowplow tracker protocol, so that Snowplow's
// JavaScript, mobile and server trackers send to Accord unmodified: POST
// /com.snowplowanalytics.snowplow/tp2 with a payload_data batch (or the same body
// on configured custom paths), and GET /i with one event in the query string,
// answered with a 1x1 transparent GIF.
//
// Self-describing events (e=ue) are validated against the contract their inner
// schema names; page views (pv), page pings (pp) and structured events (se) against
// the built-in contracts PageViewSchema, PagePingSchema and StructuredEventSchema.
// Entities in co/cx become the event's contexts. Tracker parameters without a place
// in the envelope (user and session ids, screen sizes, ...) are not stored, nor are
// request headers, cookies or the requester's IP address and user agent:
// docs/snowplow.md says how to send them as entities instead.
package snowplow

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/accord-dev/accord/internal/collect"
)

// Protocol is the name Snowplow events carry in their envelope's source.
const Protocol = "snowplow"

// The routes Snowplow trackers send to by default.
const (
	// TP2Path takes POSTed payload_data batches.
	TP2Path = "/com.snowplowanalytics.snowplow/tp2"
	// PixelPath takes one event in the query string of a GET.
	PixelPath = "/i"
	// IcePath is the Snowplow collector's other name for the pixel.
	IcePath = "/ice.png"
)

// Handler serves the Snowplow routes.
type Handler struct {
	p      *collect.Pipeline
	access collect.Access
	paths  []string
}

// New returns the Snowplow handler. paths are extra routes that take the tp2 body
// (trackers configured with a custom post path); they must pass CheckPaths.
func New(p *collect.Pipeline, access collect.Access, paths []string) (*Handler, error) {
	if p == nil {
		return nil, errors.New("snowplow: no pipeline")
	}
	if err := CheckPaths(paths); err != nil {
		return nil, err
	}
	return &Handler{p: p, access: access, paths: append([]string(nil), paths...)}, nil
}

// reservedPrefixes are Accord's own routes, which a custom path may not shadow.
var reservedPrefixes = []string{"/v1/", "/healthz", "/health", "/readyz", "/metrics", "/robots.txt", "/api/", "/schemas/"}

// CheckPaths reports every custom path that cannot be served: a path is absolute,
// made of non-empty segments of letters, digits and "._~-", and is neither a
// default Snowplow route, one of Accord's own routes, nor listed twice. Config
// validation calls it so that `accord serve --check` reports bad paths.
func CheckPaths(paths []string) error {
	var errs []error
	seen := map[string]bool{TP2Path: true, PixelPath: true, IcePath: true}
	for _, p := range paths {
		bad := func(why string) {
			errs = append(errs, fmt.Errorf("snowplow path %q %s", collect.Clip(p, 100), why))
		}
		switch {
		case !strings.HasPrefix(p, "/") || len(p) < 2:
			bad("must start with / and name a path, such as /com.acme/track")
			continue
		case len(p) > 256:
			bad("is longer than 256 bytes")
			continue
		case seen[p]:
			if p == TP2Path || p == PixelPath || p == IcePath {
				bad("is a default Snowplow route, served already; remove it")
			} else {
				bad("is listed twice")
			}
			continue
		}
		seen[p] = true
		for _, r := range reservedPrefixes {
			if p == strings.TrimSuffix(r, "/") || strings.HasPrefix(p, r) {
				bad("would shadow Accord's own route " + r + "; pick another path")
				break
			}
		}
		for _, seg := range strings.Split(p[1:], "/") {
			if seg == "" || seg == "." || seg == ".." || strings.Trim(seg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._~-") != "" {
				bad("may only hold non-empty segments of letters, digits and ._~- separated by single slashes, such as /com.acme/track")
				break
			}
		}
	}
	return errors.Join(errs...)
}

// Routes registers the Snowplow routes on mux.
func (h *Handler) Routes(mux *http.ServeMux) {
	post := h.access.CORS(http.HandlerFunc(h.servePost))
	pixel := h.access.CORS(http.HandlerFunc(h.servePixel))
	// As the Snowplow collector does, a GET of a POST path (/vendor/version)
	// is a pixel too: trackers set to GET with a custom path send there.
	for _, path := range append([]string{TP2Path}, h.paths...) {
		mux.Handle("POST "+path, post)
		mux.Handle("OPTIONS "+path, post)
		mux.Handle("GET "+path, pixel)
	}
	mux.Handle("GET "+PixelPath, pixel)
	mux.Handle("GET "+IcePath, pixel)
}

// authorize returns the app name a write key gives, or answers 401 and reports
// false when a key is required and the request has no valid one.
func (h *Handler) authorize(w http.ResponseWriter, r *http.Request, t collect.Timer) (string, bool) {
	app, err := h.access.Authorize(r, "configure the tracker to send it as a Bearer token or X-Accord-Write-Key header (JavaScript tracker: customHeaders)")
	if err != nil {
		t.Done(collect.WriteError(w, err))
		return "", false
	}
	return app, true
}

// servePost decodes, processes and answers one tp2 batch.
func (h *Handler) servePost(w http.ResponseWriter, r *http.Request) {
	t := h.p.StartTimer(Protocol)
	app, ok := h.authorize(w, r, t)
	if !ok {
		return
	}
	body, err := h.p.ReadBody(r)
	if err != nil {
		t.Done(collect.WriteError(w, err))
		return
	}
	// The events point into body, which goes back when Process is done with
	// them (before its durable wait), or when the request ends.
	defer body.Release()
	evs, err := DecodePayload(body.Bytes, h.p.Limits())
	if err != nil {
		t.Done(collect.WriteError(w, err))
		return
	}
	h.process(w, r, t, app, evs, body.Release, writeResults)
}

// servePixel processes the one event of a GET /i request and answers with a
// transparent pixel.
func (h *Handler) servePixel(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodHead { // a prefetch or a link checker: no event
		pixelHeaders(w)
		w.WriteHeader(http.StatusOK)
		return
	}
	t := h.p.StartTimer(Protocol)
	app, ok := h.authorize(w, r, t)
	if !ok {
		return
	}
	h.process(w, r, t, app, []collect.Incoming{DecodeQuery(r.URL.RawQuery, h.p.Limits())}, nil, writePixel)
}

// process hands the events to the pipeline and answers with answer, or with a
// retryable error when nothing could be stored. release, if not nil, is
// Process's (see collect.Pipeline.Process).
func (h *Handler) process(w http.ResponseWriter, r *http.Request, t collect.Timer, app string, evs []collect.Incoming, release func(), answer func(http.ResponseWriter, []collect.Result) int) {
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
	t.Done(answer(w, results))
}

// writeResults answers a batch with 200 and the per-event results, rejected events
// included: Snowplow trackers retry every batch answered with an error status, and
// rejected events are already stored as bad rows, so they must not come again.
func writeResults(w http.ResponseWriter, results []collect.Result) int {
	resp := collect.NewResponse(results)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(resp) // the tracker may be gone; its events are stored
	return http.StatusOK
}

// pixel is a 1x1 transparent GIF, what Snowplow collectors answer GET /i with.
var pixel = []byte{
	'G', 'I', 'F', '8', '9', 'a', // header
	0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, // 1x1, a global color table of 2 colors
	0x00, 0x00, 0x00, 0xff, 0xff, 0xff, // the colors: black, white
	0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, // graphic control: color 0 is transparent
	0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, // image at 0,0, 1x1
	0x02, 0x02, 0x44, 0x01, 0x00, // LZW-coded pixel of color 0
	0x3b, // trailer
}

func pixelHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "image/gif")
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	h.Set("X-Content-Type-Options", "nosniff")
}

// writePixel answers a GET /i request: the pixel whatever became of its event
// (a rejected event is stored as a bad row; loading the pixel again would not
// help).
func writePixel(w http.ResponseWriter, _ []collect.Result) int {
	pixelHeaders(w)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(pixel) // the browser may have gone; the event is stored
	return http.StatusOK
}
