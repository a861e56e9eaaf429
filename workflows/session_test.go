package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/omnichat/omnichat/activities"
	"github.com/omnichat/omnichat/channel"
	"github.com/omnichat/omnichat/db/dbsqlc"
	"github.com/omnichat/omnichat/db/dbtest"
)

// The session workflow's tests run on the SDK's time-skipping environment
// with the real activities on a real Postgres: timers fire in test time, and
// what they assert is what the read model shows agents.

// start is the test clock's origin; whole seconds keep timings readable.
var start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

type fixture struct {
	t        *testing.T
	pool     *pgxpool.Pool
	q        *dbsqlc.Queries
	env      *testsuite.TestWorkflowEnvironment
	channel  dbsqlc.Channel
	contact  dbsqlc.Contact
	agent    dbsqlc.Agent
	sends    []int64 // message ids SendMessage delivered, in order
	platform channel.Platform
	// refuse, while positive, makes that many sends fail with a resendable reason.
	refuse int
}

// newFixture makes a channel with the given settings (over the defaults),
// a contact, an agent and a test environment running the real activities.
func newFixture(t *testing.T, platform channel.Platform, settings map[string]any) *fixture {
	t.Helper()
	f := &fixture{t: t, pool: dbtest.New(t), q: dbsqlc.New(), platform: platform}
	ctx := context.Background()
	set := channel.DefaultSettings()
	raw, _ := json.Marshal(set)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	for k, v := range settings {
		m[k] = v
	}
	raw, _ = json.Marshal(m)
	var err error
	f.channel, err = f.q.ChannelCreate(ctx, f.pool, dbsqlc.ChannelCreateParams{Platform: string(platform), Name: "test", Settings: raw})
	require.NoError(t, err)
	f.contact, err = f.q.ContactCreate(ctx, f.pool, dbsqlc.ContactCreateParams{ChannelID: f.channel.ID, PlatformUserID: "u1", Name: "Customer"})
	require.NoError(t, err)
	f.agent, err = f.q.AgentCreate(ctx, f.pool, dbsqlc.AgentCreateParams{Email: "a@example.com", Name: "Agent", Role: "agent", PasswordHash: "x"})
	require.NoError(t, err)

	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(testLogger{t})
	f.env = suite.NewTestWorkflowEnvironment()
	f.env.SetStartTime(start)
	f.env.RegisterWorkflowWithOptions(SessionWorkflow, workflow.RegisterOptions{Name: SessionWorkflowName})
	acts := &activities.Activities{
		Pool: f.pool, Queries: f.q, Log: slog.New(slog.DiscardHandler),
		Senders: map[channel.Platform]channel.Sender{platform: recordingSender{f}},
	}
	f.env.RegisterActivity(acts)
	return f
}

type recordingSender struct{ f *fixture }

func (r recordingSender) Send(_ context.Context, out channel.Outbound) (channel.Delivery, error) {
	if r.f.refuse > 0 {
		r.f.refuse--
		return channel.Delivery{}, &channel.SendError{Reason: channel.ReasonUserUnavailable, Resendable: true}
	}
	r.f.sends = append(r.f.sends, out.MessageID)
	return channel.Delivery{Status: "delivered"}, nil
}

type testLogger struct{ t *testing.T }

func (l testLogger) Debug(string, ...any)        {}
func (l testLogger) Info(string, ...any)         {}
func (l testLogger) Warn(msg string, kv ...any)  { l.t.Log(append([]any{"WARN", msg}, kv...)...) }
func (l testLogger) Error(msg string, kv ...any) { l.t.Log(append([]any{"ERROR", msg}, kv...)...) }

// inbound stores a customer message as the ingest path does and returns
// the signal that announces it.
func (f *fixture) inbound(text string) CustomerMessage {
	f.t.Helper()
	pmid := uuid.NewString()
	m, err := f.q.MessageInsertInbound(context.Background(), f.pool, dbsqlc.MessageInsertInboundParams{
		ChannelID: f.channel.ID, ContactID: f.contact.ID, Text: text, Attachments: []byte("[]"),
		PlatformMessageID: &pmid, SentAt: f.env.Now(),
	})
	require.NoError(f.t, err)
	return CustomerMessage{MessageID: m.ID, SentAt: m.SentAt}
}

