package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
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
		{name: "keys required, none configured", access: `{require_write_key: true}`, wantErr: []string{"access.require_write_key is set but access.write_keys is empty"}},
		{name: "a source name with control characters", access: `{write_keys: {wk-secret-4: "web\u001b[31mRED\nFAKE level=ERROR"}}`, wantErr: []string{"1 key(s) or source name(s) hold control characters"}},
		{name: "keys required and configured", access: `{require_write_key: true, write_keys: {wk-secret-3: shop-web}}`},
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

// startServe runs accord serve with config in the test's process until the
// test ends, and returns the URL its banner gives and its stderr.
func startServe(t *testing.T, config string) (string, *lockedBuffer) {
	t.Helper()
	base, stderr, _ := startServeStop(t, config)
	return base, stderr
}

// startServeStop is startServe, and a function that stops accord serve
// before the test ends (then a no-op).
func startServeStop(t *testing.T, config string) (string, *lockedBuffer, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"serve", "--config", config}, strings.NewReader(""), &stdout, &stderr)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if code := <-done; code != 0 {
				t.Errorf("serve exited with %d\nstderr:\n%s", code, stderr.String())
			}
		})
	}
	t.Cleanup(stop)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, rest, ok := strings.Cut(stderr.String(), " is collecting on "); ok && strings.Contains(rest, "Send a valid event:") && strings.Contains(rest, "curl") {
			return strings.Fields(rest)[0], &stderr, stop
		}
		select {
		case code := <-done:
			done <- code
			t.Fatalf("serve exited with %d before listening\nstderr:\n%s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start\nstderr:\n%s", stderr.String())
		}
	}
}

// writeConfig writes a config file serving the example contracts on a free
// port, with data in the test's folder, and more YAML after.
func writeConfig(t *testing.T, more string) string {
	t.Helper()
	dir := t.TempDir()
	config := filepath.Join(dir, "accord.yaml")
	body := fmt.Sprintf("version: 1\nregistry: %s\ndata: %s\nserver: {addr: \"127.0.0.1:0\"}\n%s",
		filepath.Join("..", "..", "examples", "contracts"), filepath.Join(dir, "data"), more)
	if err := os.WriteFile(config, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return config
}

// TestServeCheckJudgesTheEnvironment: serve --check validates the config with
// every ACCORD_* override applied, as serve runs it: a setting is accepted or
// refused alike from the file and from the environment, and a refusal names
// the variables that set something, never a secret.
func TestServeCheckJudgesTheEnvironment(t *testing.T) {
	key := "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // 32 bytes, base64
	pg := "privacy: {vault: {store: postgres, postgres_url: \"postgres://u@127.0.0.1:5999/db\"}}\n"
	for _, tc := range []struct {
		name, more string
		edit       [2]string // replaces edit[0] in the file by edit[1]
		env        map[string]string
		wantErr    []string // empty: valid
		secret     string   // never in the refusal
	}{
		{name: "the Postgres vault's key from ACCORD_VAULT_MASTER_KEY", more: pg, env: map[string]string{"ACCORD_VAULT_MASTER_KEY": key}},
		{name: "the Postgres vault from the environment, no key",
			env:     map[string]string{"ACCORD_VAULT_STORE": "postgres", "ACCORD_VAULT_POSTGRES_URL": "postgres://u@127.0.0.1:5999/db"},
			wantErr: []string{"set ACCORD_VAULT_MASTER_KEY or vault.master_key_file", "ACCORD_VAULT_STORE, ACCORD_VAULT_POSTGRES_URL"}},
		{name: "a short ACCORD_HASH_SECRET", env: map[string]string{"ACCORD_HASH_SECRET": "hs-short"},
			wantErr: []string{"shorter than the minimum 32", "ACCORD_HASH_SECRET"}, secret: "hs-short"},
		{name: "ACCORD_ADDR with a port out of range", env: map[string]string{"ACCORD_ADDR": "127.0.0.1:99999"},
			wantErr: []string{`has port "99999"; give a number from 1 to 65535`, "ACCORD_ADDR"}},
		{name: "a port out of range in the file", edit: [2]string{"127.0.0.1:0", "127.0.0.1:70000"}, wantErr: []string{`has port "70000"`}},
		{name: "a file without a version", edit: [2]string{"version: 1\n", ""}, wantErr: []string{"start it with `version: 1`"}},
		{name: "a data folder that cannot be created", env: map[string]string{"ACCORD_DATA": "/proc/accord-data"},
			wantErr: []string{"data folder /proc/accord-data: accord serve could not create /proc/accord-data in it", "pass --data"}},
		{name: "a data folder that is a file", env: map[string]string{"ACCORD_DATA": "/etc/hostname"},
			wantErr: []string{"/etc/hostname is not a folder"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, v := range []string{"ACCORD_VAULT_MASTER_KEY", "ACCORD_VAULT_STORE", "ACCORD_VAULT_POSTGRES_URL", "ACCORD_HASH_SECRET", "ACCORD_ADDR", "ACCORD_DATA"} {
				t.Setenv(v, tc.env[v])
			}
			config := writeConfig(t, tc.more)
			if tc.edit[0] != "" {
				b, err := os.ReadFile(config)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(config, bytes.Replace(b, []byte(tc.edit[0]), []byte(tc.edit[1]), 1), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			var stdout, stderr bytes.Buffer
			code := Run(context.Background(), []string{"serve", "--check", "--config", config}, strings.NewReader(""), &stdout, &stderr)
			if len(tc.wantErr) == 0 {
				if code != 0 || !strings.Contains(stdout.String(), "are valid") {
					t.Fatalf("exit %d, want 0\n%s%s", code, stdout.String(), stderr.String())
				}
				return
			}
			if code != ExitUsage || stdout.Len() > 0 {
				t.Fatalf("exit %d, want %d and nothing on stdout\nstdout: %s\nstderr: %s", code, ExitUsage, stdout.String(), stderr.String())
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("the refusal does not say %q:\n%s", w, stderr.String())
				}
			}
			if tc.secret != "" && strings.Contains(stderr.String(), tc.secret) {
				t.Errorf("the refusal holds the secret:\n%s", stderr.String())
			}
			if len(tc.env) == 0 && strings.Contains(stderr.String(), "from the environment") {
				t.Errorf("the refusal blames the environment, which set nothing:\n%s", stderr.String())
			}
		})
	}
}

// TestServeOpensTheVaultCheckJudged: the vault serve opens is the one --check
// validated, its settings from the environment applied once: the embedded
// vault's key file from ACCORD_VAULT_MASTER_KEY_FILE, and (with
// ACCORD_TEST_POSTGRES_URL) a Postgres vault named by the environment only.
func TestServeOpensTheVaultCheckJudged(t *testing.T) {
	key := "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // 32 bytes, base64
	keyFile := filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		env        map[string]string
		wantSource string // the banner's vault key line
	}{
		{name: "embedded, key file from the environment", env: map[string]string{"ACCORD_VAULT_MASTER_KEY_FILE": keyFile}, wantSource: "file " + keyFile},
	}
	if url := os.Getenv("ACCORD_TEST_POSTGRES_URL"); url != "" {
		schema := fmt.Sprintf("cli_env_%d", time.Now().UnixNano())
		t.Cleanup(func() {
			ctx := context.Background()
			conn, err := pgx.Connect(ctx, url)
			if err != nil {
				t.Errorf("connecting to drop the test schema: %v", err)
				return
			}
			defer conn.Close(ctx)
			if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
				t.Errorf("dropping the test schema: %v", err)
			}
		})
		cases = append(cases, struct {
			name       string
			env        map[string]string
			wantSource string
		}{name: "Postgres, from the environment only", env: map[string]string{"ACCORD_VAULT_STORE": "postgres", "ACCORD_VAULT_POSTGRES_URL": url,
			"ACCORD_VAULT_POSTGRES_SCHEMA": schema, "ACCORD_VAULT_MASTER_KEY": key}, wantSource: "ACCORD_VAULT_MASTER_KEY"})
	} else {
		t.Log("ACCORD_TEST_POSTGRES_URL is not set: the Postgres case is SKIPPED; set it (postgres://postgres@127.0.0.1:5432/test) to run it")
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			config := writeConfig(t, "")
			var out bytes.Buffer
			if code := Run(context.Background(), []string{"serve", "--check", "--config", config}, strings.NewReader(""), &out, &out); code != 0 {
				t.Fatalf("--check: exit %d\n%s", code, out.String())
			}
			_, stderr := startServe(t, config)
			if !strings.Contains(stderr.String(), "vault key  "+tc.wantSource+"\n") {
				t.Errorf("the banner does not say the vault key is from %s:\n%s", tc.wantSource, stderr.String())
			}
		})
	}
}

