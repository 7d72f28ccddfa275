package collect

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/accord-dev/accord/internal/event"
)

// Response is the body of an ingest answer: per event, accepted or rejected with
// the failures (synchronous feedback, as Snowplow Micro gives it).
type Response struct {
	Accepted int      `json:"accepted"`
	Rejected int      `json:"rejected"`
	Events   []Result `json:"events"`
}

// NewResponse counts the results into a Response; Events is never null.
func NewResponse(results []Result) Response {
	if results == nil {
		results = []Result{}
	}
	resp := Response{Events: results}
	for _, r := range results {
		if r.Accepted() {
			resp.Accepted++
		} else {
			resp.Rejected++
		}
	}
	return resp
}

// ErrorBody is the body of a request refused as a whole.
type ErrorBody struct {
	Error  string       `json:"error"`
	Reason event.Reason `json:"reason"`
}

// RetryAfterSeconds is what a 503 answer asks producers to wait.
const RetryAfterSeconds = 2

// WriteResults answers with per-event results: 200 when at least one event was
// accepted (or there were none), 400 when every event was rejected. Rejected
// events are stored as bad rows either way, so producers must not retry them.
func WriteResults(w http.ResponseWriter, results []Result) int {
	resp := NewResponse(results)
	code := http.StatusOK
	if resp.Accepted == 0 && resp.Rejected > 0 {
		code = http.StatusBadRequest
	}
	buf := answerPool.Get().(*[]byte)
	b, err := appendResponse((*buf)[:0], resp)
	if err != nil { // a result encoding/json cannot encode: it says so
		writeJSON(w, code, resp)
		return code
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(b)
	if cap(b) <= maxPooledAnswer {
		*buf = b[:0]
		answerPool.Put(buf)
	}
	return code
}

// answerPool recycles the buffers answers are written into; larger ones are
// left to the GC.
var answerPool = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledAnswer = 256 << 10

// appendResponse appends resp as encoding/json's Encoder writes it (with its
// newline), without reflection for the results that carry no failures or
// warnings (accepted events, the bulk of a batch); the others are encoded by
// encoding/json.
func appendResponse(b []byte, resp Response) ([]byte, error) {
	b = append(b, `{"accepted":`...)
	b = strconv.AppendInt(b, int64(resp.Accepted), 10)
	b = append(b, `,"rejected":`...)
	b = strconv.AppendInt(b, int64(resp.Rejected), 10)
	b = append(b, `,"events":`...)
	if resp.Events == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range resp.Events {
			if i > 0 {
				b = append(b, ',')
			}
			r := &resp.Events[i]
			if len(r.Failures) > 0 || len(r.Warnings) > 0 {
				js, err := json.Marshal(r)
				if err != nil {
					return b, err
				}
				b = append(b, js...)
				continue
			}
			b = append(b, '{')
			if r.EventID != "" {
				b = append(b, `"event_id":`...)
				b = event.AppendString(b, r.EventID)
				b = append(b, ',')
			}
			if r.Schema != "" {
				b = append(b, `"schema":`...)
				b = event.AppendString(b, r.Schema)
				b = append(b, ',')
			}
			b = append(b, `"status":`...)
			b = event.AppendString(b, r.Status)
			if r.Reason != "" {
				b = append(b, `,"reason":`...)
				b = event.AppendString(b, string(r.Reason))
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, "}\n"...), nil
}

// WriteError answers a request refused as a whole.
func WriteError(w http.ResponseWriter, err error) int {
	var re *RequestError
	if !errors.As(err, &re) {
		re = &RequestError{Status: http.StatusInternalServerError, Reason: "internal", Msg: "internal error"}
	}
	if re.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfterSeconds))
	}
	AllowAnswer(w, re)
	writeJSON(w, re.Status, ErrorBody{Error: re.Msg, Reason: re.Reason})
	return re.Status
}

// answerGrace is how long the answer to a request whose body timed out may
// take to write.
const answerGrace = 2 * time.Second

