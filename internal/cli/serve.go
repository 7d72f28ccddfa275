package cli

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/accord-dev/accord/internal/app"
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
				fmt.Fprintf(e.stdout, "config and registry %s are valid\n", cfg.Registry)
				return nil
			}
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
  %s
`, version(), base, snap.Len(), cfg.Registry, base, cfg.Data, a.MasterKeySource(), base, base, base, base, corsLine(cfg.Access.CORSOrigins), app.ExampleCurl(snap, base))
}

// corsLine says which sites' browser trackers may send.
func corsLine(origins []string) string {
	if len(origins) == 0 {
		return "no site may send from a browser: list its origin in access.cors_origins (or ACCORD_CORS_ORIGINS=https://shop.example)"
	}
	return "sites that may send from a browser: " + strings.Join(origins, ", ")
}
