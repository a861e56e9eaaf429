package app

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omnichat/omnichat/workflows"
)

// Agents see the sessions of their teams' channels, of unrouted channels,
// and those they own, joined or support — in lists, details and on their
// event stream alike.
func TestAgentsSeeOnlyTheirTeamsSessions(t *testing.T) {
	st := startStack(t)
	admin := st.login(t, adminEmail, adminPassword)
	newAgent := func(email string) string {
		var a struct{ ID string }
		require.Equal(t, http.StatusCreated, admin.do("POST", "/api/v1/agents", map[string]string{"email": email, "name": email, "password": "long enough", "role": "agent"}, &a))
		return a.ID
	}
	inID, outID := newAgent("in@example.com"), newAgent("out@example.com")
	var team struct{ ID string }
	require.Equal(t, http.StatusCreated, admin.do("POST", "/api/v1/teams", map[string]string{"name": "Billing"}, &team))
	require.Equal(t, http.StatusOK, admin.do("PUT", "/api/v1/teams/"+team.ID+"/members", map[string]any{"members": []map[string]string{{"agent_id": inID}}}, nil))
	var ch struct{ ID string }
	require.Equal(t, http.StatusCreated, admin.do("POST", "/api/v1/channels", map[string]any{"platform": "webchat", "name": "Billing chat", "team_id": team.ID}, &ch))

	in, out := st.login(t, "in@example.com", "long enough"), st.login(t, "out@example.com", "long enough")
	inEvents, outEvents := in.stream("/api/v1/events"), out.stream("/api/v1/events")

	v := st.visitor(t, ch.ID, "Gus")
	require.Equal(t, http.StatusCreated, v.do("POST", "/widget/v1/messages", map[string]string{"text": "billing question"}, nil))
	sid := inEvents.next(t, "session.updated", nil)["id"].(string)
	in.waitStatus(sid, workflows.StatusRepNeeded)

	require.Len(t, in.sessions(""), 1)
	require.Empty(t, out.sessions(""))
	require.Equal(t, http.StatusNotFound, out.do("GET", "/api/v1/sessions/"+sid, nil, nil))
	require.Equal(t, http.StatusNotFound, out.do("POST", "/api/v1/sessions/"+sid+"/join", nil, nil))
	require.Equal(t, http.StatusNotFound, out.do("GET", "/api/v1/sessions/"+sid+"/messages", nil, nil))

	// A message on the unrouted live-chat channel reaches both.
	v2 := st.visitor(t, st.WebChatChannelID, "Hana")
	require.Equal(t, http.StatusCreated, v2.do("POST", "/widget/v1/messages", map[string]string{"text": "general question"}, nil))
	outEvents.next(t, "message.created", func(d map[string]any) bool { return d["text"] == "general question" })

	// Everything about the billing session so far went to its team only.
	in.waitStatus(sid, workflows.StatusRepNeeded)
	for _, ev := range outEvents.all() {
		require.NotEqual(t, "billing question", ev.Data["text"], "the outsider heard of the billing session")
		require.NotEqual(t, sid, ev.Data["id"], "the outsider heard of the billing session")
		require.NotEqual(t, sid, ev.Data["session_id"], "the outsider heard of the billing session")
	}

	// Invited as supporter, the outsider is told and may see the session.
	require.Equal(t, http.StatusAccepted, in.do("POST", "/api/v1/sessions/"+sid+"/supporters", map[string]any{"agent_ids": []string{outID}}, nil))
	inv := outEvents.next(t, "support.invited", nil)
	require.Equal(t, sid, inv["session_id"])
	require.Equal(t, http.StatusOK, out.do("GET", "/api/v1/sessions/"+sid, nil, nil))
	require.Len(t, out.sessions("?view=support"), 1)

	// Giving the session away is for its owner and managers, not a supporter.
	require.Equal(t, http.StatusAccepted, in.do("POST", "/api/v1/sessions/"+sid+"/join", nil, nil))
	in.waitStatus(sid, workflows.StatusPending)
	require.Equal(t, http.StatusForbidden, out.do("PUT", "/api/v1/sessions/"+sid+"/owner", map[string]string{"agent_id": outID}, nil))
	require.Equal(t, http.StatusAccepted, in.do("PUT", "/api/v1/sessions/"+sid+"/owner", map[string]string{"agent_id": outID, "note": "you know this customer"}, nil))
	eventually(t, 20*time.Second, "the new owner", func() bool { return in.session(sid).OwnerID == outID })
	require.Len(t, out.sessions("?view=mine"), 1)
}