// at runs fn at the test clock's start + d.
func (f *fixture) at(d time.Duration, fn func()) {
	f.env.RegisterDelayedCallback(fn, d)
}

// customerAt stores and signals a customer message at start + d.
func (f *fixture) customerAt(d time.Duration, text string) {
	f.at(d, func() { f.env.SignalWorkflow(SignalCustomerMessage, f.inbound(text)) })
}

func (f *fixture) signalAt(d time.Duration, name string, arg any) {
	f.at(d, func() { f.env.SignalWorkflow(name, arg) })
}

// replyAt sends an agent's reply update at start + d.
func (f *fixture) replyAt(d time.Duration, clientID, text string, check func(ReplyResult, error)) {
	f.at(d, func() {
		f.env.UpdateWorkflow(UpdateReply, "reply/"+clientID, &updateCallbacks{check: check},
			ReplyInput{AgentID: f.agent.ID.String(), ClientID: clientID, Text: text})
	})
}

type updateCallbacks struct {
	check    func(ReplyResult, error)
	rejected error
}

func (u *updateCallbacks) Accept() {}
func (u *updateCallbacks) Reject(err error) {
	u.rejected = err
	if u.check != nil {
		u.check(ReplyResult{}, err)
	}
}
func (u *updateCallbacks) Complete(v any, err error) {
	if u.check == nil {
		return
	}
	r, _ := v.(ReplyResult)
	u.check(r, err)
}

// run starts the session with its first customer message at start and
// stops the test at start + until (by closing the session if still open).
func (f *fixture) run(until time.Duration) {
	first := f.inbound("hello")
	f.signalAt(until, SignalDone, DoneCommand{ActorID: f.agent.ID.String(), CloseStatus: "test-end"})
	f.env.ExecuteWorkflow(SessionWorkflowName, SessionInput{
		ChannelID: f.channel.ID.String(), ContactID: f.contact.ID.String(),
		FirstMessages: []CustomerMessage{first},
	})
	require.True(f.t, f.env.IsWorkflowCompleted())
}

func (f *fixture) session() dbsqlc.Session {
	f.t.Helper()
	s, err := f.q.SessionLatestByContact(context.Background(), f.pool, f.contact.ID)
	require.NoError(f.t, err)
	return s
}

// events returns the session's audit trail as type@offset-from-start.
func (f *fixture) events(types ...string) []string {
	f.t.Helper()
	evs, err := f.q.SessionEventList(context.Background(), f.pool, f.session().ID)
	require.NoError(f.t, err)
	var out []string
	for _, e := range evs {
		for _, typ := range types {
			if e.Type == typ {
				label := e.Type
				var data map[string]string
				_ = json.Unmarshal(e.Data, &data)
				if lvl := data["level"]; lvl != "" {
					label += ":" + lvl
				}
				out = append(out, label+"@"+e.CreatedAt.Sub(start).String())
			}
		}
	}
	return out
}

// statusAt records the workflow's status at start + d.
func (f *fixture) statusAt(d time.Duration, into *string) {
	f.at(d, func() {
		v, err := f.env.QueryWorkflow(QueryState)
		require.NoError(f.t, err)
		var st SessionState
		require.NoError(f.t, v.Get(&st))
		*into = st.Status()
	})
}

