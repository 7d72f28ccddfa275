package app_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/accord-dev/accord/internal/app"
)

// TestBufferMaxBatchDelay reads buffer.max_batch_delay from the config file and
// refuses values outside 0..100ms with a message that names the key.
func TestBufferMaxBatchDelay(t *testing.T) {
	path := filepath.Join(t.TempDir(), "accord.yaml")
	if err := os.WriteFile(path, []byte("version: 1\nbuffer: {max_batch_delay: 500us}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := app.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Buffer.MaxBatchDelay != 500*time.Microsecond {
		t.Fatalf("max_batch_delay = %s, want 500µs", cfg.Buffer.MaxBatchDelay)
	}
	for _, d := range []time.Duration{-time.Millisecond, 200 * time.Millisecond} {
		cfg := app.Default()
		cfg.Buffer.MaxBatchDelay = d
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "buffer.max_batch_delay") {
			t.Errorf("max_batch_delay %s: %v, want an error naming buffer.max_batch_delay", d, err)
		}
	}
}
