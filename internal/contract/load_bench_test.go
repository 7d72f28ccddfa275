package contract

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"time"
)

// benchContracts is the registry size Shopify reports for its schematized events.
const benchContracts = 4500

// writeBenchRegistry writes families*versions realistic contracts of about 20
// fields each (formats, patterns, enums, bounds, a nested object, an array of
// objects, PII annotations) into dir. The families share their field schemas
// (the same descriptions), as an organisation's common fields do.
func writeBenchRegistry(tb testing.TB, dir string, families, versions int) {
	writeBenchRegistryOf(tb, dir, families, versions, false)
}

// writeBenchRegistryOf is writeBenchRegistry, with every field's description
// naming its family when distinct, so that only the versions of one family
// repeat each other.
func writeBenchRegistryOf(tb testing.TB, dir string, families, versions int, distinct bool) {
	tb.Helper()
	vers := []string{"1-0-0", "1-0-1", "1-1-0", "2-0-0"}
	for fam := range families {
		for v := range versions {
			name := fmt.Sprintf("event_%04d", fam)
			p := filepath.Join(dir, fmt.Sprintf("com.vendor%02d", fam%37), name, "jsonschema", vers[v]+".yaml")
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				tb.Fatal(err)
			}
			src := benchContract(fmt.Sprintf("com.vendor%02d", fam%37), name, vers[v], fam, v)
			if distinct {
				src = strings.ReplaceAll(src, "description: ", fmt.Sprintf("description: Event %d - ", fam))
			}
			if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

func benchContract(vendor, name, version string, fam, v int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `$schema: https://json-schema.org/draft/2020-12/schema
self: {vendor: %s, name: %s, format: jsonschema, version: %s}
description: Event %d of the benchmark registry, sent when a buyer acts on a shop.
x-owner: {team: team-%d, contact: team-%d@acme.example}
x-lifecycle: {status: active, retention: P%dD}
x-privacy:
  controller: {field: /shop_id}
  subject: {field: /user_id}
x-event-names: [Event %d Happened]
type: object
additionalProperties: false
required: [event_id, shop_id, user_id, timestamp, platform, items]
properties:
  event_id: {type: string, format: uuid, description: Client-generated id of this event.}
  shop_id: {type: string, pattern: "^shop_[0-9]+$", description: The shop the event happened on.}
  user_id: {type: string, minLength: 3, maxLength: 64, description: The buyer's account id.}
  timestamp: {type: string, format: date-time, description: When the event happened on the device clock.}
  email:
    type: string
    format: email
    maxLength: 254
    description: The buyer's email address.
    x-pii: {kind: email, handling: tokenize}
  ip:
    type: string
    format: ipv4
    description: The buyer's IP address.
    x-pii: {kind: ip, handling: obfuscate}
  user_agent:
    type: string
    maxLength: 512
    description: The buyer's user agent.
    x-pii: {kind: user_agent, handling: obfuscate}
  platform: {type: string, enum: [ios, android, web, server], description: Where the event happened.}
  app_version: {type: string, maxLength: 32, description: Version of the app that sent the event.}
  session_number: {type: integer, minimum: 1, maximum: 1000000, description: Ordinal of the session.}
  amount_cents: {type: integer, minimum: 0, maximum: 100000000, description: Amount in minor units.}
  currency: {type: string, enum: [EUR, USD, GBP, JPY, CHF], description: ISO 4217 currency code.}
  is_first: {type: boolean, description: Whether this is the buyer's first time.}
  coupon_code: {type: [string, "null"], maxLength: 32, description: Coupon applied, if any.}
  device:
    type: object
    description: The buyer's device.
    additionalProperties: false
    required: [os]
    properties:
      os: {type: string, enum: [iOS, Android, Windows, macOS, Linux, Other], description: Operating system family.}
      os_version: {type: string, maxLength: 32, description: Operating system version.}
      locale: {type: string, pattern: "^[a-z]{2}(-[A-Z]{2})?$", description: UI locale.}
  items:
    type: array
    description: The line items concerned.
    maxItems: 100
    items:
      type: object
      description: One line item.
      additionalProperties: false
      required: [sku, quantity]
      properties:
        sku: {type: string, pattern: "^SKU-[0-9]{5}$", description: Stock keeping unit.}
        quantity: {type: integer, minimum: 1, maximum: 1000, description: Units.}
        price_cents: {type: integer, minimum: 0, description: Unit price in minor units.}
`, vendor, name, version, fam, fam%50, fam%50, 30+fam%400, fam)
	for i := range v + 1 {
		fmt.Fprintf(&b, "  extra_%d: {type: string, maxLength: %d, description: Field added in a later version.}\n", i, 16+i)
	}
	return b.String()
}

// BenchmarkLoadCompile loads and compiles a registry of 4,500 contracts, the
// scale Shopify reports, and reports the time per load and the peak resident set
// size of the process.
//
//	go test ./internal/contract -run '^$' -bench LoadCompile -benchtime 3x
func BenchmarkLoadCompile(b *testing.B) { benchLoadCompile(b, false) }

// BenchmarkLoadCompileDistinct is BenchmarkLoadCompile with no field schema
// repeated across contract families: only versions share their subtrees (see
// subtrees), the harder case for the loader's memory. Run it in a process of
// its own (-bench 'LoadCompileDistinct$') for its peak-RSS-MB: the peak is the
// process's.
func BenchmarkLoadCompileDistinct(b *testing.B) { benchLoadCompile(b, true) }

func benchLoadCompile(b *testing.B, distinct bool) {
	dir := b.TempDir()
	writeBenchRegistryOf(b, dir, benchContracts/3, 3, distinct)
	runtime.GC()
	resetPeakRSS(b)
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	proc0, procOK := processCPU()
	var snap *Snapshot
	for b.Loop() {
		snap = nil // the previous load is garbage, as after a registry reload
		set, err := Load(dir)
		if err != nil {
			b.Fatal(err)
		}
		var problems []*Problem
		snap, problems = Compile(set)
		if len(problems) > 0 {
			b.Fatalf("%d problems, first: %v", len(problems), problems[0])
		}
		if snap.Len() != benchContracts {
			b.Fatalf("compiled %d contracts, want %d", snap.Len(), benchContracts)
		}
	}
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	proc1, procOK1 := processCPU()
	b.StopTimer()
	// On a shared machine wall time depends on the neighbours; CPU time (user
	// plus system, all threads) does not.
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/load")
	// The runtime's estimate counts a P's time whether or not the kernel ran
	// it; the kernel's own account does not, so it holds on a busy machine.
	if procOK && procOK1 {
		b.ReportMetric((proc1-proc0).Seconds()/float64(b.N), "proc-cpu-s/load")
	}
	b.ReportMetric(elapsed.Seconds()/float64(b.N), "s/load")
	b.ReportMetric(float64(benchContracts)/(elapsed.Seconds()/float64(b.N)), "contracts/s")
	if mb, ok := peakRSSMB(); ok {
		b.ReportMetric(mb, "peak-RSS-MB")
	}
	// What a loaded registry keeps: the heap after a collection, with the
	// snapshot alive.
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "retained-MB")
	runtime.KeepAlive(snap)
}