func TestStatusRepNeededPendingSoonOverdueAnswered(t *testing.T) {
	f := newFixture(t, channel.WebChat, nil)
	var s0, s1, s2, s3, s4 string
	f.statusAt(10*time.Second, &s0)
	f.signalAt(30*time.Second, SignalJoin, AgentCommand{AgentID: f.agent.ID.String()})
	f.statusAt(60*time.Second, &s1)
	f.statusAt(180*time.Second-time.Millisecond, &s2)
	f.statusAt(181*time.Second, &s3)
	f.statusAt(301*time.Second, &s4)
	var s5 string
	f.replyAt(400*time.Second, "r1", "hi, how can I help?", func(_ ReplyResult, err error) { require.NoError(t, err) })
	f.statusAt(401*time.Second, &s5)
	f.run(time.Hour)

	require.Equal(t, StatusRepNeeded, s0, "nobody in the session yet")
	require.Equal(t, StatusPending, s1, "an agent joined, the customer still waits")
	require.Equal(t, StatusPending, s2, "just before the warning threshold")
	require.Equal(t, StatusSoon, s3)
	require.Equal(t, StatusOverdue, s4)
	require.Equal(t, StatusAnswered, s5, "the agent's reply clears both warnings")
	// The warnings fire exactly at the thresholds after the customer's message.
	require.Equal(t, []string{"session.warning:soon@3m0s", "session.warning:overdue@5m0s"}, f.events("session.warning"))
	require.Equal(t, []int64{f.lastOutbound()}, f.sends, "the reply was delivered once")
}

func (f *fixture) lastOutbound() int64 {
	ms, err := f.q.MessageTimeline(context.Background(), f.pool, dbsqlc.MessageTimelineParams{
		ContactID: f.contact.ID, IncludeUnattached: true, OpenedAt: start.Add(24 * time.Hour),
		BeforeSentAt: start.Add(1000 * time.Hour), BeforeID: 1 << 62, Lim: 100,
	})
	require.NoError(f.t, err)
	for _, m := range ms {
		if m.Direction == "out" {
			return m.ID
		}
	}
	return 0
}

func TestWarningCountsFromLastUnansweredMessage(t *testing.T) {
	f := newFixture(t, channel.WebChat, nil)
	f.customerAt(100*time.Second, "anyone there?")
	f.run(time.Hour)
	// 100 s + 180 s and 100 s + 300 s.
	require.Equal(t, []string{"session.warning:soon@4m40s", "session.warning:overdue@6m40s"}, f.events("session.warning"))
}

func TestWarningCountsFromWhenOmnichatReceivedTheMessage(t *testing.T) {
	f := newFixture(t, channel.WebChat, nil)
	// Accepted at 100 s, taken by the session a minute later (a backlog):
	// the customer has waited since 100 s.
	f.at(160*time.Second, func() {
		m := f.inbound("anyone there?")
		m.ReceivedAt = start.Add(100 * time.Second)
		f.env.SignalWorkflow(SignalCustomerMessage, m)
	})
	f.run(time.Hour)
	require.Equal(t, []string{"session.warning:soon@4m40s", "session.warning:overdue@6m40s"}, f.events("session.warning"))
	// A message taken after its threshold has passed warns at once.
	g := newFixture(t, channel.WebChat, nil)
	g.replyAt(10*time.Second, "r1", "hello!", nil)
	g.at(20*time.Minute, func() {
		m := g.inbound("still there?")
		m.ReceivedAt = start.Add(16 * time.Minute)
		g.env.SignalWorkflow(SignalCustomerMessage, m)
	})
	g.run(time.Hour)
	require.Equal(t, []string{"session.warning:soon@20m0s", "session.warning:overdue@21m0s"}, g.events("session.warning"))
}

func TestWarningsRearmAfterReplyAndNextMessage(t *testing.T) {
	f := newFixture(t, channel.WebChat, nil)
	f.replyAt(60*time.Second, "r1", "hello!", nil)
	f.customerAt(120*time.Second, "one more question")
	var before, after string
	f.statusAt(120*time.Second+179*time.Second, &before)
	f.statusAt(120*time.Second+180*time.Second+time.Millisecond, &after)
	f.run(time.Hour)
	require.Equal(t, StatusPending, before)
	require.Equal(t, StatusSoon, after)
	require.Equal(t, []string{"session.warning:soon@5m0s", "session.warning:overdue@7m0s"}, f.events("session.warning"))
}

