// Package api is omnichat's HTTP interface: the agents' API, the web widget's
// API, event streams, health and metrics. Lists and details come from the
// Postgres read models; commands go to the session workflows.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"

	"github.com/omnichat/omnichat/channel"
	"github.com/omnichat/omnichat/db/dbsqlc"
	"github.com/omnichat/omnichat/ingest"
	"github.com/omnichat/omnichat/metrics"
	"github.com/omnichat/omnichat/realtime"
	"github.com/omnichat/omnichat/secret"
)

// Deps are what the API needs; the caller builds them once.
type Deps struct {
	Pool     *pgxpool.Pool
	Temporal client.Client
	Ingest   *ingest.Service
	Metrics  *metrics.Metrics
	Secrets  *secret.Box
	// Adapters are the platforms whose webhooks this server takes.
	Adapters map[channel.Platform]channel.Adapter
	Log      *slog.Logger
	// PublicURL is where platforms and browsers reach this server, for
	// webhook URLs and widget snippets (e.g. "https://chat.example.com").
	PublicURL string
	// Landing, when set, is shown at "/" (the dev landing page).
	Landing *Landing
	// TokenTTL is how long an agent's sign-in lasts; zero means 30 days.
	TokenTTL time.Duration
	// KeepAlive is the interval of comment lines on event streams; zero means 20 s.
	KeepAlive time.Duration
}

// Landing is what the "/" page shows.
type Landing struct {
	ChannelID     string
	TemporalUIURL string
	AdminEmail    string
	Version       string
}

// Server is the HTTP API.
type Server struct {
	Deps
	q      *dbsqlc.Queries
	log    *slog.Logger
	broker *broker
	engine *gin.Engine
	names  agentNameCache
}

// New builds the server and its routes. Call Run to start following the
// database's notifications for event streams.
func New(d Deps) *Server {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.TokenTTL == 0 {
		d.TokenTTL = 30 * 24 * time.Hour
	}
	if d.KeepAlive == 0 {
		d.KeepAlive = 20 * time.Second
	}
	s := &Server{Deps: d, q: dbsqlc.New(), log: d.Log}
	s.broker = newBroker(s)
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.HandleMethodNotAllowed = true
	e.ContextWithFallback = true
	e.Use(s.recoverer, s.observe)
	e.NoRoute(noRoute)
	e.NoMethod(noMethod)
	s.engine = e
	s.routes(e)
	return s
}

// Handler is the server's http.Handler.
func (s *Server) Handler() http.Handler { return s.engine }

// Routes lists the registered routes (method and path template).
func (s *Server) Routes() gin.RoutesInfo { return s.engine.Routes() }

// Run follows database notifications for the event streams until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	l := &realtime.Listener{Pool: s.Pool, Log: s.log}
	s.broker.listener = l
	s.broker.run(ctx)
	return l.Run(ctx, s.broker.dispatch)
}

// recoverer turns a panic into a logged 500 problem.
func (s *Server) recoverer(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("handler panicked", "route", c.FullPath(), "panic", v)
			if !c.Writer.Written() {
				writeProblem(c, newProblem(http.StatusInternalServerError, "something went wrong on our side; it has been logged"))
			}
		}
	}()
	c.Next()
}

// observe records every request's latency under its route template (a
// bounded label set: unknown paths share one label).
func (s *Server) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	if s.Metrics != nil {
		s.Metrics.HTTPDuration.WithLabelValues(route, c.Request.Method, strconv.Itoa(c.Writer.Status())).Observe(time.Since(start).Seconds())
	}
}

// limitBody caps request bodies; reading past the cap fails with a
// *http.MaxBytesError, answered as 413.
func limitBody(n int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > n {
			writeProblem(c, newProblem(http.StatusRequestEntityTooLarge, "the body is larger than "+strconv.FormatInt(n, 10)+" bytes"))
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, n)
		c.Next()
	}
}
