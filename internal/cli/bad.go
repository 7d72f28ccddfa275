package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/accord-dev/accord/internal/app"
	"github.com/accord-dev/accord/internal/buffer"
	"github.com/accord-dev/accord/internal/collect/replay"
	"github.com/accord-dev/accord/internal/collect/segment"
	"github.com/accord-dev/accord/internal/contract"
	"github.com/accord-dev/accord/internal/event"
	"github.com/accord-dev/accord/internal/vault"
)

func newBadCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bad",
		Short: "Summarise bad rows, and replay them once what rejected them is fixed",
		Long: `Bad rows (accord-data/bad/date=YYYY-MM-DD/*.ndjson) keep each rejected event with
its personal data sealed under its data subject. Once the cause is fixed (a
contract published or corrected, a limit raised), replay them: the running
collector unseals them, processes them again and stores those accepted now,
keeping their event ids and times. See docs/replay.md.`,
	}
	cmd.AddCommand(newBadSummaryCmd(e), newBadReplayCmd(e))
	return cmd
}

func newBadSummaryCmd(e *env) *cobra.Command {
	var (
		config, data, from, to, server, token string
		asJSON                                bool
	)
	cmd := &cobra.Command{
		Use:   "summary [--data DIR] [--from DAY] [--to DAY]",
		Short: "Count bad rows by day, reason and schema: how many a replay could restore, and their first failures",
		Long: `Counts the bad rows of the data folder by day, reason and schema, as a replay
would judge them now. Rows whose data subject was forgotten cannot be replayed:
to tell them, the vault is asked whether each sealed value's key still exists
(nothing is unsealed). The collector running on the data folder is asked, with
the admin token, since it holds the vault; with it stopped (or a shared postgres
vault) the command opens the vault itself. When neither can be done, the summary
says how many replayable rows it could not check. See docs/replay.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(config)
			if err != nil {
				return err
			}
			if data != "" {
				cfg.Data = data
			}
			if err := existingData(cfg.Data); err != nil {
				return err
			}
			if err := (&replay.Request{From: from, To: to}).Validate(); err != nil {
				return usageError{err}
			}
			if token == "" {
				token = cfg.Privacy.AdminToken // the config's, or ACCORD_ADMIN_TOKEN
			}
			if server == "" {
				server = collectorURL(cfg)
			}
			badDir := filepath.Join(cfg.Data, "bad")
			sum, by, err := collectorSummary(cmd.Context(), server, token, badDir, from, to)
			if err != nil {
				return err
			}
			if by == "" {
				keys := &summaryVault{cfg: cfg, collector: sum.UncheckedWhy}
				sum, err = replay.Summarize(cmd.Context(), replay.SummaryDeps{BadDir: badDir, LedgerDir: filepath.Join(cfg.Data, "replay"),
					Retention: cfg.BadRows.Retention, Resolvable: []string{segment.Protocol}, Keys: keys}, from, to)
				if err := errors.Join(err, keys.close()); err != nil {
					return err
				}
			}
			if asJSON {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(sum)
			}
			if by != "" {
				by = " (counted by the collector at " + by + ")"
			}
			fmt.Fprintf(e.stdout, "%d bad rows under %s%s\n", sum.Rows, badDir, by)
			for _, g := range sum.Groups {
				schema := showSchema(g.Schema)
				fmt.Fprintf(e.stdout, "%s  %-24s  %s  %d rows: %d replayable, %d not replayable, %d replayed\n",
					g.Date, g.Reason, schema, g.Rows, g.Replayable, g.NotReplayable, g.Replayed)
				for _, f := range g.Failures {
					ptr := f.Pointer
					if ptr == "" {
						ptr = "(root)"
					}
					fmt.Fprintf(e.stdout, "    %5d  %s %s\n", f.Rows, ptr, f.Message)
				}
				if g.Why != "" {
					fmt.Fprintf(e.stdout, "    not replayable: %s\n", g.Why)
				}
			}
			if sum.Unreadable > 0 {
				fmt.Fprintf(e.stdout, "%d lines are not bad rows\n", sum.Unreadable)
			}
			if sum.Unchecked > 0 {
				fmt.Fprintf(e.stdout, "not checked: %d of the replayable rows hold sealed personal data, and whether their subjects were forgotten is unknown (a replay finds those not replayable): %s\n",
					sum.Unchecked, sum.UncheckedWhy)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&config, "config", "", "config file (YAML, version: 1), as for accord serve")
	f.StringVar(&data, "data", "", "data folder (default: the config's, else accord-data)")
	f.StringVar(&from, "from", "", "first day (YYYY-MM-DD, UTC)")
	f.StringVar(&to, "to", "", "last day (YYYY-MM-DD, UTC)")
	f.BoolVar(&asJSON, "json", false, "print the summary as JSON")
	f.StringVar(&server, "server", "", "the collector to ask, when it runs on the data folder (default: from the config's server.addr and server.tls, else http://127.0.0.1:8080)")
	f.StringVar(&token, "admin-token", "", "the collector's admin token (default $ACCORD_ADMIN_TOKEN); without one the collector is not asked")
	return cmd
}

// collectorSummary asks the collector at server for the summary when it keeps
// its bad rows in badDir: it holds the vault, which alone says whose subjects
// were forgotten. by is server when its summary is the answer; otherwise the
// summary is empty but for UncheckedWhy, which says why the collector was
// not asked or its answer not used. A collector that answers with a refusal
// (a wrong token) is an error: the command was told to ask it.
func collectorSummary(ctx context.Context, server, token, badDir, from, to string) (sum replay.Summary, by string, err error) {
	if token == "" {
		return replay.Summary{UncheckedWhy: "no admin token was given to ask the collector with (set ACCORD_ADMIN_TOKEN or pass --admin-token)"}, "", nil
	}
	got, err := (&replay.Client{Base: server, Token: token}).Summary(ctx, from, to)
	var unreachable *replay.UnreachableError
	switch {
	case errors.As(err, &unreachable):
		return replay.Summary{UncheckedWhy: fmt.Sprintf("no collector answered at %s (pass --server with its URL)", server)}, "", nil
	case err != nil:
		return replay.Summary{}, "", err
	case !sameFolder(got.Dir, badDir):
		return replay.Summary{UncheckedWhy: fmt.Sprintf("the collector at %s keeps its bad rows in %s, not in %s (pass --server with the URL of the one on this folder)", server, got.Dir, badDir)}, "", nil
	}
	return got, server, nil
}

// sameFolder says whether two paths name one existing folder (links
// followed).
func sameFolder(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	return err == nil && os.SameFile(sa, sb)
}

// summaryVault is the vault of the data folder, opened when a summary first
// has sealed values to check: a summary of rows without any needs none.
// While accord serve holds an embedded vault, it cannot be opened, and its
// error says why the collector was not asked instead (collector).
type summaryVault struct {
	cfg       app.Config
	collector string
	v         *vault.Vault
	err       error
}

// CheckSealed implements replay.KeyChecker.
func (s *summaryVault) CheckSealed(ctx context.Context, sealed []string) ([]error, error) {
	if s.v == nil && s.err == nil {
		s.v, s.err = s.open(ctx)
	}
	if s.err != nil {
		return nil, s.err
	}
	return s.v.CheckSealed(ctx, sealed)
}

func (s *summaryVault) open(ctx context.Context) (*vault.Vault, error) {
	// Opened where there is none, the embedded vault would be created, with a
	// new master key: a summary creates nothing. The path is the one
	// vault.Open takes.
	if vc := s.cfg.Privacy.Vault; vc.Store == "" || vc.Store == vault.StoreEmbedded {
		path := vc.EmbeddedPath(s.cfg.Data)
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("there is no vault at %s (pass --config naming the vault accord serve uses)", path)
		}
	}
	v, err := app.OpenVault(ctx, s.cfg, nil)
	if errors.Is(err, vault.ErrInUse) {
		return nil, fmt.Errorf("another process (accord serve) holds the embedded vault, and %s", s.collector)
	}
	return v, err
}

func (s *summaryVault) close() error {
	if s.v == nil {
		return nil
	}
	if err := s.v.Close(); err != nil {
		return fmt.Errorf("closing the vault: %w", err)
	}
	return nil
}

func newBadReplayCmd(e *env) *cobra.Command {
	var (
		server, token, config, registryDir, data string
		reasons, as                              []string
		asJSON, offline                          bool
		q                                        replay.Request
	)
	cmd := &cobra.Command{
		Use:   "replay [--from DAY] [--to DAY] [--reason R] [--schema URI] [--id ID] [--as FROM=TO] [--dry-run] [--offline]",
		Short: "Send bad rows through the collector again; store those accepted now",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(config)
			if err != nil {
				return err
			}
			for _, r := range reasons {
				q.Reasons = append(q.Reasons, event.Reason(r))
			}
			for _, m := range as {
				// TO is a URI, which has no "=": FROM, as a bad row names
				// it, may be anything the producer sent.
				i := strings.LastIndexByte(m, '=')
				if i < 0 {
					return usagef("--as takes FROM=TO (the schema as bad rows name it, and a schema URI), got %q", m)
				}
				from, to := m[:i], m[i+1:]
				if q.As == nil {
					q.As = map[string]string{}
				}
				q.As[from] = to
			}
			if err := q.Validate(); err != nil {
				return usageError{err}
			}
			progress := func(r replay.Report) {
				if r.Next != "" && !asJSON {
					fmt.Fprintf(e.stderr, "… %d rows so far\n", r.Rows)
				}
			}
			var rep replay.Report
			if offline {
				if data != "" {
					cfg.Data = data
				}
				// accord serve would create a data folder that does not exist;
				// a replay would then find no bad rows in it and say so as if
				// that were an answer.
				if err := existingData(cfg.Data); err != nil {
					return err
				}
				if cmd.Flags().Changed("registry") || cfg.Registry == "" {
					if cfg.Registry, err = defaultRegistry(registryDir, e.stderr); err != nil {
						return err
					}
				}
				if err := cfg.Validate(); err != nil {
					return usageError{fmt.Errorf("config: %w", err)}
				}
				// Errors only: what accord serve says on start (listening, write
				// keys) does not apply to a replay.
				a, err := app.New(cmd.Context(), cfg, newLogger(e, app.LogConfig{Level: "error", Format: cfg.Log.Format}), io.Discard)
				if err != nil {
					if errors.Is(err, buffer.ErrInUse) || errors.Is(err, vault.ErrInUse) {
						return fmt.Errorf("%w; while accord serve runs on %s, replay through it (without --offline)", err, cfg.Data)
					}
					return err
				}
				rep, err = a.Replayer().RunAll(cmd.Context(), cliActor(), q, progress)
				if cerr := a.Close(cmd.Context()); err == nil {
					err = cerr
				}
				return finishReplay(e, rep, err, asJSON)
			}
			if token == "" {
				token = cfg.Privacy.AdminToken // the config's, or ACCORD_ADMIN_TOKEN
			}
			if token == "" {
				return usagef("a replay needs the collector's admin token: set ACCORD_ADMIN_TOKEN, privacy.admin_token in --config, or pass --admin-token")
			}
			if server == "" {
				server = collectorURL(cfg)
			}
			c := &replay.Client{Base: server, Token: token}
			rep, err = c.ReplayAll(cmd.Context(), q, progress)
			return finishReplay(e, rep, err, asJSON)
		},
	}
	f := cmd.Flags()
	f.StringVar(&server, "server", "", "the running collector's URL (default: from the config's server.addr and server.tls, else http://127.0.0.1:8080)")
	f.StringVar(&config, "config", "", "config file (YAML, version: 1), as for accord serve")
	f.StringVar(&token, "admin-token", "", "the collector's admin token (default $ACCORD_ADMIN_TOKEN)")
	f.StringVar(&q.From, "from", "", "first day of bad rows (YYYY-MM-DD, UTC)")
	f.StringVar(&q.To, "to", "", "last day of bad rows (YYYY-MM-DD, UTC)")
	f.StringArrayVar(&reasons, "reason", nil, "only rows rejected for this reason (repeatable), e.g. schema_not_found")
	f.StringArrayVar(&q.Schemas, "schema", nil, "only rows of this schema URI, or of every version under a prefix such as iglu:com.acme/checkout (repeatable)")
	f.StringArrayVar(&q.IDs, "id", nil, "only the bad row with this id (repeatable)")
	f.StringArrayVar(&as, "as", nil, "replay events (and contexts) of schema FROM (as bad rows name it, a malformed URI too) as schema TO, e.g. a fixed version (repeatable)")
	f.IntVar(&q.Limit, "limit", 0, fmt.Sprintf("rows per call to the collector (default %d)", replay.DefaultLimit))
	f.BoolVar(&q.DryRun, "dry-run", false, "validate and report; store nothing")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.BoolVar(&offline, "offline", false, "replay in this process, on --data, while accord serve is stopped: the events wait in the buffer for the next accord serve")
	f.StringVar(&data, "data", "", "with --offline: the data folder (default: the config's, else accord-data)")
	f.StringVar(&registryDir, "registry", "", "with --offline: the registry folder (default ./contracts, else the bundled example contracts)")
	return cmd
}

// finishReplay prints a replay's report and gives the exit code: 1 when rows
// were rejected again or cannot be replayed. A replay that failed before it
// considered a row (the collector unreachable, the token refused) prints no
// report, only its error: a report of zeros would read as a replay that found
// nothing to do. One that stopped after some rows reports them, as stopped.
func finishReplay(e *env, rep replay.Report, err error, asJSON bool) error {
	if err != nil && rep.Rows == 0 {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if jerr := enc.Encode(rep); jerr != nil {
			return errors.Join(err, jerr)
		}
	} else {
		printReplay(e, rep, err != nil)
	}
	if err != nil {
		return err
	}
	if rep.Rejected+rep.NotReplayable+rep.Unreadable > 0 {
		return exitError{ExitFindings}
	}
	return nil
}

// cliActor names the person at the command line, for the vault's audit log.
func cliActor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	return "cli"
}

// printReplay prints a replay's report; stopped says the replay ended on an
// error after the rows reported, before the last row it would consider.
func printReplay(e *env, rep replay.Report, stopped bool) {
	verb, until := "replayed", ""
	if rep.DryRun {
		verb = "dry run of"
	}
	if stopped {
		until = " before the replay stopped"
	}
	fmt.Fprintf(e.stdout, "%s %d bad rows%s: %d accepted, %d rejected again, %d not replayable, %d already replayed",
		verb, rep.Rows, until, rep.Accepted, rep.Rejected, rep.NotReplayable, rep.AlreadyReplayed)
	if rep.Unreadable > 0 {
		fmt.Fprintf(e.stdout, ", %d unreadable lines", rep.Unreadable)
	}
	fmt.Fprintln(e.stdout)
	for _, o := range rep.Outcomes {
		line := fmt.Sprintf("  %s  %s  %-16s  %s", o.Date, o.ID, o.Status, showSchema(o.Schema))
		switch {
		case o.Reason != "":
			line += "  " + string(o.Reason)
			for i, f := range o.Failures {
				if i == 3 {
					line += fmt.Sprintf(" (and %d more)", len(o.Failures)-3)
					break
				}
				line += fmt.Sprintf("; %s %s", f.Pointer, f.Message)
			}
		case o.Why != "":
			line += "  " + o.Why
		}
		fmt.Fprintln(e.stdout, line)
	}
	if rep.Truncated {
		fmt.Fprintf(e.stdout, "  (the first %d rows are listed; --json prints the same)\n", replay.MaxOutcomes)
	}
}

// collectorURL is where a command reaches the collector the config describes:
// its address (a wildcard host reached on loopback), over HTTPS when it serves
// TLS.
func collectorURL(cfg app.Config) string {
	scheme := "http"
	if cfg.Server.TLS.Enabled() {
		scheme = "https"
	}
	host, port, err := net.SplitHostPort(cfg.Server.Addr)
	if err != nil {
		return scheme + "://" + cfg.Server.Addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// showSchema prints a bad row's schema as it is: a valid URI plainly, another
// quoted (Go syntax), so that spaces and odd characters show and can be
// copied into --as; none as "(no schema)".
func showSchema(schema string) string {
	if schema == "" {
		return "(no schema)"
	}
	if _, err := contract.ParseURI(schema); err != nil {
		return strconv.Quote(schema)
	}
	return schema
}
