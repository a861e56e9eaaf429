package workflows

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/omnichat/omnichat/activities"
	"github.com/omnichat/omnichat/channel"
)

// defaultContinueAfter is how many signals and updates a run handles before
// it continues as new, well inside Temporal's history limits (each costs a
// handful of events).
const defaultContinueAfter = 2000

// maxTags bounds a session's tags.
const maxTags = 50

var a *activities.Activities

// SessionWorkflow is one conversation session of a contact on a channel.
func SessionWorkflow(ctx workflow.Context, in SessionInput) (SessionResult, error) {
	r, err := setup(ctx, in)
	if err != nil {
		return SessionResult{}, err
	}
	return r.run(ctx)
}

// sessionRun is the live part of a session run: the state plus what exists
// only while the run executes (channels, the timer, work not yet projected).
type sessionRun struct {
	st            *SessionState
	workflowID    string
	continueAfter int
	handled       int

	messages workflow.ReceiveChannel
	commands []commandChannel
	wake     workflow.Channel

	// Work the next projection carries.
	dirty         bool
	events        []activities.SessionEvent
	attach        []int64
	warning       string
	firstResponse time.Duration

	// Customer messages that came after the session closed: they open the next session.
	next []CustomerMessage

	sendQueue []int64
	sending   bool
	resends   []ResendCommand

	timerAt     time.Time
	timer       workflow.Future
	cancelTimer workflow.CancelFunc
	lastSearch  map[string]string
}

// commandChannel is one agent-command signal and how to apply it.
type commandChannel struct {
	ch    workflow.ReceiveChannel
	apply func(ctx workflow.Context, c workflow.ReceiveChannel)
}

func setup(ctx workflow.Context, in SessionInput) (*sessionRun, error) {
	info := workflow.GetInfo(ctx)
	r := &sessionRun{
		workflowID:    info.WorkflowExecution.ID,
		continueAfter: in.ContinueAfter,
		wake:          workflow.NewBufferedChannel(ctx, 1),
		messages:      workflow.GetSignalChannel(ctx, SignalCustomerMessage),
	}
	if r.continueAfter <= 0 {
		r.continueAfter = defaultContinueAfter
	}
	now := workflow.Now(ctx)
	switch {
	case in.Carried != nil:
		r.st = in.Carried
	case in.Reopen != nil:
		var snap activities.SessionSnapshot
		if err := workflow.ExecuteLocalActivity(localCtx(ctx), a.LoadSession, activities.LoadSessionInput{SessionID: in.Reopen.SessionID}).Get(ctx, &snap); err != nil {
			return nil, err
		}
		ch, err := loadChannel(ctx, snap.ChannelID)
		if err != nil {
			return nil, err
		}
		r.st = reopenedState(snap, ch, now)
		r.event("session.reopened", in.Reopen.ActorID, nil, now)
	default:
		ch, err := loadChannel(ctx, in.ChannelID)
		if err != nil {
			return nil, err
		}
		r.st = &SessionState{
			SessionID:      newSessionID(info.WorkflowExecution.RunID),
			ChannelID:      in.ChannelID,
			ContactID:      in.ContactID,
			TeamID:         ch.TeamID,
			Platform:       ch.Platform,
			Settings:       ch.Settings,
			OpenedAt:       now,
			LastActivityAt: now,
		}
		r.event("session.opened", "", nil, now)
	}
	if in.Carried != nil {
		// Settings may have changed since the session opened: each run picks
		// them up. A channel that is gone leaves the old ones in force.
		if ch, err := loadChannel(ctx, r.st.ChannelID); err == nil {
			r.st.Settings = ch.Settings
		}
	}
	r.registerCommands(ctx)
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateReply, r.reply, workflow.UpdateHandlerOptions{Validator: r.validateReply}); err != nil {
		return nil, err
	}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (SessionState, error) { return *r.st, nil }); err != nil {
		return nil, err
	}
	for _, m := range in.FirstMessages {
		r.customerMessage(m, now)
	}
	r.dirty = true
	workflow.Go(ctx, r.sender)
	return r, nil
}

// sessionIDSpace names the session ids derived from run ids.
var sessionIDSpace = uuid.MustParse("5d8c7a52-0f4e-4b7e-9a5e-6f1f2b0c9d31")

// newSessionID derives a new session's id from the run that opens it:
// deterministic (replays give the same id) and unique as run ids are.
func newSessionID(runID string) string {
	return uuid.NewSHA1(sessionIDSpace, []byte(runID)).String()
}