// AllowAnswer gives the answer to a request whose body did not arrive in time
// (408) its own write deadline: by then the server's write timeout, which
// runs from the same start as its read timeout (both 30 s by default), has
// passed too, and the 408 would not be written at all.
func AllowAnswer(w http.ResponseWriter, re *RequestError) {
	if re.Status == http.StatusRequestTimeout {
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(answerGrace))
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// Access is who may send events: optional write keys per source, and the origins
// browsers may send from.
type Access struct {
	// WriteKeys maps a write key to the name of the source (app) that uses it.
	WriteKeys map[string]string `yaml:"write_keys"`
	// RequireWriteKey refuses native and Snowplow requests without a valid key.
	// Segment-compatible requests always need one when any key is configured.
	RequireWriteKey bool `yaml:"require_write_key"`
	// CORSOrigins are the origins browser trackers may send from; "*" allows all.
	CORSOrigins []string `yaml:"cors_origins"`
}

// Validate reports every write key and CORS origin that cannot work: an empty
// key or source name, keys required but none configured, and an origin that is not written as browsers send it in
// their Origin header (scheme://host[:port], no path, not even "/"), which
// would never match and would leave browser trackers refused without a word.
// Messages name no key: keys are secrets.
func (a Access) Validate() error {
	var errs []error
	unnamed, controls := 0, 0
	for key, name := range a.WriteKeys {
		switch {
		case strings.TrimSpace(key) == "":
			errs = append(errs, errors.New("access.write_keys has an empty key; give each source a key of its own"))
		case strings.TrimSpace(name) == "":
			unnamed++
		case strings.ContainsFunc(name, unicode.IsControl) || strings.ContainsFunc(key, unicode.IsControl):
			// A source name is printed (the banner) and stored (source.app);
			// a control character would forge log lines or terminal output.
			controls++
		}
	}
	if controls > 0 {
		errs = append(errs, fmt.Errorf("access.write_keys: %d key(s) or source name(s) hold control characters (line breaks, escapes); use printable text", controls))
	}
	if unnamed > 0 {
		errs = append(errs, fmt.Errorf("access.write_keys: %d key(s) name no source; write key: source-name (the name becomes the events' source.app)", unnamed))
	}
	if a.RequireWriteKey && len(a.WriteKeys) == 0 {
		// Keys are checked only when some are configured: without any, the
		// setting would be silently ignored and every request accepted.
		errs = append(errs, errors.New("access.require_write_key is set but access.write_keys is empty: add a key per source (write key: source-name), or unset require_write_key to accept requests without keys"))
	}
	for i, o := range a.CORSOrigins {
		if o == "*" {
			continue
		}
		if u, err := url.Parse(o); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			u.Path != "" || u.RawQuery != "" || u.Fragment != "" || o != u.Scheme+"://"+u.Host || o != strings.ToLower(o) {
			errs = append(errs, fmt.Errorf("access.cors_origins[%d] %q is not an origin: write it as browsers send it, scheme://host[:port] in lower case, with no path or trailing slash (for example %q), or \"*\" for any origin", i, Clip(o, 120), "https://shop.example"))
		}
	}
	return errors.Join(errs...)
}

// Lookup returns the source name of a write key, comparing in constant time.
func (a Access) Lookup(key string) (string, bool) {
	if key == "" {
		return "", false
	}
	found, name := false, ""
	for k, n := range a.WriteKeys {
		if subtle.ConstantTimeCompare([]byte(k), []byte(key)) == 1 {
			found, name = true, n
		}
	}
	return name, found
}

// Authorize resolves who sent a request: the source name of its write key, else
// the X-Accord-App header. When keys are configured and required, a request
// without a valid one gets a 401 *RequestError; how tells the producer how its
// protocol sends the key.
func (a Access) Authorize(r *http.Request, how string) (string, error) {
	app := r.Header.Get("X-Accord-App")
	if len(a.WriteKeys) == 0 {
		return app, nil
	}
	if name, ok := a.Lookup(KeyFromRequest(r)); ok {
		return name, nil
	}
	if a.RequireWriteKey {
		return "", &RequestError{Status: http.StatusUnauthorized, Reason: "unauthorized", Msg: "a valid write key is required: " + how}
	}
	return app, nil
}

// KeyFromRequest reads a write key from Basic auth (the username, as Segment
// libraries send it; or the whole credential when it has no colon, which
// Segment still takes from older clients), a Bearer token, or the
// X-Accord-Write-Key header.
func KeyFromRequest(r *http.Request) string {
	if u, _, ok := r.BasicAuth(); ok {
		return u
	}
	h := r.Header.Get("Authorization")
	if cred, ok := cutPrefixFold(h, "Basic "); ok {
		if raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred)); err == nil && utf8.Valid(raw) && !bytes.ContainsRune(raw, ':') {
			return string(raw)
		}
	}
	if strings.HasPrefix(h, "Bearer ") {
		return strings.TrimSpace(strings.TrimPrefix(h, "Bearer "))
	}
	return r.Header.Get("X-Accord-Write-Key")
}

// cutPrefixFold is strings.CutPrefix with the prefix matched in any case, as
// HTTP auth schemes are.
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}

// corsHeaders are the request headers a preflight always allows.
const corsHeaders = "Content-Type, Content-Encoding, Authorization, X-Accord-Write-Key, X-Accord-App"

// maxRequestHeaders bounds the Access-Control-Request-Headers a preflight
// answer repeats.
const maxRequestHeaders = 2048

// allowHeaders is the Access-Control-Allow-Headers of a preflight that asked for
// requested (its Access-Control-Request-Headers): corsHeaders and every header
// name it asked for. Browser trackers add headers of their own, and a preflight
// that does not allow one stops every request: Snowplow's sends SP-Anonymous,
// RudderStack's AnonymousId, SentAt and Rsa-Retry-*, analytics.js X-Retry-Count
// on a retry. Accord stores no request header, so allowing them costs nothing;
// only the origin is checked. A list that is not header names is ignored.
func allowHeaders(requested string) string {
	if requested == "" || len(requested) > maxRequestHeaders {
		return corsHeaders
	}
	names := strings.Split(requested, ",")
	for i, name := range names {
		if name = strings.Trim(name, " \t"); name == "" || !isToken(name) {
			return corsHeaders
		}
		names[i] = name
	}
	return corsHeaders + ", " + strings.Join(names, ", ")
}

// isToken says whether s is an HTTP token (RFC 9110), as header names are.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// CORS wraps an ingest handler with the CORS answers browser trackers need.
func (a Access) CORS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" && (slices.Contains(a.CORSOrigins, "*") || slices.Contains(a.CORSOrigins, origin)) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Add("Vary", "Origin")
			if r.Method == http.MethodOptions {
				h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
				h.Set("Access-Control-Allow-Headers", allowHeaders(r.Header.Get("Access-Control-Request-Headers")))
				h.Add("Vary", "Access-Control-Request-Headers")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		} else if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Timer measures a request for the metrics.
type Timer struct {
	m        *Metrics
	protocol string
	start    time.Time
}

// StartTimer starts measuring a request of protocol.
func (p *Pipeline) StartTimer(protocol string) Timer {
	return Timer{m: p.metrics, protocol: protocol, start: time.Now()}
}

// Done records the request's status code and duration.
func (t Timer) Done(code int) { t.m.ObserveRequest(t.protocol, code, time.Since(t.start).Seconds()) }
