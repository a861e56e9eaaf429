// Package devserver runs a real Temporal server inside the current process: all
// four services (frontend, history, matching, worker) backed by SQLite (or, for
// performance work, Postgres), plus the Temporal Web UI. It powers `omnichat
// dev` and end-to-end tests, so that neither needs a separately installed
// Temporal CLI or Docker.
package devserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
)

const (
	defaultIP        = "127.0.0.1"
	defaultNamespace = "default"

	// dbFileName is the SQLite file inside Config.DataDir.
	dbFileName = "temporal.db"

	// clusterName is persisted in the store on first start and must never
	// change for an existing store, so it is a constant rather than an option.
	clusterName = "active"

	// Default Config.HistoryShards of a new store. One shard serialises all workflow updates
	// of the server, which is plenty for a dev inbox on SQLite (itself one
	// writer); Postgres is used to measure, so it gets a few shards that can
	// commit in parallel.
	defaultSQLiteShards   = 1
	defaultPostgresShards = 4

	// readyPollInterval is how often Start probes the frontend and the UI while
	// waiting for them to come up.
	readyPollInterval = 50 * time.Millisecond
)

// Config configures an embedded server.
type Config struct {
	// DataDir holds the SQLite file DataDir/temporal.db. The directory and the
	// file (with its schema) are created when missing, and all state survives
	// restarts. Empty means an in-memory database that vanishes with the
	// server, which is what tests usually want. Unused with Postgres.
	DataDir string
	// Postgres, when set, is a Postgres URL (postgres://user:pass@host:port/dbname?sslmode=disable)
	// for the server's persistence and visibility instead of SQLite. The database
	// (and a second one, <dbname>_visibility) are created when missing and their
	// schemas applied (and upgraded) at start.
	Postgres string
	// HistoryShards is the number of history shards of a new store (default 1 for
	// SQLite, 4 for Postgres). Fixed once a store exists: starting with another
	// number on an existing store is an error that says so (it wraps
	// ErrHistoryShardsMismatch); 0 there means the store's own count.
	HistoryShards int
	// IP is the address the frontend and the UI bind to; default "127.0.0.1".
	// It must be a literal IP. The internal services always bind to 127.0.0.1.
	IP string
	// Port is the frontend gRPC port; 0 picks a free port.
	Port int
	// UIPort is the Web UI HTTP port; 0 picks a free port, -1 disables the UI.
	UIPort int
	// Namespace is registered at start (a no-op when an existing store
	// already has it); default "default".
	Namespace string
	// SearchAttributes are custom search attributes that must exist in
	// Namespace; Start adds the missing ones and waits until they are usable.
	SearchAttributes map[string]enumspb.IndexedValueType
	// Logger receives the server's own logs. nil discards them.
	Logger *slog.Logger
	// LogLevel is the minimum level passed on to Logger; nil means warn,
	// because the Temporal server is very chatty at info.
	LogLevel slog.Leveler
}

// Server is a running embedded Temporal server (and UI). Create it with Start
// and release it with Stop.
type Server struct {
	frontendAddr string
	uiAddr       string
	namespace    string

	temporal temporal.Server
	logGate  *logGate
	// forceSARefreshOff ends forced search-attribute refreshes; relaxTimer
	// calls it later when the start added attributes.
	forceSARefreshOff func()
	relaxTimer        *time.Timer
	ui                *uiserver.Server
	uiDone            chan struct{} // closed when the UI goroutine returns

	stopOnce sync.Once
	stopErr  error
}