func loadChannel(ctx workflow.Context, channelID string) (activities.ChannelInfo, error) {
	var ch activities.ChannelInfo
	err := workflow.ExecuteLocalActivity(localCtx(ctx), a.LoadChannel, activities.LoadChannelInput{ChannelID: channelID}).Get(ctx, &ch)
	return ch, err
}

func reopenedState(snap activities.SessionSnapshot, ch activities.ChannelInfo, now time.Time) *SessionState {
	return &SessionState{
		SessionID:      snap.ID,
		ChannelID:      snap.ChannelID,
		ContactID:      snap.ContactID,
		TeamID:         snap.TeamID,
		Platform:       snap.Platform,
		Settings:       ch.Settings,
		OpenedAt:       snap.OpenedAt,
		LastActivityAt: now,
		OwnerID:        snap.OwnerID,
		MemberIDs:      snap.MemberIDs,
		SupporterIDs:   snap.SupporterIDs,
		Tags:           snap.Tags,
		Important:      snap.Important,
		InCount:        snap.InCount,
		LastMessageID:  snap.LastMessageID,
		// A reopened session is answered until the customer writes: it was
		// closed, so nobody is left waiting.
		FirstResponseAt: snap.FirstResponseAt,
		WindowExpiresAt: snap.WindowExpiresAt,
		WindowNoticed:   snap.WindowExpiresAt != nil && !now.Before(*snap.WindowExpiresAt),
		AutoReplySent:   true,
		GreetingSent:    true,
		Version:         snap.Version,
		EventSeq:        snap.EventSeq,
	}
}

// run is the session's main loop: apply what arrived, fire what is due,
// project, then wait for the next signal, update or deadline.
func (r *sessionRun) run(ctx workflow.Context) (SessionResult, error) {
	// The message that started the run came with it: apply it before the
	// first projection, which the session row (and every message naming it)
	// needs before anything else.
	r.drain(ctx)
	if err := r.project(ctx); err != nil {
		return SessionResult{}, err
	}
	if !r.st.GreetingSent {
		r.st.GreetingSent = true
		if g := r.st.Settings.Greeting; g != "" {
			if err := r.automatic(ctx, g, "greeting"); err != nil {
				return SessionResult{}, err
			}
		}
	}
	for {
		r.drain(ctx)
		if err := r.fireDue(ctx); err != nil {
			return SessionResult{}, err
		}
		if err := r.prepareResends(ctx); err != nil {
			return SessionResult{}, err
		}
		if err := r.project(ctx); err != nil {
			return SessionResult{}, err
		}
		if r.st.Closed {
			return r.finish(ctx)
		}
		if r.handled >= r.continueAfter || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return r.continueAsNew(ctx)
		}
		r.armTimer(ctx)
		r.wait(ctx)
	}
}

