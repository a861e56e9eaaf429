package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/omnichat/omnichat/db"
	"github.com/omnichat/omnichat/db/dbsqlc"
)

type createTeamRequest struct {
	Name string `json:"name" binding:"required,max=200"`
	Mode string `json:"mode" binding:"omitempty,oneof=collaboration grab"`
}

func (s *Server) createTeam(c *gin.Context) {
	var req createTeamRequest
	if err := bind(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	if req.Mode == "" {
		req.Mode = "collaboration"
	}
	t, err := s.q.TeamCreate(c, s.Pool, dbsqlc.TeamCreateParams{Name: req.Name, Mode: req.Mode})
	if db.IsUniqueViolation(err) {
		s.fail(c, conflict("a team with this name exists"))
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, teamJSON{ID: t.ID.String(), Name: t.Name, Mode: t.Mode, Members: []teamMemberJSON{}, CreatedAt: t.CreatedAt.UTC()})
}

func (s *Server) listTeams(c *gin.Context) {
	ts, err := s.q.TeamList(c, s.Pool)
	if err != nil {
		s.fail(c, err)
		return
	}
	out, err := s.teamsJSON(c, ts)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, listJSON[teamJSON]{Items: out})
}

func (s *Server) getTeam(c *gin.Context) {
	t, err := s.team(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	out, err := s.teamsJSON(c, []dbsqlc.Team{t})
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out[0])
}

func (s *Server) team(c *gin.Context) (dbsqlc.Team, error) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return dbsqlc.Team{}, notFound("team")
	}
	t, err := s.q.TeamGet(c, s.Pool, id)
	if db.IsNotFound(err) {
		return t, notFound("team")
	}
	return t, err
}

func (s *Server) teamsJSON(c *gin.Context, ts []dbsqlc.Team) ([]teamJSON, error) {
	ids := make([]uuid.UUID, len(ts))
	for i, t := range ts {
		ids[i] = t.ID
	}
	ms, err := s.q.TeamMemberList(c, s.Pool, ids)
	if err != nil {
		return nil, err
	}
	byTeam := map[uuid.UUID][]teamMemberJSON{}
	for _, m := range ms {
		byTeam[m.TeamID] = append(byTeam[m.TeamID], teamMemberJSON{AgentID: m.AgentID.String(), Name: m.Name, Email: m.Email, Role: m.Role, Presence: m.Presence})
	}
	out := make([]teamJSON, len(ts))
	for i, t := range ts {
		members := byTeam[t.ID]
		if members == nil {
			members = []teamMemberJSON{}
		}
		out[i] = teamJSON{ID: t.ID.String(), Name: t.Name, Mode: t.Mode, Members: members, CreatedAt: t.CreatedAt.UTC()}
	}
	return out, nil
}

type teamMembersRequest struct {
	Members []struct {
		AgentID string `json:"agent_id" binding:"required,uuid"`
		Role    string `json:"role" binding:"omitempty,oneof=admin member"`
	} `json:"members" binding:"required,max=1000,dive"`
}

// setTeamMembers replaces a team's members.
func (s *Server) setTeamMembers(c *gin.Context) {
	var req teamMembersRequest
	if err := bind(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	t, err := s.team(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	seen := map[uuid.UUID]bool{}
	err = db.InTx(c, s.Pool, func(tx pgx.Tx) error {
		if err := s.q.TeamMemberDeleteAll(c, tx, t.ID); err != nil {
			return err
		}
		for i, m := range req.Members {
			id := uuid.MustParse(m.AgentID)
			if seen[id] {
				continue
			}
			seen[id] = true
			role := m.Role
			if role == "" {
				role = "member"
			}
			if _, err := s.q.AgentGet(c, tx, id); db.IsNotFound(err) {
				return invalidField("members["+itoa(i)+"].agent_id", "is not an agent")
			} else if err != nil {
				return err
			}
			if err := s.q.TeamMemberInsert(c, tx, dbsqlc.TeamMemberInsertParams{TeamID: t.ID, AgentID: id, Role: role}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.fail(c, err)
		return
	}
	s.getTeam(c)
}
