// Package workflows holds omnichat's Temporal workflows. The session
// workflow is the conversation: it owns a session's state and timers, and
// projects every change into Postgres through activities.
//
// This file is the session workflow's contract: what the API and the ingest
// path need to talk to it (task queue, ids, signal and update names, their
// payloads, search attributes). Callers import it; nothing here runs in a
// workflow.
package workflows

import (
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"

	"github.com/omnichat/omnichat/channel"
)

// TaskQueue is where session workflows and their activities run.
const TaskQueue = "omnichat-sessions"

// SessionWorkflowName is the registered name of SessionWorkflow.
const SessionWorkflowName = "Session"

// SessionWorkflowID is the one workflow id of a (channel, contact) pair. A
// closed session's run ends; the next message starts a new run under the
// same id, which is the contact's next session.
func SessionWorkflowID(channelID, contactID string) string {
	return "session/" + channelID + "/" + contactID
}

// Signal names. Signals carry commands whose callers do not wait for an answer.
const (
	SignalCustomerMessage = "customer-message"
	SignalJoin            = "join"
	SignalLeave           = "leave"
	SignalOwner           = "owner"
	SignalSupporters      = "supporters"
	SignalDone            = "done"
	SignalTags            = "tags"
	SignalImportant       = "important"
	SignalSnooze          = "snooze"
	SignalResend          = "resend"
)

// Update and query names. Updates carry commands whose callers need the answer.
const (
	UpdateReply = "reply"
	QueryState  = "state"
)

// Error types of update rejections, for callers to map to responses.
const (
	ErrSessionClosed  = "SessionClosed"
	ErrWindowClosed   = "WindowClosed"
	ErrInvalidCommand = "InvalidCommand"
	ErrOtherSession   = "OtherSession"
)

// SessionInput starts a session run.
type SessionInput struct {
	ChannelID string
	ContactID string
	// Reopen, when set, is a closed session to bring back instead of a new one.
	Reopen *ReopenInput
	// Carried is the state of the same session from the run that continued
	// as new; nil for a new session.
	Carried *SessionState
	// FirstMessages are customer messages received by the previous run after
	// its session closed: they open this new session.
	FirstMessages []CustomerMessage
	// ContinueAfter overrides how many commands a run handles before it
	// continues as new (tests use a small number); zero means the default.
	ContinueAfter int
}

// SessionResult is how a session run ended.
type SessionResult struct {
	SessionID   string
	CloseStatus string
}

// CustomerMessage tells a session that a customer's message is stored.
type CustomerMessage struct {
	MessageID int64
	// SentAt is the platform's timestamp of the message.
	SentAt time.Time
	// ReceivedAt is when omnichat accepted it (its stored time). The
	// customer waits from then: response-time thresholds count from it even
	// when the session takes the message later. Zero in histories written
	// before it existed: the session's own time is used.
	ReceivedAt time.Time
}

// AgentCommand is the payload of join and leave.
type AgentCommand struct {
	SessionID string
	AgentID   string
}

// OwnerCommand gives the session to an agent, or to a team's queue (AgentID empty).
type OwnerCommand struct {
	SessionID string
	ActorID   string
	AgentID   string
	TeamID    string
	Note      string
}

// SupportersCommand adds or removes supporters.
type SupportersCommand struct {
	SessionID string
	ActorID   string
	Add       []string
	Remove    []string
}

// DoneCommand closes the session.
type DoneCommand struct {
	SessionID   string
	ActorID     string
	CloseStatus string
}

// TagsCommand replaces the session's tags.
type TagsCommand struct {
	SessionID string
	ActorID   string
	Tags      []string
}

// ImportantCommand marks or unmarks the session important.
type ImportantCommand struct {
	SessionID string
	ActorID   string
	Value     bool
}

// SnoozeCommand postpones the session until a time (zero time: wake now).
type SnoozeCommand struct {
	SessionID string
	ActorID   string
	Until     time.Time
}

// ResendCommand sends a failed message again.
type ResendCommand struct {
	SessionID string
	ActorID   string
	MessageID int64
}

// ReplyInput is an agent's reply to the customer.
type ReplyInput struct {
	SessionID   string
	AgentID     string
	ClientID    string
	Text        string
	Attachments []channel.Attachment
}

// ReplyResult names the stored reply; its delivery goes on in the background.
type ReplyResult struct {
	MessageID int64
}

// ReopenInput brings a closed session back.
type ReopenInput struct {
	SessionID string
	ActorID   string
}

// Search attributes that let ops find sessions in the Temporal Web UI.
var (
	SearchSession  = temporal.NewSearchAttributeKeyKeyword("OmnichatSession")
	SearchChannel  = temporal.NewSearchAttributeKeyKeyword("OmnichatChannel")
	SearchPlatform = temporal.NewSearchAttributeKeyKeyword("OmnichatPlatform")
	SearchStatus   = temporal.NewSearchAttributeKeyKeyword("OmnichatStatus")
	SearchOwner    = temporal.NewSearchAttributeKeyKeyword("OmnichatOwner")
	SearchTeam     = temporal.NewSearchAttributeKeyKeyword("OmnichatTeam")
	SearchContact  = temporal.NewSearchAttributeKeyKeyword("OmnichatContact")
)

var searchKeys = []temporal.SearchAttributeKeyKeyword{SearchSession, SearchChannel, SearchPlatform, SearchStatus, SearchOwner, SearchTeam, SearchContact}

// SearchAttributes lists the custom search attributes a namespace needs.
func SearchAttributes() map[string]enumspb.IndexedValueType {
	m := map[string]enumspb.IndexedValueType{}
	for _, k := range searchKeys {
		m[k.GetName()] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	return m
}
