package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/accord-dev/accord/internal/app"
	"github.com/accord-dev/accord/internal/vault"
)

// vaultFlags are the flags every vault subcommand shares: which vault to open
// (the one accord serve would open with the same config) and who is acting.
type vaultFlags struct {
	config, data, actor string
}

func (f *vaultFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.config, "config", "", "config file (YAML, version: 1), as for accord serve")
	cmd.Flags().StringVar(&f.data, "data", "", "data folder (default: the config's, else accord-data)")
	cmd.Flags().StringVar(&f.actor, "actor", "", "who is acting, for the audit log (default cli:<user>)")
}

// open opens the vault; with the embedded store this fails while accord serve holds
// it, and the error says to use the HTTP API instead.
func (f *vaultFlags) open(ctx context.Context) (*vault.Vault, error) {
	cfg, err := loadConfig(f.config)
	if err != nil {
		return nil, err
	}
	if f.data != "" {
		cfg.Data = f.data
	}
	// The embedded vault lives in the data folder: opened in one that does not
	// exist, it would be a new, empty vault, and a forget in it would report
	// success.
	if vc := cfg.Privacy.Vault; (vc.Store == "" || vc.Store == vault.StoreEmbedded) && vc.Path == "" {
		if err := existingData(cfg.Data); err != nil {
			return nil, err
		}
	}
	v, err := app.OpenVault(ctx, cfg, nil)
	if err != nil {
		if errors.Is(err, vault.ErrInUse) {
			return nil, fmt.Errorf("%w; while accord serve runs, use POST /v1/privacy/forget or /v1/privacy/detokenize with the admin token", err)
		}
		return nil, err
	}
	return v, nil
}

func (f *vaultFlags) who() string {
	if f.actor != "" {
		return f.actor
	}
	return cliActor()
}

func newVaultCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vault",
		Short: "Forget data subjects, detokenize, and inspect the tokenization vault",
		Long: `The vault maps personal data to tokens under a key per (data controller, data
subject). Forgetting a subject destroys its keys: every token issued for it becomes
meaningless, in the lake and everywhere else, with nothing to rewrite.

These commands open the vault directly. The embedded vault can only be open in one
process: while accord serve runs, use its admin API (POST /v1/privacy/forget and
/v1/privacy/detokenize). Every forget and detokenize is written to the audit log.`,
	}
	cmd.AddCommand(newVaultForgetCmd(e), newVaultDetokenizeCmd(e), newVaultStatsCmd(e), newVaultAuditCmd(e))
	return cmd
}

func newVaultForgetCmd(e *env) *cobra.Command {
	var f vaultFlags
	var subject, controller string
	cmd := &cobra.Command{
		Use:   "forget --subject S [--controller C]",
		Short: "Destroy a data subject's keys under one controller, or under all",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if subject == "" {
				return usagef("--subject is required: the data subject's value as the contract's x-privacy.subject reads it")
			}
			v, err := f.open(cmd.Context())
			if err != nil {
				return err
			}
			defer v.Close()
			res, err := v.Forget(cmd.Context(), f.who(), subject, controller)
			if err != nil {
				return err
			}
			scope := "every controller"
			if controller != "" {
				scope = "controller " + res.Controller
			}
			_, err = fmt.Fprintf(e.stdout, "forgot the subject under %s: %d keys and %d token mappings destroyed\n", scope, res.KeysDestroyed, res.TokensDestroyed)
			return err
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&subject, "subject", "", "the data subject (e.g. the email the contract names as subject)")
	cmd.Flags().StringVar(&controller, "controller", "", "the data controller (e.g. the shop id); empty forgets under every controller")
	return cmd
}

func newVaultDetokenizeCmd(e *env) *cobra.Command {
	var f vaultFlags
	cmd := &cobra.Command{
		Use:   "detokenize TOKEN...",
		Short: "Print the values behind tokens (audited)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := f.open(cmd.Context())
			if err != nil {
				return err
			}
			defer v.Close()
			out, err := v.Detokenize(cmd.Context(), f.who(), args)
			if err != nil {
				return err
			}
			failed := 0
			for i, d := range out {
				switch {
				case errors.Is(d.Err, vault.ErrMalformedToken):
					// What is not a token may be a value pasted by mistake:
					// it is named by its position, never printed.
					failed++
					fmt.Fprintf(e.stdout, "(argument %d)\t(%v; the argument is not printed, in case it is personal data)\n", i+1, d.Err)
					continue
				case d.Err != nil:
					failed++
					fmt.Fprintf(e.stdout, "%s\t(%v)\n", d.Token, d.Err)
					continue
				}
				fmt.Fprintf(e.stdout, "%s\t%s\n", d.Token, d.Value)
			}
			if failed > 0 {
				return exitError{ExitFindings}
			}
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

func newVaultStatsCmd(e *env) *cobra.Command {
	var f vaultFlags
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Count the vault's keys, tokens, forgets and audit entries",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := f.open(cmd.Context())
			if err != nil {
				return err
			}
			defer v.Close()
			st, err := v.Stats(cmd.Context())
			if err != nil {
				return err
			}
			return writeIndented(e, st)
		},
	}
	f.register(cmd)
	return cmd
}

func newVaultAuditCmd(e *env) *cobra.Command {
	var f vaultFlags
	var after uint64
	var limit int
	cmd := &cobra.Command{
		Use:   "audit [--after SEQ] [--limit N]",
		Short: "Print the audit log of forgets and detokenizations (never the data)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := f.open(cmd.Context())
			if err != nil {
				return err
			}
			defer v.Close()
			entries, err := v.Audit(cmd.Context(), after, limit)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(e.stdout)
			for _, a := range entries {
				if err := enc.Encode(a); err != nil {
					return err
				}
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().Uint64Var(&after, "after", 0, "print entries after this sequence number")
	cmd.Flags().IntVar(&limit, "limit", 1000, "print at most this many entries")
	return cmd
}

func writeIndented(e *env, v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
