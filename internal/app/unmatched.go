package app

import (
	"encoding/json"
	"net/http"
	"strings"
)

// probeMethods are the methods a path's routes are looked up for when a
// request's method has none.
var probeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}

// unmatched answers every request that no route of mux takes, in JSON like
// every other answer of accord serve (net/http's own are plain text): 405 with
// Allow when the path has routes for other methods, else 404. Registered at
// "/", it runs only when nothing else matched, so it costs the routes nothing.
func unmatched(mux *http.ServeMux) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range probeMethods {
			if m == r.Method {
				continue
			}
			probe := &http.Request{Method: m, URL: r.URL, Host: r.Host, Header: http.Header{}}
			if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/" {
				allow = append(allow, m)
			}
		}
		code, reason, msg := http.StatusNotFound, "not_found", "no such endpoint: the routes of accord serve are listed in the README (Commands, and the docs of each protocol)"
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			code, reason, msg = http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed here; use "+strings.Join(allow, " or ")
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(code)
		// Both the collector's ("error") and the registry's ("message") names
		// of the text, so that either kind of client reads it.
		_ = json.NewEncoder(w).Encode(struct {
			Error   string `json:"error"`
			Reason  string `json:"reason"`
			Message string `json:"message"`
		}{msg, reason, msg})
	}
}