// Start starts a Temporal server as configured by cfg and returns once it is
// usable: the frontend answers health checks and DescribeNamespace, the
// search attributes are registered, and the UI (if enabled) answers HTTP.
// On any failure it stops whatever it had started before returning the error.
//
// ctx bounds the waiting for readiness (starting the services themselves is
// not cancellable), not the lifetime of the server; Stop ends that.
func Start(ctx context.Context, cfg Config) (_ *Server, err error) {
	cfg = withDefaults(cfg)
	if err := validateIP(cfg.IP); err != nil {
		return nil, err
	}
	if cfg.UIPort < -1 {
		return nil, fmt.Errorf("devserver: invalid UIPort %d", cfg.UIPort)
	}
	if cfg.HistoryShards < 0 || cfg.HistoryShards > math.MaxInt32 {
		return nil, fmt.Errorf("devserver: invalid HistoryShards %d", cfg.HistoryShards)
	}

	ports, err := choosePorts(cfg)
	if err != nil {
		return nil, err
	}

	var store config.Persistence
	if cfg.Postgres != "" {
		store, err = preparePostgres(ctx, cfg)
	} else {
		store, err = prepareSQLite(ctx, cfg)
	}
	if err != nil {
		return nil, err
	}

	s := &Server{
		frontendAddr: net.JoinHostPort(dialHost(cfg.IP), strconv.Itoa(ports.frontend)),
		namespace:    cfg.Namespace,
	}
	if ports.ui > 0 {
		s.uiAddr = net.JoinHostPort(dialHost(cfg.IP), strconv.Itoa(ports.ui))
	}
	defer func() {
		if err != nil {
			_ = s.Stop()
		}
	}()

	if err := s.startTemporal(cfg, ports, store); err != nil {
		return nil, err
	}
	if err := s.waitFrontendAndEnsureSearchAttributes(ctx, cfg.SearchAttributes); err != nil {
		return nil, err
	}
	if ports.ui > 0 {
		if err := s.startUI(ctx, cfg, ports.ui); err != nil {
			return nil, err
		}
	}
	s.logGate.starting.Store(false)
	return s, nil
}

// FrontendAddress is the host:port clients dial, e.g. "127.0.0.1:7233".
func (s *Server) FrontendAddress() string { return s.frontendAddr }

// UIAddress is the Web UI's host:port, e.g. "127.0.0.1:8233", or "" when the
// UI is disabled.
func (s *Server) UIAddress() string { return s.uiAddr }

// Namespace is the namespace registered at start.
func (s *Server) Namespace() string { return s.namespace }

// Stop stops the UI, then the Temporal server, and releases their ports. It
// is safe to call more than once; later calls return the first result.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		if s.relaxTimer != nil {
			s.relaxTimer.Stop()
		}
		if s.logGate != nil {
			s.logGate.state.Store(gateStopping)
			defer s.logGate.state.Store(gateClosed)
		}
		if s.ui != nil {
			// The UI only proxies to the frontend, so it goes first to avoid
			// serving errors while the server shuts down.
			s.ui.Stop()
			<-s.uiDone
		}
		if s.temporal != nil {
			s.stopErr = s.temporal.Stop()
		}
	})
	return s.stopErr
}

