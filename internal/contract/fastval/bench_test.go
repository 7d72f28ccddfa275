package fastval

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

const benchDir = "../../../../shared/bench"

// benchCaptures are the fields the pipeline needs after validation: the event
// id, the times, the privacy controller and subject, and the PII fields.
var benchCaptures = []string{"/event_id", "/timestamp", "/shop_id", "/email", "/ip", "/user_agent", "/items/*/sku"}

// loadContract reads a YAML contract and converts it to the form produced by
// jsonschema.UnmarshalJSON.
func loadContract(tb testing.TB, path string) any {
	tb.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		tb.Skipf("reference workload not available: %v", err)
	}
	var y any
	if err := yaml.Unmarshal(raw, &y); err != nil {
		tb.Fatalf("decoding %s: %v", path, err)
	}
	js, err := json.Marshal(y)
	if err != nil {
		tb.Fatalf("converting %s to JSON: %v", path, err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		tb.Fatal(err)
	}
	return doc
}

type benchWorkload struct {
	event  []byte
	batch  [][]byte
	fast   *Program
	plain  *Program // without captures: the verdict alone, as accord validate needs it
	ref    *jsonschema.Schema
	schema any
}

func loadWorkload(tb testing.TB) *benchWorkload {
	tb.Helper()
	schema := loadContract(tb, filepath.Join(benchDir, "contracts/com.acme/checkout_completed/jsonschema/1-2-0.yaml"))
	event, err := os.ReadFile(filepath.Join(benchDir, "event.json"))
	if err != nil {
		tb.Skipf("reference workload not available: %v", err)
	}
	event = bytes.TrimSpace(event)
	prog, err := Compile(schema, Options{AssertFormat: true, Capture: benchCaptures})
	if err != nil {
		tb.Fatalf("compiling the reference contract: %v", err)
	}
	plain, err := Compile(schema, Options{AssertFormat: true})
	if err != nil {
		tb.Fatalf("compiling the reference contract: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("file:///checkout.json", schema); err != nil {
		tb.Fatal(err)
	}
	ref, err := c.Compile("file:///checkout.json")
	if err != nil {
		tb.Fatal(err)
	}
	w := &benchWorkload{event: event, fast: prog, plain: plain, ref: ref, schema: schema}
	for i := 0; i < 100; i++ {
		e := bytes.Replace(event, []byte("3f1c9a8e-2b4d-4c6e-9f1a-7b8c9d0e1f2a"), fmt.Appendf(nil, "3f1c9a8e-2b4d-4c6e-9f1a-%012x", i*7919), 1)
		e = bytes.Replace(e, []byte("jane.doe@example.com"), fmt.Appendf(nil, "buyer.%d@shop%d.example.com", i, i%13), 1)
		w.batch = append(w.batch, e)
	}
	return w
}

func (w *benchWorkload) viaReference(tb testing.TB, event []byte) bool {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(event))
	if err != nil {
		return false
	}
	m, _ := v.(map[string]any)
	return w.ref.Validate(m["data"]) == nil
}

func (w *benchWorkload) viaFast(event []byte, res *Result) bool {
	_, found, ok := w.fast.ValidateMember(event, "data", res)
	return found && ok
}

func TestReferenceEvent(t *testing.T) {
	w := loadWorkload(t)
	var res Result
	if !w.viaFast(w.event, &res) {
		t.Fatalf("reference event invalid: %+v", res.Failures())
	}
	if !w.viaReference(t, w.event) {
		t.Fatal("reference validator rejects the reference event")
	}
	start, _ := FindMember(w.event, "data")
	got := map[string]string{}
	for i, ptr := range benchCaptures {
		var vals []string
		for _, s := range res.Capture(i) {
			vals = append(vals, string(w.event[s.Start:s.End]))
		}
		got[ptr] = strings.Join(vals, ",")
	}
	want := map[string]string{
		"/event_id":    `"3f1c9a8e-2b4d-4c6e-9f1a-7b8c9d0e1f2a"`,
		"/timestamp":   `"2026-11-01T12:34:56.789Z"`,
		"/shop_id":     `"shop_1042"`,
		"/email":       `"jane.doe@example.com"`,
		"/ip":          `"81.2.69.142"`,
		"/user_agent":  `"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 325.0.0.35.91 (iPhone15,2; iOS 17_4_1; de_DE; de; scale=3.00; 1179x2556)"`,
		"/items/*/sku": `"SKU-10023","SKU-20411"`,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("capture %s = %s, want %s", k, got[k], v)
		}
	}
	if start <= 0 {
		t.Fatal("data member not found")
	}
	for i, e := range w.batch {
		if !w.viaFast(e, &res) || !w.viaReference(t, e) {
			t.Fatalf("batch event %d invalid: %+v", i, res.Failures())
		}
	}
}

