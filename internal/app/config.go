// Package app wires Accord's parts into a running process: it reads the config,
// opens the registry, buffer, vault and sinks, and serves the HTTP API.
package app

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/goccy/go-yaml"

	"github.com/accord-dev/accord/internal/app/certs"
	"github.com/accord-dev/accord/internal/collect"
	"github.com/accord-dev/accord/internal/collect/snowplow"
	"github.com/accord-dev/accord/internal/registry"
	"github.com/accord-dev/accord/internal/scrub"
	"github.com/accord-dev/accord/internal/vault"
)

// Config is accord serve's configuration: one YAML file with version: 1, decoded
// strictly, then overridden by ACCORD_* environment variables (ApplyEnv) and
// flags, then validated as a whole (Validate): what is validated is what runs.
type Config struct {
	Version  int            `yaml:"version"`
	Registry string         `yaml:"registry"`
	Data     string         `yaml:"data"`
	Server   ServerConfig   `yaml:"server"`
	Limits   collect.Limits `yaml:"limits"`
	Access   collect.Access `yaml:"access"`
	// Validator selects the validation engine: "fast" (compiled programs, falling
	// back to the reference for unsupported keywords) or "reference".
	Validator string         `yaml:"validator"`
	Buffer    BufferConfig   `yaml:"buffer"`
	Sinks     SinksConfig    `yaml:"sinks"`
	BadRows   BadRowsConfig  `yaml:"bad_rows"`
	Privacy   PrivacyConfig  `yaml:"privacy"`
	Snowplow  SnowplowConfig `yaml:"snowplow"`
	Segment   SegmentConfig  `yaml:"segment"`
	Log       LogConfig      `yaml:"log"`
	Runtime   RuntimeConfig  `yaml:"runtime"`

	// fromEnv names the ACCORD_* variables ApplyEnv applied, so that
	// Validate's errors can say which settings the environment made (never
	// their values: some are secrets).
	fromEnv []string
}

