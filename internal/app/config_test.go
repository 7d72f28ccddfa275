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

// TestBufferPrewrite: buffer.prewrite is on unless the config turns it off.
func TestBufferPrewrite(t *testing.T) {
	if !app.Default().Buffer.Prewrite {
		t.Error("buffer.prewrite is off by default")
	}
	path := filepath.Join(t.TempDir(), "accord.yaml")
	if err := os.WriteFile(path, []byte("version: 1\nbuffer: {prewrite: false}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := app.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Buffer.Prewrite {
		t.Error("buffer.prewrite: false left it on")
	}
}

// TestSegmentConfig reads segment.unresolved_controller, unset by default, and
// refuses one that the privacy API could not be given as it is.
func TestSegmentConfig(t *testing.T) {
	if got := app.Default().Segment.UnresolvedController; got != "" {
		t.Errorf("segment.unresolved_controller %q by default, want none", got)
	}
	for yaml, want := range map[string]string{"acme": "", `" acme"`: "segment.unresolved_controller", `"ac\nme"`: "segment.unresolved_controller"} {
		path := filepath.Join(t.TempDir(), "accord.yaml")
		if err := os.WriteFile(path, []byte("version: 1\nsegment: {unresolved_controller: "+yaml+"}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := app.Load(path)
		if err == nil {
			err = cfg.Validate()
		}
		switch {
		case want == "" && (err != nil || cfg.Segment.UnresolvedController != yaml):
			t.Errorf("%s: %v, controller %q", yaml, err, cfg.Segment.UnresolvedController)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: %v, want an error naming %s", yaml, err, want)
		}
	}
}

// TestRuntimeConfig reads runtime.gc_percent and runtime.memory_limit and
// refuses values that would leave the heap unbounded or the GC running without
// pause, naming the key.
func TestRuntimeConfig(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	if got := app.Default().Runtime.GCPercent; got != 50 {
		t.Errorf("default gc_percent %d, want 50", got)
	}
	path := filepath.Join(t.TempDir(), "accord.yaml")
	if err := os.WriteFile(path, []byte("version: 1\nruntime: {gc_percent: -1, memory_limit: 268435456}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := app.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Runtime.GCPercent != -1 || cfg.Runtime.MemoryLimit != 256<<20 {
		t.Fatalf("runtime = %+v, want gc_percent -1 and memory_limit 256 MiB", cfg.Runtime)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("gc_percent -1 with a memory limit: %v", err)
	}
	for _, r := range []app.RuntimeConfig{{GCPercent: 5}, {GCPercent: 5000}, {GCPercent: -1}, {GCPercent: 50, MemoryLimit: 1 << 20}, {GCPercent: 50, MemoryLimit: -1}} {
		cfg := app.Default()
		cfg.Runtime = r
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "runtime.") {
			t.Errorf("%+v: %v, want an error naming the runtime key", r, err)
		}
	}
}

// FuzzConfig: any config file gets a config or an error of one line, never a
// panic, and a config that parses is validated without one; the error names no
// write key (keys are secrets).
func FuzzConfig(f *testing.F) {
	for _, s := range []string{
		"version: 1\n",
		"version: 1\nregistry: contracts\ndata: d\nserver: {addr: \"127.0.0.1:8080\"}\n",
		"version: 1\naccess: {write_keys: {wk-fuzz-secret: \"\"}, cors_origins: [\"https://shop.example/\", \"*\", \"HTTP://A\"]}\n",
		"version: 1\nlimits: {max_depth: -1, max_string_bytes: 1}\nbuffer: {max_bytes: 1}\n",
		"version: 2\nunknown: 1\n", "", "  \n", "{", "version: [1", "runtime: {gc_percent: -5, memory_limit: 1}\n",
		"snowplow: {paths: [\"/i\", \"relative\"]}\n", "sinks: {lake: {rotate_interval: -1s}}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := app.Parse("fuzz.yaml", b)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error of several lines: %q", err)
			}
			return
		}
		if err := cfg.Validate(); err != nil && strings.Contains(err.Error(), "wk-fuzz-secret") {
			t.Fatalf("the error names a write key: %v", err)
		}
	})
}

func TestMaxConnectionsConfig(t *testing.T) {
	c := app.Default()
	if c.Server.MaxConnections != 1024 {
		t.Errorf("default server.max_connections %d, want 1024", c.Server.MaxConnections)
	}
	c.Server.MaxConnections = 0
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "server.max_connections 0 must be at least 1") {
		t.Errorf("max_connections 0: %v", err)
	}
	if err := c.ApplyEnv(func(k string) string { return map[string]string{"ACCORD_MAX_CONNECTIONS": "64"}[k] }); err != nil || c.Server.MaxConnections != 64 {
		t.Errorf("ACCORD_MAX_CONNECTIONS=64: %d, %v", c.Server.MaxConnections, err)
	}
	if err := c.ApplyEnv(func(k string) string { return map[string]string{"ACCORD_MAX_CONNECTIONS": "many"}[k] }); err == nil || !strings.Contains(err.Error(), "ACCORD_MAX_CONNECTIONS") {
		t.Errorf("ACCORD_MAX_CONNECTIONS=many: %v", err)
	}
	if err := c.ApplyEnv(func(k string) string { return map[string]string{"ACCORD_STDOUT_SINK": "maybe"}[k] }); err == nil ||
		!strings.Contains(err.Error(), `ACCORD_STDOUT_SINK="maybe" is not a valid boolean (true prints envelopes on stdout, false does not)`) {
		t.Errorf("ACCORD_STDOUT_SINK=maybe: %v", err)
	}
}

