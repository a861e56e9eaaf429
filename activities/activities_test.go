package activities

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/omnichat/omnichat/channel"
	"github.com/omnichat/omnichat/db/dbsqlc"
	"github.com/omnichat/omnichat/db/dbtest"
	"github.com/omnichat/omnichat/metrics"
)

// The activities on a real Postgres: each must be safe to run twice, in any
// order, after a crash or a lost answer.

type fixture struct {
	a       *Activities
	q       *dbsqlc.Queries
	channel dbsqlc.Channel
	contact dbsqlc.Contact
}

func newFixture(t *testing.T) *fixture {
	pool := dbtest.New(t)
	q := dbsqlc.New()
	ctx := context.Background()
	ch, err := q.ChannelCreate(ctx, pool, dbsqlc.ChannelCreateParams{Platform: "webchat", Name: "t", Settings: []byte(`{}`)})
	require.NoError(t, err)
	c, err := q.ContactCreate(ctx, pool, dbsqlc.ContactCreateParams{ChannelID: ch.ID, PlatformUserID: "u"})
	require.NoError(t, err)
	return &fixture{
		a: &Activities{Pool: pool, Queries: q, Metrics: metrics.New(), Log: slog.New(slog.DiscardHandler),
			Senders: map[channel.Platform]channel.Sender{}},
		q: q, channel: ch, contact: c,
	}
}

func (f *fixture) snapshot(id string, version int64, status string) SessionSnapshot {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return SessionSnapshot{
		ID: id, ChannelID: f.channel.ID.String(), ContactID: f.contact.ID.String(), Platform: channel.WebChat,
		WorkflowID: "wf", Status: status, LastActivityAt: now, OpenedAt: now, Version: version,
	}
}

func (f *fixture) inbound(t *testing.T) int64 {
	pmid := uuid.NewString()
	m, err := f.q.MessageInsertInbound(context.Background(), f.a.Pool, dbsqlc.MessageInsertInboundParams{
		ChannelID: f.channel.ID, ContactID: f.contact.ID, Attachments: []byte("[]"), PlatformMessageID: &pmid, SentAt: time.Now(),
	})
	require.NoError(t, err)
	return m.ID
}

func TestProjectKeepsTheNewestSnapshot(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sid := uuid.NewString()
	_, err := f.a.Project(ctx, ProjectInput{Session: f.snapshot(sid, 2, "pending"), Warning: "soon"})
	require.NoError(t, err)
	// A late, older snapshot (a retried local activity) changes nothing.
	_, err = f.a.Project(ctx, ProjectInput{Session: f.snapshot(sid, 1, "rep_needed")})
	require.NoError(t, err)
	s, err := f.q.SessionGet(ctx, f.a.Pool, uuid.MustParse(sid))
	require.NoError(t, err)
	require.Equal(t, "pending", s.Status)
	require.Equal(t, int64(2), s.Version)
	// Repeating the same write does not count the warning twice.
	_, err = f.a.Project(ctx, ProjectInput{Session: f.snapshot(sid, 2, "pending"), Warning: "soon"})
	require.NoError(t, err)
	require.Equal(t, 1.0, counterValue(t, f.a.Metrics, "omnichat_session_warnings_total"))
}

func TestProjectAdoptsMessagesAndEventsOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sid := uuid.NewString()
	m1, m2 := f.inbound(t), f.inbound(t)
	in := ProjectInput{
		Session: f.snapshot(sid, 1, "rep_needed"),
		Attach:  []int64{m1, m2},
		Events:  []SessionEvent{{Seq: 1, Type: "session.opened", At: time.Now()}, {Seq: 2, Type: "support.invited", Data: map[string]string{"agent_id": uuid.NewString()}, At: time.Now()}},
	}
	res, err := f.a.Project(ctx, in)
	require.NoError(t, err)
	require.ElementsMatch(t, []int64{m1, m2}, res.Attached)
	res, err = f.a.Project(ctx, in)
	require.NoError(t, err)
	require.Empty(t, res.Attached, "already adopted")
	evs, err := f.q.SessionEventList(ctx, f.a.Pool, uuid.MustParse(sid))
	require.NoError(t, err)
	require.Len(t, evs, 2)

	// Another session cannot take them over.
	other := uuid.NewString()
	res, err = f.a.Project(ctx, ProjectInput{Session: f.snapshot(other, 1, "rep_needed"), Attach: []int64{m1}})
	require.NoError(t, err)
	require.Empty(t, res.Attached)
	m, err := f.q.MessageGet(ctx, f.a.Pool, m1)
	require.NoError(t, err)
	require.Equal(t, sid, m.SessionID.UUID.String())
}