// TestServeBannerCurlWithWriteKey: when a write key is required, the banner's
// command sends one from $ACCORD_WRITE_KEY as the Basic auth user and says
// which sources' keys will do, printing no key: run by a shell with the
// variable set to a configured key it gets 200 from the collector, without it
// 401.
func TestServeBannerCurlWithWriteKey(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatalf("curl is needed to run the banner's command: %v", err)
	}
	config := writeConfig(t, "access: {write_keys: {wk-banner-secret-1: shop-web, wk-banner-secret-2: shop-ios}, require_write_key: true}\n")
	_, stderr := startServe(t, config)
	banner := stderr.String()
	_, send, _ := strings.Cut(banner, "Send a valid event:\n")
	var curl string
	for _, line := range strings.Split(send, "\n") {
		if strings.HasPrefix(line, "  curl ") {
			curl = line
			break
		}
	}
	if curl == "" || !strings.Contains(send, "set ACCORD_WRITE_KEY in your shell to the key of one of access.write_keys' sources (shop-ios, shop-web)") {
		t.Fatalf("the banner gives no command, or does not say which key to set:\n%s", banner)
	}
	if strings.Contains(banner, "wk-banner-secret") {
		t.Errorf("the banner prints a write key:\n%s", banner)
	}
	for key, want := range map[string]string{"wk-banner-secret-2": "200", "": "401"} {
		cmd := exec.Command("sh", "-c", curl+` -o /dev/null -w '%{http_code}'`)
		cmd.Env = append(os.Environ(), "ACCORD_WRITE_KEY="+key)
		out, err := cmd.Output()
		if err != nil || string(out) != want {
			t.Errorf("ACCORD_WRITE_KEY=%q: %s %q (%v), want HTTP %s", key, curl, out, err, want)
		}
	}
}

// TestServeBannerCurlWithoutWriteKey: with no key required the banner's
// command sends none.
func TestServeBannerCurlWithoutWriteKey(t *testing.T) {
	for _, access := range []string{"", "access: {write_keys: {wk-banner-secret-3: shop-web}}\n"} {
		_, stderr := startServe(t, writeConfig(t, access))
		if _, send, _ := strings.Cut(stderr.String(), "Send a valid event:\n"); !strings.HasPrefix(send, "  curl -s http://") || strings.Contains(send, "ACCORD_WRITE_KEY") {
			t.Errorf("%q: the banner's command:\n%s", access, send)
		}
	}
}
