package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"golang.org/x/sync/errgroup"

	"github.com/omnichat/omnichat/activities"
	"github.com/omnichat/omnichat/api"
	"github.com/omnichat/omnichat/channel"
	"github.com/omnichat/omnichat/channel/whatsapp"
	"github.com/omnichat/omnichat/db"
	"github.com/omnichat/omnichat/db/dbsqlc"
	"github.com/omnichat/omnichat/devserver"
	"github.com/omnichat/omnichat/ingest"
	"github.com/omnichat/omnichat/metrics"
	"github.com/omnichat/omnichat/pglocal"
	"github.com/omnichat/omnichat/secret"
	"github.com/omnichat/omnichat/workflows"
)

// Mode is how the binary runs.
type Mode string

// The four ways to run omnichat.
const (
	// Dev runs everything in one process: an embedded Temporal server (unless
	// TEMPORAL_ADDRESS is set), migrations, the worker and the API.
	Dev Mode = "dev"
	// API serves HTTP against an existing Temporal and a migrated database.
	API Mode = "api"
	// Worker runs the session workflows and their activities.
	Worker Mode = "worker"
	// Migrate applies database migrations and registers Temporal's search attributes.
	Migrate Mode = "migrate"
	// Temporal runs only the embedded Temporal server and its Web UI, for an
	// api and a worker in processes of their own on one machine.
	Temporal Mode = "temporal"
)

// Version is the build's version, set with -ldflags.
var Version = "dev"

// devAdminEmail is the admin `dev` creates when none is configured.
const devAdminEmail = "admin@omnichat.local"

// Stack is a running omnichat: what Start built and Close releases.
type Stack struct {
	Config Config
	Mode   Mode
	Log    *slog.Logger
	DB     *pglocal.Database
	Pool   *pgxpool.Pool
	// workerPool is the worker's own connections (StartWorker).
	workerPool *pgxpool.Pool
	Metrics    *metrics.Metrics
	Secrets    *secret.Box
	// Temporal is the client; Embedded is the dev server, when one runs.
	Temporal client.Client
	Embedded *devserver.Server
	API      *api.Server
	// AdminPassword is set when Start created the admin with a generated password.
	AdminPassword string
	// WebChatChannelID is the built-in live-chat channel of dev mode.
	WebChatChannelID string

	worker   worker.Worker
	whatsApp *whatsapp.Adapter
	http     *http.Server
	httpAddr string
	runCtx   context.Context
	cancel   context.CancelFunc
	group    *errgroup.Group
}

