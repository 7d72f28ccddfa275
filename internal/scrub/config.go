package scrub

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Config is the scrub section of the configuration file.
//
// The hash secret keys every HMAC of fields whose handling is hash. It must stay
// the same for the life of the data (a new secret makes new hashes, which no
// longer join with the old ones) and must never be stored beside the data: with
// the secret, anyone can test guesses against the hashes. An empty HashSecret and
// HashSecretFile is valid configuration: the embedded default then generates a
// secret under the data directory with EnsureHashSecretFile.
type Config struct {
	// HashSecret is the secret itself, at least MinHashSecretLen bytes. Prefer
	// HashSecretFile or the ACCORD_HASH_SECRET environment variable, which keep the
	// secret out of the configuration file.
	HashSecret string `yaml:"hash_secret,omitempty"`
	// HashSecretFile is a file holding the secret (surrounding whitespace is
	// ignored), readable only by Accord's user.
	HashSecretFile string `yaml:"hash_secret_file,omitempty"`
	// MMDBPath is a MaxMind-format city database (GeoLite2-City, GeoIP2-City,
	// DB-IP City Lite). With it, obfuscated IP addresses gain region and city;
	// without it, they carry the country only.
	MMDBPath string `yaml:"mmdb_path,omitempty"`
	// UACacheSize bounds the user agents whose generalised fields are cached; 0
	// means DefaultUACacheSize.
	UACacheSize int `yaml:"ua_cache_size,omitempty"`
}

// EnvHashSecret is the environment variable that overrides Config.HashSecret.
const EnvHashSecret = "ACCORD_HASH_SECRET"

// MinHashSecretLen is the shortest hash secret accepted, in bytes: 32 bytes of a
// random secret are 256 bits, the strength of HMAC-SHA256.
const MinHashSecretLen = 32

// Defaults of the caches. Most traffic comes from a few thousand user agents; the
// city cache holds decoded database records (a city each), not addresses.
const (
	DefaultUACacheSize = 10_000
	maxUACacheSize     = 10_000_000
	cityCacheSize      = 16_384
)

// HashSecretFileName is the file EnsureHashSecretFile creates in the data directory.
const HashSecretFileName = "hash_secret"

// ApplyEnv overrides the configuration from the environment: ACCORD_HASH_SECRET
// replaces the secret (and any secret file) of the file.
func (c *Config) ApplyEnv(getenv func(string) string) {
	if s := getenv(EnvHashSecret); s != "" {
		c.HashSecret, c.HashSecretFile = s, ""
	}
}

// Validate reports every problem of the configuration at once. It reads the
// secret file and checks the city database file exists, so that accord serve
// --check catches what would fail at start.
func (c Config) Validate() error {
	var errs []error
	switch {
	case c.HashSecret != "" && c.HashSecretFile != "":
		errs = append(errs, errors.New("scrub: set one of hash_secret and hash_secret_file, not both"))
	case c.HashSecret != "" && len(strings.TrimSpace(c.HashSecret)) < MinHashSecretLen:
		errs = append(errs, fmt.Errorf("scrub.hash_secret is %d bytes, shorter than the minimum %d; generate one with `openssl rand -hex 32`", len(strings.TrimSpace(c.HashSecret)), MinHashSecretLen))
	case c.HashSecretFile != "":
		if _, err := readSecretFile(c.HashSecretFile); err != nil {
			errs = append(errs, fmt.Errorf("scrub.hash_secret_file: %w", err))
		}
	}
	if c.MMDBPath != "" {
		if fi, err := os.Stat(c.MMDBPath); err != nil {
			errs = append(errs, fmt.Errorf("scrub.mmdb_path: %w", err))
		} else if !fi.Mode().IsRegular() {
			errs = append(errs, fmt.Errorf("scrub.mmdb_path %s is not a regular file; point it at a .mmdb city database", c.MMDBPath))
		}
	}
	if c.UACacheSize < 0 || c.UACacheSize > maxUACacheSize {
		errs = append(errs, fmt.Errorf("scrub.ua_cache_size %d must be between 0 (default %d) and %d", c.UACacheSize, DefaultUACacheSize, maxUACacheSize))
	}
	return errors.Join(errs...)
}

// hashSecret returns the configured secret.
func (c Config) hashSecret() ([]byte, error) {
	switch {
	case c.HashSecret != "":
		s := strings.TrimSpace(c.HashSecret)
		if len(s) < MinHashSecretLen {
			return nil, fmt.Errorf("the hash secret is %d bytes, shorter than the minimum %d", len(s), MinHashSecretLen)
		}
		return []byte(s), nil
	case c.HashSecretFile != "":
		return readSecretFile(c.HashSecretFile)
	}
	return nil, errors.New("no hash secret: set scrub.hash_secret_file or ACCORD_HASH_SECRET (the embedded default generates one under the data directory)")
}

func readSecretFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the hash secret: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if len(s) < MinHashSecretLen {
		return nil, fmt.Errorf("the hash secret in %s is %d bytes, shorter than the minimum %d; generate one with `openssl rand -hex 32 > %s`", path, len(s), MinHashSecretLen, path)
	}
	return []byte(s), nil
}

// EnsureHashSecretFile returns the path of the hash secret in dataDir, creating it
// on first run with 32 random bytes (hex, mode 0600). The secret is written to a
// temporary file and linked into place, so a reader never sees half a secret and
// concurrent first runs agree on one: the loser of the link reads the winner's.
func EnsureHashSecretFile(dataDir string) (string, error) {
	path := filepath.Join(dataDir, HashSecretFileName)
	if _, err := readSecretFile(path); err == nil {
		return path, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", fmt.Errorf("creating the data directory for the hash secret: %w", err)
	}
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return "", fmt.Errorf("generating the hash secret: %w", err)
	}
	f, err := os.CreateTemp(dataDir, HashSecretFileName+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("creating the hash secret: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) //nolint:errcheck // best effort: the link below is what counts
	_, werr := f.WriteString(hex.EncodeToString(key[:]) + "\n")
	merr := f.Chmod(0o600)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, merr, serr, cerr); err != nil {
		return "", fmt.Errorf("writing the hash secret: %w", err)
	}
	if err := os.Link(tmp, path); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("installing the hash secret %s: %w", path, err)
	}
	if _, err := readSecretFile(path); err != nil {
		return "", err
	}
	return path, nil
}
