package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.temporal.io/api/serviceerror"

	"github.com/omnichat/omnichat/channel"
	"github.com/omnichat/omnichat/db"
	"github.com/omnichat/omnichat/db/dbsqlc"
	"github.com/omnichat/omnichat/realtime"
	"github.com/omnichat/omnichat/workflows"
)

var (
	sessionStatuses = []string{
		workflows.StatusRepNeeded, workflows.StatusPending, workflows.StatusSoon, workflows.StatusOverdue,
		workflows.StatusAnswered, workflows.StatusSnoozed, workflows.StatusClosed,
	}
	sessionViews = []string{"all", "mine", "joined", "support", "unassigned", "unanswered", "team"}
)

const (
	defaultPageSize = 50
	maxPageSize     = 200
)

// farFuture starts keyset pages from the newest row.
var farFuture = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

func (s *Server) listSessions(c *gin.Context) {
	p := me(c)
	params := dbsqlc.SessionListParams{
		AgentID:          p.id(),
		AllAccess:        p.seesEverything(),
		TeamIds:          p.teamIDs(),
		Statuses:         []string{},
		ViewTeamIds:      []uuid.UUID{},
		BeforeActivityAt: farFuture,
		BeforeID:         uuid.Max,
	}
	var errs []FieldError
	if v := c.Query("status"); v != "" {
		for _, st := range strings.Split(v, ",") {
			if !slices.Contains(sessionStatuses, st) {
				errs = append(errs, FieldError{"status", "must be one or more of " + strings.Join(sessionStatuses, ", ")})
				break
			}
			params.Statuses = append(params.Statuses, st)
		}
	}
	view := c.DefaultQuery("view", "all")
	if !slices.Contains(sessionViews, view) {
		errs = append(errs, FieldError{"view", "must be one of " + strings.Join(sessionViews, ", ")})
	}
	params.View = view
	for _, f := range []struct {
		name string
		dst  *uuid.NullUUID
	}{{"team_id", &params.TeamID}, {"channel_id", &params.ChannelID}, {"owner_id", &params.OwnerID}} {
		if v := c.Query(f.name); v != "" {
			id, err := uuid.Parse(v)
			if err != nil {
				errs = append(errs, FieldError{f.name, "must be an id"})
				continue
			}
			*f.dst = uuid.NullUUID{UUID: id, Valid: true}
		}
	}
	if view == "team" {
		// The team view is the caller's teams, or the one asked for.
		params.ViewTeamIds = p.teamIDs()
		if params.TeamID.Valid {
			params.ViewTeamIds = []uuid.UUID{params.TeamID.UUID}
		}
	}
	if v := strings.TrimSpace(c.Query("tag")); v != "" {
		params.Tag = &v
	}
	if v := strings.TrimSpace(c.Query("q")); v != "" {
		if len(v) > 200 {
			errs = append(errs, FieldError{"q", "must be at most 200 characters"})
		}
		params.Q = &v
	}
	limit, lerr := pageLimit(c)
	if lerr != nil {
		errs = append(errs, *lerr)
	}
	params.Lim = int32(limit + 1)
	if cur := c.Query("cursor"); cur != "" {
		at, id, err := decodeSessionCursor(cur)
		if err != nil {
			errs = append(errs, FieldError{"cursor", "is not a cursor this API gave"})
		}
		params.BeforeActivityAt, params.BeforeID = at, id
	}
	if len(errs) > 0 {
		s.fail(c, invalid(errs...))
		return
	}
	rows, err := s.q.SessionList(c, s.Pool, params)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := listJSON[sessionJSON]{Items: make([]sessionJSON, 0, len(rows))}
	now := time.Now()
	for i, r := range rows {
		if i == limit {
			last := rows[limit-1].Session
			out.NextCursor = encodeSessionCursor(last.LastActivityAt, last.ID)
			break
		}
		out.Items = append(out.Items, toSession(sessionRow(r), now))
	}
	c.JSON(http.StatusOK, out)
}