func TestReferenceEventAllocs(t *testing.T) {
	w := loadWorkload(t)
	var res Result
	w.viaFast(w.event, &res) // warm the reusable buffers
	allocs := testing.AllocsPerRun(200, func() {
		if !w.viaFast(w.event, &res) {
			t.Fatal("invalid")
		}
	})
	if allocs != 0 {
		t.Errorf("valid reference event: %v allocs per validation, want 0", allocs)
	}
}

// BenchmarkCheckout measures the reference event and a batch of 100 events
// through santhosh v6 (UnmarshalJSON + Validate) and through the fast program,
// in one run; BenchmarkSpeedup reports the ratios.
func BenchmarkCheckout(b *testing.B) {
	w := loadWorkload(b)
	b.Run("event/santhosh", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !w.viaReference(b, w.event) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("event/scan", func(b *testing.B) {
		// the floor: a syntax-only scan of the event, no schema
		for b.Loop() {
			if !syntaxOnly(w.event) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("event/fastval", func(b *testing.B) {
		b.ReportAllocs()
		var res Result
		for b.Loop() {
			if !w.viaFast(w.event, &res) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("event/fastval-verdict", func(b *testing.B) {
		// no captures: what accord validate and /v1/validate run
		b.ReportAllocs()
		var res Result
		for b.Loop() {
			if _, found, ok := w.plain.ValidateMember(w.event, "data", &res); !found || !ok {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("batch100/santhosh", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, e := range w.batch {
				if !w.viaReference(b, e) {
					b.Fatal("invalid")
				}
			}
		}
	})
	b.Run("batch100/fastval", func(b *testing.B) {
		b.ReportAllocs()
		var res Result
		for b.Loop() {
			for _, e := range w.batch {
				if !w.viaFast(e, &res) {
					b.Fatal("invalid")
				}
			}
		}
	})
}

// syntaxOnly is the floor for any validator: one syntax scan of the bytes.
func syntaxOnly(data []byte) bool {
	var v vm
	v.data = data
	end := v.skip(v.ws(0), nil)
	return !v.bad && v.ws(end) == len(data)
}

// BenchmarkSpeedup interleaves santhosh, fastval and a syntax-only scan on the
// reference event (so that all see the same machine load) and reports
// santhosh/fastval (the speedup, higher is better) and fastval/scan (how far
// fastval is from the floor).
func BenchmarkSpeedup(b *testing.B) {
	w := loadWorkload(b)
	var res Result
	var refT, fastT, scanT time.Duration
	n := 0
	for b.Loop() {
		t0 := time.Now()
		for i := 0; i < 20; i++ {
			w.viaReference(b, w.event)
		}
		t1 := time.Now()
		for i := 0; i < 20; i++ {
			w.viaFast(w.event, &res)
		}
		t2 := time.Now()
		for i := 0; i < 20; i++ {
			syntaxOnly(w.event)
		}
		scanT += time.Since(t2)
		fastT += t2.Sub(t1)
		refT += t1.Sub(t0)
		n += 20
	}
	b.ReportMetric(float64(refT.Nanoseconds())/float64(n), "santhosh-ns/event")
	b.ReportMetric(float64(fastT.Nanoseconds())/float64(n), "fastval-ns/event")
	b.ReportMetric(float64(scanT.Nanoseconds())/float64(n), "scan-ns/event")
	b.ReportMetric(float64(refT)/float64(fastT), "speedup")
	b.ReportMetric(float64(fastT)/float64(scanT), "x-scan")
}