func TestCreateMessageOncePerClientID(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sid := uuid.NewString()
	_, err := f.a.Project(ctx, ProjectInput{Session: f.snapshot(sid, 1, "pending")})
	require.NoError(t, err)
	in := CreateMessageInput{SessionID: sid, ChannelID: f.channel.ID.String(), ContactID: f.contact.ID.String(), Direction: "out", Text: "hi", ClientID: "c1", At: time.Now()}
	a, err := f.a.CreateMessage(ctx, in)
	require.NoError(t, err)
	b, err := f.a.CreateMessage(ctx, in)
	require.NoError(t, err)
	require.Equal(t, a.ID, b.ID)
	require.Equal(t, "sending", a.Status)
}

type fakeSender struct {
	calls int
	err   error
}

func (s *fakeSender) Send(context.Context, channel.Outbound) (channel.Delivery, error) {
	s.calls++
	if s.err != nil {
		return channel.Delivery{}, s.err
	}
	return channel.Delivery{Status: "sent", PlatformMessageID: "p-1"}, nil
}

func TestSendMessageRecordsOutcomeOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sid := uuid.NewString()
	_, err := f.a.Project(ctx, ProjectInput{Session: f.snapshot(sid, 1, "pending")})
	require.NoError(t, err)
	newMsg := func(client string) int64 {
		ref, err := f.a.CreateMessage(ctx, CreateMessageInput{SessionID: sid, ChannelID: f.channel.ID.String(), ContactID: f.contact.ID.String(), Direction: "out", Text: "x", ClientID: client, At: time.Now()})
		require.NoError(t, err)
		return ref.ID
	}

	ok := &fakeSender{}
	f.a.Senders[channel.WebChat] = ok
	id := newMsg("a")
	res, err := f.a.SendMessage(ctx, SendInput{MessageID: id})
	require.NoError(t, err)
	require.Equal(t, "sent", res.Status)
	// A retry after a lost answer does not send again.
	_, err = f.a.SendMessage(ctx, SendInput{MessageID: id})
	require.NoError(t, err)
	require.Equal(t, 1, ok.calls)
	m, _ := f.q.MessageGet(ctx, f.a.Pool, id)
	require.Equal(t, "p-1", *m.PlatformMessageID)

	// A refusal is recorded as a failure with its reason; a temporary error is retried by Temporal.
	f.a.Senders[channel.WebChat] = &fakeSender{err: &channel.SendError{Reason: channel.ReasonBadFormat}}
	id = newMsg("b")
	res, err = f.a.SendMessage(ctx, SendInput{MessageID: id})
	require.NoError(t, err)
	require.Equal(t, SendResult{Status: "failed", FailureReason: channel.ReasonBadFormat}, res)
	m, _ = f.q.MessageGet(ctx, f.a.Pool, id)
	require.False(t, m.Resendable, "a format error is never resendable")

	f.a.Senders[channel.WebChat] = &fakeSender{err: &channel.SendError{Reason: channel.ReasonRateLimited, Temporary: true}}
	id = newMsg("c")
	_, err = f.a.SendMessage(ctx, SendInput{MessageID: id})
	require.Error(t, err)
	m, _ = f.q.MessageGet(ctx, f.a.Pool, id)
	require.Equal(t, "sending", m.Status)
}

func TestMessageStatusOnlyMovesForward(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sid := uuid.NewString()
	_, err := f.a.Project(ctx, ProjectInput{Session: f.snapshot(sid, 1, "pending")})
	require.NoError(t, err)
	ref, err := f.a.CreateMessage(ctx, CreateMessageInput{SessionID: sid, ChannelID: f.channel.ID.String(), ContactID: f.contact.ID.String(), Direction: "out", Text: "x", ClientID: "s", At: time.Now()})
	require.NoError(t, err)
	set := func(status string) string {
		m, _ := f.q.MessageGet(ctx, f.a.Pool, ref.ID)
		require.NoError(t, f.a.setStatus(ctx, dbsqlc.MessageUpdateStatusParams{ID: ref.ID, Status: status}, m))
		m, _ = f.q.MessageGet(ctx, f.a.Pool, ref.ID)
		return m.Status
	}
	require.Equal(t, "seen", set("seen"))
	require.Equal(t, "seen", set("delivered"), "a late delivery receipt does not undo a read one")
	require.Equal(t, "seen", set("failed"), "a message seen cannot fail")
}

func counterValue(t *testing.T, m *metrics.Metrics, name string) float64 {
	fams, err := m.Registry.Gather()
	require.NoError(t, err)
	var sum float64
	for _, f := range fams {
		if f.GetName() == name {
			for _, mm := range f.GetMetric() {
				sum += mm.GetCounter().GetValue()
			}
		}
	}
	return sum
}