// cpuTime returns the CPU time the Go runtime has spent in user code, the
// garbage collector and the scavenger (all threads, idle time excluded), as
// runtime/metrics estimates it on every platform.
func cpuTime() time.Duration {
	sample := []metrics.Sample{
		{Name: "/cpu/classes/user:cpu-seconds"},
		{Name: "/cpu/classes/gc/total:cpu-seconds"},
		{Name: "/cpu/classes/scavenge/total:cpu-seconds"},
	}
	metrics.Read(sample)
	var total float64
	for _, s := range sample {
		if s.Value.Kind() == metrics.KindFloat64 {
			total += s.Value.Float64()
		}
	}
	return time.Duration(total * float64(time.Second))
}

// resetPeakRSS resets the kernel's high-water mark of the process's resident set
// (VmHWM), so that the benchmark's peak is not the test binary's earlier one.
func resetPeakRSS(tb testing.TB) {
	tb.Helper()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		tb.Logf("cannot reset the peak RSS (%v); peak-RSS-MB includes setup", err)
	}
}

// peakRSSMB reads VmHWM, the peak resident set size, from /proc/self/status.
func peakRSSMB() (float64, bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
		if err != nil {
			return 0, false
		}
		return kb / 1024, true
	}
	return 0, false
}

// TestBenchRegistryLoads keeps the benchmark's generated contracts valid and
// clean, so the benchmark measures what a real registry costs.
func TestBenchRegistryLoads(t *testing.T) {
	dir := t.TempDir()
	writeBenchRegistry(t, dir, 3, 4)
	snap, err := LoadSnapshot(dir)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Len() != 12 {
		t.Errorf("loaded %d contracts, want 12", snap.Len())
	}
	c := snap.All()[0]
	if n := len(c.Fields); n < 20 {
		t.Errorf("a benchmark contract has %d fields, want about 20", n)
	}
}
