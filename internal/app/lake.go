package app

import (
	"log/slog"
	"path/filepath"

	"github.com/accord-dev/accord/internal/registry"
	"github.com/accord-dev/accord/internal/sink/lake"
)

// openLake opens the Parquet lake under <data>/lake.
func openLake(cfg Config, reg *registry.Registry, log *slog.Logger) (*lake.Lake, error) {
	return lake.Open(filepath.Join(cfg.Data, "lake"), reg, log)
}

// lakeBytes is how many bytes of records the lake's loader appends to its open
// files before it commits them: the size rotation (records are about 1 KiB per
// event, a file's Parquet a fraction of that), capped so that what a crash can
// deliver again (the records appended since the last commit, plus those
// committed in the last buffer.ack_interval) stays within the lake's dedup
// window (lake.seenWindow).
func lakeBytes(cfg Config) int64 {
	return min(cfg.Sinks.Lake.RotateBytes, maxLakeBytes)
}

const maxLakeBytes = 16 << 20

// lakeConsumer lists the lake's buffer consumer when the lake is on, for
// buffer.Options.Transient.
func lakeConsumer(cfg Config) []string {
	if cfg.Sinks.Lake.Enabled {
		return []string{"lake"}
	}
	return nil
}

// lakeRead is how many records the lake's loader reads at a time (a read also
// stops at about 1 MiB).
const lakeRead = 4096
