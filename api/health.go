package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/omnichat/omnichat/web"
)

func healthz(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) }

// readyz answers 200 only when Postgres and Temporal both answer.
func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c, 3*time.Second)
	defer cancel()
	checks := gin.H{}
	ok := true
	if err := s.Pool.Ping(ctx); err != nil {
		checks["postgres"], ok = "unavailable", false
	} else {
		checks["postgres"] = "ok"
	}
	if _, err := s.Temporal.CheckHealth(ctx, nil); err != nil {
		checks["temporal"], ok = "unavailable", false
	} else {
		checks["temporal"] = "ok"
	}
	if s.broker.listener != nil && !s.broker.listener.Listening() {
		checks["events"], ok = "reconnecting", false
	} else {
		checks["events"] = "ok"
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	c.JSON(status, gin.H{"status": map[bool]string{true: "ready", false: "not ready"}[ok], "checks": checks})
}

func (s *Server) metricsHandler() gin.HandlerFunc {
	return gin.WrapH(s.Metrics.Handler())
}

func (s *Server) landing(c *gin.Context) {
	if s.Landing == nil {
		c.JSON(http.StatusOK, gin.H{"name": "omnichat", "api": "/api/v1", "openapi": "/api/v1/openapi.yaml"})
		return
	}
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Status(http.StatusOK)
	if err := web.IndexTemplate().Execute(c.Writer, s.Landing); err != nil {
		s.log.Warn("landing page", "err", err)
	}
}
