package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/omnichat/omnichat/db"
	"github.com/omnichat/omnichat/db/dbsqlc"
)

// PasswordCost is bcrypt's work factor for agents' passwords.
const PasswordCost = 12

// Roles.
const (
	RoleAdmin      = "admin"
	RoleSupervisor = "supervisor"
	RoleAgent      = "agent"
)

// principal is the signed-in agent with their team memberships.
type principal struct {
	agent dbsqlc.Agent
	// teams maps each of the agent's teams to their role in it (admin, member).
	teams map[uuid.UUID]string
}

func (p *principal) id() uuid.UUID { return p.agent.ID }

// seesEverything reports whether the agent sees every session: admins and
// supervisors do.
func (p *principal) seesEverything() bool {
	return p.agent.Role == RoleAdmin || p.agent.Role == RoleSupervisor
}

func (p *principal) teamIDs() []uuid.UUID {
	ids := make([]uuid.UUID, 0, len(p.teams))
	for id := range p.teams {
		ids = append(ids, id)
	}
	return ids
}

// HashPassword hashes a password for storage.
func HashPassword(pw string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), PasswordCost)
	return string(h), err
}

// dummyHash is compared against when an e-mail is unknown, so that a login's
// timing does not tell which e-mails exist.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("omnichat-dummy-password"), PasswordCost)

func newToken(prefix string) (token string, hash []byte) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	token = prefix + base64.RawURLEncoding.EncodeToString(b)
	return token, tokenHash(token)
}

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// bearer is the request's token: the Authorization header, or ?token= for
// event streams (a browser's EventSource cannot set headers).
func bearer(c *gin.Context) string {
	if h := c.GetHeader("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok)
		}
		return ""
	}
	return c.Query("token")
}

const principalKey = "omnichat.principal"

// requireAgent lets through requests of a signed-in, active agent.
func (s *Server) requireAgent(c *gin.Context) {
	tok := bearer(c)
	if tok == "" {
		writeProblem(c, unauthorized("sign in: send Authorization: Bearer <token>"))
		return
	}
	p, err := s.principalFor(c, tok)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Set(principalKey, p)
	c.Next()
}

func (s *Server) principalFor(ctx context.Context, tok string) (*principal, error) {
	a, err := s.q.AgentTokenLookup(ctx, s.Pool, tokenHash(tok))
	if db.IsNotFound(err) {
		return nil, unauthorized("the token is unknown or expired; sign in again")
	}
	if err != nil {
		return nil, err
	}
	ms, err := s.q.TeamMembershipsByAgent(ctx, s.Pool, a.ID)
	if err != nil {
		return nil, err
	}
	p := &principal{agent: a, teams: make(map[uuid.UUID]string, len(ms))}
	for _, m := range ms {
		p.teams[m.TeamID] = m.Role
	}
	return p, nil
}

// requireRole lets through agents with one of roles.
func requireRole(roles ...string) gin.HandlerFunc {
	return func(c *gin.Context) {
		p := me(c)
		for _, r := range roles {
			if p.agent.Role == r {
				c.Next()
				return
			}
		}
		writeProblem(c, forbidden("this needs the "+strings.Join(roles, " or ")+" role"))
	}
}

func me(c *gin.Context) *principal { return c.MustGet(principalKey).(*principal) }

type loginRequest struct {
	Email    string `json:"email" binding:"required,max=320"`
	Password string `json:"password" binding:"required,max=200"`
}

type loginResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	Agent     agentJSON `json:"agent"`
}

func (s *Server) login(c *gin.Context) {
	var req loginRequest
	if err := bind(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	a, err := s.q.AgentGetByEmail(c, s.Pool, req.Email)
	hash := dummyHash
	if err == nil {
		hash = []byte(a.PasswordHash)
	} else if !db.IsNotFound(err) {
		s.fail(c, err)
		return
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(req.Password)) != nil || err != nil || !a.Active {
		writeProblem(c, unauthorized("wrong e-mail or password"))
		return
	}
	tok, h := newToken("oca_")
	exp := time.Now().Add(s.TokenTTL).UTC().Truncate(time.Second)
	if err := s.q.AgentTokenCreate(c, s.Pool, dbsqlc.AgentTokenCreateParams{TokenHash: h, AgentID: a.ID, ExpiresAt: exp}); err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, loginResponse{Token: tok, ExpiresAt: exp, Agent: toAgent(a)})
}

func (s *Server) logout(c *gin.Context) {
	if err := s.q.AgentTokenDelete(c, s.Pool, tokenHash(bearer(c))); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// EnsureAdmin creates the first admin when no active admin exists, and
// reports whether it did.
func EnsureAdmin(ctx context.Context, q *dbsqlc.Queries, d dbsqlc.DBTX, email, name, password string) (bool, error) {
	n, err := q.AgentCountActiveAdmins(ctx, d)
	if err != nil || n > 0 {
		return false, err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return false, err
	}
	_, err = q.AgentCreate(ctx, d, dbsqlc.AgentCreateParams{Email: email, Name: name, Role: RoleAdmin, PasswordHash: hash})
	if db.IsUniqueViolation(err) {
		// Another replica starting at the same time may have created it.
		if n, cerr := q.AgentCountActiveAdmins(ctx, d); cerr == nil && n > 0 {
			return false, nil
		}
		return false, errors.New("an agent with the admin e-mail exists but is not an active admin")
	}
	return err == nil, err
}