func pageLimit(c *gin.Context) (int, *FieldError) {
	v := c.Query("limit")
	if v == "" {
		return defaultPageSize, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxPageSize {
		return defaultPageSize, &FieldError{"limit", "must be between 1 and " + strconv.Itoa(maxPageSize)}
	}
	return n, nil
}

func encodeSessionCursor(at time.Time, id uuid.UUID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at.UnixMicro(), 10) + "|" + id.String()))
}

func decodeSessionCursor(cur string) (time.Time, uuid.UUID, error) {
	b, err := base64.RawURLEncoding.DecodeString(cur)
	if err != nil {
		return time.Time{}, uuid.UUID{}, err
	}
	ts, idStr, ok := strings.Cut(string(b), "|")
	if !ok {
		return time.Time{}, uuid.UUID{}, errors.New("bad cursor")
	}
	us, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return time.Time{}, uuid.UUID{}, err
	}
	id, err := uuid.Parse(idStr)
	return time.UnixMicro(us), id, err
}

// session loads the session named in the path, as the caller may see it:
// one they may not see is "not found", so its existence does not leak.
func (s *Server) session(c *gin.Context) (sessionRow, error) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return sessionRow{}, notFound("session")
	}
	v, err := s.q.SessionView(c, s.Pool, id)
	if db.IsNotFound(err) {
		return sessionRow{}, notFound("session")
	}
	if err != nil {
		return sessionRow{}, err
	}
	p := me(c)
	if !p.canSee(sessionScope(v.Session)) {
		return sessionRow{}, notFound("session")
	}
	row := sessionRow{Session: v.Session, Contact: v.Contact, LastDirection: v.LastDirection, LastText: v.LastText, LastSentAt: v.LastSentAt, LastSenderID: v.LastSenderID}
	reads, err := s.q.SessionReadList(c, s.Pool, id)
	if err != nil {
		return sessionRow{}, err
	}
	row.Unread = unreadFor(v.Session, reads, p.id())
	return row, nil
}

// unreadFor is an agent's unread count of a session, as SessionList computes it.
func unreadFor(s dbsqlc.Session, reads []dbsqlc.SessionRead, agent uuid.UUID) int32 {
	var read int32
	marked := false
	for _, r := range reads {
		if r.AgentID == agent {
			read, marked = r.ReadInCount, r.MarkedUnread
		}
	}
	n := max(0, s.InCount-read)
	if marked {
		n = max(1, n)
	}
	return n
}

func (s *Server) getSession(c *gin.Context) {
	row, err := s.session(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, toSession(row, time.Now()))
}

// listMessages pages back through the conversation: this session's
// messages, then the contact's earlier sessions' on the same channel.
func (s *Server) listMessages(c *gin.Context) {
	row, err := s.session(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	limit, ferr := pageLimit(c)
	if ferr != nil {
		s.fail(c, invalid(*ferr))
		return
	}
	params := dbsqlc.MessageTimelineParams{
		ContactID:         row.Session.ContactID,
		SessionID:         uuid.NullUUID{UUID: row.Session.ID, Valid: true},
		IncludeUnattached: row.Session.Status != workflows.StatusClosed,
		OpenedAt:          row.Session.OpenedAt,
		BeforeSentAt:      farFuture,
		BeforeID:          1<<63 - 1,
		Lim:               int32(limit + 1),
	}
	if b := c.Query("before"); b != "" {
		at, id, perr := s.messageCursor(c, b, row.Session.ContactID)
		if perr != nil {
			s.fail(c, perr)
			return
		}
		params.BeforeSentAt, params.BeforeID = at, id
	}
	ms, err := s.q.MessageTimeline(c, s.Pool, params)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.writeMessagePage(c, ms, limit, s.toMessages(c, ms))
}

// messageCursor resolves ?before=<message id> to its place in the timeline.
func (s *Server) messageCursor(c *gin.Context, before string, contact uuid.UUID) (time.Time, int64, error) {
	id, err := strconv.ParseInt(before, 10, 64)
	if err != nil {
		return time.Time{}, 0, invalidField("before", "must be a message id")
	}
	m, err := s.q.MessageGet(c, s.Pool, id)
	if db.IsNotFound(err) || (err == nil && m.ContactID != contact) {
		return time.Time{}, 0, invalidField("before", "is not a message of this conversation")
	}
	if err != nil {
		return time.Time{}, 0, err
	}
	return m.SentAt, m.ID, nil
}

// writeMessagePage answers a newest-first page (with one extra row telling
// whether more exist) oldest first, as conversations read.
func (s *Server) writeMessagePage(c *gin.Context, ms []dbsqlc.Message, limit int, items any) {
	next := ""
	if len(ms) > limit {
		next = strconv.FormatInt(ms[limit-1].ID, 10)
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "next_cursor": next})
}

