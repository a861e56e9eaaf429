package app

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	tclient "go.temporal.io/sdk/client"

	"github.com/omnichat/omnichat/channel"
	"github.com/omnichat/omnichat/db/dbsqlc"
	"github.com/omnichat/omnichat/ingest"
	"github.com/omnichat/omnichat/workflows"
)

type sessionView struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	OwnerID     string `json:"owner_id"`
	CloseStatus string `json:"close_status"`
	Unread      int    `json:"unread"`
	Contact     struct {
		ID            string `json:"id"`
		Name          string `json:"name"`
		TotalMessages int    `json:"total_messages"`
		Online        bool   `json:"online"`
	} `json:"contact"`
}

type messageView struct {
	ID        string  `json:"id"`
	SessionID *string `json:"session_id"`
	Direction string  `json:"direction"`
	Text      string  `json:"text"`
	Status    string  `json:"status"`
	ClientID  string  `json:"client_id"`
}

type page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

func (c *apiClient) sessions(query string) []sessionView {
	c.t.Helper()
	var p page[sessionView]
	require.Equal(c.t, http.StatusOK, c.do("GET", "/api/v1/sessions"+query, nil, &p))
	return p.Items
}

func (c *apiClient) session(id string) sessionView {
	c.t.Helper()
	var s sessionView
	require.Equal(c.t, http.StatusOK, c.do("GET", "/api/v1/sessions/"+id, nil, &s))
	return s
}

// waitStatus polls the read model until the session has the status.
func (c *apiClient) waitStatus(id, status string) sessionView {
	c.t.Helper()
	var s sessionView
	eventually(c.t, 20*time.Second, "session "+id+" to be "+status, func() bool {
		s = c.session(id)
		return s.Status == status
	})
	return s
}

func TestVisitorToAgentRoundTrip(t *testing.T) {
	st := startStack(t)
	admin := st.login(t, adminEmail, adminPassword)
	agentEvents := admin.stream("/api/v1/events")

	visitor := st.visitor(t, st.WebChatChannelID, "Ann")
	visitorEvents := visitor.stream("/widget/v1/events")

	var sent messageView
	require.Equal(t, http.StatusCreated, visitor.do("POST", "/widget/v1/messages", map[string]string{"text": "My order has not arrived", "client_id": "c-1"}, &sent))
	require.Equal(t, "c-1", sent.ClientID)

	// The agent sees the message live, then the session appears as rep_needed.
	agentEvents.next(t, "message.created", func(d map[string]any) bool { return d["text"] == "My order has not arrived" })
	upd := agentEvents.next(t, "session.updated", nil)
	sid := upd["id"].(string)
	s := admin.waitStatus(sid, workflows.StatusRepNeeded)
	require.Equal(t, "Ann", s.Contact.Name)
	require.Equal(t, 1, s.Contact.TotalMessages)
	require.True(t, s.Contact.Online, "the visitor's open event stream is their presence")
	require.Equal(t, 1, s.Unread)
	listed := admin.sessions("?status=rep_needed")
	require.Len(t, listed, 1)
	require.Equal(t, sid, listed[0].ID)

	require.Equal(t, http.StatusAccepted, admin.do("POST", "/api/v1/sessions/"+sid+"/join", nil, nil))
	s = admin.waitStatus(sid, workflows.StatusPending)
	require.NotEmpty(t, s.OwnerID, "the first agent in owns the session")

	var reply messageView
	require.Equal(t, http.StatusCreated, admin.do("POST", "/api/v1/sessions/"+sid+"/messages", map[string]string{"text": "Sorry! Let me check.", "client_id": "r-1"}, &reply))
	require.Equal(t, "out", reply.Direction)

	// The visitor receives the reply over their event stream.
	got := visitorEvents.next(t, "message.created", func(d map[string]any) bool { return d["direction"] == "out" })
	require.Equal(t, "Sorry! Let me check.", got["text"])
	require.NotContains(t, got, "sender_id", "visitors never see staff ids")
	admin.waitStatus(sid, workflows.StatusAnswered)

	// Notes stay with the staff.
	require.Equal(t, http.StatusCreated, admin.do("POST", "/api/v1/sessions/"+sid+"/notes", map[string]string{"text": "VIP customer"}, nil))
	agentEvents.next(t, "message.created", func(d map[string]any) bool { return d["direction"] == "note" })
	var history page[messageView]
	require.Equal(t, http.StatusOK, visitor.do("GET", "/widget/v1/messages", nil, &history))
	for _, m := range history.Items {
		require.NotEqual(t, "note", m.Direction)
	}
	require.Len(t, history.Items, 2)

	require.Equal(t, http.StatusAccepted, admin.do("POST", "/api/v1/sessions/"+sid+"/done", map[string]string{"close_status": "resolved"}, nil))
	s = admin.waitStatus(sid, workflows.StatusClosed)
	require.Equal(t, "resolved", s.CloseStatus)
	require.Empty(t, admin.sessions(""), "closed sessions leave the default view")
	require.Len(t, admin.sessions("?status=closed"), 1)

	// A reply to a closed session is refused and writes nothing.
	require.Equal(t, http.StatusConflict, admin.do("POST", "/api/v1/sessions/"+sid+"/messages", map[string]string{"text": "one more", "client_id": "r-2"}, nil))

	// The visitor writes again: a new session, whose history reaches back.
	require.Equal(t, http.StatusCreated, visitor.do("POST", "/widget/v1/messages", map[string]string{"text": "Me again", "client_id": "c-2"}, nil))
	var next []sessionView
	eventually(t, 20*time.Second, "the next session", func() bool {
		next = admin.sessions("")
		return len(next) == 1 && next[0].ID != sid
	})
	var msgs page[messageView]
	require.Equal(t, http.StatusOK, admin.do("GET", "/api/v1/sessions/"+next[0].ID+"/messages?limit=2", nil, &msgs))
	require.Len(t, msgs.Items, 2)
	require.Equal(t, "Me again", msgs.Items[1].Text, "newest last")
	require.NotEmpty(t, msgs.NextCursor)
	require.Equal(t, http.StatusOK, admin.do("GET", "/api/v1/sessions/"+next[0].ID+"/messages?before="+msgs.NextCursor, nil, &msgs))
	require.Equal(t, "My order has not arrived", msgs.Items[0].Text, "paging back reaches the earlier session")
}

