package registry

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/accord-dev/accord/internal/contract"
)

// Register adds the registry's routes to mux:
//
//	GET  /api/schemas                                      every schema as an Iglu URI (Iglu Server API)
//	GET  /api/schemas/{vendor}                             the vendor's schemas
//	GET  /api/schemas/{vendor}/{name}                      every version of one schema
//	GET  /api/schemas/{vendor}/{name}/jsonschema/{model}   the versions of one MODEL
//	GET  /api/schemas/{vendor}/{name}/jsonschema/{version} one schema document
//	GET  /schemas/{vendor}/{name}/jsonschema/{version}     one schema document (Iglu static repository layout)
//	GET  /v1/contracts                                     every contract family with owner, status and PII
//	GET  /v1/contracts/{vendor}/{name}                     one family, each version's fields and stored shape
//	POST /v1/validate                                      validate self-describing events, storing nothing
//	GET  /v1/registry                                      generation and reload status
//
// Every request reads the snapshot being served when it starts, so it sees one
// consistent registry even while a reload swaps in the next one.
func (r *Registry) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/schemas", r.listAll)
	mux.HandleFunc("GET /api/schemas/{$}", r.listAll)
	mux.HandleFunc("GET /api/schemas/{vendor}", r.listVendor)
	mux.HandleFunc("GET /api/schemas/{vendor}/{name}", r.listName)
	mux.HandleFunc("GET /api/schemas/{vendor}/{name}/{format}/{version}", r.getOrListModel)
	mux.HandleFunc("GET /schemas/{vendor}/{name}/{format}/{version}", r.getStatic)
	mux.HandleFunc("GET /v1/contracts", r.contracts)
	mux.HandleFunc("GET /v1/contracts/{vendor}/{name}", r.family)
	mux.HandleFunc("POST /v1/validate", r.validate)
	mux.HandleFunc("GET /v1/registry", r.status)
}

// Handler returns a handler serving the registry's routes alone, answering JSON
// 404 and 405 errors for everything else: `accord registry serve` and tests use
// it; `accord serve` mounts the routes with Register instead.
func (r *Registry) Handler() http.Handler {
	mux := http.NewServeMux()
	r.Register(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if _, pattern := mux.Handler(req); pattern == "" {
			// The mux answers by itself (404, 405 with Allow, or a redirect to a
			// clean path): keep its status and headers, answer errors in JSON.
			w = &jsonErrors{ResponseWriter: w}
		}
		mux.ServeHTTP(w, req)
	})
}

// jsonErrors replaces the plain-text body of the mux's own 404 and 405 answers
// with a JSON error and passes anything else through.
type jsonErrors struct {
	http.ResponseWriter
	replaced bool
}

func (j *jsonErrors) WriteHeader(code int) {
	switch code {
	case http.StatusNotFound:
		j.replaced = true
		writeError(j.ResponseWriter, code, "not_found", "no such endpoint; the routes are listed in docs/registry.md")
	case http.StatusMethodNotAllowed:
		j.replaced = true
		writeError(j.ResponseWriter, code, "method_not_allowed", "method not allowed here; allowed: "+j.Header().Get("Allow"))
	default:
		j.ResponseWriter.WriteHeader(code)
	}
}

func (j *jsonErrors) Write(b []byte) (int, error) {
	if j.replaced {
		return len(b), nil
	}
	return j.ResponseWriter.Write(b)
}

