package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/omnichat/omnichat/channel"
	"github.com/omnichat/omnichat/db"
	"github.com/omnichat/omnichat/db/dbsqlc"
	"github.com/omnichat/omnichat/realtime"
	"github.com/omnichat/omnichat/workflows"
)

// Messages agents write: replies to the customer (through the session's
// workflow), staff notes (straight to the read model) and resends.

type replyRequest struct {
	Text        string               `json:"text" binding:"max=4096"`
	ClientID    string               `json:"client_id" binding:"max=100"`
	Attachments []channel.Attachment `json:"attachments" binding:"max=10,dive"`
}

// reply sends an agent's message to the customer through the session
// workflow, which refuses it when the session is closed or the platform's
// window is shut. A client_id seen before answers with the stored message.
func (s *Server) reply(c *gin.Context) {
	var req replyRequest
	if err := bind(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	row, err := s.session(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	if strings.TrimSpace(req.Text) == "" && len(req.Attachments) == 0 {
		s.fail(c, invalidField("text", "is required"))
		return
	}
	if err := validAttachments(req.Attachments); err != nil {
		s.fail(c, err)
		return
	}
	if req.ClientID == "" {
		req.ClientID = uuid.NewString()
	}
	sess := row.Session
	clientID := req.ClientID
	if m, err := s.q.MessageGetByClientID(c, s.Pool, dbsqlc.MessageGetByClientIDParams{SessionID: uuid.NullUUID{UUID: sess.ID, Valid: true}, ClientID: &clientID}); err == nil {
		s.writeMessage(c, http.StatusOK, m)
		return
	} else if !db.IsNotFound(err) {
		s.fail(c, err)
		return
	}
	if sess.Status == workflows.StatusClosed {
		s.fail(c, conflict("the session is closed; reopen it to reply"))
		return
	}
	res, err := s.updateReply(c, sess, workflows.ReplyInput{
		SessionID: sess.ID.String(), AgentID: me(c).id().String(), ClientID: req.ClientID,
		Text: req.Text, Attachments: req.Attachments,
	})
	if err != nil {
		s.fail(c, err)
		return
	}
	m, err := s.q.MessageGet(c, s.Pool, res.MessageID)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.writeMessage(c, http.StatusCreated, m)
}

func validAttachments(atts []channel.Attachment) error {
	for i, a := range atts {
		if !strings.HasPrefix(a.URL, "https://") && !strings.HasPrefix(a.URL, "http://") {
			return invalidField("attachments["+strconv.Itoa(i)+"].url", "must be an http(s) URL")
		}
		if a.Size > 25<<20 {
			return invalidField("attachments["+strconv.Itoa(i)+"].size", "must be at most 25 MB")
		}
	}
	return nil
}

func (s *Server) writeMessage(c *gin.Context, status int, m dbsqlc.Message) {
	names := s.agentNames(c, []dbsqlc.Message{m})
	c.JSON(status, toMessage(m, names[m.SenderID.UUID]))
}

type noteRequest struct {
	Text     string `json:"text" binding:"required,max=4096"`
	ClientID string `json:"client_id" binding:"max=100"`
}

// addNote stores a staff-only note in the session; notes are never sent.
func (s *Server) addNote(c *gin.Context) {
	var req noteRequest
	if err := bind(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	row, err := s.session(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	if strings.TrimSpace(req.Text) == "" {
		s.fail(c, invalidField("text", "is required"))
		return
	}
	if req.ClientID == "" {
		req.ClientID = uuid.NewString()
	}
	sess := row.Session
	sid := uuid.NullUUID{UUID: sess.ID, Valid: true}
	clientID := "note:" + req.ClientID
	var m dbsqlc.Message
	status := http.StatusCreated
	err = db.InTx(c, s.Pool, func(tx pgx.Tx) error {
		var err error
		m, err = s.q.MessageInsertSession(c, tx, dbsqlc.MessageInsertSessionParams{
			ChannelID: sess.ChannelID, ContactID: sess.ContactID, SessionID: sid, Direction: "note",
			Text: req.Text, Attachments: []byte("[]"), Status: "sent",
			SenderID: uuid.NullUUID{UUID: me(c).id(), Valid: true}, ClientID: &clientID, SentAt: time.Now(),
		})
		if db.IsNotFound(err) {
			status = http.StatusOK
			m, err = s.q.MessageGetByClientID(c, tx, dbsqlc.MessageGetByClientIDParams{SessionID: sid, ClientID: &clientID})
			return err
		}
		if err != nil {
			return err
		}
		return realtime.Publish(c, s.q, tx, realtime.Notification{Type: realtime.MessageCreated, MessageID: m.ID, SessionID: sess.ID.String(), ContactID: sess.ContactID.String()})
	})
	if err != nil {
		s.fail(c, err)
		return
	}
	s.writeMessage(c, status, m)
}

// resendMessage sends a failed message again where its failure allows it
// (a format error never does; a closed window does once the customer wrote
// again; an expired token once the channel is reconnected).
func (s *Server) resendMessage(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		s.fail(c, notFound("message"))
		return
	}
	m, err := s.q.MessageGet(c, s.Pool, id)
	if db.IsNotFound(err) || (err == nil && !m.SessionID.Valid) {
		s.fail(c, notFound("message"))
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	sess, err := s.q.SessionGet(c, s.Pool, m.SessionID.UUID)
	if err != nil {
		s.fail(c, err)
		return
	}
	if !me(c).canSee(sessionScope(sess)) {
		s.fail(c, notFound("message"))
		return
	}
	switch {
	case m.Direction != "out":
		s.fail(c, conflict("only messages to the customer are sent"))
		return
	case m.Status != "failed":
		s.fail(c, conflict("the message has not failed"))
		return
	case !m.Resendable:
		s.fail(c, conflict("this failure ("+m.FailureReason+") cannot be fixed by sending again"))
		return
	}
	err = s.signalSession(c, sess, workflows.SignalResend, workflows.ResendCommand{SessionID: sess.ID.String(), ActorID: me(c).id().String(), MessageID: m.ID})
	if err != nil {
		s.fail(c, err)
		return
	}
	accepted(c)
}