func TestRepeatedDeliveryCreatesNothing(t *testing.T) {
	st := startStack(t)
	admin := st.login(t, adminEmail, adminPassword)
	visitor := st.visitor(t, st.WebChatChannelID, "Bob")

	var first, again messageView
	require.Equal(t, http.StatusCreated, visitor.do("POST", "/widget/v1/messages", map[string]string{"text": "hello", "client_id": "same"}, &first))
	require.Equal(t, http.StatusOK, visitor.do("POST", "/widget/v1/messages", map[string]string{"text": "hello", "client_id": "same"}, &again))
	require.Equal(t, first.ID, again.ID)

	var sessions []sessionView
	eventually(t, 20*time.Second, "the session", func() bool { sessions = admin.sessions(""); return len(sessions) == 1 })
	s := sessions[0]
	// A third delivery after the session adopted the message.
	require.Equal(t, http.StatusOK, visitor.do("POST", "/widget/v1/messages", map[string]string{"text": "hello", "client_id": "same"}, nil))
	var msgs page[messageView]
	require.Equal(t, http.StatusOK, admin.do("GET", "/api/v1/sessions/"+s.ID+"/messages", nil, &msgs))
	require.Len(t, msgs.Items, 1)
	s = admin.session(s.ID)
	require.Equal(t, 1, s.Contact.TotalMessages)
	require.Equal(t, 1, s.Unread)

	// An agent's retried reply is stored and sent once.
	var r1, r2 messageView
	require.Equal(t, http.StatusCreated, admin.do("POST", "/api/v1/sessions/"+s.ID+"/messages", map[string]string{"text": "hi", "client_id": "k"}, &r1))
	require.Equal(t, http.StatusOK, admin.do("POST", "/api/v1/sessions/"+s.ID+"/messages", map[string]string{"text": "hi", "client_id": "k"}, &r2))
	require.Equal(t, r1.ID, r2.ID)
	require.Equal(t, http.StatusOK, admin.do("GET", "/api/v1/sessions/"+s.ID+"/messages", nil, &msgs))
	require.Len(t, msgs.Items, 2)
}

