package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/accord-dev/accord/internal/admin"
	"github.com/accord-dev/accord/internal/app/certs"
	"github.com/accord-dev/accord/internal/app/conns"
	"github.com/accord-dev/accord/internal/buffer"
	"github.com/accord-dev/accord/internal/collect"
	"github.com/accord-dev/accord/internal/collect/native"
	"github.com/accord-dev/accord/internal/collect/replay"
	"github.com/accord-dev/accord/internal/collect/segment"
	"github.com/accord-dev/accord/internal/collect/snowplow"
	"github.com/accord-dev/accord/internal/event"
	"github.com/accord-dev/accord/internal/registry"
	"github.com/accord-dev/accord/internal/sink"
)

// App is one running Accord process (role all: collector and loader together on
// the embedded disk buffer).
type App struct {
	cfg      Config
	log      *slog.Logger
	reg      *registry.Registry
	buf      *buffer.Disk
	pipeline *collect.Pipeline
	privacy  *privacy
	mux      *http.ServeMux
	loaders  []*sink.Loader
	closers  []func(context.Context) error
	metrics  *prometheus.Registry
	ready    func() error
	certs    *certs.Files // nil: plain HTTP
	conns    *conns.Limiter
	segment  *segment.Handler
	replay   *replay.Replayer
	bad      *sink.BadFiles
}

