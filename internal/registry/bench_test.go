package registry

import (
	"path/filepath"
	"testing"

	"github.com/accord-dev/accord/internal/collect/loadtest"
	"github.com/accord-dev/accord/internal/contract"
)

// BenchmarkInput measures what `accord validate - events.ndjson` and
// POST /v1/validate spend per event on the reference workload (ACCORD_BENCH_DIR):
// NDJSON of 100 self-describing events, split into documents and checked, with
// the fast engine (the default) and with the reference validator alone.
//
//	go test ./internal/registry -run '^$' -bench Input -benchtime 2s
func BenchmarkInput(b *testing.B) {
	dir := loadtest.Dir(b)
	snap, err := contract.LoadSnapshot(filepath.Join(dir, "contracts"))
	if err != nil {
		b.Fatal(err)
	}
	tmpl := loadtest.Load(b, dir)
	var body []byte
	var n uint64
	for range 100 {
		body = tmpl.AppendBody(body, 1, 1, &n)
		body = append(body, '\n')
	}
	for _, engine := range []string{ValidatorFast, ValidatorReference} {
		k, err := NewChecker(snap, engine)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(engine, func(b *testing.B) {
			for _, r := range k.Input(nil, body) {
				if !r.Valid {
					b.Fatalf("the reference event is invalid: %+v", r)
				}
			}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				k.Input(nil, body)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/event")
		})
	}
}
