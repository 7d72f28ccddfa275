package vault_test

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/accord-dev/accord/internal/vault"
	"github.com/google/go-cmp/cmp"
)

func TestConfigValidate(t *testing.T) {
	goodKey := base64.StdEncoding.EncodeToString(make([]byte, 32))
	for _, tc := range []struct {
		name string
		cfg  vault.Config
		want []string // parts of the error, one per problem; none for a valid config
	}{
		{"zero value is the embedded default", vault.Config{}, nil},
		{"postgres", vault.Config{Store: "postgres", PostgresURL: "postgres://h/db", MasterKey: goodKey, PostgresSchema: "vault_1"}, nil},
		{"postgres with key file", vault.Config{Store: "postgres", PostgresURL: "postgres://h/db", MasterKeyFile: "/k"}, nil},
		{"unknown store", vault.Config{Store: "sqlite"}, []string{`vault.store "sqlite" is not embedded or postgres`}},
		{"every problem at once", vault.Config{
			Store: "postgres", Path: "/x", PostgresSchema: "Bad-Schema", CacheTTL: 2 * time.Hour, CacheSize: -1, ScrubDelay: -time.Second,
		}, []string{
			"vault.store is postgres but no URL is set; set vault.postgres_url or ACCORD_VAULT_POSTGRES_URL",
			"vault.store is postgres, whose processes must share one master key; set ACCORD_VAULT_MASTER_KEY",
			"vault.path is set but vault.store is postgres",
			`vault.postgres_schema "Bad-Schema" must be a lower-case identifier`,
			"vault.cache_ttl 2h0m0s must be between 0",
			"vault.cache_size -1 must not be negative",
			"vault.scrub_delay -1s must not be negative",
		}},
		{"embedded with a postgres URL", vault.Config{PostgresURL: "postgres://h/db"}, []string{"vault.postgres_url is set but vault.store is embedded"}},
		{"short master key", vault.Config{MasterKey: base64.StdEncoding.EncodeToString([]byte("short"))}, []string{"the master key is 5 bytes, want 32"}},
		{"master key not base64", vault.Config{MasterKey: "not base64 !"}, []string{"the master key is not valid base64"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate accepted the config; want %d problems", len(tc.want))
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.want) {
				t.Errorf("got %d problems, want %d:\n%v", len(lines), len(tc.want), err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error does not say %q:\n%v", w, err)
				}
			}
			if tc.cfg.MasterKey != "" && strings.Contains(err.Error(), tc.cfg.MasterKey) {
				t.Errorf("the error quotes the master key")
			}
		})
	}
}

func TestConfigApplyEnv(t *testing.T) {
	env := map[string]string{
		"ACCORD_VAULT_STORE":           "postgres",
		"ACCORD_VAULT_POSTGRES_URL":    "postgres://h/db",
		"ACCORD_VAULT_POSTGRES_SCHEMA": "v2",
		"ACCORD_VAULT_MASTER_KEY":      "a2V5",
		"ACCORD_VAULT_MASTER_KEY_FILE": "/run/secrets/key",
		"ACCORD_VAULT_CACHE_TTL":       "3s",
	}
	cfg := vault.Config{Store: "embedded", CacheTTL: time.Minute}
	if err := cfg.ApplyEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	want := vault.Config{Store: "postgres", PostgresURL: "postgres://h/db", PostgresSchema: "v2", MasterKey: "a2V5",
		MasterKeyFile: "/run/secrets/key", CacheTTL: 3 * time.Second}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("ApplyEnv (-want +got):\n%s", diff)
	}
	err := cfg.ApplyEnv(func(k string) string {
		if k == "ACCORD_VAULT_CACHE_TTL" {
			return "soon"
		}
		return ""
	})
	if err == nil || !strings.Contains(err.Error(), `ACCORD_VAULT_CACHE_TTL="soon" is not a duration`) {
		t.Errorf("ApplyEnv with a bad duration: %v", err)
	}
}

func TestOpenEmbeddedGeneratesMasterKey(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	v, err := vault.Open(ctx, vault.Config{}, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(data, "vault", "master.key")
	if !strings.Contains(v.MasterKeySource, "generated into "+keyPath) {
		t.Errorf("MasterKeySource %q does not say the key was generated into %s", v.MasterKeySource, keyPath)
	}
	st, err := os.Stat(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("master key file mode %v, want 0600", st.Mode().Perm())
	}
	tok, err := v.Tokenize(ctx, "shop-a", "yan", "yan@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}

	v, err = vault.Open(ctx, vault.Config{}, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v.MasterKeySource != "file "+keyPath {
		t.Errorf("on reopen MasterKeySource is %q, want the file", v.MasterKeySource)
	}
	again, err := v.Tokenize(ctx, "shop-a", "yan", "yan@example.com")
	if err != nil || again != tok {
		t.Errorf("after reopen the token is %q (%v), want %q", again, err, tok)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}

	// The same vault through ACCORD_VAULT_MASTER_KEY.
	text, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	v, err = vault.Open(ctx, vault.Config{MasterKey: strings.TrimSpace(string(text))}, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v.MasterKeySource != "ACCORD_VAULT_MASTER_KEY" {
		t.Errorf("MasterKeySource %q, want ACCORD_VAULT_MASTER_KEY", v.MasterKeySource)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}

	// Another key cannot open it.
	other := base64.StdEncoding.EncodeToString(make([]byte, 32))
	if _, err := vault.Open(ctx, vault.Config{MasterKey: other}, data, nil); !errors.Is(err, vault.ErrWrongMasterKey) {
		t.Errorf("Open with another key: %v, want ErrWrongMasterKey", err)
	}

	// A lost key file is not silently replaced.
	if err := os.Remove(keyPath); err != nil {
		t.Fatal(err)
	}
	_, err = vault.Open(ctx, vault.Config{}, data, nil)
	if err == nil || !strings.Contains(err.Error(), "restore the key from your backup") {
		t.Errorf("Open without its key file: %v, want a request to restore the key", err)
	}
	if _, err := os.Stat(keyPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open generated a new key for an existing vault")
	}
}

func TestOpenRefusesSecondProcess(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	v, err := vault.Open(ctx, vault.Config{}, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	// bbolt's lock is per open file, so a second open in this process stands in for
	// a second process.
	_, err = vault.OpenBolt(filepath.Join(data, "vault", "vault.db"), vault.BoltOptions{LockTimeout: 50 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "another process has it open") {
		t.Errorf("second open: %v, want a clear lock error", err)
	}
}

func TestOpenMissingKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.key")
	_, err := vault.Open(context.Background(), vault.Config{MasterKeyFile: path}, t.TempDir(), nil)
	if err == nil || !strings.Contains(err.Error(), "head -c 32 /dev/urandom | base64 > "+path) {
		t.Errorf("Open with a missing key file: %v, want how to create it", err)
	}
}
