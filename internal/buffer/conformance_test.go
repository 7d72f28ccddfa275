package buffer_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/accord-dev/accord/internal/buffer"
	"github.com/accord-dev/accord/internal/buffer/buffertest"
)

func TestConformance(t *testing.T) {
	// Positions stored at every Ack, and stored by a timer (the suite reopens the
	// buffer only after Close, which stores what is pending).
	for _, ackInterval := range []time.Duration{0, time.Minute} {
		t.Run(fmt.Sprintf("AckInterval=%s", ackInterval), func(t *testing.T) {
			root := t.TempDir()
			buffertest.Run(t, func(t *testing.T, name string, consumers []string) buffer.Buffer {
				t.Helper()
				dir := filepath.Join(root, strings.ReplaceAll(name, "/", "_"))
				b, err := buffer.Open(dir, buffer.Options{SegmentBytes: 4096, AckInterval: ackInterval, Consumers: consumers})
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				return b
			})
		})
	}
}
