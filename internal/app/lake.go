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

// lakeBatch is how many records the lake's loader gathers per file at most: the
// size rotation, assuming about 1 KiB per stored event, capped so that a gathered
// batch (raw records and decoded envelopes) stays within tens of megabytes.
func lakeBatch(cfg Config) int {
	return int(max(500, min(cfg.Sinks.Lake.RotateBytes/1024, maxLakeBatch)))
}

const maxLakeBatch = 16_384