// apiError is the body of every error answer. "message" is also where Iglu
// clients look.
type apiError struct {
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, code int, reason, msg string) {
	writeJSON(w, code, apiError{Reason: reason, Message: msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := marshal(v)
	if err != nil {
		// Only values built here reach marshal; failing is a bug worth a 500.
		http.Error(w, `{"reason":"internal","message":"encoding the response failed"}`, http.StatusInternalServerError)
		return
	}
	writeBody(w, code, "application/json", b)
}

func writeBody(w http.ResponseWriter, code int, contentType string, b []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(code)
	_, _ = w.Write(b) // the client went away; nothing to do
}

// repr is how a list answers: Iglu URIs (the Iglu Server default) or the schema
// documents themselves.
type repr int

const (
	reprURI repr = iota
	reprCanonical
)

// parseRepr reads Iglu Server's ?repr= query parameter.
func parseRepr(req *http.Request) (repr, error) {
	switch v := req.URL.Query().Get("repr"); strings.ToLower(v) {
	case "", "uri":
		return reprURI, nil
	case "canonical":
		return reprCanonical, nil
	default:
		return 0, errors.New("repr must be uri (the default) or canonical")
	}
}

// list answers an Iglu list request with the contracts that match keep.
func (r *Registry) list(w http.ResponseWriter, req *http.Request, emptyIs404 bool, what string, keep func(contract.Key) bool) {
	rp, err := parseRepr(req)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	st := r.cur.Load()
	var uris []string
	var docs [][]byte
	for _, c := range st.snap.All() {
		if !keep(c.Key) {
			continue
		}
		uris = append(uris, c.Key.URI())
		docs = append(docs, st.view.schemas[c.Key])
	}
	if len(uris) == 0 && emptyIs404 {
		writeError(w, http.StatusNotFound, ReasonSchemaNotFound, "no schemas for "+what+" in the registry")
		return
	}
	if rp == reprCanonical {
		var buf bytes.Buffer
		buf.WriteString("[")
		for i, d := range docs {
			if i > 0 {
				buf.WriteString(",")
			}
			buf.Write(bytes.TrimRight(d, "\n"))
		}
		buf.WriteString("]\n")
		writeBody(w, http.StatusOK, "application/json", buf.Bytes())
		return
	}
	if uris == nil {
		uris = []string{}
	}
	writeJSON(w, http.StatusOK, uris)
}

func (r *Registry) listAll(w http.ResponseWriter, req *http.Request) {
	r.list(w, req, false, "", func(contract.Key) bool { return true })
}

func (r *Registry) listVendor(w http.ResponseWriter, req *http.Request) {
	vendor := req.PathValue("vendor")
	r.list(w, req, true, "vendor "+strconv.Quote(vendor), func(k contract.Key) bool { return k.Vendor == vendor })
}

func (r *Registry) listName(w http.ResponseWriter, req *http.Request) {
	vendor, name := req.PathValue("vendor"), req.PathValue("name")
	r.list(w, req, true, strconv.Quote(vendor+"/"+name), func(k contract.Key) bool { return k.Vendor == vendor && k.Name == name })
}

// getOrListModel serves one schema when the last segment is a full SchemaVer and
// the versions of one MODEL when it is a number, as Iglu Server does.
func (r *Registry) getOrListModel(w http.ResponseWriter, req *http.Request) {
	vendor, name, format, version := req.PathValue("vendor"), req.PathValue("name"), req.PathValue("format"), req.PathValue("version")
	if format != "jsonschema" {
		writeError(w, http.StatusNotFound, ReasonSchemaNotFound, "format "+strconv.Quote(format)+" is not served: Accord contracts have the format jsonschema")
		return
	}
	if model, err := strconv.Atoi(version); err == nil && model >= 1 && !strings.Contains(version, "-") {
		r.list(w, req, true, fmt.Sprintf("%q model %d", vendor+"/"+name, model), func(k contract.Key) bool {
			return k.Vendor == vendor && k.Name == name && k.Version.Model == model
		})
		return
	}
	r.serveSchema(w, req, vendor, name, format, version)
}

// getStatic serves the Iglu static repository layout /schemas/<vendor>/<name>/jsonschema/<version>.
func (r *Registry) getStatic(w http.ResponseWriter, req *http.Request) {
	r.serveSchema(w, req, req.PathValue("vendor"), req.PathValue("name"), req.PathValue("format"), req.PathValue("version"))
}

// serveSchema answers with one contract document, exactly as the registry holds
// it (self block included), with an ETag so that resolvers can revalidate;
// ?repr=uri answers with its Iglu URI instead, as Iglu Server does.
func (r *Registry) serveSchema(w http.ResponseWriter, req *http.Request, vendor, name, format, version string) {
	asURI := false
	switch strings.ToLower(req.URL.Query().Get("repr")) {
	case "", "canonical":
	case "uri":
		asURI = true
	default:
		writeError(w, http.StatusBadRequest, "bad_request", "repr must be canonical (the default for one schema) or uri")
		return
	}
	key, err := contract.ParseURI(contract.IgluPrefix + vendor + "/" + name + "/" + format + "/" + version)
	if err != nil {
		writeError(w, http.StatusNotFound, ReasonSchemaNotFound, "no such schema: "+err.Error())
		return
	}
	st := r.cur.Load()
	body, ok := st.view.schemas[key]
	if !ok {
		writeError(w, http.StatusNotFound, ReasonSchemaNotFound, NotFoundMessage(st.snap, key))
		return
	}
	if asURI {
		writeJSON(w, http.StatusOK, key.URI())
		return
	}
	sum := sha256.Sum256(body)
	w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:16])+`"`)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, req, "", time.Time{}, bytes.NewReader(body))
}

