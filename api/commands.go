package api

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"

	"github.com/omnichat/omnichat/channel"
	"github.com/omnichat/omnichat/db/dbsqlc"
	"github.com/omnichat/omnichat/workflows"
)

// Commands an agent gives a session. The session's workflow applies them;
// the API checks what it can first (the caller may see the session, the
// fields are valid, the people named exist) and answers 202. The effect
// reaches clients as session.updated events.

// command is the shape every session command shares: decode the body into
// req (unless nil), load the session the caller may see, build the signal,
// send it and answer 202.
func (s *Server) command(c *gin.Context, req any, build func(row sessionRow, p *principal) (name string, arg any, err error)) {
	if req != nil {
		if err := bind(c, req); err != nil {
			s.fail(c, err)
			return
		}
	}
	row, err := s.session(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	name, arg, err := build(row, me(c))
	if err == nil {
		err = s.signalSession(c, row.Session, name, arg)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	accepted(c)
}

// accepted answers a command the session's workflow will apply.
func accepted(c *gin.Context) { c.JSON(http.StatusAccepted, gin.H{"status": "accepted"}) }

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

func (s *Server) joinSession(c *gin.Context)  { s.agentCommand(c, workflows.SignalJoin) }
func (s *Server) leaveSession(c *gin.Context) { s.agentCommand(c, workflows.SignalLeave) }

func (s *Server) agentCommand(c *gin.Context, name string) {
	s.command(c, nil, func(row sessionRow, p *principal) (string, any, error) {
		return name, workflows.AgentCommand{SessionID: row.Session.ID.String(), AgentID: p.id().String()}, nil
	})
}

type doneRequest struct {
	CloseStatus string `json:"close_status" binding:"max=100"`
}

// doneSession closes the session, with the close status the channel asks for.
func (s *Server) doneSession(c *gin.Context) {
	var req doneRequest
	if c.Request.ContentLength != 0 {
		if err := bind(c, &req); err != nil {
			s.fail(c, err)
			return
		}
	}
	s.command(c, nil, func(row sessionRow, p *principal) (string, any, error) {
		ch, err := s.q.ChannelGet(c, s.Pool, row.Session.ChannelID)
		if err != nil {
			return "", nil, err
		}
		set, _ := channel.ParseSettings(ch.Settings)
		switch {
		case set.RequireCloseStatus && req.CloseStatus == "":
			return "", nil, invalidField("close_status", "is required on this channel")
		case len(set.CloseStatuses) > 0 && req.CloseStatus != "" && !slices.Contains(set.CloseStatuses, req.CloseStatus):
			return "", nil, invalidField("close_status", "must be one of "+strings.Join(set.CloseStatuses, ", "))
		}
		return workflows.SignalDone, workflows.DoneCommand{SessionID: row.Session.ID.String(), ActorID: p.id().String(), CloseStatus: req.CloseStatus}, nil
	})
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
	s.command(c, &req, func(row sessionRow, p *principal) (string, any, error) {
		return workflows.SignalImportant, workflows.ImportantCommand{SessionID: row.Session.ID.String(), ActorID: p.id().String(), Value: *req.Value}, nil
	})
}

type tagsRequest struct {
	Tags []string `json:"tags" binding:"required,max=50,dive,max=64"`
}

func (s *Server) setTags(c *gin.Context) {
	var req tagsRequest
	s.command(c, &req, func(row sessionRow, p *principal) (string, any, error) {
		return workflows.SignalTags, workflows.TagsCommand{SessionID: row.Session.ID.String(), ActorID: p.id().String(), Tags: workflows.NormalizeTags(req.Tags)}, nil
	})
}

type snoozeRequest struct {
	Until time.Time `json:"until" binding:"required"`
}

func (s *Server) snoozeSession(c *gin.Context) {
	var req snoozeRequest
	s.command(c, &req, func(row sessionRow, p *principal) (string, any, error) {
		if now := time.Now(); !req.Until.After(now) || req.Until.After(now.AddDate(1, 0, 0)) {
			return "", nil, invalidField("until", "must be in the future, within a year")
		}
		return workflows.SignalSnooze, workflows.SnoozeCommand{SessionID: row.Session.ID.String(), ActorID: p.id().String(), Until: req.Until.UTC()}, nil
	})
}

type ownerRequest struct {
	AgentID string `json:"agent_id" binding:"omitempty,uuid"`
	TeamID  string `json:"team_id" binding:"omitempty,uuid"`
	Note    string `json:"note" binding:"max=1000"`
}

// setOwner gives the session to an agent, or moves it to a team's queue.
func (s *Server) setOwner(c *gin.Context) {
	var req ownerRequest
	s.command(c, &req, func(row sessionRow, p *principal) (string, any, error) {
		if req.AgentID == "" && req.TeamID == "" {
			return "", nil, invalidField("agent_id", "agent_id or team_id is required")
		}
		taking := req.AgentID == p.id().String() && req.TeamID == "" && !row.Session.OwnerID.Valid
		if !taking && !p.canManage(sessionScope(row.Session)) {
			return "", nil, forbidden("only the owner, a team admin, a supervisor or an admin may give this session to someone else")
		}
		if req.AgentID != "" {
			if err := s.activeAgents(c, []string{req.AgentID}, "agent_id"); err != nil {
				return "", nil, err
			}
		}
		if req.TeamID != "" {
			if _, err := s.teamRef(c, req.TeamID); err != nil {
				return "", nil, err
			}
		}
		return workflows.SignalOwner, workflows.OwnerCommand{
			SessionID: row.Session.ID.String(), ActorID: p.id().String(), AgentID: req.AgentID, TeamID: req.TeamID, Note: req.Note,
		}, nil
	})
}

type supportersRequest struct {
	AgentIDs []string `json:"agent_ids" binding:"required,min=1,max=20,dive,uuid"`
}

func (s *Server) addSupporters(c *gin.Context) {
	var req supportersRequest
	s.command(c, &req, func(row sessionRow, p *principal) (string, any, error) {
		if err := s.activeAgents(c, req.AgentIDs, "agent_ids"); err != nil {
			return "", nil, err
		}
		return workflows.SignalSupporters, workflows.SupportersCommand{SessionID: row.Session.ID.String(), ActorID: p.id().String(), Add: req.AgentIDs}, nil
	})
}

func (s *Server) removeSupporter(c *gin.Context) {
	s.command(c, nil, func(row sessionRow, p *principal) (string, any, error) {
		agent, err := uuid.Parse(c.Param("agent_id"))
		if err != nil || !slices.Contains(row.Session.SupporterIds, agent) {
			return "", nil, notFound("supporter")
		}
		return workflows.SignalSupporters, workflows.SupportersCommand{SessionID: row.Session.ID.String(), ActorID: p.id().String(), Remove: []string{agent.String()}}, nil
	})
}

// activeAgents checks that every id (already validated as a UUID) names an
// active agent.
func (s *Server) activeAgents(c *gin.Context, ids []string, field string) error {
	want := make([]uuid.UUID, len(ids))
	for i, v := range ids {
		want[i] = uuid.MustParse(v)
	}
	agents, err := s.q.AgentListByIDs(c, s.Pool, want)
	if err != nil {
		return err
	}
	for _, id := range want {
		if !slices.ContainsFunc(agents, func(a dbsqlc.Agent) bool { return a.ID == id && a.Active }) {
			return invalidField(field, id.String()+" is not an active agent")
		}
	}
	return nil
}
