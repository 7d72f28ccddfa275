package app_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/accord-dev/accord/internal/app"
)

// TestServeLargeEvents: an event within limits.max_body_bytes is stored
// (a 4.2 MB one was refused as a body "larger than 5242880 bytes", since the
// buffer took records of 4 MiB); one that a small buffer cannot hold as a
// record is refused saying so, and what to change.
func TestServeLargeEvents(t *testing.T) {
	reg := t.TempDir()
	dir := filepath.Join(reg, "com.test", "blob", "jsonschema")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	contract := `$schema: https://json-schema.org/draft/2020-12/schema
self: {vendor: com.test, name: blob, format: jsonschema, version: 1-0-0}
description: Large events for the collector's size limits.
x-owner: {team: platform, contact: platform@acme.example}
x-lifecycle: {status: active, retention: P7D}
type: object
additionalProperties: {type: string, description: Filler.}
`
	if err := os.WriteFile(filepath.Join(dir, "1-0-0.yaml"), []byte(contract), 0o644); err != nil {
		t.Fatal(err)
	}
	event := func(keys int) string {
		var b strings.Builder
		b.WriteString(`{"schema":"iglu:com.test/blob/jsonschema/1-0-0","data":{`)
		for i := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"k%d":%q`, i, strings.Repeat("a", 60000))
		}
		b.WriteString("}}")
		return b.String()
	}
	big := event(70) // 4.2 MB
	base, stop := startApp(t, t.TempDir(), func(c *app.Config) { c.Registry = reg })
	code, answer := post(t, base+"/v1/events", big)
	stop()
	if code != http.StatusOK || !strings.Contains(answer, `"accepted":1`) {
		t.Fatalf("a %d-byte event within the body limit: %d %.300s", len(big), code, answer)
	}

	base, stop = startApp(t, t.TempDir(), func(c *app.Config) {
		c.Registry, c.Buffer.SegmentBytes = reg, 1<<20
	})
	defer stop()
	code, answer = post(t, base+"/v1/events", event(20)) // 1.2 MB: more than a 1 MiB segment holds
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(answer, "once stored") || !strings.Contains(answer, "buffer.segment_bytes") ||
		strings.Contains(answer, "request body is larger") {
		t.Fatalf("an event larger than a record: %d %s", code, answer)
	}
}
