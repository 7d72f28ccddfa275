package cli

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/accord-dev/accord/internal/app"
	"github.com/accord-dev/accord/internal/collect"
	"github.com/accord-dev/accord/internal/contract"
)

func newServeCmd(e *env) *cobra.Command {
	var registryDir, addr, data, config string
	var check, stdoutSink bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the collector: validate, scrub and store every event",
		Long: `Run Accord's collector and registry on the embedded default: no services needed.

With no config it loads ./contracts (or else the bundled example contracts: the
repository's examples/contracts in a checkout, elsewhere the copy the binary
carries, unpacked under the user's cache folder), listens on 127.0.0.1:8080 and keeps its buffer, lake, bad rows and vault under ./accord-data.
A config file (--config, YAML, version: 1) sets everything else; ACCORD_* variables
override the file and flags override both. --check validates the config and the
registry, then exits.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(config)
			if err != nil {
				return err
			}
			flags := cmd.Flags()
			if flags.Changed("addr") {
				cfg.Server.Addr = addr
			}
			if flags.Changed("data") {
				cfg.Data = data
			}
			if flags.Changed("stdout") {
				cfg.Sinks.Stdout.Enabled = stdoutSink
			}
			if flags.Changed("registry") || cfg.Registry == "" {
				if cfg.Registry, err = defaultRegistry(registryDir, e.stderr); err != nil {
					return err
				}
			}
			if err := cfg.Validate(); err != nil {
				return usageError{fmt.Errorf("config: %w", err)}
			}
			log := newLogger(e, cfg.Log)
			if check {
				if _, err := app.CheckRegistry(cfg.Registry); err != nil {
					return usageError{err}
				}
				if err := app.CheckDataFolder(cfg.Data); err != nil {
					return usageError{err}
				}
				fmt.Fprintf(e.stdout, "config and registry %s are valid\n", cfg.Registry)
				return nil
			}
			// A reader of accord's output that goes away (a `| jq` restarted,
			// a log shipper) must make the writes to it fail, which the stdout
			// sink's loader retries, not end the collector: Go ends a program
			// that writes to a broken pipe on its standard output or error
			// unless SIGPIPE is handled.
			signal.Ignore(syscall.SIGPIPE)
			gcPercent, memoryLimit := cfg.Runtime.Apply(os.Getenv)
			log.Debug("go runtime", "gc_percent", gcPercent, "memory_limit", memoryLimit)
			a, err := app.New(cmd.Context(), cfg, log, e.stdout)
			if err != nil {
				return err
			}
			return a.Serve(cmd.Context(), func(listen string) {
				printBanner(e, cfg, a, listen)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&registryDir, "registry", "", "registry folder (default ./contracts, else the bundled example contracts)")
	f.StringVar(&addr, "addr", "127.0.0.1:8080", "listen address host:port")
	f.StringVar(&data, "data", "accord-data", "data folder: buffer, lake, bad rows, vault")
	f.StringVar(&config, "config", "", "config file (YAML, version: 1)")
	f.BoolVar(&check, "check", false, "validate the config and the registry, then exit")
	f.BoolVar(&stdoutSink, "stdout", false, "also print accepted envelopes as NDJSON on stdout")
	return cmd
}

func newLogger(e *env, c app.LogConfig) *slog.Logger {
	level := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}[c.Level]
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(e.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(e.stderr, opts))
}

func printBanner(e *env, cfg app.Config, a *app.App, listen string) {
	snap := a.Registry().Snapshot()
	base := a.Scheme() + "://" + listen
	fmt.Fprintf(e.stderr, `accord %s is collecting on %s
  contracts  %d versions from %s   (GET %s/v1/contracts)
  data       %s   (buffer, lake, bad rows, vault)
  vault key  %s
  health     %s/healthz   metrics %s/metrics
  trackers   Snowplow: collector URL %s   Segment/RudderStack: host, data plane URL, cdnURL, configUrl %s
  browsers   %s
Send a valid event:
%s`, version(), base, snap.Len(), cfg.Registry, base, cfg.Data, a.MasterKeySource(), base, base, base, base, corsLine(cfg.Access.CORSOrigins), exampleCurl(snap, base, cfg.Access))
}

// writeKeyVar is the shell variable the banner's curl reads a write key from:
// the banner prints no key, since keys are secrets and logs are kept.
const writeKeyVar = "ACCORD_WRITE_KEY"

// exampleCurl is a copy-paste command, indented, that sends the registry's
// first valid example event. When the collector refuses requests without a
// write key, the command sends one from $ACCORD_WRITE_KEY as the Basic auth
// user (as Segment libraries send theirs, and the native route reads it),
// after a line saying which sources' keys will do.
func exampleCurl(snap *contract.Snapshot, base string, access collect.Access) string {
	auth, howto := "", ""
	if access.RequireWriteKey && len(access.WriteKeys) > 0 {
		auth = fmt.Sprintf(`-u "$%s:" `, writeKeyVar)
		howto = fmt.Sprintf("  # a write key is required: set %s in your shell to the key of one of access.write_keys' sources (%s)\n", writeKeyVar, sourceNames(access.WriteKeys))
	}
	ev, ok := app.ExampleEvent(snap)
	if !ok {
		return fmt.Sprintf("%s  curl -s %s%s/v1/events -d '{\"schema\": \"iglu:<vendor>/<name>/jsonschema/1-0-0\", \"data\": {...}}'   (add `examples:` to a contract to get a ready one here)\n", howto, auth, base)
	}
	return fmt.Sprintf("%s  curl -s %s%s/v1/events -H 'Content-Type: application/json' -d '%s'\n", howto, auth, base, strings.ReplaceAll(string(ev), "'", `'\''`))
}

// sourceNames lists the source names of the write keys, sorted, at most 5:
// names, not keys, which are secrets.
func sourceNames(keys map[string]string) string {
	var names []string
	for _, n := range keys {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	if len(names) > 5 {
		return strings.Join(names[:5], ", ") + fmt.Sprintf(" and %d more", len(names)-5)
	}
	return strings.Join(names, ", ")
}

// corsLine says which sites' browser trackers may send.
func corsLine(origins []string) string {
	if len(origins) == 0 {
		return "no site may send from a browser: list its origin in access.cors_origins (or ACCORD_CORS_ORIGINS=https://shop.example)"
	}
	return "sites that may send from a browser: " + strings.Join(origins, ", ")
}
