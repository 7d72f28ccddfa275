package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// TestServeTunesGC: accord serve sets the GC's percentage from runtime.gc_percent
// (50 unless configured), and leaves it to GOGC when the environment sets it.
func TestServeTunesGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	examples := filepath.Join("..", "..", "examples", "contracts")
	for _, tc := range []struct {
		name, runtime, gogc string
		want                int    // GC percent while serving
		logged              string // the debug line's value
	}{
		{name: "default", want: 50, logged: "gc_percent=50"},
		{name: "configured", runtime: "runtime: {gc_percent: 80}\n", want: 80, logged: "gc_percent=80"},
		{name: "GOGC wins", runtime: "runtime: {gc_percent: 80}\n", gogc: "100", want: 100, logged: `gc_percent="100 (GOGC)"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			debug.SetGCPercent(100) // what the runtime starts with when GOGC=100 or unset
			t.Setenv("GOGC", tc.gogc)
			dir := t.TempDir()
			config := filepath.Join(dir, "accord.yaml")
			body := fmt.Sprintf("version: 1\nregistry: %s\ndata: %s\nserver: {addr: \"127.0.0.1:0\"}\nlog: {level: debug}\n%s",
				examples, filepath.Join(dir, "data"), tc.runtime)
			if err := os.WriteFile(config, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var stdout, stderr lockedBuffer
			done := make(chan int, 1)
			go func() {
				done <- Run(ctx, []string{"serve", "--config", config}, strings.NewReader(""), &stdout, &stderr)
			}()
			for deadline := time.Now().Add(20 * time.Second); !strings.Contains(stderr.String(), "is collecting on"); time.Sleep(10 * time.Millisecond) {
				select {
				case code := <-done:
					t.Fatalf("serve exited with %d before listening\nstderr:\n%s", code, stderr.String())
				default:
				}
				if time.Now().After(deadline) {
					t.Fatalf("serve did not start\nstderr:\n%s", stderr.String())
				}
			}
			if got := debug.SetGCPercent(100); got != tc.want {
				t.Errorf("GC percent while serving is %d, want %d", got, tc.want)
			}
			if !strings.Contains(stderr.String(), tc.logged) {
				t.Errorf("the log does not say %s:\n%s", tc.logged, stderr.String())
			}
			// The banner says where to point trackers.
			if _, rest, _ := strings.Cut(stderr.String(), " is collecting on "); !strings.Contains(rest, "Snowplow: collector URL "+strings.Fields(rest)[0]) {
				t.Errorf("the banner does not give the trackers' URL:\n%s", stderr.String())
			}
			cancel()
			if code := <-done; code != 0 {
				t.Errorf("exit code %d, want 0\nstderr:\n%s", code, stderr.String())
			}
		})
	}
}
