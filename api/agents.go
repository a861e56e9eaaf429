package api

import (
	"context"
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/omnichat/omnichat/db"
	"github.com/omnichat/omnichat/db/dbsqlc"
)

type createAgentRequest struct {
	Email    string `json:"email" binding:"required,email,max=320"`
	Name     string `json:"name" binding:"required,max=200"`
	Password string `json:"password" binding:"required,min=8,max=200"`
	Role     string `json:"role" binding:"required,oneof=admin supervisor agent"`
}

func (s *Server) createAgent(c *gin.Context) {
	var req createAgentRequest
	if err := bind(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	hash, err := HashPassword(req.Password)
	if err != nil {
		s.fail(c, err)
		return
	}
	a, err := s.q.AgentCreate(c, s.Pool, dbsqlc.AgentCreateParams{Email: req.Email, Name: req.Name, Role: req.Role, PasswordHash: hash})
	if db.IsUniqueViolation(err) {
		s.fail(c, conflict("an agent with this e-mail exists"))
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, toAgent(a))
}

func (s *Server) listAgents(c *gin.Context) {
	as, err := s.q.AgentList(c, s.Pool)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := listJSON[agentJSON]{Items: make([]agentJSON, 0, len(as))}
	for _, a := range as {
		out.Items = append(out.Items, toAgent(a))
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) getMe(c *gin.Context) {
	p := me(c)
	teams := make([]gin.H, 0, len(p.teams))
	for id, role := range p.teams {
		teams = append(teams, gin.H{"team_id": id.String(), "role": role})
	}
	c.JSON(http.StatusOK, gin.H{"agent": toAgent(p.agent), "teams": teams})
}

type presenceRequest struct {
	Presence string `json:"presence" binding:"required,oneof=online away offline"`
}

func (s *Server) setPresence(c *gin.Context) {
	var req presenceRequest
	if err := bind(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	a, err := s.q.AgentSetPresence(c, s.Pool, dbsqlc.AgentSetPresenceParams{ID: me(c).id(), Presence: req.Presence})
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, toAgent(a))
}

// agentNameCache remembers agents' display names for messages and events;
// a name changed elsewhere shows up when the entry is refreshed.
type agentNameCache struct {
	mu    sync.RWMutex
	names map[uuid.UUID]string
}

// agentNames returns the names of the senders of ms.
func (s *Server) agentNames(ctx context.Context, ms []dbsqlc.Message) map[uuid.UUID]string {
	out := map[uuid.UUID]string{}
	var missing []uuid.UUID
	s.names.mu.RLock()
	for _, m := range ms {
		if !m.SenderID.Valid {
			continue
		}
		if n, ok := s.names.names[m.SenderID.UUID]; ok {
			out[m.SenderID.UUID] = n
		} else {
			missing = append(missing, m.SenderID.UUID)
		}
	}
	s.names.mu.RUnlock()
	if len(missing) == 0 {
		return out
	}
	as, err := s.q.AgentListByIDs(ctx, s.Pool, missing)
	if err != nil {
		s.log.Warn("agent names unavailable", "err", err)
		return out
	}
	s.names.mu.Lock()
	defer s.names.mu.Unlock()
	if s.names.names == nil {
		s.names.names = map[uuid.UUID]string{}
	}
	for _, a := range as {
		s.names.names[a.ID] = a.Name
		out[a.ID] = a.Name
	}
	return out
}
