package vault

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// Store kinds of Config.Store.
const (
	StoreEmbedded = "embedded"
	StorePostgres = "postgres"
)

// MaxCacheTTL bounds Config.CacheTTL: the TTL is how long a forget may take to reach
// a process that missed its notification, so it must stay short.
const MaxCacheTTL = time.Hour

// Config is the vault section of accord's config file.
type Config struct {
	// Store is "embedded" (the default: a bbolt file, one process) or "postgres"
	// (shared by many processes).
	Store string `yaml:"store"`
	// Path is the embedded store's file; default <data>/vault/vault.db.
	Path string `yaml:"path"`
	// PostgresURL is the Postgres store's connection string.
	PostgresURL string `yaml:"postgres_url"`
	// PostgresSchema holds the Postgres store's tables; default accord_vault.
	PostgresSchema string `yaml:"postgres_schema"`
	// MasterKeyFile holds the base64 master key. The embedded store defaults to
	// <data>/vault/master.key and generates it on first run; the Postgres store needs
	// the same key in every process, so it needs this or ACCORD_VAULT_MASTER_KEY.
	MasterKeyFile string `yaml:"master_key_file"`
	// CacheTTL bounds how long a forget made by another process can take to reach
	// this one when no notification arrives (see docs/vault.md); default 10s.
	CacheTTL time.Duration `yaml:"cache_ttl"`
	// CacheSize bounds the cached keys (about 0.9 KiB of heap each, see
	// BenchmarkCachedKeyMemory); default 100000.
	CacheSize int `yaml:"cache_size"`
	// ScrubDelay is how soon after a forget the embedded store zeroes the free pages
	// of its file; default 1s.
	ScrubDelay time.Duration `yaml:"scrub_delay"`

	// MasterKey is the base64 master key from ACCORD_VAULT_MASTER_KEY. It is never
	// read from the config file, so that the file holds no secret.
	MasterKey string `yaml:"-"`
}

// envVars are the ACCORD_VAULT_* variables that override the config file.
var envVars = []struct {
	name string
	set  func(c *Config, v string) error
}{
	{"ACCORD_VAULT_STORE", func(c *Config, v string) error { c.Store = v; return nil }},
	{"ACCORD_VAULT_PATH", func(c *Config, v string) error { c.Path = v; return nil }},
	{"ACCORD_VAULT_POSTGRES_URL", func(c *Config, v string) error { c.PostgresURL = v; return nil }},
	{"ACCORD_VAULT_POSTGRES_SCHEMA", func(c *Config, v string) error { c.PostgresSchema = v; return nil }},
	{"ACCORD_VAULT_MASTER_KEY", func(c *Config, v string) error { c.MasterKey = v; return nil }},
	{"ACCORD_VAULT_MASTER_KEY_FILE", func(c *Config, v string) error { c.MasterKeyFile = v; return nil }},
	{"ACCORD_VAULT_CACHE_TTL", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("ACCORD_VAULT_CACHE_TTL=%q is not a duration (for example 10s)", v)
		}
		c.CacheTTL = d
		return nil
	}},
}

// ApplyEnv overrides c from the ACCORD_VAULT_* variables (getenv is os.Getenv outside
// tests), reporting every bad value.
func (c *Config) ApplyEnv(getenv func(string) string) error {
	var errs []error
	for _, e := range envVars {
		if v := getenv(e.name); v != "" {
			if err := e.set(c, v); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Validate reports every problem of c at once, each saying what to do.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("vault."+format, args...)) }
	switch c.Store {
	case "", StoreEmbedded:
		if c.PostgresURL != "" {
			add("postgres_url is set but vault.store is embedded; set vault.store: postgres to use it, or remove it")
		}
	case StorePostgres:
		if c.PostgresURL == "" {
			add("store is postgres but no URL is set; set vault.postgres_url or ACCORD_VAULT_POSTGRES_URL")
		}
		if c.MasterKey == "" && c.MasterKeyFile == "" {
			add("store is postgres, whose processes must share one master key; set ACCORD_VAULT_MASTER_KEY or vault.master_key_file (make one with: head -c 32 /dev/urandom | base64)")
		}
		if c.Path != "" {
			add("path is set but vault.store is postgres; remove it")
		}
	default:
		add("store %q is not embedded or postgres", c.Store)
	}
	if c.PostgresSchema != "" && !schemaPattern.MatchString(c.PostgresSchema) {
		add("postgres_schema %q must be a lower-case identifier of at most 48 characters (letters, digits, _)", c.PostgresSchema)
	}
	if c.MasterKey != "" {
		if _, err := decodeMasterKey([]byte(c.MasterKey)); err != nil {
			add("ACCORD_VAULT_MASTER_KEY: %v", err)
		}
	}
	if c.CacheTTL < 0 || c.CacheTTL > MaxCacheTTL {
		add("cache_ttl %s must be between 0 (default %s) and %s: it bounds how long a forget takes to reach every process", c.CacheTTL, DefaultCacheTTL, MaxCacheTTL)
	}
	if c.CacheSize < 0 {
		add("cache_size %d must not be negative (0 means %d)", c.CacheSize, DefaultCacheSize)
	}
	if c.ScrubDelay < 0 {
		add("scrub_delay %s must not be negative (0 means %s)", c.ScrubDelay, DefaultScrubDelay)
	}
	return errors.Join(errs...)
}