// wait blocks until a signal, an update's change or the deadline.
func (r *sessionRun) wait(ctx workflow.Context) {
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(r.messages, func(c workflow.ReceiveChannel, _ bool) { r.receiveMessage(ctx, c) })
	for _, cc := range r.commands {
		sel.AddReceive(cc.ch, func(c workflow.ReceiveChannel, _ bool) { cc.apply(ctx, c); r.handled++ })
	}
	sel.AddReceive(r.wake, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
	if r.timer != nil {
		sel.AddFuture(r.timer, func(workflow.Future) { r.timer, r.cancelTimer = nil, nil })
	}
	sel.Select(ctx)
}

// drain applies every signal already delivered, agent commands before
// customer messages: a "done" and a message that arrive together close the
// session first, so the message opens the next one instead of landing in a
// closed session nobody looks at.
func (r *sessionRun) drain(ctx workflow.Context) {
	for _, cc := range r.commands {
		for cc.ch.Len() > 0 {
			cc.apply(ctx, cc.ch)
			r.handled++
		}
	}
	for r.messages.Len() > 0 {
		r.receiveMessage(ctx, r.messages)
	}
	for r.wake.Len() > 0 {
		r.wake.ReceiveAsync(nil)
	}
}

func (r *sessionRun) receiveMessage(ctx workflow.Context, c workflow.ReceiveChannel) {
	var m CustomerMessage
	c.Receive(ctx, &m)
	r.handled++
	r.customerMessage(m, workflow.Now(ctx))
}

func (r *sessionRun) customerMessage(m CustomerMessage, now time.Time) {
	if r.st.Closed {
		r.next = append(r.next, m)
		return
	}
	if m.MessageID <= 0 || r.st.seenMessage(m.MessageID) {
		return
	}
	r.st.customerWrote(m.MessageID, m.SentAt, m.ReceivedAt, now)
	r.attach = append(r.attach, m.MessageID)
	r.dirty = true
}

// fireDue handles every deadline that has come, in a fixed order.
func (r *sessionRun) fireDue(ctx workflow.Context) error {
	now := workflow.Now(ctx)
	for _, d := range r.st.deadlines() {
		if d.at.After(now) || r.st.Closed {
			continue
		}
		switch d.kind {
		case dueSnoozeEnd:
			r.st.SnoozedUntil = nil
			r.event("session.snooze_ended", "", nil, now)
		case dueWindow:
			r.st.WindowNoticed = true
			r.event("session.window_closed", "", map[string]string{"notice": WindowClosedNotice}, now)
		case dueAutoReply:
			r.st.AutoReplySent = true
			if err := r.automatic(ctx, r.st.Settings.AutoReplyText, "auto_reply"); err != nil {
				return err
			}
		case dueSoon:
			r.st.WarnedSoon = true
			r.warning = StatusSoon
			r.event("session.warning", "", map[string]string{"level": StatusSoon}, now)
		case dueOverdue:
			r.st.WarnedSoon = true
			r.st.WarnedOverdue = true
			r.warning = StatusOverdue
			r.event("session.warning", "", map[string]string{"level": StatusOverdue}, now)
		case dueAutoClose:
			if msg := r.st.Settings.ClosingMessage; msg != "" {
				if err := r.automatic(ctx, msg, "closing_message"); err != nil {
					return err
				}
			}
			r.close(CloseStatusTimeout, "", now)
		}
		r.dirty = true
	}
	return nil
}

// automatic stores an automatic message to the customer and queues its delivery.
func (r *sessionRun) automatic(ctx workflow.Context, text, kind string) error {
	now := workflow.Now(ctx)
	var ref activities.MessageRef
	err := workflow.ExecuteLocalActivity(localCtx(ctx), a.CreateMessage, activities.CreateMessageInput{
		SessionID: r.st.SessionID,
		ChannelID: r.st.ChannelID,
		ContactID: r.st.ContactID,
		Direction: "out",
		Text:      text,
		Automatic: true,
		// One per kind and session: a retried local activity finds the same row.
		ClientID: "auto:" + kind + ":" + strconv.Itoa(r.st.EventSeq),
		At:       now,
	}).Get(ctx, &ref)
	if err != nil {
		return err
	}
	r.st.touchOut(ref.ID, now)
	r.event("message."+kind, "", map[string]string{"message_id": strconv.FormatInt(ref.ID, 10)}, now)
	r.enqueueSend(ref.ID)
	return nil
}

func (r *sessionRun) close(status, actorID string, now time.Time) {
	if r.st.Closed {
		return
	}
	r.st.Closed = true
	r.st.ClosedAt = timePtr(now)
	r.st.CloseStatus = status
	r.st.SnoozedUntil = nil
	r.event("session.closed", actorID, map[string]string{"close_status": status}, now)
	r.dirty = true
}

// event appends to the audit trail the next projection writes.
func (r *sessionRun) event(typ, actorID string, data map[string]string, now time.Time) {
	r.st.EventSeq++
	r.events = append(r.events, activities.SessionEvent{Seq: r.st.EventSeq, Type: typ, ActorID: actorID, Data: data, At: now})
	r.dirty = true
}

// project writes the state to the read model when it changed, and keeps the
// search attributes current.
func (r *sessionRun) project(ctx workflow.Context) error {
	if !r.dirty {
		return nil
	}
	r.st.Version++
	in := activities.ProjectInput{
		Session:       r.st.snapshot(r.workflowID),
		Events:        r.events,
		Attach:        r.attach,
		Warning:       r.warning,
		FirstResponse: r.firstResponse,
	}
	r.events, r.attach, r.warning, r.firstResponse, r.dirty = nil, nil, "", 0, false
	var res activities.ProjectResult
	if err := workflow.ExecuteLocalActivity(localCtx(ctx), a.Project, in).Get(ctx, &res); err != nil {
		return err
	}
	return r.upsertSearch(ctx)
}

func (r *sessionRun) upsertSearch(ctx workflow.Context) error {
	want := map[string]string{
		SearchSession.GetName():  r.st.SessionID,
		SearchChannel.GetName():  r.st.ChannelID,
		SearchPlatform.GetName(): string(r.st.Platform),
		SearchStatus.GetName():   r.st.Status(),
		SearchOwner.GetName():    r.st.OwnerID,
		SearchTeam.GetName():     r.st.TeamID,
		SearchContact.GetName():  r.st.ContactID,
	}
	var updates []temporal.SearchAttributeUpdate
	for _, k := range searchKeys {
		v := want[k.GetName()]
		if r.lastSearch != nil && r.lastSearch[k.GetName()] == v {
			continue
		}
		if v == "" {
			updates = append(updates, k.ValueUnset())
		} else {
			updates = append(updates, k.ValueSet(v))
		}
	}
	r.lastSearch = want
	if len(updates) == 0 {
		return nil
	}
	return workflow.UpsertTypedSearchAttributes(ctx, updates...)
}

// armTimer keeps the one deadline timer no later than the earliest
// deadline. A pending timer due earlier than needed is kept: it fires, finds
// nothing due and is armed again, one wake-up, where moving it on every
// customer message would cost a cancel and a start each time.
func (r *sessionRun) armTimer(ctx workflow.Context) {
	next := r.st.nextDeadline()
	if r.timer != nil {
		if next.IsZero() || !next.Before(r.timerAt) {
			return
		}
		r.cancelTimer()
		r.timer, r.cancelTimer = nil, nil
	}
	if next.IsZero() {
		return
	}
	d := next.Sub(workflow.Now(ctx))
	if d < time.Millisecond {
		d = time.Millisecond
	}
	tctx, cancel := workflow.WithCancel(ctx)
	r.timer, r.cancelTimer, r.timerAt = workflow.NewTimerWithOptions(tctx, d, workflow.TimerOptions{Summary: "next deadline"}), cancel, next
}

// settle waits until every handler has finished and every queued message is
// sent, then applies the signals that came meanwhile. It returns once nothing
// is left, so that the run's last command (complete or continue as new) is
// decided on all that was delivered.
func (r *sessionRun) settle(ctx workflow.Context) error {
	for {
		if err := workflow.Await(ctx, func() bool {
			return workflow.AllHandlersFinished(ctx) && len(r.sendQueue) == 0 && !r.sending
		}); err != nil {
			return err
		}
		r.drain(ctx)
		if !r.dirty {
			return nil
		}
		if err := r.project(ctx); err != nil {
			return err
		}
	}
}

// finish ends a closed session's run. Messages that came after the close
// open the contact's next session, in a new run of the same workflow id.
func (r *sessionRun) finish(ctx workflow.Context) (SessionResult, error) {
	if err := r.settle(ctx); err != nil {
		return SessionResult{}, err
	}
	if len(r.next) > 0 {
		return SessionResult{}, workflow.NewContinueAsNewError(ctx, SessionWorkflowName, SessionInput{
			ChannelID:     r.st.ChannelID,
			ContactID:     r.st.ContactID,
			FirstMessages: r.next,
			ContinueAfter: r.continueAfter,
		})
	}
	return SessionResult{SessionID: r.st.SessionID, CloseStatus: r.st.CloseStatus}, nil
}

// continueAsNew hands the session to a fresh run before the history grows
// too long, with every handler finished and every signal applied.
func (r *sessionRun) continueAsNew(ctx workflow.Context) (SessionResult, error) {
	if err := r.settle(ctx); err != nil {
		return SessionResult{}, err
	}
	if r.st.Closed {
		return r.finish(ctx)
	}
	return SessionResult{}, workflow.NewContinueAsNewError(ctx, SessionWorkflowName, SessionInput{
		ChannelID:     r.st.ChannelID,
		ContactID:     r.st.ContactID,
		Carried:       r.st,
		ContinueAfter: r.continueAfter,
	})
}

// prepareResends marks failed messages agents asked to resend as sending
// again and queues them; a message no longer resendable is left alone.
func (r *sessionRun) prepareResends(ctx workflow.Context) error {
	for len(r.resends) > 0 {
		c := r.resends[0]
		r.resends = r.resends[1:]
		var ok bool
		if err := workflow.ExecuteLocalActivity(localCtx(ctx), a.PrepareResend, activities.PrepareResendInput{
			MessageID: c.MessageID, SessionID: r.st.SessionID,
		}).Get(ctx, &ok); err != nil {
			return err
		}
		if ok {
			r.enqueueSend(c.MessageID)
		}
	}
	return nil
}

// enqueueSend queues an outbound message; sender delivers them one at a
// time, in order.
func (r *sessionRun) enqueueSend(id int64) {
	r.sendQueue = append(r.sendQueue, id)
}

func (r *sessionRun) sender(ctx workflow.Context) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
			MaximumAttempts:    10,
		},
	})
	for {
		if err := workflow.Await(ctx, func() bool { return len(r.sendQueue) > 0 }); err != nil {
			return
		}
		id := r.sendQueue[0]
		r.sending = true
		var res activities.SendResult
		if err := workflow.ExecuteActivity(actx, a.SendMessage, activities.SendInput{MessageID: id}).Get(ctx, &res); err != nil {
			// Retries are spent: the platform never answered. Record it so the
			// agent sees a failed message they may resend.
			_ = workflow.ExecuteLocalActivity(localCtx(ctx), a.FailMessage, activities.FailMessageInput{
				MessageID: id, Reason: channel.ReasonPlatformUnavailable,
			}).Get(ctx, nil)
		}
		r.sendQueue = r.sendQueue[1:]
		r.sending = false
	}
}