// A worker that is down when timers come due fires them when it is back:
// the timers are Temporal's, not the worker's.
func TestTimersFireAfterWorkerRestart(t *testing.T) {
	st := startStack(t)
	admin := st.login(t, adminEmail, adminPassword)
	var ch struct{ ID string }
	require.Equal(t, http.StatusCreated, admin.do("POST", "/api/v1/channels", map[string]any{
		"platform": "webchat", "name": "Fast timers",
		"settings": map[string]any{"warn_after_seconds": 1, "overdue_after_seconds": 2, "auto_close_after_seconds": 0},
	}, &ch))
	visitor := st.visitor(t, ch.ID, "Cleo")
	require.Equal(t, http.StatusCreated, visitor.do("POST", "/widget/v1/messages", map[string]string{"text": "hello?"}, nil))
	var sessions []sessionView
	eventually(t, 20*time.Second, "the session", func() bool { sessions = admin.sessions(""); return len(sessions) == 1 })
	require.Equal(t, workflows.StatusRepNeeded, sessions[0].Status)

	st.StopWorker()
	// Let both thresholds pass while no worker runs.
	time.Sleep(2500 * time.Millisecond)
	require.Equal(t, workflows.StatusRepNeeded, admin.session(sessions[0].ID).Status, "nothing can fire without a worker")
	require.NoError(t, st.StartWorker())
	admin.waitStatus(sessions[0].ID, workflows.StatusOverdue)

	var evs page[struct {
		Type string            `json:"type"`
		Data map[string]string `json:"data"`
	}]
	require.Equal(t, http.StatusOK, admin.do("GET", "/api/v1/sessions/"+sessions[0].ID+"/events", nil, &evs))
	var levels []string
	for _, e := range evs.Items {
		if e.Type == "session.warning" {
			levels = append(levels, e.Data["level"])
		}
	}
	require.Equal(t, []string{"soon", "overdue"}, levels)
}

// Signals that arrive around a continue-as-new are all applied: none is
// lost between runs.
func TestContinueAsNewLosesNoSignal(t *testing.T) {
	st := startStack(t)
	ctx := context.Background()
	q := dbsqlc.New()
	chID := uuid.MustParse(st.WebChatChannelID)
	contact, err := q.ContactCreate(ctx, st.Pool, dbsqlc.ContactCreateParams{ChannelID: chID, PlatformUserID: "can-test", Name: "Dee"})
	require.NoError(t, err)
	svc := &ingest.Service{Pool: st.Pool, Queries: q, Temporal: st.Temporal, TaskQueue: workflows.TaskQueue}
	in := func() ingest.Inbound {
		return ingest.Inbound{ChannelID: chID, Platform: channel.WebChat, ContactID: contact.ID, PlatformMessageID: "can-" + uuid.NewString(), Text: "m", SentAt: time.Now()}
	}
	id := workflows.SessionWorkflowID(chID.String(), contact.ID.String())
	run, err := st.Temporal.ExecuteWorkflow(ctx, startOptions(id), workflows.SessionWorkflowName, workflows.SessionInput{
		ChannelID: chID.String(), ContactID: contact.ID.String(), ContinueAfter: 5,
	})
	require.NoError(t, err)
	const n = 40
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := svc.Receive(ctx, in())
			require.NoError(t, err)
		}()
	}
	wg.Wait()
	var s dbsqlc.Session
	eventually(t, 30*time.Second, "every message adopted", func() bool {
		s, err = q.SessionLatestByContact(ctx, st.Pool, contact.ID)
		return err == nil && s.InCount == n
	})
	desc, err := st.Temporal.DescribeWorkflowExecution(ctx, id, "")
	require.NoError(t, err)
	require.NotEqual(t, run.GetRunID(), desc.WorkflowExecutionInfo.Execution.RunId, "the session continued as new at least once")
	var unattached []dbsqlc.MessageListUnattachedRow
	unattached, err = q.MessageListUnattached(ctx, st.Pool, contact.ID)
	require.NoError(t, err)
	require.Empty(t, unattached)
}