// ServerConfig is the HTTP listener.
type ServerConfig struct {
	Addr string `yaml:"addr"`
	// Instance names this collector in envelopes (default: the host name).
	Instance          string        `yaml:"instance"`
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	ReadTimeout       time.Duration `yaml:"read_timeout"`
	WriteTimeout      time.Duration `yaml:"write_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
	ShutdownTimeout   time.Duration `yaml:"shutdown_timeout"`
	// MaxConnections bounds the client connections held open (internal/app/conns):
	// at the limit a new one takes the place of the longest-idle keep-alive
	// connection, or is refused with 503 when none is idle.
	MaxConnections int `yaml:"max_connections"`
	// TLS serves HTTPS (and HTTP/2) when both files are named.
	TLS TLSConfig `yaml:"tls"`
}

// TLSConfig names the PEM files of the server's certificate chain and its key.
// Renewed files are picked up without a restart (internal/app/certs).
type TLSConfig struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Enabled reports whether the server serves HTTPS.
func (t TLSConfig) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" }

// BufferConfig is the durable disk buffer.
type BufferConfig struct {
	MaxBytes     int64 `yaml:"max_bytes"`
	SegmentBytes int64 `yaml:"segment_bytes"`
	// AckInterval is how long the loaders' delivered positions may stay in memory
	// before they are written; 0 writes them at every delivered batch.
	AckInterval time.Duration `yaml:"ack_interval"`
	// MaxBatchDelay is how long a group commit waits for more appends to share
	// its fsync; 0 commits as soon as the previous fsync ends.
	MaxBatchDelay time.Duration `yaml:"max_batch_delay"`
	// Prewrite writes each segment's space with zeros ahead of use, in the
	// background, so that an ack's fsync writes data and no file metadata.
	Prewrite bool `yaml:"prewrite"`
}

// SinksConfig chooses where accepted events go.
type SinksConfig struct {
	Lake   LakeConfig   `yaml:"lake"`
	Stdout StdoutConfig `yaml:"stdout"`
}

// LakeConfig is the Parquet lake under <data>/lake.
type LakeConfig struct {
	Enabled        bool          `yaml:"enabled"`
	RotateBytes    int64         `yaml:"rotate_bytes"`
	RotateInterval time.Duration `yaml:"rotate_interval"`
}

// StdoutConfig prints envelopes as NDJSON, for development.
type StdoutConfig struct {
	Enabled bool `yaml:"enabled"`
}

// BadRowsConfig is where rejected events go.
type BadRowsConfig struct {
	Retention time.Duration `yaml:"retention"`
}

// PrivacyConfig is the vault, the scrubber and the admin token for the privacy
// routes.
type PrivacyConfig struct {
	// AdminToken guards /v1/privacy/*; without one those routes are refused.
	AdminToken string       `yaml:"admin_token"`
	Vault      vault.Config `yaml:"vault"`
	Scrub      scrub.Config `yaml:"scrub"`
}

// SnowplowConfig adds collector paths for Snowplow trackers configured with a
// custom post path.
type SnowplowConfig struct {
	Paths []string `yaml:"paths"`
}

// SegmentConfig is the Segment-compatible API's.
type SegmentConfig struct {
	// UnresolvedController, when set, is the data controller of the messages
	// that no contract declares: their bad rows keep them whole, every value
	// sealed under this controller and the message's userId (else its
	// anonymousId), so that a replay stores them once a contract declares
	// their name (docs/segment.md). Unset, those rows keep only the names of
	// the messages' fields.
	UnresolvedController string `yaml:"unresolved_controller"`
}

// LogConfig is the structured log.
type LogConfig struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// Default is the embedded default: no services, loopback only, data under
// ./accord-data.
func Default() Config {
	return Config{
		Version:  1,
		Registry: "",
		Data:     "accord-data",
		Server: ServerConfig{Addr: "127.0.0.1:8080", ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
			WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second, ShutdownTimeout: 15 * time.Second, MaxConnections: 1024},
		Limits:    collect.DefaultLimits,
		Validator: "fast",
		Buffer:    BufferConfig{MaxBytes: 1 << 30, SegmentBytes: 64 << 20, AckInterval: time.Second, Prewrite: true},
		Sinks:     SinksConfig{Lake: LakeConfig{Enabled: true, RotateBytes: 64 << 20, RotateInterval: 10 * time.Second}},
		BadRows:   BadRowsConfig{Retention: 7 * 24 * time.Hour},
		Log:       LogConfig{Level: "info", Format: "text"},
		Runtime:   RuntimeConfig{GCPercent: DefaultGCPercent},
	}
}

// Load reads a config file over the defaults. Unknown keys are errors.
func Load(path string) (Config, error) {
	cfg := Default()
	if path == "" {
		return cfg, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("reading config: %w", err)
	}
	return Parse(path, b)
}

// Parse reads the config file named name, whose bytes are b, over the defaults.
// Unknown keys are errors. A file must say its version: the default's is not
// taken for it, so that Validate refuses a file without `version: 1`.
func Parse(name string, b []byte) (Config, error) {
	cfg := Default()
	cfg.Version = 0
	if len(bytes.TrimSpace(b)) == 0 {
		return cfg, fmt.Errorf("config %s is empty; start it with `version: 1`", name)
	}
	if err := yaml.UnmarshalWithOptions(b, &cfg, yaml.Strict()); err != nil {
		return cfg, fmt.Errorf("config %s: %s", name, firstLine(yaml.FormatError(err, false, true)))
	}
	return cfg, nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

// envOverrides are the ACCORD_* variables that override the config file.
var envOverrides = []struct {
	name, doc string
	set       func(*Config, string) error
}{
	{"ACCORD_REGISTRY", "registry folder", func(c *Config, v string) error { c.Registry = v; return nil }},
	{"ACCORD_DATA", "data folder", func(c *Config, v string) error { c.Data = v; return nil }},
	{"ACCORD_ADDR", "listen address", func(c *Config, v string) error { c.Server.Addr = v; return nil }},
	{"ACCORD_TLS_CERT_FILE", "certificate file", func(c *Config, v string) error { c.Server.TLS.CertFile = v; return nil }},
	{"ACCORD_TLS_KEY_FILE", "key file", func(c *Config, v string) error { c.Server.TLS.KeyFile = v; return nil }},
	{"ACCORD_INSTANCE", "collector instance name", func(c *Config, v string) error { c.Server.Instance = v; return nil }},
	{"ACCORD_VALIDATOR", "fast or reference", func(c *Config, v string) error { c.Validator = v; return nil }},
	{"ACCORD_ADMIN_TOKEN", "admin token for /v1/privacy", func(c *Config, v string) error { c.Privacy.AdminToken = v; return nil }},
	{"ACCORD_LOG_LEVEL", "debug, info, warn or error", func(c *Config, v string) error { c.Log.Level = v; return nil }},
	{"ACCORD_LOG_FORMAT", "text or json", func(c *Config, v string) error { c.Log.Format = v; return nil }},
	{"ACCORD_STDOUT_SINK", "boolean (true prints envelopes on stdout, false does not)", func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		c.Sinks.Stdout.Enabled = b
		return err
	}},
	{"ACCORD_CORS_ORIGINS", "comma-separated list of origins", func(c *Config, v string) error {
		c.Access.CORSOrigins = nil
		for _, o := range strings.Split(v, ",") {
			if o = strings.TrimSpace(o); o != "" {
				c.Access.CORSOrigins = append(c.Access.CORSOrigins, o)
			}
		}
		return nil
	}},
	{"ACCORD_MAX_CONNECTIONS", "number of client connections (server.max_connections)", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		c.Server.MaxConnections = n
		return err
	}},
	{"ACCORD_BUFFER_MAX_BYTES", "buffer capacity in bytes", func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		c.Buffer.MaxBytes = n
		return err
	}},
}

// ApplyEnv overrides the config from every ACCORD_* variable, reporting every
// bad value: the table above, and the sections that read their own
// (ACCORD_VAULT_*, ACCORD_HASH_SECRET). It is the one place overrides are
// applied, before Validate, so that accord serve --check judges what serve
// runs; nothing opened later reads the environment again.
func (c *Config) ApplyEnv(getenv func(string) string) error {
	var errs []error
	seen := func(name string) string {
		v := getenv(name)
		if v != "" && !slices.Contains(c.fromEnv, name) {
			c.fromEnv = append(c.fromEnv, name)
		}
		return v
	}
	for _, o := range envOverrides {
		if v := seen(o.name); v != "" {
			if err := o.set(c, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q is not a valid %s", o.name, v, o.doc))
			}
		}
	}
	if err := c.Privacy.Vault.ApplyEnv(seen); err != nil {
		errs = append(errs, err)
	}
	c.Privacy.Scrub.ApplyEnv(seen)
	return errors.Join(errs...)
}

// Validate reports every problem of the config at once.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch c.Version {
	case 1:
	case 0:
		add("the config file does not say its version; start it with `version: 1`")
	default:
		add("version is %d; this Accord reads config version 1 (write `version: 1`)", c.Version)
	}
	if c.Data == "" {
		add("data is empty; name the folder Accord keeps its data in")
	}
	if err := checkAddr(c.Server.Addr); err != nil {
		add("server.addr %q %v", c.Server.Addr, err)
	}
	for name, d := range map[string]time.Duration{"read_header_timeout": c.Server.ReadHeaderTimeout, "read_timeout": c.Server.ReadTimeout,
		"write_timeout": c.Server.WriteTimeout, "idle_timeout": c.Server.IdleTimeout, "shutdown_timeout": c.Server.ShutdownTimeout} {
		if d <= 0 {
			add("server.%s must be positive (for example 30s)", name)
		}
	}
	if c.Server.MaxConnections < 1 {
		add("server.max_connections %d must be at least 1 (default 1024)", c.Server.MaxConnections)
	}
	if t := c.Server.TLS; t.Enabled() {
		if t.CertFile == "" || t.KeyFile == "" {
			add("server.tls: name both cert_file and key_file (PEM), or neither to serve plain HTTP")
		} else if _, err := certs.Check(t.CertFile, t.KeyFile, time.Now()); err != nil {
			add("server.tls: %v", err)
		}
	}
	if err := c.Limits.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Access.Validate(); err != nil {
		errs = append(errs, err)
	}
	if _, err := registry.ParseValidator(c.Validator); err != nil || c.Validator == "" {
		add("validator %q is not %s or %s", c.Validator, registry.ValidatorFast, registry.ValidatorReference)
	}
	if c.Buffer.MaxBytes < 1<<20 {
		add("buffer.max_bytes %d is below 1 MiB", c.Buffer.MaxBytes)
	}
	if c.Buffer.AckInterval < 0 || c.Buffer.AckInterval > time.Minute {
		add("buffer.ack_interval %s is not between 0 and 1m", c.Buffer.AckInterval)
	}
	if c.Buffer.MaxBatchDelay < 0 || c.Buffer.MaxBatchDelay > 100*time.Millisecond {
		add("buffer.max_batch_delay %s is not between 0 and 100ms (every ack waits for it)", c.Buffer.MaxBatchDelay)
	}
	if c.Sinks.Lake.Enabled && (c.Sinks.Lake.RotateBytes < 1<<10 || c.Sinks.Lake.RotateInterval <= 0) {
		add("sinks.lake.rotate_bytes must be at least 1024 and rotate_interval positive")
	}
	if c.BadRows.Retention < time.Hour {
		add("bad_rows.retention %s is below 1h", c.BadRows.Retention)
	}
	if err := c.Privacy.Vault.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("privacy.vault: %w", err))
	}
	if err := c.Privacy.Scrub.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("privacy.scrub: %w", err))
	}
	if t := c.Privacy.AdminToken; t != "" && len(t) < 16 {
		add("privacy.admin_token is shorter than 16 characters; use a long random token")
	}
	if err := snowplow.CheckPaths(c.Snowplow.Paths); err != nil {
		errs = append(errs, fmt.Errorf("snowplow.paths: %w", err))
	}
	if ctl := c.Segment.UnresolvedController; ctl != strings.TrimSpace(ctl) || strings.ContainsFunc(ctl, unicode.IsControl) {
		add("segment.unresolved_controller %q must be the data controller's name as the privacy API is given it, without surrounding spaces or control characters", ctl)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level %q is not debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		add("log.format %q is not text or json", c.Log.Format)
	}
	errs = append(errs, c.Runtime.validate(getenv)...)
	if len(errs) > 0 && len(c.fromEnv) > 0 {
		// A value the file does not hold would send the user looking in
		// the wrong place.
		errs = append(errs, fmt.Errorf("(settings from the environment, which win over the config file: %s)", strings.Join(c.fromEnv, ", ")))
	}
	return errors.Join(errs...)
}

// checkAddr checks a listen address as net.Listen will read it, so that a
// mistake is found by accord serve --check rather than at start: host:port,
// the host empty (every interface), an IP address or a host name, the port a
// number up to 65535 (0: any free port, which accord serve prints).
func checkAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("is not host:port (for example 127.0.0.1:8080)")
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("has port %q; give a number from 1 to 65535 (for example 127.0.0.1:8080)", port)
	}
	if host != "" && net.ParseIP(strings.Split(host, "%")[0]) == nil && !isHostName(host) {
		return fmt.Errorf("has host %q, which is neither an IP address nor a host name (for example 127.0.0.1)", host)
	}
	return nil
}

// isHostName reports whether s is written as a DNS host name: dot-separated
// labels of letters, digits and hyphens, none starting or ending with a hyphen.
func isHostName(s string) bool {
	if len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

var getenv = os.Getenv
