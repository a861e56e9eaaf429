package api

import (
	"context"
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

	"github.com/omnichat/omnichat/db"
	"github.com/omnichat/omnichat/db/dbsqlc"
	"github.com/omnichat/omnichat/workflows"
)

var (
	sessionStatuses = []string{
		workflows.StatusRepNeeded, workflows.StatusPending, workflows.StatusSoon, workflows.StatusOverdue,
		workflows.StatusAnswered, workflows.StatusSnoozed, workflows.StatusClosed,
	}
	// openStatuses is every status but closed: the list's default.
	openStatuses = slices.DeleteFunc(slices.Clone(sessionStatuses), func(s string) bool { return s == workflows.StatusClosed })
	sessionViews = []string{"all", "mine", "joined", "support", "unassigned", "unanswered", "team"}
)

const (
	defaultPageSize = 50
	maxPageSize     = 200
	// A search (q) whose term the planner expects to match at most
	// searchFewContacts contacts lists those contacts' sessions (after
	// reading at most searchContactsCap of them, in case the estimate is far
	// off); a more common term walks the newest sessions checking it, where
	// matches come soon (docs/perf/explain-sessions.md).
	searchFewContacts = 8000
	searchContactsCap = 20000
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
	if err := s.narrowByAccess(c, &params); err != nil {
		s.fail(c, err)
		return
	}
	if params.Q != nil {
		if err := s.searchContacts(c, &params); err != nil {
			s.fail(c, err)
			return
		}
	}
	rows, err := s.q.SessionList(c, customPlan{s.Pool}, params)
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

// searchContacts turns a search term that matches few contacts into the list
// of those contacts, so that SessionList reads just their sessions. A common
// term is left as q: SessionList then walks the newest sessions checking it.
func (s *Server) searchContacts(ctx context.Context, params *dbsqlc.SessionListParams) error {
	est, err := s.q.SessionListSearchEstimate(ctx, s.Pool, *params.Q)
	if err != nil {
		return err
	}
	if est > searchFewContacts {
		return nil
	}
	m, err := s.q.SessionListSearchContacts(ctx, customPlan{s.Pool}, dbsqlc.SessionListSearchContactsParams{Q: *params.Q, Lim: searchContactsCap + 1})
	if err != nil {
		return err
	}
	if m.Matches > searchContactsCap {
		return nil // the estimate was far off: walk after all
	}
	// Every matching contact (none: '{}', which matches no session).
	params.ContactIds, params.Q = &m.Ids, nil
	return nil
}

// narrowByAccess shapes a list filtered to a team or channel whose
// sessions the caller mostly may not see, so that it does not walk all of
// them looking for the few they may:
//   - a team the caller is not in: what remains are the sessions they own,
//     joined or support (personal), found by those indexes;
//   - a channel of which they see few sessions through their teams (sessions
//     may have been transferred, so the channel's team alone does not
//     decide it): the visible ones are gathered through the indexes and
//     sorted (gather).
func (s *Server) narrowByAccess(ctx context.Context, params *dbsqlc.SessionListParams) error {
	if params.AllAccess {
		return nil
	}
	if params.TeamID.Valid && !slices.Contains(params.TeamIds, params.TeamID.UUID) {
		params.Personal = true
		return nil
	}
	if params.ChannelID.Valid && !params.TeamID.Valid {
		statuses := params.Statuses
		if len(statuses) == 0 {
			statuses = openStatuses
		}
		n, err := s.q.SessionChannelTeamSessions(ctx, s.Pool, dbsqlc.SessionChannelTeamSessionsParams{
			ChannelID: params.ChannelID.UUID, TeamIds: params.TeamIds, Statuses: statuses, Cap: gatherAtMost,
		})
		if err != nil {
			return err
		}
		params.Gather = n < gatherAtMost
	}
	return nil
}

// gatherAtMost is how many of a channel's sessions an agent may see through
// their teams for the list to gather and sort them rather than walk the
// channel newest first (where, that sparse, matches come late).
const gatherAtMost = 2000

// customPlan runs queries as pgx's unnamed statement, so that Postgres plans
// each execution for its arguments rather than reusing a generic plan of a
// prepared statement (which it may switch to after five executions). The
// session list is a catch-all query whose right index depends on the
// arguments (a filter's presence, a tag's or a search term's frequency); a
// generic plan of it reads every session. Planning costs 1–2 ms.
type customPlan struct{ dbsqlc.DBTX }

func (d customPlan) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return d.DBTX.Query(ctx, sql, append([]any{pgx.QueryExecModeDescribeExec}, args...)...)
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