func TestBadInput(t *testing.T) {
	st := startStack(t)
	admin := st.login(t, adminEmail, adminPassword)
	anon := st.client(t, "")

	require.Equal(t, http.StatusBadRequest, admin.do("POST", "/api/v1/teams", `{"name":`, nil))
	require.Equal(t, http.StatusUnauthorized, anon.do("GET", "/api/v1/sessions", nil, nil))
	require.Equal(t, http.StatusUnauthorized, st.client(t, "oca_nope").do("GET", "/api/v1/sessions", nil, nil))
	require.Equal(t, http.StatusUnauthorized, anon.do("POST", "/api/v1/auth/login", map[string]string{"email": adminEmail, "password": "wrong"}, nil))
	require.Equal(t, http.StatusNotFound, admin.do("GET", "/api/v1/sessions/"+uuid.NewString(), nil, nil))
	require.Equal(t, http.StatusNotFound, admin.do("GET", "/api/v1/channels/not-an-id", nil, nil))
	require.Equal(t, http.StatusNotFound, admin.do("GET", "/api/v1/nowhere", nil, nil))

	var agent struct{ ID string }
	require.Equal(t, http.StatusCreated, admin.do("POST", "/api/v1/agents", map[string]string{"email": "eve@example.com", "name": "Eve", "password": "long enough", "role": "agent"}, &agent))
	eve := st.login(t, "eve@example.com", "long enough")
	require.Equal(t, http.StatusForbidden, eve.do("POST", "/api/v1/agents", map[string]string{"email": "x@example.com", "name": "X", "password": "long enough", "role": "admin"}, nil))
	require.Equal(t, http.StatusConflict, admin.do("POST", "/api/v1/agents", map[string]string{"email": "EVE@example.com", "name": "Eve 2", "password": "long enough", "role": "agent"}, nil))

	var p struct {
		Status int
		Errors []struct{ Field, Reason string }
	}
	require.Equal(t, http.StatusUnprocessableEntity, admin.do("POST", "/api/v1/agents", map[string]string{"email": "not-an-email", "name": "Y", "password": "short", "role": "king"}, &p))
	fields := []string{}
	for _, e := range p.Errors {
		fields = append(fields, e.Field)
	}
	require.ElementsMatch(t, []string{"email", "password", "role"}, fields)

	// A rejected channel leaves nothing behind.
	var before, after page[struct{ ID string }]
	require.Equal(t, http.StatusOK, admin.do("GET", "/api/v1/channels", nil, &before))
	require.Equal(t, http.StatusUnprocessableEntity, admin.do("POST", "/api/v1/channels", map[string]any{
		"platform": "webchat", "name": "Bad", "settings": map[string]any{"warn_after_seconds": 600, "overdue_after_seconds": 300},
	}, nil))
	require.Equal(t, http.StatusUnprocessableEntity, admin.do("POST", "/api/v1/channels", map[string]any{"platform": "telegram", "name": "No token"}, nil))
	require.Equal(t, http.StatusOK, admin.do("GET", "/api/v1/channels", nil, &after))
	require.Equal(t, len(before.Items), len(after.Items))

	visitor := st.visitor(t, st.WebChatChannelID, "Fay")
	huge := strings.Repeat("x", 70<<10)
	require.Equal(t, http.StatusRequestEntityTooLarge, visitor.do("POST", "/widget/v1/messages", map[string]string{"text": huge}, nil))
	require.Equal(t, http.StatusUnprocessableEntity, visitor.do("POST", "/widget/v1/messages", map[string]string{"text": strings.Repeat("y", 5000)}, nil))
	var hist page[messageView]
	require.Equal(t, http.StatusOK, visitor.do("GET", "/widget/v1/messages", nil, &hist))
	require.Empty(t, hist.Items, "rejected messages are not stored")
	require.Equal(t, http.StatusUnauthorized, st.client(t, "ocv_forged").do("GET", "/widget/v1/messages", nil, nil))
	require.Equal(t, http.StatusNotFound, anon.do("POST", "/widget/v1/channels/"+uuid.NewString()+"/visitors", map[string]string{}, nil))
}

func TestCredentialsNeverReturned(t *testing.T) {
	st := startStack(t)
	admin := st.login(t, adminEmail, adminPassword)
	var ch map[string]any
	require.Equal(t, http.StatusCreated, admin.do("POST", "/api/v1/channels", map[string]any{
		"platform": "telegram", "name": "Bot", "credentials": map[string]string{"bot_token": "123:SECRET-TOKEN", "secret_token": "s3cr3t"},
	}, &ch))
	require.Equal(t, []any{"bot_token", "secret_token"}, ch["credentials_set"])
	require.Equal(t, "http://chat.example.test/webhooks/telegram/"+ch["id"].(string), ch["webhook_url"])
	var raw []byte
	require.NoError(t, st.Pool.QueryRow(context.Background(), "SELECT credentials FROM channels WHERE id = $1", ch["id"]).Scan(&raw))
	require.NotContains(t, string(raw), "SECRET-TOKEN", "credentials are encrypted at rest")
	var list page[map[string]any]
	require.Equal(t, http.StatusOK, admin.do("GET", "/api/v1/channels", nil, &list))
	for _, c := range list.Items {
		require.NotContains(t, c, "credentials")
	}
}

func startOptions(id string) tclient.StartWorkflowOptions {
	return tclient.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue}
}
