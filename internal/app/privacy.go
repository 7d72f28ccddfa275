package app

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/accord-dev/accord/internal/collect"
	"github.com/accord-dev/accord/internal/contract"
	"github.com/accord-dev/accord/internal/event"
	"github.com/accord-dev/accord/internal/scrub"
	"github.com/accord-dev/accord/internal/vault"
)

// privacy is the vault and the scrubber that uses it.
type privacy struct {
	vault      *vault.Vault
	scrub      *scrub.Scrubber
	scrubber   scrubAdapter
	adminToken string
	log        *slog.Logger
}

// openPrivacy opens the vault (embedded by default, generating its master key on
// first run) and the scrubber (generating its hash secret on first run).
func openPrivacy(ctx context.Context, cfg Config, log *slog.Logger) (*privacy, error) {
	v, err := OpenVault(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	scfg := cfg.Privacy.Scrub
	if scfg.HashSecret == "" && scfg.HashSecretFile == "" {
		if scfg.HashSecretFile, err = scrub.EnsureHashSecretFile(cfg.Data); err != nil {
			return nil, errors.Join(err, v.Close())
		}
	}
	s, err := scrub.New(scfg, scrub.Deps{Tokenizer: v, Sealer: v})
	if err != nil {
		return nil, errors.Join(err, v.Close())
	}
	return &privacy{vault: v, scrub: s, scrubber: scrubAdapter{s}, adminToken: cfg.Privacy.AdminToken, log: log}, nil
}

// OpenVault opens the vault the config names, as Config.ApplyEnv left it (the
// ACCORD_VAULT_* overrides are applied there, once, before validation); the
// CLI's vault commands use it too, so they open exactly what accord serve opens.
func OpenVault(ctx context.Context, cfg Config, log *slog.Logger) (*vault.Vault, error) {
	return vault.Open(ctx, cfg.Privacy.Vault, cfg.Data, log)
}

func (p *privacy) routes(mux *http.ServeMux) { p.vault.Routes(mux, p.adminToken, p.log) }

func (p *privacy) close(context.Context) error {
	return errors.Join(p.scrub.Close(), p.vault.Close())
}

// scrubAdapter fits the scrubber to the collector's SpanScrubber interface.
type scrubAdapter struct{ s *scrub.Scrubber }

// Scrub scrubs data in place.
func (a scrubAdapter) Scrub(ctx context.Context, c *contract.Contract, data any) (any, []event.Applied, error) {
	applied, err := a.s.Scrub(ctx, c, data)
	if err != nil {
		return nil, nil, reasonError{err}
	}
	return data, applied, nil
}

// Captures returns the pointers the contract's plan reads on the byte path; a
// contract without a usable plan takes the decoded path, which reports why.
func (a scrubAdapter) Captures(c *contract.Contract) ([]string, bool) {
	p, err := a.s.Plan(c)
	if err != nil {
		return nil, false
	}
	return p.Captures()
}

// ScrubBytes scrubs a valid entity on its bytes.
func (a scrubAdapter) ScrubBytes(ctx context.Context, c *contract.Contract, data []byte, spans collect.Spans, into []byte, dst []event.Applied) ([]byte, []event.Applied, bool, error) {
	p, err := a.s.Plan(c)
	if err != nil {
		return nil, nil, false, nil // the decoded path reports the plan's error
	}
	out, applied, err := p.ScrubBytesTo(ctx, into, dst, "", data, spans)
	switch {
	case errors.Is(err, scrub.ErrUseTree):
		return nil, nil, false, nil
	case err != nil:
		return nil, nil, true, reasonError{err}
	}
	return out, applied, true, nil
}

// Seal seals (else redacts) data in place; when the contract has no usable plan
// nothing is known about its fields and the whole value is withheld.
func (a scrubAdapter) Seal(ctx context.Context, c *contract.Contract, data any) (any, []string, []string) {
	sealed, redacted, err := a.s.Seal(ctx, c, data)
	if err != nil {
		return "<withheld: the contract's privacy annotations could not be applied>", nil, []string{""}
	}
	return data, sealed, redacted
}

// SealAll seals every value of an event that names no contract under a
// subject its protocol knows (collect.Incoming.SealAll).
func (a scrubAdapter) SealAll(ctx context.Context, controller, subject string, data any, under []string) ([]string, []string) {
	return a.s.SealAll(ctx, controller, subject, data, under)
}

// SealBytes seals a bad row's entity on its bytes; a contract without a usable
// plan takes Seal, which withholds it.
func (a scrubAdapter) SealBytes(ctx context.Context, c *contract.Contract, dst, data []byte) ([]byte, []string, []string, bool) {
	p, err := a.s.Plan(c)
	if err != nil {
		return dst, nil, nil, false
	}
	return p.SealBytes(ctx, dst, data)
}

// reasonError gives a scrub error its fixed reason, and marks a vault outage as
// retryable so the producer retries instead of the event being dead-lettered.
type reasonError struct{ err error }

func (e reasonError) Error() string  { return e.err.Error() }
func (e reasonError) Unwrap() error  { return e.err }
func (e reasonError) Reason() string { return scrub.ReasonOf(e.err) }
func (e reasonError) Retryable() bool {
	return scrub.ReasonOf(e.err) == scrub.ReasonTokenizeFailed
}
