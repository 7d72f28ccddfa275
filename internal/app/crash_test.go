package app_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/accord-dev/accord/internal/app"
)

// TestNewOnDataInUse opens a second app on a data folder that a first one holds
// (as a restart does while the old process lingers): New must fail with an error
// and release what it opened, not crash.
func TestNewOnDataInUse(t *testing.T) {
	data := t.TempDir()
	cfg := app.Default()
	cfg.Registry, cfg.Data = registryDir, data
	log := slog.New(slog.DiscardHandler)
	first, err := app.New(context.Background(), cfg, log, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close(context.Background())
	second, err := app.New(context.Background(), cfg, log, io.Discard)
	if err == nil {
		second.Close(context.Background())
		t.Fatal("a second app opened the data folder the first one holds")
	}
	if second != nil {
		t.Errorf("New returned an app with the error %v", err)
	}
}