func (r *Registry) contracts(w http.ResponseWriter, req *http.Request) {
	writeBody(w, http.StatusOK, "application/json", r.cur.Load().view.contracts)
}

func (r *Registry) family(w http.ResponseWriter, req *http.Request) {
	vendor, name := req.PathValue("vendor"), req.PathValue("name")
	b, ok := r.cur.Load().view.families[[2]string{vendor, name}]
	if !ok {
		writeError(w, http.StatusNotFound, ReasonSchemaNotFound, "no contract "+strconv.Quote(vendor+"/"+name)+" in the registry")
		return
	}
	writeBody(w, http.StatusOK, "application/json", b)
}

func (r *Registry) status(w http.ResponseWriter, req *http.Request) {
	writeJSON(w, http.StatusOK, r.Status())
}

// validate answers POST /v1/validate: one self-describing event gets one result,
// an array gets an array of results, NDJSON gets NDJSON results with line numbers.
// Nothing is stored, and no answer repeats a value of the events.
func (r *Registry) validate(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, r.cfg.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, ReasonPayloadTooLarge,
				fmt.Sprintf("the body is larger than the %d-byte limit; send fewer events per request", tooBig.Limit))
			return
		}
		writeError(w, http.StatusBadRequest, "bad_request", "reading the body failed")
		return
	}
	check := r.cur.Load().check
	shape, docs := DecodeDocuments(body, true)
	var broken []string
	for _, d := range docs {
		if d.Err != nil {
			if d.Line > 0 {
				broken = append(broken, fmt.Sprintf("line %d: %v", d.Line, d.Err))
			} else {
				broken = append(broken, d.Err.Error())
			}
		}
	}
	if len(broken) > 0 {
		if len(broken) > 20 {
			broken = append(broken[:20], fmt.Sprintf("and %d more lines", len(broken)-20))
		}
		writeError(w, http.StatusBadRequest, ReasonMalformedJSON, strings.Join(broken, "; "))
		return
	}
	results := make([]Result, len(docs))
	for i, d := range docs {
		results[i] = check.Event(d.Raw, d.Value)
		results[i].Line = d.Line
	}
	switch shape {
	case ShapeSingle:
		res := results[0]
		code := http.StatusOK
		switch res.Reason {
		case ReasonMalformedEvent, ReasonSchemaURIInvalid, ReasonSchemaNotFound:
			code = http.StatusBadRequest
		}
		writeJSON(w, code, res)
	case ShapeArray:
		writeJSON(w, http.StatusOK, results)
	default:
		var buf bytes.Buffer
		for _, res := range results {
			b, err := marshalLine(res)
			if err != nil {
				writeError(w, http.StatusInternalServerError, "internal", "encoding the response failed")
				return
			}
			buf.Write(b)
		}
		writeBody(w, http.StatusOK, "application/x-ndjson", buf.Bytes())
	}
}
