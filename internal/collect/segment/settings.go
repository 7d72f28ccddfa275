package segment

import (
	"net/http"
	"strings"

	"github.com/accord-dev/accord/internal/collect"
)

// The browser libraries read their source's settings from their vendor's
// services when they load: analytics.js from Segment's CDN
// (<cdnURL>/v1/projects/<write key>/settings), RudderStack's JavaScript SDK
// from its control plane (<configUrl>/sourceConfig/?writeKey=<key>). Accord
// answers both, so that pointing the library's cdnURL or configUrl at the
// collector is all it takes: the settings send events to the collector that
// answered (its host as the request named it), and turn off what would go to
// the vendors (analytics.js's metrics, RudderStack's error and metrics reports)
// and every destination.
const (
	// SettingsPath is analytics.js's settings route.
	SettingsPath = "/v1/projects/{writeKey}/settings"
	// SourceConfigPath is RudderStack's JavaScript SDK's settings route.
	SourceConfigPath = "/sourceConfig/"
)

// serveSettings answers analytics.js's settings request.
func (h *Handler) serveSettings(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("writeKey")
	if !h.settingsKey(w, key) {
		return
	}
	scheme, host := origin(r)
	writeJSON(w, http.StatusOK, map[string]any{
		"integrations": map[string]any{
			"Segment.io": map[string]any{"apiKey": key, "apiHost": host + "/v1", "protocol": scheme},
		},
		"metrics": map[string]any{"sampleRate": 0},
	})
}

// serveSourceConfig answers RudderStack's JavaScript SDK's settings request.
func (h *Handler) serveSourceConfig(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Query().Get("writeKey")
	if !h.settingsKey(w, key) {
		return
	}
	name, _ := h.access.Lookup(key)
	if name == "" {
		name = "accord"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"source": map[string]any{
			"id": name, "name": name, "writeKey": key, "enabled": true, "workspaceId": "accord",
			"config": map[string]any{"statsCollection": map[string]any{
				"errors": map[string]any{"enabled": false}, "metrics": map[string]any{"enabled": false},
			}},
			"destinations": []any{},
		},
	})
}

// settingsKey answers 404 and reports false unless key may have settings: any
// key when none is configured, else a configured one (an unknown key learns
// nothing, not even that keys exist).
func (h *Handler) settingsKey(w http.ResponseWriter, key string) bool {
	if key == "" || len(h.access.WriteKeys) > 0 {
		if _, ok := h.access.Lookup(key); !ok {
			writeError(w, &collect.RequestError{Status: http.StatusNotFound, Reason: "not_found",
				Msg: "no source has this write key: load the library with a write key from access.write_keys"})
			return false
		}
	}
	return true
}

// origin is the scheme and host the request was sent to, as the client named
// them: behind a proxy that ends TLS, X-Forwarded-Proto says https.
func origin(r *http.Request) (scheme, host string) {
	scheme = "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme, r.Host
}