// validateReply rejects a reply the session cannot take. It runs before the
// update is accepted, and again in the handler: earlier accepted updates may
// have changed the state in between.
func (r *sessionRun) validateReply(ctx workflow.Context, in ReplyInput) error {
	if r.st.Closed {
		return temporal.NewApplicationErrorWithOptions("the session is closed", ErrSessionClosed, temporal.ApplicationErrorOptions{NonRetryable: true})
	}
	if in.SessionID != "" && in.SessionID != r.st.SessionID {
		return temporal.NewApplicationErrorWithOptions("the contact has a newer session", ErrOtherSession, temporal.ApplicationErrorOptions{NonRetryable: true})
	}
	if strings.TrimSpace(in.Text) == "" && len(in.Attachments) == 0 {
		return invalid("text or attachments are required")
	}
	if len(in.Text) > channel.MaxTextBytes {
		return invalid(fmt.Sprintf("text is longer than %d bytes", channel.MaxTextBytes))
	}
	if in.AgentID == "" || in.ClientID == "" {
		return invalid("agent and client_id are required")
	}
	if _, ok := r.st.replyFor(in.ClientID); ok {
		return nil // a retry: the handler answers with the stored reply
	}
	if !r.st.WindowOpen(workflow.Now(ctx)) {
		return temporal.NewApplicationErrorWithOptions(
			"the platform's 24-hour reply window is closed ("+WindowClosedNotice+"): use a message template",
			ErrWindowClosed, temporal.ApplicationErrorOptions{NonRetryable: true})
	}
	return nil
}