// TestEnvOverridesAreValidated: every ACCORD_* variable is applied before
// Validate, the vault's and the scrubber's included, so that a value is judged
// the same from the environment as from the file; a refusal names the
// variables that set something, and never a secret's value.
func TestEnvOverridesAreValidated(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	key := "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // 32 bytes, base64
	pgFile := "version: 1\nprivacy: {vault: {store: postgres, postgres_url: \"postgres://u@127.0.0.1:5999/db\"}}\n"
	for _, tc := range []struct {
		name, file string
		env        map[string]string
		wantErr    []string // empty: valid
		secret     string   // never in the error
	}{
		{name: "the Postgres vault's key from the environment", file: pgFile, env: map[string]string{"ACCORD_VAULT_MASTER_KEY": key}},
		{name: "the Postgres vault's key missing", file: pgFile, wantErr: []string{"set ACCORD_VAULT_MASTER_KEY or vault.master_key_file"}},
		{name: "the Postgres vault from the environment only, no key", file: "version: 1\n",
			env:     map[string]string{"ACCORD_VAULT_STORE": "postgres", "ACCORD_VAULT_POSTGRES_URL": "postgres://u@127.0.0.1:5999/db"},
			wantErr: []string{"must share one master key", "from the environment", "ACCORD_VAULT_STORE", "ACCORD_VAULT_POSTGRES_URL"}},
		{name: "a vault key that is not base64", file: pgFile, env: map[string]string{"ACCORD_VAULT_MASTER_KEY": "not-a-key-at-all!"},
			wantErr: []string{"ACCORD_VAULT_MASTER_KEY: the master key is not valid base64"}, secret: "not-a-key-at-all!"},
		{name: "a short hash secret", file: "version: 1\n", env: map[string]string{"ACCORD_HASH_SECRET": "hs-tooshort"},
			wantErr: []string{"shorter than the minimum 32", "ACCORD_HASH_SECRET"}, secret: "hs-tooshort"},
		{name: "a hash secret of the right length", file: "version: 1\n", env: map[string]string{"ACCORD_HASH_SECRET": strings.Repeat("s", 32)}},
		{name: "a port out of range", file: "version: 1\n", env: map[string]string{"ACCORD_ADDR": "127.0.0.1:99999"},
			wantErr: []string{`server.addr "127.0.0.1:99999" has port "99999"`, "ACCORD_ADDR"}},
		{name: "a port out of range in the file", file: "version: 1\nserver: {addr: \"127.0.0.1:65536\"}\n",
			wantErr: []string{`server.addr "127.0.0.1:65536" has port "65536"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := app.Parse("accord.yaml", []byte(tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if err := cfg.ApplyEnv(func(k string) string { return tc.env[k] }); err != nil {
				t.Fatal(err)
			}
			err = cfg.Validate()
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("valid, want a refusal")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error does not say %q:\n%v", w, err)
				}
			}
			if len(tc.env) == 0 && strings.Contains(err.Error(), "from the environment") {
				t.Errorf("the error blames the environment, which set nothing:\n%v", err)
			}
			if tc.secret != "" && strings.Contains(err.Error(), tc.secret) {
				t.Errorf("the error holds the secret:\n%v", err)
			}
		})
	}
}

// TestConfigVersionRequired: a config file must say `version: 1`; the
// default's version is not taken for a file that says none.
func TestConfigVersionRequired(t *testing.T) {
	for file, want := range map[string]string{
		"version: 1\ndata: d\n": "",
		"data: d\n":             "start it with `version: 1`",
		"version: 0\n":          "start it with `version: 1`",
		"version: 2\n":          "version is 2; this Accord reads config version 1",
	} {
		cfg, err := app.Parse("accord.yaml", []byte(file))
		if err != nil {
			t.Fatalf("%q: %v", file, err)
		}
		switch err := cfg.Validate(); {
		case want == "" && err != nil:
			t.Errorf("%q refused: %v", file, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%q: %v, want an error saying %q", file, err, want)
		}
	}
	cfg := app.Default()
	if err := cfg.Validate(); err != nil {
		t.Errorf("the defaults (no config file) are refused: %v", err)
	}
}

// TestServerAddrChecked: server.addr is checked as the listener will read it.
func TestServerAddrChecked(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8080": "", ":8080": "", "[::1]:8443": "", "localhost:80": "", "collector.internal:8080": "",
		"127.0.0.1:0":       "", // any free port, which accord serve prints
		"[fe80::1%eth0]:80": "",
		"127.0.0.1":         "is not host:port",
		"127.0.0.1:99999":   `has port "99999"`,
		"127.0.0.1:-1":      `has port "-1"`,
		"127.0.0.1:":        `has port ""`,
		"127.0.0.1:http":    `has port "http"`,
		"bad host:80":       `has host "bad host"`,
		"-x.example:80":     `has host "-x.example"`,
	} {
		cfg := app.Default()
		cfg.Server.Addr = addr
		switch err := cfg.Validate(); {
		case want == "" && err != nil:
			t.Errorf("%s refused: %v", addr, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: %v, want an error saying %q", addr, err, want)
		}
	}
}
