//go:build unix

package registry

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"
)

// TestWatchReloadsOnSIGHUP sends a real SIGHUP to the test process. A listener
// of its own is installed first, so that the signal can never take the default
// action (ending the process) even before Watch has subscribed; the signal is
// re-sent until Watch reacts, since Watch subscribes on its own goroutine.
func TestWatchReloadsOnSIGHUP(t *testing.T) {
	guard := make(chan os.Signal, 16)
	signal.Notify(guard, syscall.SIGHUP)
	defer signal.Stop(guard)

	dir := newRegistryDir(t)
	r := openTB(t, Config{Dir: dir, PollInterval: -1})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Watch(ctx) }()

	writeContract(t, dir, "com.acme/signup/jsonschema/1-0-1.yaml", signupV2)
	deadline := time.Now().Add(20 * time.Second)
	for r.Status().Generation < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no reload after SIGHUP")
		}
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Watch: %v", err)
	}
}