func invalid(msg string) error {
	return temporal.NewApplicationErrorWithOptions(msg, ErrInvalidCommand, temporal.ApplicationErrorOptions{NonRetryable: true})
}

// reply stores an agent's reply, marks the customer answered and queues the
// delivery. It answers once the reply is stored, not delivered: delivery
// outcomes reach the agent as message updates.
func (r *sessionRun) reply(ctx workflow.Context, in ReplyInput) (ReplyResult, error) {
	if id, ok := r.st.replyFor(in.ClientID); ok {
		return ReplyResult{MessageID: id}, nil
	}
	if err := r.validateReply(ctx, in); err != nil {
		return ReplyResult{}, err
	}
	r.handled++
	now := workflow.Now(ctx)
	var ref activities.MessageRef
	err := workflow.ExecuteLocalActivity(localCtx(ctx), a.CreateMessage, activities.CreateMessageInput{
		SessionID:   r.st.SessionID,
		ChannelID:   r.st.ChannelID,
		ContactID:   r.st.ContactID,
		Direction:   "out",
		Text:        in.Text,
		Attachments: in.Attachments,
		SenderID:    in.AgentID,
		ClientID:    in.ClientID,
		At:          now,
	}).Get(ctx, &ref)
	if err != nil {
		return ReplyResult{}, err
	}
	// Another update may have stored the same client id while this one waited.
	if id, ok := r.st.replyFor(in.ClientID); ok {
		return ReplyResult{MessageID: id}, nil
	}
	r.st.rememberReply(in.ClientID, ref.ID)
	now = workflow.Now(ctx)
	if r.st.FirstResponseAt == nil && r.st.FirstCustomerAt != nil {
		r.firstResponse = now.Sub(*r.st.FirstCustomerAt)
	}
	joined := r.st.join(in.AgentID)
	if joined {
		r.event("session.joined", in.AgentID, nil, now)
	}
	r.st.agentReplied(in.AgentID, ref.ID, now)
	r.event("message.replied", in.AgentID, map[string]string{"message_id": strconv.FormatInt(ref.ID, 10)}, now)
	r.enqueueSend(ref.ID)
	r.poke()
	return ReplyResult{MessageID: ref.ID}, nil
}

// poke wakes the main loop after a handler changed the state.
func (r *sessionRun) poke() {
	r.dirty = true
	r.wake.SendAsync(struct{}{})
}

func localCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    100 * time.Millisecond,
			BackoffCoefficient: 2,
			MaximumInterval:    10 * time.Second,
		},
	})
}