// New opens everything the config names. On error, whatever was opened is closed.
func New(ctx context.Context, cfg Config, log *slog.Logger, stdout io.Writer) (a *App, err error) {
	a = &App{cfg: cfg, log: log, mux: http.NewServeMux(), metrics: prometheus.NewRegistry()}
	opened := a // a is nil once an error is returned
	defer func() {
		if err != nil {
			opened.close(context.Background())
			a = nil
		}
	}()
	a.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if cfg.Server.Instance == "" {
		cfg.Server.Instance, _ = os.Hostname()
		a.cfg.Server.Instance = cfg.Server.Instance
	}
	if err := os.MkdirAll(cfg.Data, 0o750); err != nil {
		return nil, fmt.Errorf("creating data folder: %w", err)
	}
	if t := cfg.Server.TLS; t.Enabled() {
		if a.certs, err = certs.Load(t.CertFile, t.KeyFile, certs.DefaultInterval, log); err != nil {
			return nil, err
		}
		a.metrics.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "accord_server_certificate_expiry_timestamp_seconds",
			Help: "When the TLS certificate being served expires (Unix time); renewed files are picked up within a minute.",
		}, func() float64 { return float64(a.certs.NotAfter().Unix()) }))
	}

	if a.conns, err = conns.New(conns.Options{Max: cfg.Server.MaxConnections, Plain: a.certs == nil,
		HeaderTimeout: cfg.Server.ReadHeaderTimeout}, a.metrics); err != nil {
		return nil, err
	}

	a.reg, err = registry.New(registry.Config{Dir: cfg.Registry, Validator: cfg.Validator}, log)
	if err != nil {
		return nil, err
	}
	a.metrics.MustRegister(a.reg.Collectors()...)

	consumers := []string{"bad_rows"}
	if cfg.Sinks.Lake.Enabled {
		consumers = append(consumers, "lake")
	}
	if cfg.Sinks.Stdout.Enabled {
		consumers = append(consumers, "stdout")
	}
	a.buf, err = buffer.Open(filepath.Join(cfg.Data, "buffer"), buffer.Options{
		MaxBytes: cfg.Buffer.MaxBytes, SegmentBytes: cfg.Buffer.SegmentBytes, MaxRecordBytes: maxRecordBytes(cfg), AckInterval: cfg.Buffer.AckInterval,
		MaxBatchDelay: cfg.Buffer.MaxBatchDelay, Prewrite: cfg.Buffer.Prewrite, Consumers: consumers,
		// The bad-row loader gets the bad rows only: envelopes, nearly every
		// record, are checked but not copied for it.
		Wants: map[string]func([]byte) bool{"bad_rows": event.IsBadRowRecord},
		// The lake's loader hands each read to the lake, which copies it into
		// its column writers (a sink.Stream keeps no record): one read buffer.
		Transient: lakeConsumer(cfg)})
	if err != nil {
		return nil, fmt.Errorf("opening the buffer: %w", err)
	}
	buf := a.buf // a is nil in New's deferred cleanup once an error is returned
	a.closers = append(a.closers, func(context.Context) error { return buf.Close() })
	if err := registerBufferGauges(a.metrics, a.buf); err != nil {
		return nil, err
	}

	a.privacy, err = openPrivacy(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.privacy.close)
	a.metrics.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "accord_scrub_seal_failures_total",
		Help: "Bad-row entities whose personal data could not be sealed (the vault failed) and was redacted instead: those rows cannot be replayed.",
	}, func() float64 { return float64(a.privacy.scrub.Stats().SealFailed) }))

	cm, err := collect.NewMetrics(a.metrics)
	if err != nil {
		return nil, err
	}
	validator, err := newValidator(cfg.Validator, a.reg)
	if err != nil {
		return nil, err
	}
	a.pipeline, err = collect.NewPipeline(collect.Deps{
		Contracts: a.reg, Validator: validator, Scrubber: a.privacy.scrubber, Buffer: a.buf,
		Metrics: cm, Log: log, Instance: cfg.Server.Instance, Limits: cfg.Limits,
		StoreWrites: a.privacy.vault.StoreWrites,
	})
	if err != nil {
		return nil, err
	}

	lm, err := sink.NewLoaderMetrics(a.metrics)
	if err != nil {
		return nil, err
	}
	bad, err := sink.NewBadFiles(filepath.Join(cfg.Data, "bad"), cfg.BadRows.Retention, log)
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, bad.Close)
	a.bad = bad
	a.segment = segment.New(a.pipeline, cfg.Access, cfg.Segment.UnresolvedController)
	a.replay, err = replay.New(replay.Deps{BadDir: filepath.Join(cfg.Data, "bad"), LedgerDir: filepath.Join(cfg.Data, "replay"),
		Retention: cfg.BadRows.Retention, Pipeline: a.pipeline, Unsealer: a.privacy.vault, Keys: a.privacy.vault, Log: log, Metrics: a.metrics,
		Resolvers: map[string]replay.Resolver{segment.Protocol: a.segment.Resolve}})
	if err != nil {
		return nil, err
	}
	a.loaders = append(a.loaders, &sink.Loader{Name: "bad_rows", Buffer: a.buf, BadRows: bad, Metrics: lm, Log: log})
	if cfg.Sinks.Lake.Enabled {
		lake, err := openLake(cfg, a.reg, log)
		if err != nil {
			return nil, err
		}
		a.closers = append(a.closers, lake.Close)
		a.loaders = append(a.loaders, &sink.Loader{Name: "lake", Buffer: a.buf, Sink: lake, Metrics: lm, Log: log,
			MaxBatch: lakeRead, MaxBytes: lakeBytes(cfg), Linger: cfg.Sinks.Lake.RotateInterval})
	}
	if cfg.Sinks.Stdout.Enabled {
		out := sink.NewStdout(stdout)
		a.closers = append(a.closers, out.Close)
		a.loaders = append(a.loaders, &sink.Loader{Name: "stdout", Buffer: a.buf, Sink: out, Metrics: lm, Log: log})
	}

	if len(cfg.Access.WriteKeys) == 0 {
		log.Warn("no write keys configured: every ingest route accepts events from anyone who can reach it; set access.write_keys (Segment libraries send theirs as the Basic auth user)", "addr", cfg.Server.Addr)
	}
	if err := a.routes(); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *App) routes() error {
	native.New(a.pipeline, a.cfg.Access).Routes(a.mux)
	a.segment.Routes(a.mux)
	sp, err := snowplow.New(a.pipeline, a.cfg.Access, a.cfg.Snowplow.Paths)
	if err != nil {
		return err
	}
	sp.Routes(a.mux)
	a.reg.Register(a.mux)
	a.privacy.routes(a.mux)
	a.replay.Routes(a.mux, admin.NewGuard(a.cfg.Privacy.AdminToken, "replay"))
	a.mux.Handle("GET /metrics", promhttp.HandlerFor(a.metrics, promhttp.HandlerOpts{Registry: a.metrics}))
	healthz := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "ok\n")
	}
	a.mux.HandleFunc("GET /healthz", healthz)
	// The Snowplow collector's names, which load balancers and crawlers set
	// up for one use.
	a.mux.HandleFunc("GET /health", healthz)
	a.mux.HandleFunc("GET /robots.txt", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "User-agent: *\nDisallow: /\n")
	})
	a.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		if err := a.readiness(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "not ready: "+err.Error()+"\n")
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	a.mux.HandleFunc("/", unmatched(a.mux))
	return nil
}

// readiness fails when the buffer is nearly full, so a load balancer sends
// producers elsewhere before they get 503s.
func (a *App) readiness() error {
	st, err := a.buf.Stats()
	if err != nil {
		return fmt.Errorf("buffer: %w", err)
	}
	// As Append counts it: acknowledgments not yet written hold their space.
	if st.CapacityBytes > 0 && st.UsedBytes > st.CapacityBytes*9/10 {
		return fmt.Errorf("buffer is %d%% full", 100*st.UsedBytes/st.CapacityBytes)
	}
	if a.reg.Snapshot() == nil {
		return errors.New("no contracts loaded")
	}
	return nil
}

