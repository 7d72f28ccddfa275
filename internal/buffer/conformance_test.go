package buffer_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/accord-dev/accord/internal/buffer"
	"github.com/accord-dev/accord/internal/buffer/buffertest"
)

func TestConformance(t *testing.T) {
	root := t.TempDir()
	buffertest.Run(t, func(t *testing.T, name string, consumers []string) buffer.Buffer {
		t.Helper()
		dir := filepath.Join(root, strings.ReplaceAll(name, "/", "_"))
		b, err := buffer.Open(dir, buffer.Options{SegmentBytes: 4096, Consumers: consumers})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return b
	})
}
