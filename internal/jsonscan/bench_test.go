package jsonscan_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/accord-dev/accord/internal/collect/loadtest"
	"github.com/accord-dev/accord/internal/jsonscan"
)

// BenchmarkScan scans a body of 100 reference events (ACCORD_BENCH_DIR), as
// the lake scans its records (no limits) and as the native protocol scans a
// request body (within the collector's default depth and string limits).
func BenchmarkScan(b *testing.B) {
	tmpl := loadtest.Load(b, loadtest.Dir(b))
	var n uint64
	body := tmpl.AppendBody(nil, 100, 0, &n)
	within := jsonscan.Limits{MaxDepth: 32, MaxString: 64 << 10}
	for _, bc := range []struct {
		name string
		scan func() (int, error)
	}{
		{"unbounded", func() (int, error) { return jsonscan.Value(body, 0) }},
		{"within", func() (int, error) { return within.Value(body, 0, 0) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if end, err := bc.scan(); err != nil || end != len(body) {
					b.Fatal(end, err)
				}
			}
		})
	}
}

// BenchmarkCompact compacts the reference event's data as Python's json.dumps
// writes it (a space after every ':' and ','), with json.Compact and with
// AppendCompact, as the collector does before it embeds the data.
func BenchmarkCompact(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join(loadtest.Dir(b), "event.json"))
	if err != nil {
		b.Fatal(err)
	}
	var ev struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		b.Fatal(err)
	}
	var spaced bytes.Buffer
	if err := json.Indent(&spaced, ev.Data, "", ""); err != nil {
		b.Fatal(err)
	}
	data := bytes.ReplaceAll(spaced.Bytes(), []byte("\n"), []byte(" "))
	var out bytes.Buffer
	var dst []byte
	for _, bc := range []struct {
		name    string
		compact func() []byte
	}{
		{"encoding_json", func() []byte {
			out.Reset()
			if err := json.Compact(&out, data); err != nil {
				b.Fatal(err)
			}
			return out.Bytes()
		}},
		{"jsonscan", func() []byte { dst = jsonscan.AppendCompact(dst[:0], data); return dst }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			if got := bc.compact(); !bytes.Equal(got, ev.Data) {
				b.Fatalf("compacted to %q, want %q", got, ev.Data)
			}
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				bc.compact()
			}
		})
	}
}
