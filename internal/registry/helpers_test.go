package registry

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// signupV1 is a small contract with a PII field, a pattern and a required list.
const signupV1 = `$schema: https://json-schema.org/draft/2020-12/schema
self: {vendor: com.acme, name: signup, format: jsonschema, version: 1-0-0}
description: A buyer created an account.
x-owner: {team: growth, contact: growth@acme.example}
x-lifecycle: {status: active, retention: P400D}
x-privacy:
  controller: {value: acme}
  subject: {field: /email}
x-event-names: [Signed Up]
type: object
additionalProperties: false
required: [email, shop_id]
properties:
  shop_id:
    type: string
    pattern: "^shop_[0-9]+$"
    description: The shop.
  email:
    type: string
    format: email
    description: The buyer's email address.
    x-pii: {kind: email, handling: tokenize}
  ip:
    type: string
    description: The buyer's IP address.
    x-pii: {kind: ip, handling: obfuscate}
`

// signupV2 adds an optional field in a compatible ADDITION.
const signupV2 = `$schema: https://json-schema.org/draft/2020-12/schema
self: {vendor: com.acme, name: signup, format: jsonschema, version: 1-0-1}
description: A buyer created an account, with the referrer.
x-owner: {team: growth}
x-lifecycle: {status: active, retention: P400D}
type: object
additionalProperties: false
required: [email, shop_id]
properties:
  shop_id: {type: string, description: The shop.}
  email:
    type: string
    description: The buyer's email address.
    x-pii: {kind: email, handling: tokenize}
  referrer: {type: string, description: Where the buyer came from.}
`

// legacyV1 is a retired contract written in JSON.
const legacyV1 = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "self": {"vendor": "com.acme", "name": "legacy_click", "format": "jsonschema", "version": "1-0-0"},
  "description": "An old click event.",
  "x-owner": {"team": "web"},
  "x-lifecycle": {"status": "retired", "replaced_by": "iglu:com.acme/signup/jsonschema/1-0-1"},
  "type": "object",
  "properties": {"target": {"type": "string", "description": "The link <a> clicked."}}
}
`

// oldPageV1 is a deprecated contract of another vendor.
const oldPageV1 = `$schema: https://json-schema.org/draft/2020-12/schema
self: {vendor: io.other, name: page, format: jsonschema, version: 1-0-0}
description: A page view.
x-owner: {team: web}
x-lifecycle: {status: deprecated, sunset: "2030-01-01"}
type: object
properties:
  url: {type: string, description: The page.}
`

// writeContract writes src at <dir>/<rel> and gives it a modification time that
// differs from the previous one, so that polls see the change even on file
// systems with coarse timestamps.
func writeContract(tb testing.TB, dir, rel, src string) {
	tb.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tb.Fatal(err)
	}
	var prev time.Time
	if st, err := os.Stat(p); err == nil {
		prev = st.ModTime()
	}
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		tb.Fatal(err)
	}
	if !prev.IsZero() {
		next := prev.Add(time.Second)
		if err := os.Chtimes(p, next, next); err != nil {
			tb.Fatal(err)
		}
	}
}

// newRegistryDir writes the fixture registry (signup 1-0-0, legacy_click 1-0-0,
// io.other/page 1-0-0) into a temporary folder.
func newRegistryDir(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	writeContract(tb, dir, "com.acme/signup/jsonschema/1-0-0.yaml", signupV1)
	writeContract(tb, dir, "com.acme/legacy_click/jsonschema/1-0-0.json", legacyV1)
	writeContract(tb, dir, "io.other/page/jsonschema/1-0-0", oldPageV1)
	return dir
}

// syncBuffer is a log sink that tests may read while a Watch goroutine writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// logBuffer returns a logger writing into the returned buffer.
func logBuffer() (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return slog.New(slog.NewTextHandler(buf, nil)), buf
}

// openTB opens dir with cfg, failing the test on error.
func openTB(tb testing.TB, cfg Config) *Registry {
	tb.Helper()
	log, _ := logBuffer()
	r, err := New(cfg, log)
	if err != nil {
		tb.Fatalf("New(%s): %v", cfg.Dir, err)
	}
	return r
}

// waitFor polls cond until it holds or a generous deadline passes; tests never
// assert how long something takes, only that it happens.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
