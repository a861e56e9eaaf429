package api

import (
	"slices"

	"github.com/google/uuid"

	"github.com/omnichat/omnichat/db/dbsqlc"
)

// Who may see what. The same rule is written once more, in SQL, in the
// SessionList query (lists are filtered in the database); the permission
// tests check that both agree.
//
// An agent sees a session when they are an admin or a supervisor, when the
// session's channel is routed to no team (everybody's), when it belongs to
// one of their teams, or when they own it, have joined it or support it.

// scope is what decides who may see a session or one of its messages.
type scope struct {
	teamID     uuid.NullUUID
	ownerID    uuid.NullUUID
	members    []uuid.UUID
	supporters []uuid.UUID
}

func sessionScope(s dbsqlc.Session) scope {
	return scope{teamID: s.TeamID, ownerID: s.OwnerID, members: s.MemberIds, supporters: s.SupporterIds}
}

// canSee reports whether p may see what sc covers.
func (p *principal) canSee(sc scope) bool {
	if p.seesEverything() || !sc.teamID.Valid {
		return true
	}
	if _, ok := p.teams[sc.teamID.UUID]; ok {
		return true
	}
	me := p.id()
	return (sc.ownerID.Valid && sc.ownerID.UUID == me) || slices.Contains(sc.members, me) || slices.Contains(sc.supporters, me)
}

// canManage reports whether p may give the session to someone else: admins,
// supervisors, admins of the session's team and its current owner.
func (p *principal) canManage(sc scope) bool {
	if p.seesEverything() {
		return true
	}
	if sc.ownerID.Valid && sc.ownerID.UUID == p.id() {
		return true
	}
	return sc.teamID.Valid && p.teams[sc.teamID.UUID] == "admin"
}
