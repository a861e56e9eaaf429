package api

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// OpenAPISpec is the API's specification, served at /api/v1/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPISpec []byte

// Body limits: agents' requests carry at most a reply; the widget's a message.
const (
	apiBodyLimit    = 1 << 20
	widgetBodyLimit = 64 << 10
)

// routes registers every route of the API, in one place.
func (s *Server) routes(e *gin.Engine) {
	e.GET("/", s.landing)
	e.GET("/healthz", healthz)
	e.GET("/readyz", s.readyz)
	if s.Metrics != nil {
		e.GET("/metrics", s.metricsHandler())
	}
	e.GET("/widget.js", s.widgetJS)

	v1 := e.Group("/api/v1", limitBody(apiBodyLimit))
	v1.GET("/openapi.yaml", func(c *gin.Context) { c.Data(http.StatusOK, "application/yaml", OpenAPISpec) })
	v1.POST("/auth/login", s.login)

	authed := v1.Group("", s.requireAgent)
	admin := authed.Group("", requireRole(RoleAdmin))
	authed.POST("/auth/logout", s.logout)
	authed.GET("/events", s.agentEvents)

	authed.GET("/agents", s.listAgents)
	authed.GET("/agents/me", s.getMe)
	authed.PUT("/agents/me/presence", s.setPresence)
	admin.POST("/agents", s.createAgent)

	authed.GET("/teams", s.listTeams)
	authed.GET("/teams/:id", s.getTeam)
	admin.POST("/teams", s.createTeam)
	admin.PUT("/teams/:id/members", s.setTeamMembers)

	authed.GET("/channels", s.listChannels)
	authed.GET("/channels/:id", s.getChannel)
	admin.POST("/channels", s.createChannel)
	admin.PATCH("/channels/:id", s.updateChannel)

	authed.GET("/sessions", s.listSessions)
	authed.GET("/sessions/:id", s.getSession)
	authed.GET("/sessions/:id/messages", s.listMessages)
	authed.POST("/sessions/:id/messages", s.reply)
	authed.POST("/sessions/:id/notes", s.addNote)
	authed.GET("/sessions/:id/events", s.listSessionEvents)
	authed.POST("/sessions/:id/join", s.joinSession)
	authed.POST("/sessions/:id/leave", s.leaveSession)
	authed.POST("/sessions/:id/done", s.doneSession)
	authed.POST("/sessions/:id/reopen", s.reopenSession)
	authed.POST("/sessions/:id/snooze", s.snoozeSession)
	authed.POST("/sessions/:id/read", s.markRead)
	authed.POST("/sessions/:id/unread", s.markUnread)
	authed.PUT("/sessions/:id/important", s.setImportant)
	authed.PUT("/sessions/:id/owner", s.setOwner)
	authed.PUT("/sessions/:id/tags", s.setTags)
	authed.POST("/sessions/:id/supporters", s.addSupporters)
	authed.DELETE("/sessions/:id/supporters/:agent_id", s.removeSupporter)
	authed.POST("/messages/:id/resend", s.resendMessage)

	hooks := e.Group("/webhooks/:platform/:channel_id", limitBody(webhookBodyLimit))
	hooks.GET("", s.webhookHandshake)
	hooks.POST("", s.webhook)

	widget := e.Group("/widget/v1", widgetCORS, limitBody(widgetBodyLimit))
	widget.OPTIONS("/*path", func(*gin.Context) {})
	widget.POST("/channels/:channel_id/visitors", s.createVisitor)
	visitor := widget.Group("", s.requireVisitor)
	visitor.POST("/messages", s.postVisitorMessage)
	visitor.GET("/messages", s.listVisitorMessages)
	visitor.GET("/events", s.visitorEvents)
}
