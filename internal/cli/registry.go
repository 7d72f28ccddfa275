package cli

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/accord-dev/accord/internal/registry"
)

func newRegistryCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "registry",
		Short: "Serve the contract registry over HTTP",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newRegistryServeCmd(e))
	return cmd
}

func newRegistryServeCmd(e *env) *cobra.Command {
	var registryDir, addr, validator string
	var poll time.Duration
	cmd := &cobra.Command{
		Use:   "serve [--registry DIR] [--addr 127.0.0.1:8081]",
		Short: "Serve the registry alone: Iglu Server API, static Iglu layout, contracts and validation",
		Long: `Serve the registry folder over HTTP without the collector: the Iglu Server API
(/api/schemas/...), the Iglu static repository layout (/schemas/...), the contract
catalog (/v1/contracts) and offline validation (POST /v1/validate). accord serve
mounts the same routes next to the collector.

The folder is reloaded on SIGHUP and when a poll sees a changed file; a broken
edit is logged and the previous contracts keep serving. See docs/registry.md.`,
		Example: `  accord registry serve --registry contracts
  curl -s 127.0.0.1:8081/api/schemas`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := defaultRegistry(registryDir, e.stderr)
			if err != nil {
				return err
			}
			if poll <= 0 {
				poll = -1 // Config reads 0 as the default
			}
			log := slog.New(slog.NewTextHandler(e.stderr, nil))
			reg, err := registry.New(registry.Config{Dir: dir, PollInterval: poll, Validator: validator}, log)
			if err != nil {
				return usageError{err}
			}
			return reg.ListenAndServe(cmd.Context(), addr, func(bound string) {
				fmt.Fprintf(e.stdout, "accord registry: serving %d contracts from %s on http://%s\n", reg.Snapshot().Len(), dir, bound)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&registryDir, "registry", "", "registry folder in the Iglu layout (default ./contracts, else the bundled example contracts)")
	f.StringVar(&addr, "addr", "127.0.0.1:8081", "listen address host:port (loopback by default)")
	f.StringVar(&validator, "validator", registry.ValidatorFast, "engine of POST /v1/validate: fast (compiled programs) or reference (santhosh-tekuri/jsonschema)")
	f.DurationVar(&poll, "poll", registry.DefaultPollInterval, "how often to look for changed contract files; 0 or less turns polling off (SIGHUP still reloads)")
	return cmd
}