func TestAutoReplyOnceAndNeverAfterAgentReply(t *testing.T) {
	t.Run("sent once", func(t *testing.T) {
		f := newFixture(t, channel.WebChat, map[string]any{"auto_reply_after_seconds": 60, "auto_reply_text": "We'll be with you shortly."})
		f.customerAt(200*time.Second, "hello?")
		f.customerAt(400*time.Second, "hello??")
		f.run(time.Hour)
		require.Equal(t, []string{"message.auto_reply@1m0s"}, f.events("message.auto_reply"))
		require.Len(t, f.sends, 1)
		require.Equal(t, "We'll be with you shortly.", f.message(f.sends[0]).Text)
		require.True(t, f.message(f.sends[0]).Automatic)
	})
	t.Run("not after an agent replied", func(t *testing.T) {
		f := newFixture(t, channel.WebChat, map[string]any{"auto_reply_after_seconds": 60, "auto_reply_text": "We'll be with you shortly."})
		f.replyAt(59*time.Second, "r1", "Hi!", nil)
		f.customerAt(120*time.Second, "thanks, and…")
		f.run(time.Hour)
		require.Empty(t, f.events("message.auto_reply"))
		require.Len(t, f.sends, 1, "only the agent's reply")
	})
}

func (f *fixture) message(id int64) dbsqlc.Message {
	m, err := f.q.MessageGet(context.Background(), f.pool, id)
	require.NoError(f.t, err)
	return m
}

func TestGreetingOnNewSession(t *testing.T) {
	f := newFixture(t, channel.WebChat, map[string]any{"greeting": "Hi! We usually answer within minutes."})
	f.run(time.Minute)
	require.Len(t, f.sends, 1)
	g := f.message(f.sends[0])
	require.Equal(t, "Hi! We usually answer within minutes.", g.Text)
	require.True(t, g.Automatic)
	require.Equal(t, "delivered", g.Status)
	require.Empty(t, f.events("session.warning"), "no warning within a minute")
}

func TestAutoCloseAfterInactivityResetByAnyMessage(t *testing.T) {
	f := newFixture(t, channel.WebChat, map[string]any{"auto_close_after_seconds": 600, "closing_message": "Closing this chat; write again any time."})
	f.customerAt(300*time.Second, "still there?")
	f.replyAt(500*time.Second, "r1", "yes!", nil)
	f.run(3 * time.Hour)
	// Last activity was the reply at 500 s: closed at 1100 s, not at 600 or 900.
	require.Equal(t, []string{"session.closed@18m20s"}, f.events("session.closed"))
	s := f.session()
	require.Equal(t, StatusClosed, s.Status)
	require.Equal(t, CloseStatusTimeout, s.CloseStatus)
	require.Len(t, f.sends, 2)
	require.Equal(t, "Closing this chat; write again any time.", f.message(f.sends[1]).Text)
}

func TestDuplicateReplyClientIDSendsOnce(t *testing.T) {
	f := newFixture(t, channel.WebChat, nil)
	var first, second ReplyResult
	f.replyAt(10*time.Second, "same", "hello", func(r ReplyResult, err error) { require.NoError(t, err); first = r })
	f.at(20*time.Second, func() {
		// A retried request: a new update id, the same client id.
		f.env.UpdateWorkflow(UpdateReply, "retry", &updateCallbacks{check: func(r ReplyResult, err error) { require.NoError(t, err); second = r }},
			ReplyInput{AgentID: f.agent.ID.String(), ClientID: "same", Text: "hello"})
	})
	f.run(time.Minute)
	require.NotZero(t, first.MessageID)
	require.Equal(t, first.MessageID, second.MessageID)
	require.Equal(t, []int64{first.MessageID}, f.sends)
}

func TestReplyRejectedWhenClosedOrWindowShut(t *testing.T) {
	f := newFixture(t, channel.Messenger, map[string]any{"auto_close_after_seconds": 0})
	var late error
	f.replyAt(24*time.Hour+time.Second, "late", "sorry for the delay", func(_ ReplyResult, err error) { late = err })
	f.run(25 * time.Hour)
	require.Error(t, late)
	var ae *temporal.ApplicationError
	require.True(t, errors.As(late, &ae))
	require.Equal(t, ErrWindowClosed, ae.Type())
	require.Empty(t, f.sends)
	require.Equal(t, []string{"session.window_closed@24h0m0s"}, f.events("session.window_closed"))
}

