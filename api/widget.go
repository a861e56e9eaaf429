package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/omnichat/omnichat/channel"
	"github.com/omnichat/omnichat/db"
	"github.com/omnichat/omnichat/db/dbsqlc"
	"github.com/omnichat/omnichat/ingest"
	"github.com/omnichat/omnichat/web"
)

// webChatIDPrefix marks the platform id of a visitor's message: the widget's
// client id, which makes a retried send a duplicate.
const webChatIDPrefix = "web:"

// widgetCORS lets the widget call the API from any site. It never uses
// cookies (the visitor token travels in a header), so any origin is safe.
func widgetCORS(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
	h.Set("Access-Control-Max-Age", "600")
	if c.Request.Method == http.MethodOptions {
		c.AbortWithStatus(http.StatusNoContent)
		return
	}
	c.Next()
}

func (s *Server) widgetJS(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, "text/javascript; charset=utf-8", web.WidgetJS())
}

type createVisitorRequest struct {
	Name  string `json:"name" binding:"max=200"`
	Email string `json:"email" binding:"omitempty,email,max=320"`
}

// createVisitor starts a web visitor's identity on a live-chat channel.
func (s *Server) createVisitor(c *gin.Context) {
	var req createVisitorRequest
	if c.Request.ContentLength != 0 {
		if err := bind(c, &req); err != nil {
			s.fail(c, err)
			return
		}
	}
	id, err := uuid.Parse(c.Param("channel_id"))
	if err != nil {
		s.fail(c, notFound("channel"))
		return
	}
	ch, err := s.q.ChannelGet(c, s.Pool, id)
	if db.IsNotFound(err) || (err == nil && (!ch.Active || ch.Platform != string(channel.WebChat))) {
		s.fail(c, notFound("channel"))
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	tok, hash := newToken("ocv_")
	var contact dbsqlc.Contact
	err = db.InTx(c, s.Pool, func(tx pgx.Tx) error {
		var err error
		contact, err = s.q.ContactCreate(c, tx, dbsqlc.ContactCreateParams{
			ChannelID: ch.ID, PlatformUserID: "v_" + uuid.NewString(), Name: strings.TrimSpace(req.Name), Email: strings.TrimSpace(req.Email),
		})
		if err != nil {
			return err
		}
		return s.q.VisitorTokenCreate(c, tx, dbsqlc.VisitorTokenCreateParams{TokenHash: hash, ContactID: contact.ID})
	})
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"visitor_id": contact.ID.String(), "token": tok})
}

const visitorKey = "omnichat.visitor"

type visitor struct {
	contact dbsqlc.Contact
	channel dbsqlc.Channel
}

// requireVisitor lets through requests with a valid visitor token.
func (s *Server) requireVisitor(c *gin.Context) {
	tok := bearer(c)
	if tok == "" {
		writeProblem(c, unauthorized("send the visitor token as Authorization: Bearer <token>"))
		return
	}
	contact, err := s.q.VisitorTokenLookup(c, s.Pool, tokenHash(tok))
	if db.IsNotFound(err) {
		writeProblem(c, unauthorized("the visitor token is unknown; create a new visitor"))
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	ch, err := s.q.ChannelGet(c, s.Pool, contact.ChannelID)
	if err != nil {
		s.fail(c, err)
		return
	}
	if !ch.Active {
		writeProblem(c, unauthorized("this chat is no longer available"))
		return
	}
	c.Set(visitorKey, &visitor{contact: contact, channel: ch})
	c.Next()
}

func currentVisitor(c *gin.Context) *visitor { return c.MustGet(visitorKey).(*visitor) }

type visitorMessageRequest struct {
	Text     string `json:"text" binding:"required,max=4096"`
	ClientID string `json:"client_id" binding:"max=100"`
}

// postVisitorMessage takes a visitor's message in through the ingest path,
// as a platform's webhook would.
func (s *Server) postVisitorMessage(c *gin.Context) {
	start := time.Now()
	var req visitorMessageRequest
	if err := bind(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	if strings.TrimSpace(req.Text) == "" {
		s.fail(c, invalidField("text", "is required"))
		return
	}
	v := currentVisitor(c)
	if req.ClientID == "" {
		req.ClientID = uuid.NewString()
	}
	res, err := s.Ingest.Receive(c, ingest.Inbound{
		ChannelID:         v.channel.ID,
		Platform:          channel.WebChat,
		TeamID:            nullUUIDValue(v.channel.TeamID),
		ContactID:         v.contact.ID,
		PlatformMessageID: webChatIDPrefix + v.contact.ID.String() + ":" + req.ClientID,
		Text:              req.Text,
		SentAt:            time.Now(),
	})
	if err != nil {
		s.fail(c, temporalUnavailable(err))
		return
	}
	if s.Metrics != nil {
		s.Metrics.WebhookDuration.WithLabelValues(string(channel.WebChat)).Observe(time.Since(start).Seconds())
	}
	status := http.StatusCreated
	if res.Duplicate {
		status = http.StatusOK
	}
	c.JSON(status, toVisitorMessage(res.Message, ""))
}

// listVisitorMessages is the visitor's conversation, newest last, paged back
// with ?before=<message id>.
func (s *Server) listVisitorMessages(c *gin.Context) {
	v := currentVisitor(c)
	limit, ferr := pageLimit(c)
	if ferr != nil {
		s.fail(c, invalid(*ferr))
		return
	}
	params := dbsqlc.MessageVisitorTimelineParams{ContactID: v.contact.ID, BeforeSentAt: farFuture, BeforeID: 1<<63 - 1, Lim: int32(limit + 1)}
	if b := c.Query("before"); b != "" {
		at, id, err := s.messageCursor(c, b, v.contact.ID)
		if err != nil {
			s.fail(c, err)
			return
		}
		params.BeforeSentAt, params.BeforeID = at, id
	}
	ms, err := s.q.MessageVisitorTimeline(c, s.Pool, params)
	if err != nil {
		s.fail(c, err)
		return
	}
	n := min(len(ms), limit)
	names := s.agentNames(c, ms[:n])
	items := make([]visitorMessageJSON, 0, n)
	for i := n - 1; i >= 0; i-- {
		items = append(items, toVisitorMessage(ms[i], names[ms[i].SenderID.UUID]))
	}
	s.writeMessagePage(c, ms, limit, items)
}

// visitorEvents streams agents' replies to the visitor; the open stream is
// the visitor's presence.
func (s *Server) visitorEvents(c *gin.Context) {
	v := currentVisitor(c)
	st, first := s.broker.addVisitor(v.contact.ID)
	if first {
		s.setOnline(v.contact.ID, true)
	}
	defer func() {
		if s.broker.removeVisitor(st) {
			s.setOnline(v.contact.ID, false)
		}
	}()
	s.serveStream(c, st.stream)
}

func (s *Server) setOnline(contact uuid.UUID, online bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.q.ContactSetOnline(ctx, s.Pool, dbsqlc.ContactSetOnlineParams{ID: contact, Online: online}); err != nil {
		s.log.Warn("visitor presence not recorded", "contact_id", contact, "err", err)
	}
}

func nullUUIDValue(u uuid.NullUUID) string {
	if !u.Valid {
		return ""
	}
	return u.UUID.String()
}