func withDefaults(cfg Config) Config {
	if cfg.IP == "" {
		cfg.IP = defaultIP
	}
	if cfg.Namespace == "" {
		cfg.Namespace = defaultNamespace
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.LogLevel == nil {
		cfg.LogLevel = slog.LevelWarn
	}
	return cfg
}

// portSet holds every port the server binds. Only frontend and ui are user
// facing; the internal services get free ports so that a dev server never
// collides with another Temporal (or a second test server) on the classic
// 7234/7235/7239 ports.
type portSet struct {
	frontend, history, matching, worker, ui int
}

func choosePorts(cfg Config) (portSet, error) {
	var p portSet
	// Fixed user-facing ports are checked up front: a bind failure inside the
	// server or the UI would be fatal to the process.
	if cfg.Port != 0 {
		if err := checkBindable(cfg.IP, cfg.Port); err != nil {
			return p, fmt.Errorf("devserver: frontend port: %w", err)
		}
	}
	if cfg.UIPort > 0 {
		if err := checkBindable(cfg.IP, cfg.UIPort); err != nil {
			return p, fmt.Errorf("devserver: UI port: %w", err)
		}
	}

	internal, err := freePorts(defaultIP, 3)
	if err != nil {
		return p, err
	}
	p.history, p.matching, p.worker = internal[0], internal[1], internal[2]

	p.frontend, p.ui = cfg.Port, cfg.UIPort
	if p.frontend == 0 || p.ui == 0 {
		public, err := freePorts(cfg.IP, 2)
		if err != nil {
			return p, err
		}
		if p.frontend == 0 {
			p.frontend = public[0]
		}
		if p.ui == 0 {
			p.ui = public[1]
		}
	}
	if p.ui > 0 && p.ui == p.frontend {
		return p, fmt.Errorf("devserver: Port and UIPort are both %d", p.ui)
	}
	return p, nil
}

// prepareSQLite returns the persistence config and makes sure the database is
// ready for the server: schema applied to a new file, shard count checked,
// namespace registered.
func prepareSQLite(ctx context.Context, cfg Config) (config.Persistence, error) {
	sqlCfg := &config.SQL{PluginName: sqliteplugin.PluginName}
	where := "the in-memory SQLite database"
	if cfg.DataDir == "" {
		// A shared-cache in-memory database, so that all of the server's
		// connections see the same data. The plugin creates the schema itself
		// in this mode. The random name keeps servers started one after the
		// other in one process apart: the plugin never closes its connections,
		// so an old in-memory database lives as long as the process.
		sqlCfg.DatabaseName = "devserver-" + strconv.FormatUint(rand.Uint64(), 36)
		sqlCfg.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
	} else {
		if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
			return config.Persistence{}, fmt.Errorf("devserver: creating data dir: %w", err)
		}
		path, err := filepath.Abs(filepath.Join(cfg.DataDir, dbFileName))
		if err != nil {
			return config.Persistence{}, fmt.Errorf("devserver: %w", err)
		}
		sqlCfg.DatabaseName = path
		where = path
		sqlCfg.ConnectAttributes = map[string]string{
			"mode": "rwc",
			// Anything that is not an SQLite URI parameter becomes a PRAGMA.
			// WAL keeps commits cheap (one sequential append) and lets a
			// reader such as the sqlite3 shell look at the file while the
			// server writes. synchronous=1 (NORMAL) with WAL writes every
			// commit to the log before it is acknowledged but fsyncs only at
			// checkpoints: a crash or kill of the process loses nothing; a
			// power loss can lose the last moments. FULL (an fsync per
			// commit) cut the server's throughput to a third on this
			// project's benchmark machine (docs/performance.md). Production
			// runs Temporal on Postgres, whose durability is Postgres's.
			"journal_mode": "wal",
			"synchronous":  "1",
			// Another process (say a second `omnichat dev` pointed at the
			// same directory) gets a clear error after waiting instead of an
			// immediate "database is locked".
			"busy_timeout": "5000",
		}
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			if err := sqliteschema.SetupSchema(sqlCfg); err != nil {
				return config.Persistence{}, fmt.Errorf("devserver: creating schema in %s (delete the file to retry): %w", path, err)
			}
		} else if err != nil {
			return config.Persistence{}, fmt.Errorf("devserver: %w", err)
		}
	}
	shards, err := prepareStore(ctx, sqlCfg, cfg, defaultSQLiteShards, where)
	if err != nil {
		return config.Persistence{}, err
	}

	const storeName = "sqlite-default"
	return config.Persistence{
		DefaultStore:     storeName,
		VisibilityStore:  storeName,
		NumHistoryShards: shards, // persisted on first start; must never change
		DataStores:       map[string]config.DataStore{storeName: {SQL: sqlCfg}},
	}, nil
}

