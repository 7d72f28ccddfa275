package jsonscan_test

import (
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
