package activities

import (
	"time"

	"github.com/omnichat/omnichat/channel"
)

// LoadChannelInput names the channel whose rules a session follows.
type LoadChannelInput struct {
	ChannelID string
}

// ChannelInfo is what a session workflow needs to know of its channel.
type ChannelInfo struct {
	ChannelID string
	Platform  channel.Platform
	TeamID    string
	Settings  channel.Settings
}

// SessionSnapshot is the workflow's view of a session at one version, as the
// read model stores it.
type SessionSnapshot struct {
	ID              string
	ChannelID       string
	ContactID       string
	TeamID          string
	Platform        channel.Platform
	WorkflowID      string
	Status          string
	OwnerID         string
	MemberIDs       []string
	SupporterIDs    []string
	Tags            []string
	Important       bool
	InCount         int
	WaitingSince    *time.Time
	WindowExpiresAt *time.Time
	SnoozedUntil    *time.Time
	FirstResponseAt *time.Time
	LastMessageID   int64
	LastActivityAt  time.Time
	OpenedAt        time.Time
	ClosedAt        *time.Time
	CloseStatus     string
	Version         int64
	// EventSeq is the last audit event's sequence number; set by LoadSession only.
	EventSeq int
}

// SessionEvent is one entry of a session's audit trail.
type SessionEvent struct {
	Seq     int
	Type    string
	ActorID string
	Data    map[string]string
	At      time.Time
}

// ProjectInput is one write of a session's read model: the snapshot, the
// audit events since the last write, and the inbound messages the session
// has just adopted.
type ProjectInput struct {
	Session SessionSnapshot
	Events  []SessionEvent
	Attach  []int64
	// Warning, when set ("soon" or "overdue"), is announced as session.warning.
	Warning string
	// FirstResponse, when set, is the wait the first agent reply ended (for the metric).
	FirstResponse time.Duration
}

// ProjectResult tells the workflow which messages it now owns.
type ProjectResult struct {
	Attached []int64
}

// LoadSessionInput names a stored session, to reopen it.
type LoadSessionInput struct {
	SessionID string
}

// CreateMessageInput is a message written inside a session: an agent's reply
// or an automatic message (greeting, auto-reply, closing message).
type CreateMessageInput struct {
	SessionID   string
	ChannelID   string
	ContactID   string
	Direction   string
	Text        string
	Attachments []channel.Attachment
	SenderID    string
	Automatic   bool
	// ClientID makes the write idempotent within the session.
	ClientID string
	At       time.Time
}

// MessageRef identifies a stored message.
type MessageRef struct {
	ID     int64
	Status string
}

// SendInput names an outbound message to deliver to the platform.
type SendInput struct {
	MessageID int64
}

// SendResult is how a delivery attempt ended.
type SendResult struct {
	Status        string
	FailureReason string
}

// FailMessageInput records that a message could not be delivered.
type FailMessageInput struct {
	MessageID int64
	Reason    string
}

// PrepareResendInput names a failed message to send again.
type PrepareResendInput struct {
	MessageID int64
	SessionID string
}