// Start builds and starts omnichat in mode. It returns once everything
// answers; Wait then serves until the context ends, and Close stops it.
func Start(ctx context.Context, cfg Config, mode Mode, log *slog.Logger) (st *Stack, err error) {
	s := &Stack{Config: cfg, Mode: mode, Log: log, Metrics: metrics.New(), whatsApp: &whatsapp.Adapter{}}
	defer func() {
		if err != nil {
			s.Close(context.Background())
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	if cfg.WorkflowCacheSize > 0 {
		// Process-wide in the SDK, and fixed by the first worker to start:
		// the embedded Temporal's own system worker starts before ours, and
		// set later, the size was ignored (every open session stayed in
		// memory).
		worker.SetStickyWorkflowCacheSize(cfg.WorkflowCacheSize)
	}
	if mode == Temporal {
		return s, s.startTemporalOnly(ctx)
	}
	if err := s.openDatabase(ctx); err != nil {
		return nil, err
	}
	if mode == Dev || mode == Migrate {
		if err := db.Migrate(ctx, s.Pool); err != nil {
			return nil, err
		}
	} else if err := db.CheckMigrated(ctx, s.Pool); err != nil {
		return nil, err
	}
	if err := s.connectTemporal(ctx); err != nil {
		return nil, err
	}
	if mode == Dev || mode == Migrate {
		if err := devserver.EnsureSearchAttributes(ctx, s.Temporal, cfg.TemporalNamespace, workflows.SearchAttributes()); err != nil {
			return nil, fmt.Errorf("temporal search attributes: %w", err)
		}
	}
	if mode == Migrate {
		return s, nil
	}
	if cfg.PprofAddr != "" {
		if err := servePprof(cfg.PprofAddr); err != nil {
			return nil, err
		}
	}
	if s.Secrets, err = s.secretBox(); err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.group, runCtx = errgroup.WithContext(runCtx)
	s.runCtx = runCtx
	if mode == Dev || mode == Worker {
		if err := s.StartWorker(); err != nil {
			return nil, err
		}
	}
	if mode == Dev || mode == API {
		if err := s.setupAdmin(ctx); err != nil {
			return nil, err
		}
		if mode == Dev {
			if err := s.ensureWebChat(ctx); err != nil {
				return nil, err
			}
		}
		s.buildAPI()
		s.group.Go(func() error { return s.API.Run(runCtx) })
		if err := s.serveHTTP(s.API.Handler(), cfg.HTTPAddr); err != nil {
			return nil, err
		}
	} else {
		if err := s.serveHTTP(s.opsHandler(), cfg.HTTPAddr); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Stack) openDatabase(ctx context.Context) error {
	d, err := pglocal.Resolve(ctx, pglocal.Options{URL: s.Config.DatabaseURL, DataDir: s.Config.DataDir, Logger: s.Log, Download: s.Config.DownloadPostgres})
	if err != nil {
		return err
	}
	s.DB = d
	s.Pool, err = db.Open(ctx, d.URL)
	return err
}

// connectTemporal dials TEMPORAL_ADDRESS or, in dev without one, starts the
// embedded server first.
func (s *Stack) connectTemporal(ctx context.Context) error {
	addr := s.Config.TemporalAddress
	if addr == "" && (s.Mode == Dev || s.Mode == Temporal) {
		var temporalPG string
		if s.Config.TemporalStore == "postgres" {
			u, err := temporalDatabaseURL(s.DB.URL)
			if err != nil {
				return err
			}
			temporalPG = u
		}
		srv, err := devserver.Start(ctx, devserver.Config{
			DataDir:          filepath.Join(s.Config.DataDir, "temporal"),
			Postgres:         temporalPG,
			HistoryShards:    s.Config.TemporalShards,
			Port:             s.Config.TemporalPort,
			UIPort:           s.Config.TemporalUIPort,
			Namespace:        s.Config.TemporalNamespace,
			SearchAttributes: workflows.SearchAttributes(),
			Logger:           s.Log.With("component", "temporal"),
		})
		if err != nil {
			return fmt.Errorf("embedded temporal: %w", err)
		}
		s.Embedded = srv
		addr = srv.FrontendAddress()
	}
	if addr == "" {
		addr = "127.0.0.1:7233"
	}
	c, err := client.DialContext(ctx, client.Options{
		HostPort:       addr,
		Namespace:      s.Config.TemporalNamespace,
		Logger:         tlog.NewStructuredLogger(s.Log.With("component", "temporal-sdk")),
		MetricsHandler: s.Metrics.SDKHandler(),
	})
	if err != nil {
		return fmt.Errorf("temporal at %s: %w (set TEMPORAL_ADDRESS to a running Temporal frontend)", addr, err)
	}
	s.Temporal = c
	return nil
}

// temporalDatabaseURL is the product's database URL pointed at the database
// the embedded Temporal server uses on the same Postgres: <name>_temporal
// (devserver adds <name>_temporal_visibility).
func temporalDatabaseURL(productURL string) (string, error) {
	u, err := url.Parse(productURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		// Not err itself: it would print the password.
		return "", errors.New("OMNICHAT_TEMPORAL_STORE=postgres needs DATABASE_URL as a postgres:// URL")
	}
	name := strings.TrimPrefix(u.Path, "/")
	if q := u.Query(); name == "" && q.Get("dbname") != "" {
		name = q.Get("dbname")
		q.Del("dbname")
		u.RawQuery = q.Encode()
	}
	if name == "" {
		return "", errors.New("temporal store: the database URL names no database")
	}
	u.Path = "/" + name + "_temporal"
	u.RawPath = ""
	return u.String(), nil
}

// startTemporalOnly runs the embedded server with the ops endpoints on the
// HTTP address.
func (s *Stack) startTemporalOnly(ctx context.Context) error {
	if s.Config.TemporalStore == "postgres" {
		if err := s.openDatabase(ctx); err != nil {
			return err
		}
	}
	if err := s.connectTemporal(ctx); err != nil {
		return err
	}
	if err := devserver.EnsureSearchAttributes(ctx, s.Temporal, s.Config.TemporalNamespace, workflows.SearchAttributes()); err != nil {
		return fmt.Errorf("temporal search attributes: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.group, s.runCtx = errgroup.WithContext(runCtx)
	return s.serveHTTP(s.opsHandler(), s.Config.HTTPAddr)
}

// secretBox uses OMNICHAT_SECRET_KEY, or in dev a key kept in the data folder.
func (s *Stack) secretBox() (*secret.Box, error) {
	key := s.Config.SecretKey
	path := filepath.Join(s.Config.DataDir, "secret.key")
	if key == "" {
		b, err := os.ReadFile(path)
		switch {
		case err == nil:
			key = strings.TrimSpace(string(b))
		case errors.Is(err, os.ErrNotExist) && s.Mode == Dev:
			key = secret.NewKey()
			if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
				return nil, fmt.Errorf("secret key: %w", err)
			}
		default:
			return nil, errors.New("OMNICHAT_SECRET_KEY is not set: it encrypts channel credentials at rest; generate one with `openssl rand -base64 32`")
		}
	}
	return secret.NewBox(key)
}

// StartWorker starts the worker that runs session workflows and activities.
func (s *Stack) StartWorker() error {
	// The sessions' projections and deliveries get their own connections.
	// Sharing the API's pool, a spike's projections queued for every
	// connection and held webhook answers and agents' events back by
	// seconds.
	pool, err := pgxpool.NewWithConfig(context.Background(), s.Pool.Config())
	if err != nil {
		return fmt.Errorf("worker database pool: %w", err)
	}
	s.workerPool = pool
	w := worker.New(s.Temporal, workflows.TaskQueue, worker.Options{
		// A workflow bug must fail loudly in tests and stay visible in the UI
		// in production; blocking its task until fixed is what keeps state safe.
		WorkflowPanicPolicy: worker.BlockWorkflow,
		// Pollers scale with the backlog the server reports. Two fixed
		// pollers (the default) fetched workflow tasks one round trip at a
		// time and left sessions waiting seconds under a message spike.
		WorkflowTaskPollerBehavior: worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{}),
		ActivityTaskPollerBehavior: worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{}),
	})
	w.RegisterWorkflowWithOptions(workflows.SessionWorkflow, workflow.RegisterOptions{Name: workflows.SessionWorkflowName})
	w.RegisterActivity(&activities.Activities{
		Pool:    s.workerPool,
		Queries: dbsqlc.New(),
		Secrets: s.Secrets,
		Metrics: s.Metrics,
		Log:     s.Log.With("component", "activities"),
		Senders: s.senders(),
	})
	if err := w.Start(); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	s.worker = w
	return nil
}

// adapters are the platforms with webhooks; senders every platform
// omnichat delivers to.
func (s *Stack) adapters() map[channel.Platform]channel.Adapter {
	return map[channel.Platform]channel.Adapter{
		channel.WhatsApp: s.whatsApp,
	}
}

func (s *Stack) senders() map[channel.Platform]channel.Sender {
	out := map[channel.Platform]channel.Sender{channel.WebChat: channel.WebChatSender{Online: s.visitorOnline}}
	for p, a := range s.adapters() {
		out[p] = a
	}
	return out
}

// StopWorker stops the worker, letting running activities finish.
func (s *Stack) StopWorker() {
	if s.worker != nil {
		s.worker.Stop()
		s.worker = nil
	}
	if s.workerPool != nil {
		s.workerPool.Close()
		s.workerPool = nil
	}
}

func (s *Stack) visitorOnline(ctx context.Context, contactID string) (bool, error) {
	id, err := uuid.Parse(contactID)
	if err != nil {
		return false, nil
	}
	c, err := dbsqlc.New().ContactGet(ctx, s.Pool, id)
	if err != nil {
		return false, err
	}
	return c.Online, nil
}

// setupAdmin creates the first admin when there is none: the configured
// one, or in dev admin@omnichat.local with a generated password kept in the
// data folder (so later starts can show it again).
func (s *Stack) setupAdmin(ctx context.Context) error {
	email, password := s.Config.AdminEmail, s.Config.AdminPassword
	if email == "" {
		if s.Mode != Dev {
			return nil
		}
		email = devAdminEmail
		password = randomPassword()
	}
	created, err := api.EnsureAdmin(ctx, dbsqlc.New(), s.Pool, email, "Administrator", password)
	if err != nil {
		return fmt.Errorf("first admin: %w", err)
	}
	path := filepath.Join(s.Config.DataDir, "admin-password")
	if created && s.Config.AdminEmail == "" {
		s.AdminPassword = password
		if err := os.WriteFile(path, []byte(email+" "+password+"\n"), 0o600); err != nil {
			return err
		}
	} else if s.Mode == Dev && s.Config.AdminEmail == "" {
		if b, err := os.ReadFile(path); err == nil {
			if _, pw, ok := strings.Cut(strings.TrimSpace(string(b)), " "); ok {
				s.AdminPassword = pw
			}
		}
	}
	return nil
}

func randomPassword() string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// ensureWebChat gives dev a live-chat channel to try the widget with.
func (s *Stack) ensureWebChat(ctx context.Context) error {
	q := dbsqlc.New()
	ch, err := q.ChannelFirstByPlatform(ctx, s.Pool, string(channel.WebChat))
	if db.IsNotFound(err) {
		settings, _ := json.Marshal(channel.DefaultSettings())
		ch, err = q.ChannelCreate(ctx, s.Pool, dbsqlc.ChannelCreateParams{Platform: string(channel.WebChat), Name: "Website chat", Settings: settings})
	}
	if err != nil {
		return fmt.Errorf("live-chat channel: %w", err)
	}
	s.WebChatChannelID = ch.ID.String()
	return nil
}

func (s *Stack) buildAPI() {
	var landing *api.Landing
	if s.Mode == Dev {
		landing = &api.Landing{ChannelID: s.WebChatChannelID, Version: Version}
		if s.Embedded != nil && s.Embedded.UIAddress() != "" {
			landing.TemporalUIURL = "http://" + s.Embedded.UIAddress()
		}
		if s.AdminPassword != "" || s.Config.AdminEmail == "" {
			landing.AdminEmail = devAdminEmail
		}
	}
	s.API = api.New(api.Deps{
		Pool:     s.Pool,
		Temporal: s.Temporal,
		Ingest: &ingest.Service{
			Pool: s.Pool, Queries: dbsqlc.New(), Temporal: s.Temporal, Metrics: s.Metrics, TaskQueue: workflows.TaskQueue,
		},
		Metrics:   s.Metrics,
		Secrets:   s.Secrets,
		Adapters:  s.adapters(),
		Log:       s.Log.With("component", "api"),
		PublicURL: s.Config.PublicURL,
		Landing:   landing,
	})
}

// opsHandler serves health and metrics for the worker mode.
func (s *Stack) opsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "application/json")
		if s.Pool != nil && s.Pool.Ping(ctx) != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"status":"not ready","checks":{"postgres":"unavailable"}}`))
			return
		}
		if _, err := s.Temporal.CheckHealth(ctx, nil); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"status":"not ready","checks":{"temporal":"unavailable"}}`))
			return
		}
		_, _ = w.Write([]byte(`{"status":"ready"}`))
	})
	mux.Handle("GET /metrics", s.Metrics.Handler())
	return mux
}