// Handler is the whole HTTP API, for in-process tests.
func (a *App) Handler() http.Handler { return a.mux }

// Pipeline is the collector pipeline, for benchmarks.
func (a *App) Pipeline() *collect.Pipeline { return a.pipeline }

// MasterKeySource says where the vault's master key came from (and, on first run,
// where it was generated, so the operator can back it up).
func (a *App) MasterKeySource() string { return a.privacy.vault.MasterKeySource }

// Replayer replays bad rows through this app's pipeline (docs/replay.md).
func (a *App) Replayer() *replay.Replayer { return a.replay }

// Registry is the contract registry.
func (a *App) Registry() *registry.Registry { return a.reg }

// Serve listens on the configured address and runs until ctx ends, then shuts down
// gracefully: stop accepting, finish requests in flight (their events are durable
// before they are answered), stop the loaders, close the buffer and sinks.
func (a *App) Serve(ctx context.Context, ready func(addr string)) error {
	ln, err := net.Listen("tcp", a.cfg.Server.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w (pass --addr with a free port)", a.cfg.Server.Addr, err)
	}
	return a.ServeListener(ctx, ln, ready)
}

// ServeListener is Serve on a listener the caller opened.
func (a *App) ServeListener(ctx context.Context, ln net.Listener, ready func(addr string)) error {
	ln = a.conns.Listener(ln)
	srv := &http.Server{
		Handler:           a.mux,
		ConnState:         a.conns.ConnState,
		ReadHeaderTimeout: a.cfg.Server.ReadHeaderTimeout,
		ReadTimeout:       a.cfg.Server.ReadTimeout,
		WriteTimeout:      a.cfg.Server.WriteTimeout,
		IdleTimeout:       a.cfg.Server.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          serverErrorLog(a.log.Handler()),
	}
	// The loaders deliver until the server has stopped taking events
	// (drain), then what the buffer still holds, until the shutdown's deadline
	// (loaderCtx).
	loaderCtx, stopLoaders := context.WithCancel(context.Background())
	defer stopLoaders()
	drain, startDrain := context.WithCancel(context.Background())
	defer startDrain()
	var wg, loading sync.WaitGroup
	loaderErr := make(chan error, len(a.loaders))
	for _, l := range a.loaders {
		loading.Go(func() {
			if err := l.Run(loaderCtx, drain); err != nil {
				a.log.Error("a loader stopped", "sink", l.Name, "err", err)
				loaderErr <- err
			}
		})
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	wg.Go(func() {
		if err := a.reg.Watch(watchCtx); err != nil && watchCtx.Err() == nil {
			a.log.Error("registry watch stopped", "err", err)
		}
	})
	wg.Go(func() { a.expire(watchCtx) })
	serveErr := make(chan error, 1)
	if a.certs != nil {
		srv.TLSConfig = a.certs.Config()
		go func() { serveErr <- srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { serveErr <- srv.Serve(ln) }()
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
	case err = <-loaderErr:
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), a.cfg.Server.ShutdownTimeout)
	defer cancel()
	if serr := srv.Shutdown(shutdownCtx); serr != nil && err == nil {
		err = fmt.Errorf("shutting down the HTTP server: %w", serr)
	}
	stopWatch()
	// No request appends any more: the loaders deliver the backlog, the lake
	// commits its open files, until the deadline of the shutdown.
	if st, err := a.buf.Stats(); err == nil && st.Records > 0 {
		deadline, _ := shutdownCtx.Deadline()
		a.log.Info("stopping: delivering what the buffer holds before exiting", "records", st.Records, "at_most", time.Until(deadline).Round(time.Millisecond))
	}
	startDrain()
	stopAtDeadline := context.AfterFunc(shutdownCtx, stopLoaders)
	loading.Wait()
	stopAtDeadline()
	a.logBacklog()
	wg.Wait()
	if cerr := a.close(shutdownCtx); cerr != nil && err == nil {
		err = cerr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// expireEvery is how often expire looks for bad rows past their retention: a
// day folder is deleted at most this long after its last row's retention ends.
const expireEvery = time.Minute

// expire deletes the bad rows that have outlived bad_rows.retention, and their
// replay ledgers, at once and then every expireEvery until ctx ends: the
// personal data sealed in them must be gone at the end of the retention
// whether or not new events arrive.
func (a *App) expire(ctx context.Context) {
	t := time.NewTicker(expireEvery)
	defer t.Stop()
	for {
		if _, err := a.bad.Expire(); err != nil {
			a.log.Warn("bad rows past their retention are not all deleted; retrying in a minute", "err", err)
		}
		if _, err := a.replay.Expire(); err != nil {
			a.log.Warn("replay ledgers past the retention are not all deleted; retrying in a minute", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// maxRecordBytes is the largest buffer record: an event as large as the
// largest body, once enveloped (scrubbed fields and sealed values take more
// bytes than they had), with room to spare; at least the buffer's default of
// 4 MiB, and at most what a segment and the buffer hold.
func maxRecordBytes(cfg Config) int {
	want := max(buffer.DefaultMaxRecordBytes, 2*cfg.Limits.MaxBodyBytes+64<<10)
	return int(max(1, min(want, buffer.RecordFit(cfg.Buffer.SegmentBytes, cfg.Buffer.MaxBytes))))
}

// logBacklog says, at a stop, what the buffer still holds for the sinks: it is
// delivered at the next start (server.shutdown_timeout bounds the delivery at
// a stop).
func (a *App) logBacklog() {
	st, err := a.buf.Stats()
	switch {
	case err != nil:
		a.log.Warn("reading the buffer's backlog at shutdown", "err", err)
	case st.Records > 0:
		var left []string
		for _, c := range st.Consumers {
			if c.Records > 0 {
				left = append(left, fmt.Sprintf("%s: %d", c.Name, c.Records))
			}
		}
		a.log.Warn("stopped with records not yet delivered to every sink; they stay in the buffer and are delivered at the next start (a longer server.shutdown_timeout delivers more at a stop)",
			"records", st.Records, "per_sink", strings.Join(left, ", "), "oldest_age", st.OldestAge.Round(time.Millisecond))
	default:
		a.log.Info("every buffered event was delivered to the sinks before the stop")
	}
}

// Scheme is how clients reach the server: https with server.tls, else http.
func (a *App) Scheme() string {
	if a.certs != nil {
		return "https"
	}
	return "http"
}

// Close releases everything without serving, for callers that only built the app.
func (a *App) Close(ctx context.Context) error { return a.close(ctx) }

func (a *App) close(ctx context.Context) error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		if err := a.closers[i](ctx); err != nil {
			errs = append(errs, err)
		}
	}
	a.closers = nil
	return errors.Join(errs...)
}

func registerBufferGauges(reg prometheus.Registerer, buf *buffer.Disk) error {
	stat := func(f func(buffer.Stats) float64) func() float64 {
		return func() float64 {
			st, err := buf.Stats()
			if err != nil {
				return 0
			}
			return f(st)
		}
	}
	for _, g := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "accord_buffer_records", Help: "Records in the buffer not yet delivered by the slowest sink."},
			stat(func(s buffer.Stats) float64 { return float64(s.Records) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "accord_buffer_bytes", Help: "Bytes in the buffer not yet delivered by the slowest sink."},
			stat(func(s buffer.Stats) float64 { return float64(s.Bytes) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "accord_buffer_capacity_bytes", Help: "Buffer capacity; the collector answers 503 when accord_buffer_used_bytes reaches it."},
			stat(func(s buffer.Stats) float64 { return float64(s.CapacityBytes) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "accord_buffer_used_bytes", Help: "Buffer capacity in use as appends count it: bytes not durably acknowledged by the slowest sink (acknowledgments are written every buffer.ack_interval), and appends in flight."},
			stat(func(s buffer.Stats) float64 { return float64(s.UsedBytes) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "accord_buffer_oldest_age_seconds", Help: "Age of the oldest undelivered record."},
			stat(func(s buffer.Stats) float64 { return s.OldestAge.Seconds() })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "accord_buffer_fsyncs_total", Help: "Buffer fsyncs; far fewer than appends thanks to group commit."},
			stat(func(s buffer.Stats) float64 { return float64(s.Fsyncs) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "accord_buffer_fsync_seconds_total", Help: "Time spent in buffer fsyncs; divided by accord_buffer_fsyncs_total, the mean fsync (the floor of ack latency)."},
			stat(func(s buffer.Stats) float64 { return s.FsyncTime.Seconds() })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "accord_buffer_appended_records_total", Help: "Records durably appended to the buffer."},
			stat(func(s buffer.Stats) float64 { return float64(s.Appended) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "accord_buffer_prewritten_segments_total", Help: "Buffer segments started from space written ahead (buffer.prewrite), whose fsyncs write data only."},
			stat(func(s buffer.Stats) float64 { return float64(s.Prewritten) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "accord_buffer_prewrite_failures_total", Help: "Segments that could not be written ahead (a full disk?); the next one then grows as without buffer.prewrite."},
			stat(func(s buffer.Stats) float64 { return float64(s.PrewriteFailures) })),
	} {
		if err := reg.Register(g); err != nil {
			return err
		}
	}
	return nil
}
