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
			// The banner says where to point trackers, and that browsers need an
			// allowed origin.
			if _, rest, _ := strings.Cut(stderr.String(), " is collecting on "); !strings.Contains(rest, "Snowplow: collector URL "+strings.Fields(rest)[0]) ||
				!strings.Contains(rest, "no site may send from a browser: list its origin in access.cors_origins") {
				t.Errorf("the banner does not give the trackers' URL and the browsers' origins:\n%s", stderr.String())
			}
			cancel()
			if code := <-done; code != 0 {
				t.Errorf("exit code %d, want 0\nstderr:\n%s", code, stderr.String())
			}
		})
	}
}

// TestServeCheckAccess: serve --check refuses write keys and CORS origins that
// could never work (an origin as browsers never send it would leave browser
// trackers refused without a word), saying how to write them and naming no
// key, and takes the origins from ACCORD_CORS_ORIGINS too.
func TestServeCheckAccess(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "accord.yaml")
	check := func(access, corsEnv string) (int, string) {
		t.Helper()
		body := fmt.Sprintf("version: 1\nregistry: %s\ndata: %s\naccess: %s\n", filepath.Join("..", "..", "examples", "contracts"), filepath.Join(dir, "data"), access)
		if err := os.WriteFile(config, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("ACCORD_CORS_ORIGINS", corsEnv)
		var stdout, stderr lockedBuffer
		code := Run(context.Background(), []string{"serve", "--check", "--config", config}, strings.NewReader(""), &stdout, &stderr)
		return code, stdout.String() + stderr.String()
	}
	for _, tc := range []struct {
		name, access, env string
		wantErr           []string // empty: the config is valid
	}{
		{name: "origins and keys as they should be", access: `{write_keys: {wk-secret-1: shop-web}, cors_origins: ["https://shop.example", "http://127.0.0.1:3000", "*"]}`},
		{name: "a trailing slash", access: `{cors_origins: ["https://shop.example/"]}`, wantErr: []string{`access.cors_origins[0] "https://shop.example/" is not an origin`, "no path or trailing slash"}},
		{name: "no scheme, and a path", access: `{cors_origins: ["shop.example", "https://shop.example/app"]}`, wantErr: []string{"cors_origins[0]", "cors_origins[1]"}},
		{name: "upper case", access: `{cors_origins: ["https://Shop.example"]}`, wantErr: []string{"in lower case"}},
		{name: "a key with no source", access: `{write_keys: {wk-secret-2: ""}}`, wantErr: []string{"1 key(s) name no source"}},
		{name: "origins from the environment", access: `{cors_origins: ["https://c.example"]}`, env: "https://a.example, https://b.example/",
			wantErr: []string{`access.cors_origins[1] "https://b.example/"`}}, // (the variable's list replaces the file's)
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := check(tc.access, tc.env)
			if len(tc.wantErr) == 0 {
				if code != 0 {
					t.Fatalf("exit %d, want 0:\n%s", code, out)
				}
				return
			}
			if code == 0 {
				t.Fatalf("exit 0, want a refusal:\n%s", out)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(out, w) {
					t.Errorf("the answer does not say %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, "wk-secret") {
				t.Errorf("the answer names a write key:\n%s", out)
			}
		})
	}
}