// serveHTTP listens on addr. Requests get a context that ends at shutdown,
// so long-lived event streams end too.
func (s *Stack) serveHTTP(h http.Handler, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("http on %s: %w (set OMNICHAT_HTTP_ADDR to another address)", addr, err)
	}
	s.httpAddr = ln.Addr().String()
	s.http = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return s.runCtx },
	}
	s.group.Go(func() error {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	return nil
}

// HTTPAddr is the address the HTTP server listens on.
func (s *Stack) HTTPAddr() string { return s.httpAddr }

// URL is the HTTP server's base URL.
func (s *Stack) URL() string { return "http://" + browsableAddr(s.httpAddr) }

// Wait serves until ctx ends or a component fails.
func (s *Stack) Wait(ctx context.Context) error {
	if s.group == nil {
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- s.group.Wait() }()
	select {
	case <-ctx.Done():
		return nil
	case err := <-done:
		return err
	}
}

// Close stops everything in reverse order of start, within ctx's deadline.
func (s *Stack) Close(ctx context.Context) error {
	var errs []error
	if s.http != nil {
		if s.cancel != nil {
			s.cancel() // ends event streams, which Shutdown would wait for
		}
		if err := s.http.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	s.StopWorker()
	if s.cancel != nil {
		s.cancel()
	}
	if s.group != nil {
		if err := s.group.Wait(); err != nil && !errors.Is(err, context.Canceled) {
			errs = append(errs, err)
		}
	}
	if s.Temporal != nil {
		s.Temporal.Close()
	}
	if s.Embedded != nil {
		if err := s.Embedded.Stop(); err != nil {
			errs = append(errs, err)
		}
	}
	if s.Pool != nil {
		s.Pool.Close()
	}
	if s.DB != nil {
		if err := s.DB.Stop(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// servePprof serves the profiler on its own listener, so that it is never
// reachable through the product's public address.
func servePprof(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("OMNICHAT_PPROF_ADDR: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	go func() { _ = (&http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}).Serve(ln) }()
	return nil
}
