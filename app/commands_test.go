package app

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/omnichat/omnichat/channel"
	"github.com/omnichat/omnichat/db/dbsqlc"
	"github.com/omnichat/omnichat/ingest"
	"github.com/omnichat/omnichat/workflows"
)

// newSession has a new visitor write once and returns the session's id.
func newSession(t *testing.T, st *Stack, admin *apiClient, name string) (string, *apiClient) {
	t.Helper()
	v := st.visitor(t, st.WebChatChannelID, name)
	require.Equal(t, http.StatusCreated, v.do("POST", "/widget/v1/messages", map[string]string{"text": "hi from " + name}, nil))
	var sid string
	eventually(t, 20*time.Second, "the session of "+name, func() bool {
		for _, s := range admin.sessions("?limit=200") {
			if s.Contact.Name == name {
				sid = s.ID
			}
		}
		return sid != ""
	})
	return sid, v
}

func TestSessionCommands(t *testing.T) {
	st := startStack(t)
	admin := st.login(t, adminEmail, adminPassword)
	sid, _ := newSession(t, st, admin, "Kim")

	type full struct {
		sessionView
		Tags         []string `json:"tags"`
		Important    bool     `json:"important"`
		SupporterIDs []string `json:"supporter_ids"`
		TeamID       *string  `json:"team_id"`
		SnoozedUntil *string  `json:"snoozed_until"`
	}
	get := func() full {
		var f full
		require.Equal(t, http.StatusOK, admin.do("GET", "/api/v1/sessions/"+sid, nil, &f))
		return f
	}
	wait := func(what string, cond func(full) bool) full {
		var f full
		eventually(t, 20*time.Second, what, func() bool { f = get(); return cond(f) })
		return f
	}

	require.Equal(t, http.StatusAccepted, admin.do("PUT", "/api/v1/sessions/"+sid+"/tags", map[string]any{"tags": []string{" refund ", "VIP", "vip", ""}}, nil))
	f := wait("tags", func(f full) bool { return len(f.Tags) > 0 })
	require.Equal(t, []string{"refund", "VIP"}, f.Tags, "trimmed, without repeats or blanks")
	require.Len(t, admin.sessions("?tag=refund"), 1)
	require.Empty(t, admin.sessions("?tag=other"))

	require.Equal(t, http.StatusAccepted, admin.do("PUT", "/api/v1/sessions/"+sid+"/important", map[string]any{"value": true}, nil))
	wait("important", func(f full) bool { return f.Important })

	var s sessionView
	require.Equal(t, http.StatusOK, admin.do("POST", "/api/v1/sessions/"+sid+"/read", nil, &s))
	require.Equal(t, 0, s.Unread)
	require.Equal(t, http.StatusOK, admin.do("POST", "/api/v1/sessions/"+sid+"/unread", nil, &s))
	require.Equal(t, 1, s.Unread)

	var agent struct{ ID string }
	require.Equal(t, http.StatusCreated, admin.do("POST", "/api/v1/agents", map[string]string{"email": "sup@example.com", "name": "Sup", "password": "long enough", "role": "agent"}, &agent))
	require.Equal(t, http.StatusAccepted, admin.do("POST", "/api/v1/sessions/"+sid+"/supporters", map[string]any{"agent_ids": []string{agent.ID}}, nil))
	wait("a supporter", func(f full) bool { return slices.Contains(f.SupporterIDs, agent.ID) })
	require.Equal(t, http.StatusUnprocessableEntity, admin.do("POST", "/api/v1/sessions/"+sid+"/supporters", map[string]any{"agent_ids": []string{uuid.NewString()}}, nil))
	require.Equal(t, http.StatusAccepted, admin.do("DELETE", "/api/v1/sessions/"+sid+"/supporters/"+agent.ID, nil, nil))
	wait("no supporter", func(f full) bool { return len(f.SupporterIDs) == 0 })
	require.Equal(t, http.StatusNotFound, admin.do("DELETE", "/api/v1/sessions/"+sid+"/supporters/"+agent.ID, nil, nil))

	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	require.Equal(t, http.StatusAccepted, admin.do("POST", "/api/v1/sessions/"+sid+"/snooze", map[string]any{"until": until}, nil))
	f = wait("snoozed", func(f full) bool { return f.Status == workflows.StatusSnoozed })
	require.NotNil(t, f.SnoozedUntil)
	require.Equal(t, http.StatusUnprocessableEntity, admin.do("POST", "/api/v1/sessions/"+sid+"/snooze", map[string]any{"until": time.Now().Add(-time.Minute)}, nil))

	// Into a team's queue: nobody owns it until someone there takes it.
	var team struct{ ID string }
	require.Equal(t, http.StatusCreated, admin.do("POST", "/api/v1/teams", map[string]string{"name": "Escalations"}, &team))
	require.Equal(t, http.StatusAccepted, admin.do("POST", "/api/v1/sessions/"+sid+"/join", nil, nil))
	wait("an owner", func(f full) bool { return f.OwnerID != "" })
	require.Equal(t, http.StatusAccepted, admin.do("PUT", "/api/v1/sessions/"+sid+"/owner", map[string]string{"team_id": team.ID, "note": "needs a specialist"}, nil))
	f = wait("the transfer", func(f full) bool { return f.TeamID != nil && *f.TeamID == team.ID })
	require.Empty(t, f.OwnerID)
	var evs page[struct {
		Type    string            `json:"type"`
		ActorID string            `json:"actor_id"`
		Data    map[string]string `json:"data"`
	}]
	require.Equal(t, http.StatusOK, admin.do("GET", "/api/v1/sessions/"+sid+"/events", nil, &evs))
	last := evs.Items[len(evs.Items)-1]
	require.Equal(t, "session.transferred", last.Type)
	require.Equal(t, "needs a specialist", last.Data["note"], "the history shows who moved it and why")
	require.NotEmpty(t, last.ActorID)

	// Done, then reopened: the same session is back.
	require.Equal(t, http.StatusAccepted, admin.do("POST", "/api/v1/sessions/"+sid+"/done", nil, nil))
	admin.waitStatus(sid, workflows.StatusClosed)
	require.Equal(t, http.StatusAccepted, admin.do("POST", "/api/v1/sessions/"+sid+"/reopen", nil, nil))
	f = wait("reopened", func(f full) bool { return f.Status != workflows.StatusClosed })
	require.Equal(t, workflows.StatusAnswered, f.Status)
	require.Equal(t, []string{"refund", "VIP"}, f.Tags, "a reopened session keeps what it had")
	require.Equal(t, http.StatusConflict, admin.do("POST", "/api/v1/sessions/"+sid+"/reopen", nil, nil))
	require.Equal(t, http.StatusCreated, admin.do("POST", "/api/v1/sessions/"+sid+"/messages", map[string]string{"text": "back again"}, nil))
}