// toMessages renders a newest-first page oldest first, trimmed to the page.
func (s *Server) toMessages(c *gin.Context, ms []dbsqlc.Message) []messageJSON {
	n := len(ms)
	limit, _ := pageLimit(c)
	n = min(n, limit)
	names := s.agentNames(c, ms[:n])
	out := make([]messageJSON, 0, n)
	for i := n - 1; i >= 0; i-- {
		out = append(out, toMessage(ms[i], names[ms[i].SenderID.UUID]))
	}
	return out
}

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

// signalSession sends a command to the session's workflow. The command
// names the session: if the contact's next session has started meanwhile,
// the workflow ignores it.
func (s *Server) signalSession(c *gin.Context, sess dbsqlc.Session, name string, arg any) error {
	if sess.Status == workflows.StatusClosed {
		return conflict("the session is closed")
	}
	err := s.Temporal.SignalWorkflow(c, sess.WorkflowID, "", name, arg)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return conflict("the session is closed")
	}
	if err != nil {
		return temporalUnavailable(err)
	}
	return nil
}

// accepted answers a command the session's workflow will apply; its effect
// reaches clients as session.updated events.
func accepted(c *gin.Context) {
	c.JSON(http.StatusAccepted, gin.H{"status": "accepted"})
}

func (s *Server) joinSession(c *gin.Context)  { s.agentCommand(c, workflows.SignalJoin) }
func (s *Server) leaveSession(c *gin.Context) { s.agentCommand(c, workflows.SignalLeave) }

