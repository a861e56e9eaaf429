package workflows

import (
	"slices"
	"time"

	"github.com/omnichat/omnichat/activities"
	"github.com/omnichat/omnichat/channel"
)

// Session statuses (SE2).
const (
	StatusRepNeeded = "rep_needed"
	StatusPending   = "pending"
	StatusSoon      = "soon"
	StatusOverdue   = "overdue"
	StatusAnswered  = "answered"
	StatusSnoozed   = "snoozed"
	StatusClosed    = "closed"
)

// Close statuses the system sets by itself.
const (
	CloseStatusTimeout = "timeout"
	CloseStatusDone    = "done"
)

// WindowClosedNotice is shown on a session whose platform no longer accepts
// free-form replies (SE11).
const WindowClosedNotice = "no customer interaction for more than 24 h"

// rememberedIDs bounds the message and client ids a run keeps to recognise
// repeats; platform and agent retries come within minutes, far fewer than this.
const rememberedIDs = 256

// SessionState is everything a session knows. It is plain data so that a run
// can hand it to the next one when it continues as new.
type SessionState struct {
	SessionID string
	ChannelID string
	ContactID string
	TeamID    string
	Platform  channel.Platform
	Settings  channel.Settings

	OpenedAt       time.Time
	LastActivityAt time.Time
	OwnerID        string
	MemberIDs      []string
	SupporterIDs   []string
	Tags           []string
	Important      bool
	InCount        int
	LastMessageID  int64

	// WaitingSince is when the customer's oldest unanswered message came;
	// LastUnansweredAt their newest. The soon and overdue thresholds count
	// from the newest, and once reached stay reached until an agent answers.
	WaitingSince     *time.Time
	LastUnansweredAt *time.Time
	WarnedSoon       bool
	WarnedOverdue    bool

	FirstCustomerAt *time.Time
	LastCustomerAt  *time.Time
	FirstResponseAt *time.Time
	AutoReplySent   bool
	GreetingSent    bool
	WindowExpiresAt *time.Time
	WindowNoticed   bool
	SnoozedUntil    *time.Time

	Closed      bool
	ClosedAt    *time.Time
	CloseStatus string

	Version  int64
	EventSeq int

	// RecentMessages and RecentReplies remember the latest customer message
	// ids and reply client ids (with the message each produced), oldest first.
	RecentMessages []int64
	RecentReplies  []ReplyRecord
}

// ReplyRecord is a reply already stored for a client id.
type ReplyRecord struct {
	ClientID  string
	MessageID int64
}

// Status derives the SE2 status from the state.
func (s *SessionState) Status() string {
	switch {
	case s.Closed:
		return StatusClosed
	case s.SnoozedUntil != nil:
		return StatusSnoozed
	case s.WaitingSince == nil:
		return StatusAnswered
	case s.WarnedOverdue:
		return StatusOverdue
	case s.WarnedSoon:
		return StatusSoon
	case s.hasRep():
		return StatusPending
	default:
		return StatusRepNeeded
	}
}

// hasRep reports whether an agent is in the session.
func (s *SessionState) hasRep() bool {
	return s.OwnerID != "" || len(s.MemberIDs) > 0
}

// WindowOpen reports whether the platform accepts a free-form reply at now.
func (s *SessionState) WindowOpen(now time.Time) bool {
	return s.WindowExpiresAt == nil || now.Before(*s.WindowExpiresAt)
}

// customerWrote records a customer message omnichat received at receivedAt
// and the session takes at now (sentAt is the platform's time, which starts
// the platform's reply window). The customer waits from receivedAt.
func (s *SessionState) customerWrote(id int64, sentAt, receivedAt, now time.Time) {
	s.InCount++
	if id > s.LastMessageID {
		s.LastMessageID = id
	}
	at := now
	if !receivedAt.IsZero() && receivedAt.Before(now) {
		at = receivedAt
	}
	if at.After(s.LastActivityAt) {
		s.LastActivityAt = at
	}
	if s.FirstCustomerAt == nil {
		s.FirstCustomerAt = timePtr(at)
	}
	s.LastCustomerAt = timePtr(at)
	if s.WaitingSince == nil {
		s.WaitingSince = timePtr(at)
	}
	s.LastUnansweredAt = timePtr(at)
	if w := s.Platform.ReplyWindow(); w > 0 {
		base := sentAt
		if base.IsZero() || base.After(now) {
			base = now
		}
		exp := base.Add(w)
		if s.WindowExpiresAt == nil || exp.After(*s.WindowExpiresAt) {
			s.WindowExpiresAt = &exp
		}
		s.WindowNoticed = false
	}
	s.SnoozedUntil = nil
	s.RecentMessages = remember(s.RecentMessages, id)
}

// agentReplied records an agent's reply: the customer is answered.
func (s *SessionState) agentReplied(agentID string, messageID int64, now time.Time) {
	s.join(agentID)
	s.WaitingSince = nil
	s.LastUnansweredAt = nil
	s.WarnedSoon = false
	s.WarnedOverdue = false
	if s.FirstResponseAt == nil {
		s.FirstResponseAt = timePtr(now)
	}
	s.touchOut(messageID, now)
}

// touchOut records an outbound message (reply or automatic).
func (s *SessionState) touchOut(messageID int64, now time.Time) {
	if messageID > s.LastMessageID {
		s.LastMessageID = messageID
	}
	s.LastActivityAt = now
}