func TestSessionListPagesAndFilters(t *testing.T) {
	st := startStack(t)
	admin := st.login(t, adminEmail, adminPassword)
	ids := map[string]bool{}
	for _, name := range []string{"Lee", "May", "Ned"} {
		sid, _ := newSession(t, st, admin, name)
		ids[sid] = true
	}
	var p page[sessionView]
	require.Equal(t, http.StatusOK, admin.do("GET", "/api/v1/sessions?limit=2", nil, &p))
	require.Len(t, p.Items, 2)
	require.NotEmpty(t, p.NextCursor)
	require.Equal(t, "Ned", p.Items[0].Contact.Name, "newest activity first")
	seen := map[string]bool{p.Items[0].ID: true, p.Items[1].ID: true}
	require.Equal(t, http.StatusOK, admin.do("GET", "/api/v1/sessions?limit=2&cursor="+p.NextCursor, nil, &p))
	require.Len(t, p.Items, 1)
	require.Empty(t, p.NextCursor)
	seen[p.Items[0].ID] = true
	require.Equal(t, ids, seen)

	require.Len(t, admin.sessions("?view=unassigned"), 3)
	require.Len(t, admin.sessions("?view=unanswered"), 3)
	require.Empty(t, admin.sessions("?view=mine"))
	require.Len(t, admin.sessions("?channel_id="+st.WebChatChannelID), 3)
	require.Empty(t, admin.sessions("?channel_id="+uuid.NewString()))
	require.Len(t, admin.sessions("?status=rep_needed,pending"), 3)
	require.Len(t, admin.sessions("?q=may"), 1)
	require.Equal(t, http.StatusUnprocessableEntity, admin.do("GET", "/api/v1/sessions?status=bogus", nil, nil))
	require.Equal(t, http.StatusUnprocessableEntity, admin.do("GET", "/api/v1/sessions?view=bogus", nil, nil))
	require.Equal(t, http.StatusUnprocessableEntity, admin.do("GET", "/api/v1/sessions?limit=1000", nil, nil))
	require.Equal(t, http.StatusUnprocessableEntity, admin.do("GET", "/api/v1/sessions?cursor=garbage", nil, nil))
}

// A conversation is ordered by the platform's timestamps, whatever order
// the deliveries arrive in (MS6).
func TestConversationOrderFollowsPlatformTime(t *testing.T) {
	st := startStack(t)
	admin := st.login(t, adminEmail, adminPassword)
	ctx := context.Background()
	svc := &ingest.Service{Pool: st.Pool, Queries: dbsqlc.New(), Temporal: st.Temporal, TaskQueue: workflows.TaskQueue}
	chID := uuid.MustParse(st.WebChatChannelID)
	t0 := time.Now().Add(-time.Minute)
	for _, m := range []struct {
		text string
		at   time.Time
	}{{"third", t0.Add(3 * time.Second)}, {"first", t0.Add(time.Second)}, {"second", t0.Add(2 * time.Second)}} {
		_, err := svc.Receive(ctx, ingest.Inbound{
			ChannelID: chID, Platform: channel.WebChat, ContactPlatformID: "order-user", ContactName: "Ola",
			PlatformMessageID: "order-" + m.text, Text: m.text, SentAt: m.at,
		})
		require.NoError(t, err)
	}
	var sid string
	eventually(t, 20*time.Second, "the session", func() bool {
		ss := admin.sessions("?q=Ola")
		if len(ss) == 1 && ss[0].Unread == 3 {
			sid = ss[0].ID
		}
		return sid != ""
	})
	var msgs page[messageView]
	require.Equal(t, http.StatusOK, admin.do("GET", "/api/v1/sessions/"+sid+"/messages", nil, &msgs))
	var texts []string
	for _, m := range msgs.Items {
		texts = append(texts, m.Text)
	}
	require.Equal(t, []string{"first", "second", "third"}, texts)
}