func (s *Server) agentCommand(c *gin.Context, name string) {
	row, err := s.session(c)
	if err == nil {
		err = s.signalSession(c, row.Session, name, workflows.AgentCommand{SessionID: row.Session.ID.String(), AgentID: me(c).id().String()})
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	accepted(c)
}

type doneRequest struct {
	CloseStatus string `json:"close_status" binding:"max=100"`
}

func (s *Server) doneSession(c *gin.Context) {
	var req doneRequest
	if c.Request.ContentLength != 0 {
		if err := bind(c, &req); err != nil {
			s.fail(c, err)
			return
		}
	}
	row, err := s.session(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	ch, err := s.q.ChannelGet(c, s.Pool, row.Session.ChannelID)
	if err != nil {
		s.fail(c, err)
		return
	}
	set, _ := channel.ParseSettings(ch.Settings)
	switch {
	case set.RequireCloseStatus && req.CloseStatus == "":
		s.fail(c, invalidField("close_status", "is required on this channel"))
		return
	case len(set.CloseStatuses) > 0 && req.CloseStatus != "" && !slices.Contains(set.CloseStatuses, req.CloseStatus):
		s.fail(c, invalidField("close_status", "must be one of "+strings.Join(set.CloseStatuses, ", ")))
		return
	}
	err = s.signalSession(c, row.Session, workflows.SignalDone, workflows.DoneCommand{
		SessionID: row.Session.ID.String(), ActorID: me(c).id().String(), CloseStatus: req.CloseStatus,
	})
	if err != nil {
		s.fail(c, err)
		return
	}
	accepted(c)
}

// reopenSession brings a closed session back in a new run of its workflow.
// It is refused while the contact has another session open.
func (s *Server) reopenSession(c *gin.Context) {
	row, err := s.session(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	sess := row.Session
	if sess.Status != workflows.StatusClosed {
		s.fail(c, conflict("the session is open"))
		return
	}
	latest, err := s.q.SessionLatestByContact(c, s.Pool, sess.ContactID)
	if err != nil {
		s.fail(c, err)
		return
	}
	if latest.ID != sess.ID {
		s.fail(c, conflict("the contact has a newer session; reply there"))
		return
	}
	if err := s.startReopen(c, sess, me(c).id()); err != nil {
		s.fail(c, err)
		return
	}
	accepted(c)
}

type importantRequest struct {
	Value *bool `json:"value" binding:"required"`
}

func (s *Server) setImportant(c *gin.Context) {
	var req importantRequest
	if err := bind(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	row, err := s.session(c)
	if err == nil {
		err = s.signalSession(c, row.Session, workflows.SignalImportant, workflows.ImportantCommand{
			SessionID: row.Session.ID.String(), ActorID: me(c).id().String(), Value: *req.Value,
		})
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	accepted(c)
}

type tagsRequest struct {
	Tags []string `json:"tags" binding:"required,max=50,dive,max=64"`
}

func (s *Server) setTags(c *gin.Context) {
	var req tagsRequest
	if err := bind(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	row, err := s.session(c)
	if err == nil {
		err = s.signalSession(c, row.Session, workflows.SignalTags, workflows.TagsCommand{
			SessionID: row.Session.ID.String(), ActorID: me(c).id().String(), Tags: workflows.NormalizeTags(req.Tags),
		})
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	accepted(c)
}

type snoozeRequest struct {
	Until time.Time `json:"until" binding:"required"`
}

func (s *Server) snoozeSession(c *gin.Context) {
	var req snoozeRequest
	if err := bind(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	if !req.Until.After(time.Now()) || req.Until.After(time.Now().AddDate(1, 0, 0)) {
		s.fail(c, invalidField("until", "must be in the future, within a year"))
		return
	}
	row, err := s.session(c)
	if err == nil {
		err = s.signalSession(c, row.Session, workflows.SignalSnooze, workflows.SnoozeCommand{
			SessionID: row.Session.ID.String(), ActorID: me(c).id().String(), Until: req.Until.UTC(),
		})
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	accepted(c)
}

type ownerRequest struct {
	AgentID string `json:"agent_id" binding:"omitempty,uuid"`
	TeamID  string `json:"team_id" binding:"omitempty,uuid"`
	Note    string `json:"note" binding:"max=1000"`
}

// setOwner gives the session to an agent, or moves it to a team's queue.
func (s *Server) setOwner(c *gin.Context) {
	var req ownerRequest
	if err := bind(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	if req.AgentID == "" && req.TeamID == "" {
		s.fail(c, invalidField("agent_id", "agent_id or team_id is required"))
		return
	}
	row, err := s.session(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	p := me(c)
	sc := sessionScope(row.Session)
	taking := req.AgentID == p.id().String() && req.TeamID == "" && !row.Session.OwnerID.Valid
	if !taking && !p.canManage(sc) {
		s.fail(c, forbidden("only the owner, a team admin, a supervisor or an admin may give this session to someone else"))
		return
	}
	if req.AgentID != "" {
		a, err := s.q.AgentGet(c, s.Pool, uuid.MustParse(req.AgentID))
		if db.IsNotFound(err) || (err == nil && !a.Active) {
			s.fail(c, invalidField("agent_id", "is not an active agent"))
			return
		}
		if err != nil {
			s.fail(c, err)
			return
		}
	}
	if req.TeamID != "" {
		if _, err := s.q.TeamGet(c, s.Pool, uuid.MustParse(req.TeamID)); db.IsNotFound(err) {
			s.fail(c, invalidField("team_id", "is not a team"))
			return
		} else if err != nil {
			s.fail(c, err)
			return
		}
	}
	err = s.signalSession(c, row.Session, workflows.SignalOwner, workflows.OwnerCommand{
		SessionID: row.Session.ID.String(), ActorID: p.id().String(), AgentID: req.AgentID, TeamID: req.TeamID, Note: req.Note,
	})
	if err != nil {
		s.fail(c, err)
		return
	}
	accepted(c)
}

type supportersRequest struct {
	AgentIDs []string `json:"agent_ids" binding:"required,min=1,max=20,dive,uuid"`
}

func (s *Server) addSupporters(c *gin.Context) {
	var req supportersRequest
	if err := bind(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	row, err := s.session(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	ids := make([]uuid.UUID, len(req.AgentIDs))
	for i, v := range req.AgentIDs {
		ids[i] = uuid.MustParse(v)
	}
	agents, err := s.q.AgentListByIDs(c, s.Pool, ids)
	if err != nil {
		s.fail(c, err)
		return
	}
	for _, id := range ids {
		if !slices.ContainsFunc(agents, func(a dbsqlc.Agent) bool { return a.ID == id && a.Active }) {
			s.fail(c, invalidField("agent_ids", id.String()+" is not an active agent"))
			return
		}
	}
	err = s.signalSession(c, row.Session, workflows.SignalSupporters, workflows.SupportersCommand{
		SessionID: row.Session.ID.String(), ActorID: me(c).id().String(), Add: req.AgentIDs,
	})
	if err != nil {
		s.fail(c, err)
		return
	}
	accepted(c)
}

func (s *Server) removeSupporter(c *gin.Context) {
	row, err := s.session(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	agent, perr := uuid.Parse(c.Param("agent_id"))
	if perr != nil || !slices.Contains(row.Session.SupporterIds, agent) {
		s.fail(c, notFound("supporter"))
		return
	}
	err = s.signalSession(c, row.Session, workflows.SignalSupporters, workflows.SupportersCommand{
		SessionID: row.Session.ID.String(), ActorID: me(c).id().String(), Remove: []string{agent.String()},
	})
	if err != nil {
		s.fail(c, err)
		return
	}
	accepted(c)
}

// markRead and markUnread keep the caller's own read state; they change
// nobody else's view and need no workflow.
func (s *Server) markRead(c *gin.Context) {
	s.readState(c, func(sess dbsqlc.Session, agent uuid.UUID) error {
		return s.q.SessionMarkRead(c, s.Pool, dbsqlc.SessionMarkReadParams{SessionID: sess.ID, AgentID: agent})
	})
}

func (s *Server) markUnread(c *gin.Context) {
	s.readState(c, func(sess dbsqlc.Session, agent uuid.UUID) error {
		return s.q.SessionMarkUnread(c, s.Pool, dbsqlc.SessionMarkUnreadParams{SessionID: sess.ID, AgentID: agent})
	})
}

func (s *Server) readState(c *gin.Context, write func(dbsqlc.Session, uuid.UUID) error) {
	row, err := s.session(c)
	if err == nil {
		err = write(row.Session, me(c).id())
	}
	if err == nil {
		row, err = s.session(c)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, toSession(row, time.Now()))
}

// listSessionEvents is the session's audit trail.
func (s *Server) listSessionEvents(c *gin.Context) {
	row, err := s.session(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	evs, err := s.q.SessionEventList(c, s.Pool, row.Session.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := listJSON[eventJSON]{Items: make([]eventJSON, 0, len(evs))}
	for _, e := range evs {
		data := map[string]string{}
		_ = json.Unmarshal(e.Data, &data)
		out.Items = append(out.Items, eventJSON{Seq: e.Seq, Type: e.Type, ActorID: nullUUID(e.ActorID), Data: data, CreatedAt: e.CreatedAt.UTC()})
	}
	c.JSON(http.StatusOK, out)
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
