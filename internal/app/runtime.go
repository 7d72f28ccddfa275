package app

import (
	"fmt"
	"runtime/debug"
	"strconv"
)

// RuntimeConfig tunes Go's garbage collector, which decides how far above the
// live heap the process's memory may grow. The environment's GOGC and
// GOMEMLIMIT, Go's own settings, win over these when set.
type RuntimeConfig struct {
	// GCPercent is GOGC: a GC starts when the heap has grown by this percentage
	// since the last one left it. Accord's default is 50, not Go's 100: most of
	// the collector's heap is byte buffers without pointers (request bodies,
	// records, Parquet columns, the country table), which the GC marks cheaply,
	// so halving the headroom costs about 1% of the CPU and saves a fifth of the
	// peak RSS under load (docs/performance.md, "Sixth pass"). -1 turns the
	// GC off below MemoryLimit, which must then be set.
	GCPercent int `yaml:"gc_percent"`
	// MemoryLimit is GOMEMLIMIT in bytes: a soft limit the GC works harder to
	// stay under; 0 sets none. Set it to the memory the deployment may use: a
	// limit below what the process must keep live makes the GC run without
	// pause.
	MemoryLimit int64 `yaml:"memory_limit"`
}

// DefaultGCPercent is RuntimeConfig.GCPercent's default.
const DefaultGCPercent = 50

func (r RuntimeConfig) validate(getenv func(string) string) []error {
	var errs []error
	if r.GCPercent != -1 && (r.GCPercent < 10 || r.GCPercent > 1000) {
		errs = append(errs, fmt.Errorf("runtime.gc_percent %d is not between 10 and 1000, or -1 (off below runtime.memory_limit)", r.GCPercent))
	}
	if r.MemoryLimit < 0 || (r.MemoryLimit > 0 && r.MemoryLimit < 32<<20) {
		errs = append(errs, fmt.Errorf("runtime.memory_limit %d is below 32 MiB (33554432); 0 sets no limit", r.MemoryLimit))
	}
	if r.GCPercent == -1 && r.MemoryLimit == 0 && getenv("GOMEMLIMIT") == "" && getenv("GOGC") == "" {
		errs = append(errs, fmt.Errorf("runtime.gc_percent -1 turns the GC off and no runtime.memory_limit bounds the heap; set one"))
	}
	return errs
}

// Apply sets the GC's percentage and memory limit for the process, each
// unless the environment set it (GOGC, GOMEMLIMIT), and describes what
// applies for the log.
func (r RuntimeConfig) Apply(getenv func(string) string) (gcPercent, memoryLimit string) {
	if v := getenv("GOGC"); v != "" {
		gcPercent = v + " (GOGC)"
	} else {
		debug.SetGCPercent(r.GCPercent)
		gcPercent = strconv.Itoa(r.GCPercent)
	}
	switch v := getenv("GOMEMLIMIT"); {
	case v != "":
		memoryLimit = v + " (GOMEMLIMIT)"
	case r.MemoryLimit > 0:
		debug.SetMemoryLimit(r.MemoryLimit)
		memoryLimit = strconv.FormatInt(r.MemoryLimit, 10)
	default:
		memoryLimit = "none"
	}
	return gcPercent, memoryLimit
}