func TestMessageAfterDoneOpensNextSession(t *testing.T) {
	f := newFixture(t, channel.WebChat, nil)
	var next CustomerMessage
	f.at(time.Minute, func() {
		// The message comes while the session is closing.
		f.env.SignalWorkflow(SignalDone, DoneCommand{ActorID: f.agent.ID.String()})
		next = f.inbound("one more thing")
		f.env.SignalWorkflow(SignalCustomerMessage, next)
	})
	first := f.inbound("hello")
	f.env.ExecuteWorkflow(SessionWorkflowName, SessionInput{
		ChannelID: f.channel.ID.String(), ContactID: f.contact.ID.String(), FirstMessages: []CustomerMessage{first},
	})
	require.True(t, f.env.IsWorkflowCompleted())
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(f.env.GetWorkflowError(), &can), "the run hands the message to a new session: %v", f.env.GetWorkflowError())
	var in SessionInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &in))
	require.Nil(t, in.Carried, "a new session, not the same one")
	require.Equal(t, []int64{next.MessageID}, messageIDs(in.FirstMessages))
	s := f.session()
	require.Equal(t, StatusClosed, s.Status)
	require.Equal(t, int32(1), s.InCount, "the later message is not the closed session's")
}

func messageIDs(ms []CustomerMessage) []int64 {
	var out []int64
	for _, m := range ms {
		out = append(out, m.MessageID)
	}
	return out
}

func TestContinueAsNewCarriesState(t *testing.T) {
	f := newFixture(t, channel.WebChat, nil)
	f.signalAt(time.Second, SignalJoin, AgentCommand{AgentID: f.agent.ID.String()})
	f.signalAt(2*time.Second, SignalTags, TagsCommand{Tags: []string{"vip", "billing"}})
	f.customerAt(3*time.Second, "second")
	first := f.inbound("hello")
	f.env.ExecuteWorkflow(SessionWorkflowName, SessionInput{
		ChannelID: f.channel.ID.String(), ContactID: f.contact.ID.String(),
		FirstMessages: []CustomerMessage{first}, ContinueAfter: 3,
	})
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(f.env.GetWorkflowError(), &can), "%v", f.env.GetWorkflowError())
	var in SessionInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &in))
	require.NotNil(t, in.Carried)
	st := in.Carried
	require.Equal(t, f.session().ID.String(), st.SessionID)
	require.Equal(t, []string{f.agent.ID.String()}, st.MemberIDs)
	require.Equal(t, []string{"vip", "billing"}, st.Tags)
	require.Equal(t, 2, st.InCount)
	require.Equal(t, st.Version, f.session().Version, "everything was projected before handing over")
}

func TestResendFailedMessage(t *testing.T) {
	f := newFixture(t, channel.WebChat, nil)
	f.refuse = 1
	var reply ReplyResult
	var failed dbsqlc.Message
	f.replyAt(10*time.Second, "r1", "are you there?", func(r ReplyResult, err error) { require.NoError(t, err); reply = r })
	f.at(20*time.Second, func() {
		failed = f.message(reply.MessageID)
		f.env.SignalWorkflow(SignalResend, ResendCommand{ActorID: f.agent.ID.String(), MessageID: reply.MessageID})
	})
	f.run(time.Minute)
	require.Equal(t, "failed", failed.Status)
	require.Equal(t, channel.ReasonUserUnavailable, failed.FailureReason)
	require.True(t, failed.Resendable)
	require.Equal(t, []int64{reply.MessageID}, f.sends, "delivered on the second attempt")
	m := f.message(reply.MessageID)
	require.Equal(t, "delivered", m.Status)
	require.Empty(t, m.FailureReason)
}
