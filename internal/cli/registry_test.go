package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer lets the test read what a running command has printed so far.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestRegistryServe(t *testing.T) {
	examples := filepath.Join("..", "..", "examples", "contracts")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"registry", "serve", "--registry", examples, "--addr", "127.0.0.1:0", "--poll", "0"}, strings.NewReader(""), &stdout, &stderr)
	}()

	addrRe := regexp.MustCompile(`on (http://127\.0\.0\.1:\d+)`)
	var base string
	deadline := time.Now().Add(20 * time.Second)
	for base == "" {
		if m := addrRe.FindStringSubmatch(stdout.String()); m != nil {
			base = m[1]
			break
		}
		select {
		case code := <-done:
			t.Fatalf("registry serve exited with %d before listening\nstderr:\n%s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("registry serve did not print its address\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}

	resp, err := http.Get(base + "/api/schemas/com.acme/signup")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	var uris []string
	if err := json.Unmarshal(body, &uris); err != nil || resp.StatusCode != 200 || len(uris) != 1 || uris[0] != signupURI {
		t.Errorf("GET /api/schemas/com.acme/signup = %d %s, want [%s]", resp.StatusCode, body, signupURI)
	}

	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit code %d after the context ended, want 0\nstderr:\n%s", code, stderr.String())
	}
}

func TestRegistryServeBrokenRegistry(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), []string{"registry", "serve", "--registry", filepath.Join(t.TempDir(), "missing")}, strings.NewReader(""), &stdout, &stderr)
	if code != ExitUsage || !strings.Contains(stderr.String(), "opening registry") {
		t.Errorf("exit code %d, stderr %q; want 2 and the reason", code, stderr.String())
	}
}
