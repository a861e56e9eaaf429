// Package app assembles omnichat: it reads the configuration, builds the
// dependencies (Postgres, Temporal, the worker, the API) and runs them in one
// of four modes: dev, api, worker and migrate. The end-to-end tests run the
// same assembly.
package app

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
)

// Config is omnichat's configuration, read once from the environment.
type Config struct {
	// DatabaseURL is Postgres; empty means the default chain (local server,
	// then a private one under DataDir).
	DatabaseURL string
	// TemporalAddress is an existing Temporal frontend; empty in dev means
	// the embedded server.
	TemporalAddress   string
	TemporalNamespace string
	TemporalPort      int
	TemporalUIPort    int
	HTTPAddr          string
	DataDir           string
	AdminEmail        string
	AdminPassword     string
	SecretKey         string
	// PublicURL is where platforms and browsers reach the HTTP server.
	PublicURL string
	LogLevel  slog.Level
	// LogFormat is "text" or "json".
	LogFormat string
	// DownloadPostgres lets dev fetch Postgres binaries when none are installed.
	DownloadPostgres bool
	// WorkflowCacheSize bounds how many session workflows a worker keeps in
	// memory (about 60 KB each; 0: DefaultWorkflowCacheSize). Memory does
	// not grow with open sessions beyond it; evicted sessions are replayed
	// when they next wake.
	WorkflowCacheSize int
	// PprofAddr, when set, serves Go's profiler (net/http/pprof) there;
	// keep it on a loopback address.
	PprofAddr string
	// TemporalStore is the embedded server's persistence: "sqlite" (default,
	// a file under DataDir) or "postgres" (database <name>_temporal and
	// <name>_temporal_visibility next to DatabaseURL's, for performance work).
	TemporalStore string
	// TemporalShards is the embedded server's history shard count for a new
	// store; 0 means devserver's default (1 for SQLite, 4 for Postgres). Fixed
	// once the store exists (then 0 means the store's own count).
	TemporalShards int
}

// ConfigFromEnv reads the configuration from the environment.
func ConfigFromEnv() (Config, error) {
	c := Config{
		DatabaseURL:       os.Getenv("DATABASE_URL"),
		TemporalAddress:   os.Getenv("TEMPORAL_ADDRESS"),
		TemporalNamespace: envOr("TEMPORAL_NAMESPACE", "default"),
		HTTPAddr:          envOr("OMNICHAT_HTTP_ADDR", "127.0.0.1:8080"),
		DataDir:           envOr("OMNICHAT_DATA_DIR", ".omnichat"),
		AdminEmail:        os.Getenv("OMNICHAT_ADMIN_EMAIL"),
		AdminPassword:     os.Getenv("OMNICHAT_ADMIN_PASSWORD"),
		SecretKey:         os.Getenv("OMNICHAT_SECRET_KEY"),
		PublicURL:         strings.TrimRight(os.Getenv("OMNICHAT_PUBLIC_URL"), "/"),
		LogFormat:         envOr("OMNICHAT_LOG_FORMAT", "text"),
		DownloadPostgres:  os.Getenv("OMNICHAT_PG_DOWNLOAD") != "0",
		PprofAddr:         os.Getenv("OMNICHAT_PPROF_ADDR"),
		TemporalStore:     envOr("OMNICHAT_TEMPORAL_STORE", "sqlite"),
	}
	var err error
	if c.TemporalPort, err = envInt("OMNICHAT_TEMPORAL_PORT", 7233); err != nil {
		return c, err
	}
	if c.TemporalUIPort, err = envInt("OMNICHAT_TEMPORAL_UI_PORT", 8233); err != nil {
		return c, err
	}
	if c.TemporalStore != "sqlite" && c.TemporalStore != "postgres" {
		return c, fmt.Errorf("OMNICHAT_TEMPORAL_STORE: want sqlite or postgres, got %q", c.TemporalStore)
	}
	if v := os.Getenv("OMNICHAT_TEMPORAL_SHARDS"); v != "" {
		if c.TemporalShards, err = strconv.Atoi(v); err != nil || c.TemporalShards < 0 || c.TemporalShards > 16384 {
			return c, fmt.Errorf("OMNICHAT_TEMPORAL_SHARDS: want a shard count (0 for the default), got %q", v)
		}
	}
	c.WorkflowCacheSize = DefaultWorkflowCacheSize
	if v := os.Getenv("OMNICHAT_WORKFLOW_CACHE_SIZE"); v != "" {
		if c.WorkflowCacheSize, err = strconv.Atoi(v); err != nil || c.WorkflowCacheSize < 1 {
			return c, fmt.Errorf("OMNICHAT_WORKFLOW_CACHE_SIZE: want a positive number, got %q", v)
		}
	}
	if err := c.LogLevel.UnmarshalText([]byte(envOr("OMNICHAT_LOG_LEVEL", "info"))); err != nil {
		return c, fmt.Errorf("OMNICHAT_LOG_LEVEL: %w", err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return c, fmt.Errorf("OMNICHAT_LOG_FORMAT: want text or json, got %q", c.LogFormat)
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		return c, fmt.Errorf("OMNICHAT_HTTP_ADDR: %w", err)
	}
	if (c.AdminEmail == "") != (c.AdminPassword == "") {
		return c, fmt.Errorf("set both OMNICHAT_ADMIN_EMAIL and OMNICHAT_ADMIN_PASSWORD, or neither")
	}
	if c.AdminPassword != "" && len(c.AdminPassword) < 8 {
		return c, fmt.Errorf("OMNICHAT_ADMIN_PASSWORD: at least 8 characters")
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + browsableAddr(c.HTTPAddr)
	}
	return c, nil
}

// browsableAddr turns a listen address into one a browser can open.
func browsableAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// DefaultWorkflowCacheSize is the workflow cache when none is configured:
// a busy team's open sessions, in about 120 MB.
const DefaultWorkflowCacheSize = 2000

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func envInt(key string, def int) (int, error) {
	v := os.Getenv(key)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 65535 {
		return 0, fmt.Errorf("%s: want a port number, got %q", key, v)
	}
	return n, nil
}