// decodeMasterKey reads a base64 master key. Its errors never quote the key.
func decodeMasterKey(text []byte) ([]byte, error) {
	text = bytes.TrimSpace(text)
	key := make([]byte, base64.StdEncoding.DecodedLen(len(text)))
	n, err := base64.StdEncoding.Decode(key, text)
	if err != nil {
		return nil, errors.New("the master key is not valid base64 (make one with: head -c 32 /dev/urandom | base64)")
	}
	if n != MasterKeyLen {
		return nil, fmt.Errorf("the master key is %d bytes, want %d (make one with: head -c 32 /dev/urandom | base64)", n, MasterKeyLen)
	}
	return key[:n], nil
}

// Open opens the vault that cfg describes, with its files under dataDir/vault unless
// cfg names other paths. For the embedded store it generates the master key into
// dataDir/vault/master.key on first run; Vault.MasterKeySource tells the caller where
// the key came from, so that it can tell the operator to back it up. log receives the
// store's background problems (nil discards them).
func Open(ctx context.Context, cfg Config, dataDir string, log *slog.Logger) (*Vault, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var store Store
	var master []byte
	var source string
	var err error
	switch cfg.Store {
	case StorePostgres:
		if master, source, err = loadMasterKey(cfg, ""); err != nil {
			return nil, err
		}
		store, err = OpenPostgres(ctx, cfg.PostgresURL, PostgresOptions{Schema: cfg.PostgresSchema, Log: log})
	default:
		path := cfg.EmbeddedPath(dataDir)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("creating the vault folder: %w", err)
		}
		if master, source, err = loadMasterKey(cfg, path); err != nil {
			return nil, err
		}
		store, err = OpenBolt(path, BoltOptions{ScrubDelay: cfg.ScrubDelay})
	}
	if err != nil {
		return nil, err
	}
	v, err := New(ctx, store, Options{MasterKey: master, CacheTTL: cfg.CacheTTL, CacheSize: cfg.CacheSize})
	if err != nil {
		return nil, errors.Join(err, store.Close())
	}
	v.MasterKeySource = source
	return v, nil
}

// loadMasterKey finds the master key: ACCORD_VAULT_MASTER_KEY, then
// cfg.MasterKeyFile, then (embedded store only, dbPath != "") master.key beside the
// vault file, generated when neither it nor the vault file exists yet.
func loadMasterKey(cfg Config, dbPath string) (key []byte, source string, err error) {
	if cfg.MasterKey != "" {
		key, err := decodeMasterKey([]byte(cfg.MasterKey))
		return key, "ACCORD_VAULT_MASTER_KEY", err
	}
	path := cfg.MasterKeyFile
	if path == "" && dbPath != "" {
		path = filepath.Join(filepath.Dir(dbPath), "master.key")
	}
	if path == "" {
		return nil, "", errors.New("no vault master key: set ACCORD_VAULT_MASTER_KEY or vault.master_key_file")
	}
	text, err := os.ReadFile(path)
	switch {
	case err == nil:
		key, err := decodeMasterKey(text)
		if err != nil {
			return nil, "", fmt.Errorf("master key file %s: %w", path, err)
		}
		return key, "file " + path, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, "", fmt.Errorf("reading the master key: %w", err)
	case cfg.MasterKeyFile != "":
		return nil, "", fmt.Errorf("master key file %s does not exist; create it with: head -c 32 /dev/urandom | base64 > %s && chmod 600 %s", path, path, path)
	}
	if _, err := os.Stat(dbPath); err == nil {
		return nil, "", fmt.Errorf("the vault file %s exists but its master key %s is missing: restore the key from your backup (a new key cannot open this vault)", dbPath, path)
	}
	key, err = generateMasterKey(path)
	if err != nil {
		return nil, "", err
	}
	return key, "generated into " + path + " (back it up: without it no token can be detokenized)", nil
}

// generateMasterKey writes a new random master key to path, readable by its owner only.
func generateMasterKey(path string) ([]byte, error) {
	key := make([]byte, MasterKeyLen)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generating the master key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("creating the master key file: %w", err)
	}
	_, werr := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		return nil, fmt.Errorf("writing the master key file %s: %w", path, err)
	}
	return key, nil
}

// EmbeddedPath is the file of the embedded store for the data folder
// dataDir: Path, else <data>/vault/vault.db.
func (cfg Config) EmbeddedPath(dataDir string) string {
	return cmpOr(cfg.Path, filepath.Join(dataDir, "vault", "vault.db"))
}
