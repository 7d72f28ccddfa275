// Package registry serves a folder of contracts: it holds the current compiled
// snapshot, swaps it whole when the folder changes (on SIGHUP or when a poll sees a
// changed file), and serves it over HTTP as an Iglu-compatible schema registry plus
// Accord's own contract catalog and validation endpoints.
//
// Requests never see a half-loaded registry: a reload builds a new
// contract.Snapshot next to the serving one, and only when it compiles without a
// single problem is it swapped in with one atomic store. A broken edit leaves the
// previous snapshot serving.
package registry

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/accord-dev/accord/internal/contract"
)

// Defaults of Config.
const (
	DefaultPollInterval = 2 * time.Second
	DefaultMaxBodyBytes = 1 << 20
)

// Config configures a Registry.
type Config struct {
	// Dir is the registry folder in the Iglu layout.
	Dir string
	// PollInterval is how often Watch lists the folder looking for changed files;
	// zero means DefaultPollInterval, a negative value turns polling off (SIGHUP
	// still reloads).
	PollInterval time.Duration
	// Signals, when set, replaces SIGHUP as the reload trigger of Watch: every value
	// received reloads. Tests inject a channel here; nil listens for SIGHUP.
	Signals <-chan os.Signal
	// MaxBodyBytes bounds the body of POST /v1/validate; zero means
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Validator is the engine of POST /v1/validate: ValidatorFast (the default
	// when empty) or ValidatorReference.
	Validator string
}

// Registry holds the snapshot of a registry folder that is being served. All its
// methods are safe for concurrent use.
type Registry struct {
	cfg Config
	log *slog.Logger

	cur atomic.Pointer[state]

	// reloadMu serialises reloads, so that snapshots are swapped and announced to
	// subscribers in the order they were built.
	reloadMu sync.Mutex
	// lastPrint is the folder fingerprint the current snapshot (or the last failed
	// attempt) was loaded from; guarded by reloadMu.
	lastPrint string
	// seenPrint is the changed fingerprint the last poll saw: a poll reloads
	// only when it sees the same one again (see poll).
	seenPrint string

	mu       sync.Mutex // guards the fields below
	subs     map[int]func(*contract.Snapshot)
	nextSub  int
	failures uint64
	lastErr  error
	lastErrT time.Time
}

// state is one served generation: the snapshot and everything precomputed from it.
// It is immutable once stored.
type state struct {
	snap     *contract.Snapshot
	view     *view
	check    Checker // POST /v1/validate's, with programs of this snapshot's contracts
	gen      uint64
	loadedAt time.Time
}

// Open loads the registry folder dir with the default configuration. It fails,
// listing every problem at once, when any contract is broken.
func Open(dir string, log *slog.Logger) (*Registry, error) {
	return New(Config{Dir: dir}, log)
}

// New loads the registry folder cfg.Dir and returns a Registry serving it. It
// fails, listing every problem at once, when any contract is broken. log may be
// nil to discard logs.
func New(cfg Config, log *slog.Logger) (*Registry, error) {
	if cfg.Dir == "" {
		return nil, errors.New("opening registry: no folder given (pass --registry DIR)")
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	v, err := ParseValidator(cfg.Validator)
	if err != nil {
		return nil, fmt.Errorf("opening registry: %w", err)
	}
	cfg.Validator = v
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Registry{cfg: cfg, log: log, subs: map[int]func(*contract.Snapshot){}}
	// An unlistable folder fails in load below, with a better message.
	fp, err := fingerprint(cfg.Dir)
	if err != nil {
		fp = ""
	}
	st, err := r.load(1)
	if err != nil {
		return nil, err
	}
	r.lastPrint = fp
	r.cur.Store(st)
	log.Info("registry loaded", "dir", cfg.Dir, "contracts", st.snap.Len(), "families", len(st.snap.Families()))
	return r, nil
}

// load reads and compiles the folder into a new state of generation gen.
func (r *Registry) load(gen uint64) (*state, error) {
	snap, err := contract.LoadSnapshot(r.cfg.Dir)
	if err != nil {
		return nil, err
	}
	v, err := buildView(snap)
	if err != nil {
		return nil, fmt.Errorf("loading registry %s: %w", r.cfg.Dir, err)
	}
	check, err := NewChecker(snap, r.cfg.Validator)
	if err != nil {
		return nil, err
	}
	return &state{snap: snap, view: v, check: check, gen: gen, loadedAt: time.Now()}, nil
}

// Dir is the registry folder being served.
func (r *Registry) Dir() string { return r.cfg.Dir }

// Snapshot returns the snapshot being served. It never changes: callers that keep
// it keep a consistent registry even across reloads; call Snapshot again to see
// the newest one.
func (r *Registry) Snapshot() *contract.Snapshot { return r.cur.Load().snap }

// Reload loads and compiles the folder again and, when that succeeds without any
// problem, swaps the new snapshot in and calls the subscribers. On failure the
// previous snapshot keeps serving and the error lists every problem. Reload does
// not log failures: callers decide (Watch logs them).
func (r *Registry) Reload() error {
	r.reloadMu.Lock()
	defer r.reloadMu.Unlock()
	fp, err := fingerprint(r.cfg.Dir)
	if err != nil {
		fp = "" // the load fails and says why
	}
	return r.reloadLocked(fp)
}

// reloadLocked does the work of Reload with reloadMu held; fp is the folder's
// fingerprint taken before loading, so that an edit made during the load is seen
// by the next poll.
func (r *Registry) reloadLocked(fp string) error {
	old := r.cur.Load()
	st, err := r.load(old.gen + 1)
	r.lastPrint = fp
	if err != nil {
		r.mu.Lock()
		r.failures++
		r.lastErr = err
		r.lastErrT = time.Now()
		r.mu.Unlock()
		return fmt.Errorf("reloading registry (still serving generation %d): %w", old.gen, err)
	}
	r.cur.Store(st)
	r.mu.Lock()
	r.lastErr = nil
	subs := make([]func(*contract.Snapshot), 0, len(r.subs))
	for id := 0; id < r.nextSub; id++ {
		if fn, ok := r.subs[id]; ok {
			subs = append(subs, fn)
		}
	}
	r.mu.Unlock()
	r.log.Info("registry reloaded", "dir", r.cfg.Dir, "generation", st.gen, "contracts", st.snap.Len(), "families", len(st.snap.Families()))
	for _, fn := range subs {
		fn(st.snap)
	}
	return nil
}

// Subscribe registers fn to be called with every snapshot swapped in after this
// call, in swap order, one call at a time, after the snapshot is already being
// served. fn runs on the reloading goroutine: it should rebuild its own state
// quickly and must not call Reload. The returned function unsubscribes.
func (r *Registry) Subscribe(fn func(*contract.Snapshot)) (unsubscribe func()) {
	r.mu.Lock()
	id := r.nextSub
	r.nextSub++
	r.subs[id] = fn
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		delete(r.subs, id)
		r.mu.Unlock()
	}
}

// Status describes what the registry serves and how its reloads went.
type Status struct {
	Dir string `json:"dir"`
	// Generation counts successful loads: 1 after Open, +1 per successful reload.
	Generation uint64 `json:"generation"`
	// LoadedAt is when the serving snapshot was loaded.
	LoadedAt  time.Time `json:"loaded_at"`
	Contracts int       `json:"contracts"`
	Families  int       `json:"families"`
	// FailedReloads counts reloads refused because the folder had problems.
	FailedReloads uint64 `json:"failed_reloads"`
	// LastError is the error of the most recent reload when it failed, and empty
	// once a reload succeeds again.
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
}

// Status reports the serving generation and the reload history.
func (r *Registry) Status() Status {
	st := r.cur.Load()
	s := Status{Dir: r.cfg.Dir, Generation: st.gen, LoadedAt: st.loadedAt, Contracts: st.snap.Len(), Families: len(st.snap.Families())}
	r.mu.Lock()
	s.FailedReloads = r.failures
	if r.lastErr != nil {
		s.LastError = r.lastErr.Error()
		s.LastErrorAt = r.lastErrT
	}
	r.mu.Unlock()
	return s
}