// join adds an agent to the session; the first agent in owns it.
func (s *SessionState) join(agentID string) bool {
	if agentID == "" || slices.Contains(s.MemberIDs, agentID) {
		return false
	}
	s.MemberIDs = append(s.MemberIDs, agentID)
	if s.OwnerID == "" {
		s.OwnerID = agentID
	}
	return true
}

// leave takes an agent out; an owner who leaves hands the session to the
// agent who joined first among those still in it.
func (s *SessionState) leave(agentID string) bool {
	i := slices.Index(s.MemberIDs, agentID)
	if i < 0 && s.OwnerID != agentID {
		return false
	}
	if i >= 0 {
		s.MemberIDs = slices.Delete(s.MemberIDs, i, i+1)
	}
	if s.OwnerID == agentID {
		s.OwnerID = ""
		if len(s.MemberIDs) > 0 {
			s.OwnerID = s.MemberIDs[0]
		}
	}
	return true
}

// replyFor returns the message already stored for a reply's client id.
func (s *SessionState) replyFor(clientID string) (int64, bool) {
	for _, r := range s.RecentReplies {
		if r.ClientID == clientID {
			return r.MessageID, true
		}
	}
	return 0, false
}

func (s *SessionState) rememberReply(clientID string, messageID int64) {
	s.RecentReplies = append(s.RecentReplies, ReplyRecord{clientID, messageID})
	if len(s.RecentReplies) > rememberedIDs {
		s.RecentReplies = slices.Delete(s.RecentReplies, 0, len(s.RecentReplies)-rememberedIDs)
	}
}

// seenMessage reports whether the customer message was already handled.
func (s *SessionState) seenMessage(id int64) bool {
	return slices.Contains(s.RecentMessages, id)
}

// deadline kinds, in the order they are handled when due together.
const (
	dueSnoozeEnd = iota
	dueWindow
	dueAutoReply
	dueSoon
	dueOverdue
	dueAutoClose
)

// nextDeadline is the earliest time something is due: the one timer a
// session keeps, re-armed whenever the state changes.
func (s *SessionState) nextDeadline() time.Time {
	var next time.Time
	for _, d := range s.deadlines() {
		if next.IsZero() || d.at.Before(next) {
			next = d.at
		}
	}
	return next
}

type deadline struct {
	kind int
	at   time.Time
}

// deadlines lists what is pending, in handling order.
func (s *SessionState) deadlines() []deadline {
	if s.Closed {
		return nil
	}
	var ds []deadline
	add := func(kind int, at time.Time) { ds = append(ds, deadline{kind, at}) }
	if s.SnoozedUntil != nil {
		add(dueSnoozeEnd, *s.SnoozedUntil)
	}
	if s.WindowExpiresAt != nil && !s.WindowNoticed {
		add(dueWindow, *s.WindowExpiresAt)
	}
	set := s.Settings
	if set.AutoReplyAfter() > 0 && set.AutoReplyText != "" && !s.AutoReplySent && s.FirstResponseAt == nil && s.FirstCustomerAt != nil {
		add(dueAutoReply, s.FirstCustomerAt.Add(set.AutoReplyAfter()))
	}
	if s.LastUnansweredAt != nil {
		if set.WarnAfter() > 0 && !s.WarnedSoon {
			add(dueSoon, s.LastUnansweredAt.Add(set.WarnAfter()))
		}
		if set.OverdueAfter() > 0 && !s.WarnedOverdue {
			add(dueOverdue, s.LastUnansweredAt.Add(set.OverdueAfter()))
		}
	}
	if set.AutoCloseAfter() > 0 {
		add(dueAutoClose, s.LastActivityAt.Add(set.AutoCloseAfter()))
	}
	return ds
}

// snapshot is the read model's view of the state.
func (s *SessionState) snapshot(workflowID string) activities.SessionSnapshot {
	return activities.SessionSnapshot{
		ID:              s.SessionID,
		ChannelID:       s.ChannelID,
		ContactID:       s.ContactID,
		TeamID:          s.TeamID,
		Platform:        s.Platform,
		WorkflowID:      workflowID,
		Status:          s.Status(),
		OwnerID:         s.OwnerID,
		MemberIDs:       slices.Clone(s.MemberIDs),
		SupporterIDs:    slices.Clone(s.SupporterIDs),
		Tags:            slices.Clone(s.Tags),
		Important:       s.Important,
		InCount:         s.InCount,
		WaitingSince:    s.WaitingSince,
		WindowExpiresAt: s.WindowExpiresAt,
		SnoozedUntil:    s.SnoozedUntil,
		FirstResponseAt: s.FirstResponseAt,
		LastMessageID:   s.LastMessageID,
		LastActivityAt:  s.LastActivityAt,
		OpenedAt:        s.OpenedAt,
		ClosedAt:        s.ClosedAt,
		CloseStatus:     s.CloseStatus,
		Version:         s.Version,
	}
}

func remember(ids []int64, id int64) []int64 {
	ids = append(ids, id)
	if len(ids) > rememberedIDs {
		ids = slices.Delete(ids, 0, len(ids)-rememberedIDs)
	}
	return ids
}

func timePtr(t time.Time) *time.Time { return &t }
