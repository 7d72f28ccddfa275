package event

import "testing"

// BenchmarkAppendString quotes the strings an envelope of the reference
// workload carries (schema URI, event id, a pointer, names, a time).
func BenchmarkAppendString(b *testing.B) {
	strs := []string{"iglu:com.acme/checkout_completed/jsonschema/1-2-0", "3f1c9a8e-2b4d-4c6e-9f1a-7b8c9d0e1f2a",
		"/email", "native", "tokenize", "2026-11-01T12:34:56.789Z"}
	buf := make([]byte, 0, 512)
	for b.Loop() {
		buf = buf[:0]
		for _, s := range strs {
			buf = AppendString(buf, s)
		}
	}
}