// dynamicConfig returns the dynamic config for a single-node dev server, and
// the function that ends forced search-attribute refreshes (see
// relaxSearchAttributeRefresh).
func dynamicConfig(cfg Config) (*dynamicconfig.MemoryClient, func()) {
	dc := dynamicconfig.NewMemoryClient()
	for k, v := range map[dynamicconfig.Key]any{
		// The default of 10 visibility requests per second per namespace is
		// easily exceeded by the Web UI plus tests polling List/Count.
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
		// Updates are on by default in this server version; set explicitly
		// because conversation workflows depend on them.
		dynamicconfig.FrontendEnableUpdateWorkflowExecution.Key():              true,
		dynamicconfig.FrontendEnableUpdateWorkflowExecutionAsyncAccepted.Key(): true,
		// An activity scheduled by a workflow task goes straight back to the
		// worker that completed the task, when it has room, instead of a
		// round trip through matching: an agent's reply reaches the platform
		// sooner.
		dynamicconfig.EnableActivityEagerExecution.Key(): true,
		// One partition per task queue, as befits one node and one worker.
		// With the default four, a workflow task written to a partition no
		// worker polls is forwarded to one that is at most 10 per second
		// (matching.forwarderMaxRatePerSecond): under load, sessions waited
		// seconds for their workflow tasks.
		dynamicconfig.MatchingNumTaskqueueReadPartitions.Key():  1,
		dynamicconfig.MatchingNumTaskqueueWritePartitions.Key(): 1,
		// The history service keeps the state of every workflow it touched
		// in the last hour (up to 128,000 of them, some 75 KB each): memory
		// grew with every session opened, idle or not. Bounded, it holds the
		// busy ones; the others are read from the store when they wake.
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key(): historyCacheEntries,
	} {
		dc.OverrideValue(k, v)
	}
	if cfg.Postgres != "" {
		// IDs (workflow, task queue, ...) must fit the Postgres schema's
		// VARCHAR(255) columns; the default limit of 1000 would let a long ID
		// through to a database error. As in deploy/temporal/dynamicconfig.
		dc.OverrideValue(dynamicconfig.MaxIDLengthLimit.Key(), 255)
	}
	// While search attributes are being registered, every read of them goes
	// to the database: an attribute added at runtime would otherwise be
	// rejected until each service's cache refreshes (up to a minute later).
	// Left on, it costs a database read on every workflow start and
	// search-attribute update (a tenth of the server's CPU under load).
	return dc, dc.OverrideValue(dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(), true)
}

// historyCacheEntries bounds the embedded history service's cache of
// workflow states: as many as the worker's default workflow cache holds
// (a 64 MB size bound held too few, and every workflow task of a busy
// session read its state from the store again).
const historyCacheEntries = 2000

// searchAttributeCacheTTL is how long the server's services keep search
// attributes cached (searchattribute's cacheRefreshInterval), plus a margin.
const searchAttributeCacheTTL = 65 * time.Second

// relaxSearchAttributeRefresh lets the services cache search attributes
// again: at once when the start added none (every cache then loads them
// fresh), or once caches loaded before an addition have expired.
func (s *Server) relaxSearchAttributeRefresh(added bool) {
	if !added {
		s.forceSARefreshOff()
		return
	}
	s.relaxTimer = time.AfterFunc(searchAttributeCacheTTL, s.forceSARefreshOff)
}

func (s *Server) startTemporal(cfg Config, ports portSet, store config.Persistence) (err error) {
	frontendHost := dialHost(cfg.IP)
	frontendAddr := net.JoinHostPort(frontendHost, strconv.Itoa(ports.frontend))
	internalAddr := func(port int) string { return net.JoinHostPort(defaultIP, strconv.Itoa(port)) }

	conf := &config.Config{}
	// With static hosts (below) there is no gossip ring, hence no membership
	// ports; MaxJoinDuration still sizes the server's start timeout.
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = defaultIP
	// Global.Metrics stays nil: the server then uses a no-op metrics handler
	// and opens no Prometheus listener (the product serves its own /metrics).
	// PProf.Port stays 0: no pprof listener.
	conf.Persistence = store
	conf.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace:    false,
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {
				Enabled:                true,
				InitialFailoverVersion: 1,
				// Updated in the database on every start, so a restart on
				// another port is fine.
				RPCAddress: frontendAddr,
			},
		},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	internalRPC := func(port int) config.Service {
		return config.Service{RPC: config.RPC{GRPCPort: port, BindOnIP: defaultIP}}
	}
	conf.Services = map[string]config.Service{
		// HTTPPort stays 0, which disables the frontend's HTTP API (one port
		// less to allocate; nothing in omnichat uses it).
		string(primitives.FrontendService): {RPC: config.RPC{GRPCPort: ports.frontend, BindOnIP: cfg.IP}},
		string(primitives.HistoryService):  internalRPC(ports.history),
		string(primitives.MatchingService): internalRPC(ports.matching),
		string(primitives.WorkerService):   internalRPC(ports.worker),
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	// The worker service runs system workflows through an SDK client that
	// dials this address.
	conf.PublicClient.HostPort = frontendAddr

	logger := newServerLogger(cfg.Logger, cfg.LogLevel)
	s.logGate = logger.gate
	dc, forceOff := dynamicConfig(cfg)
	s.forceSARefreshOff = forceOff
	opts := []temporal.ServerOption{
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(map[primitives.ServiceName]static.Hosts{
			primitives.FrontendService: static.SingleLocalHost(frontendAddr),
			primitives.HistoryService:  static.SingleLocalHost(internalAddr(ports.history)),
			primitives.MatchingService: static.SingleLocalHost(internalAddr(ports.matching)),
			primitives.WorkerService:   static.SingleLocalHost(internalAddr(ports.worker)),
		}),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorization.NewNoopAuthorizer()),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper {
			return authorization.NewNoopClaimMapper()
		}),
		temporal.WithDynamicConfigClient(dc),
	}

	// serverLogger.Fatal panics instead of exiting; turn such a panic raised
	// while constructing or starting the server into an error.
	defer func() {
		if r := recover(); r != nil {
			fe, ok := r.(fatalError)
			if !ok {
				panic(r)
			}
			err = fmt.Errorf("devserver: %w", fe)
		}
	}()
	srv, err := temporal.NewServer(opts...)
	if err != nil {
		return fmt.Errorf("devserver: creating temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		// Nothing to stop here: the server's fx app rolls back the start hooks
		// that had succeeded. (A service that started before another one
		// failed can stay behind; the server offers no way to reach it.)
		return fmt.Errorf("devserver: starting temporal server: %w", err)
	}
	s.temporal = srv
	return nil
}

// waitFrontendAndEnsureSearchAttributes waits until the frontend serves the
// namespace, then registers the search attributes through it.
func (s *Server) waitFrontendAndEnsureSearchAttributes(ctx context.Context, attrs map[string]enumspb.IndexedValueType) error {
	c, err := client.NewLazyClient(client.Options{
		HostPort:  s.frontendAddr,
		Namespace: s.namespace,
		Logger:    sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
	})
	if err != nil {
		return fmt.Errorf("devserver: creating client: %w", err)
	}
	defer c.Close()

	ticker := time.NewTicker(readyPollInterval)
	defer ticker.Stop()
	for {
		err := probeFrontend(ctx, c, s.namespace)
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("devserver: waiting for frontend %s: %w (last error: %v)", s.frontendAddr, ctx.Err(), err)
		case <-ticker.C:
		}
	}

	added, err := ensureSearchAttributes(ctx, c, s.namespace, attrs)
	if err != nil {
		return fmt.Errorf("devserver: %w", err)
	}
	s.relaxSearchAttributeRefresh(added)
	return nil
}

func probeFrontend(ctx context.Context, c client.Client, namespace string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		return err
	}
	_, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
	return err
}
