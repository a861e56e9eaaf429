package api

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/omnichat/omnichat/channel"
	"github.com/omnichat/omnichat/db/dbsqlc"
	"github.com/omnichat/omnichat/workflows"
)

// The JSON shapes of the API's objects. Times are RFC 3339 UTC; ids are strings.

type agentJSON struct {
	ID         string     `json:"id"`
	Email      string     `json:"email"`
	Name       string     `json:"name"`
	Role       string     `json:"role"`
	Active     bool       `json:"active"`
	Presence   string     `json:"presence"`
	PresenceAt *time.Time `json:"presence_at"`
	CreatedAt  time.Time  `json:"created_at"`
}

func toAgent(a dbsqlc.Agent) agentJSON {
	return agentJSON{
		ID: a.ID.String(), Email: a.Email, Name: a.Name, Role: a.Role, Active: a.Active,
		Presence: a.Presence, PresenceAt: utcPtr(a.PresenceAt), CreatedAt: a.CreatedAt.UTC(),
	}
}

type teamMemberJSON struct {
	AgentID  string `json:"agent_id"`
	Name     string `json:"name"`
	Email    string `json:"email"`
	Role     string `json:"role"`
	Presence string `json:"presence"`
}

type teamJSON struct {
	ID        string           `json:"id"`
	Name      string           `json:"name"`
	Mode      string           `json:"mode"`
	Members   []teamMemberJSON `json:"members"`
	CreatedAt time.Time        `json:"created_at"`
}

type channelJSON struct {
	ID       string           `json:"id"`
	Platform string           `json:"platform"`
	Name     string           `json:"name"`
	TeamID   *string          `json:"team_id"`
	Settings channel.Settings `json:"settings"`
	// CredentialsSet names the stored credentials; their values are never returned.
	CredentialsSet []string  `json:"credentials_set"`
	WebhookURL     string    `json:"webhook_url,omitempty"`
	WidgetSnippet  string    `json:"widget_snippet,omitempty"`
	Active         bool      `json:"active"`
	Healthy        bool      `json:"healthy"`
	HealthError    string    `json:"health_error"`
	CreatedAt      time.Time `json:"created_at"`
}

type contactJSON struct {
	ID             string     `json:"id"`
	ChannelID      string     `json:"channel_id"`
	PlatformUserID string     `json:"platform_user_id"`
	Name           string     `json:"name"`
	Email          string     `json:"email"`
	Phone          string     `json:"phone"`
	AvatarURL      string     `json:"avatar_url"`
	FirstActiveAt  *time.Time `json:"first_active_at"`
	LastActiveAt   *time.Time `json:"last_active_at"`
	TotalMessages  int64      `json:"total_messages"`
	Online         bool       `json:"online"`
	LastSeenAt     *time.Time `json:"last_seen_at"`
}

func toContact(c dbsqlc.Contact) contactJSON {
	return contactJSON{
		ID: c.ID.String(), ChannelID: c.ChannelID.String(), PlatformUserID: c.PlatformUserID,
		Name: c.Name, Email: c.Email, Phone: c.Phone, AvatarURL: c.AvatarUrl,
		FirstActiveAt: utcPtr(c.FirstActiveAt), LastActiveAt: utcPtr(c.LastActiveAt),
		TotalMessages: c.TotalMessages, Online: c.Online, LastSeenAt: utcPtr(c.LastSeenAt),
	}
}

type lastMessageJSON struct {
	Direction string    `json:"direction"`
	Text      string    `json:"text"`
	SenderID  *string   `json:"sender_id"`
	CreatedAt time.Time `json:"created_at"`
}

type sessionJSON struct {
	ID              string           `json:"id"`
	ChannelID       string           `json:"channel_id"`
	Platform        string           `json:"platform"`
	Status          string           `json:"status"`
	OwnerID         *string          `json:"owner_id"`
	MemberIDs       []string         `json:"member_ids"`
	SupporterIDs    []string         `json:"supporter_ids"`
	TeamID          *string          `json:"team_id"`
	Tags            []string         `json:"tags"`
	Important       bool             `json:"important"`
	Unread          int32            `json:"unread"`
	Contact         contactJSON      `json:"contact"`
	LastMessage     *lastMessageJSON `json:"last_message"`
	OpenedAt        time.Time        `json:"opened_at"`
	ClosedAt        *time.Time       `json:"closed_at"`
	CloseStatus     string           `json:"close_status"`
	WaitingSince    *time.Time       `json:"waiting_since"`
	WindowExpiresAt *time.Time       `json:"window_expires_at"`
	WindowOpen      bool             `json:"window_open"`
	// Notice is shown on the session, e.g. when the platform's reply window is shut.
	Notice          string     `json:"notice,omitempty"`
	SnoozedUntil    *time.Time `json:"snoozed_until"`
	FirstResponseAt *time.Time `json:"first_response_at"`
	LastActivityAt  time.Time  `json:"last_activity_at"`
	// Warning is set on session.warning events: the threshold reached.
	Warning string `json:"warning,omitempty"`
}

// sessionRow is a session with what the inbox shows beside it.
type sessionRow struct {
	Session       dbsqlc.Session
	Contact       dbsqlc.Contact
	LastDirection *string
	LastText      *string
	LastSentAt    *time.Time
	LastSenderID  uuid.NullUUID
	Unread        int32
}

// lastMessagePreview bounds the last message's text in lists.
const lastMessagePreview = 200

func toSession(r sessionRow, now time.Time) sessionJSON {
	s := r.Session
	out := sessionJSON{
		ID: s.ID.String(), ChannelID: s.ChannelID.String(), Platform: s.Platform, Status: s.Status,
		OwnerID: nullUUID(s.OwnerID), MemberIDs: uuidStrings(s.MemberIds), SupporterIDs: uuidStrings(s.SupporterIds),
		TeamID: nullUUID(s.TeamID), Tags: s.Tags, Important: s.Important, Unread: r.Unread,
		Contact: toContact(r.Contact), OpenedAt: s.OpenedAt.UTC(), ClosedAt: utcPtr(s.ClosedAt),
		CloseStatus: s.CloseStatus, WaitingSince: utcPtr(s.WaitingSince), WindowExpiresAt: utcPtr(s.WindowExpiresAt),
		WindowOpen:   s.WindowExpiresAt == nil || now.Before(*s.WindowExpiresAt),
		SnoozedUntil: utcPtr(s.SnoozedUntil), FirstResponseAt: utcPtr(s.FirstResponseAt), LastActivityAt: s.LastActivityAt.UTC(),
	}
	if !out.WindowOpen && s.Status != workflows.StatusClosed {
		out.Notice = workflows.WindowClosedNotice
	}
	if r.LastDirection != nil {
		text := ""
		if r.LastText != nil {
			text = truncate(*r.LastText, lastMessagePreview)
		}
		out.LastMessage = &lastMessageJSON{Direction: *r.LastDirection, Text: text, SenderID: nullUUID(r.LastSenderID), CreatedAt: r.LastSentAt.UTC()}
	}
	return out
}

type messageJSON struct {
	ID                string               `json:"id"`
	SessionID         *string              `json:"session_id"`
	ChannelID         string               `json:"channel_id"`
	ContactID         string               `json:"contact_id"`
	Direction         string               `json:"direction"`
	Text              string               `json:"text"`
	Attachments       []channel.Attachment `json:"attachments"`
	Status            string               `json:"status"`
	FailureReason     string               `json:"failure_reason"`
	Resendable        bool                 `json:"resendable"`
	SenderID          *string              `json:"sender_id"`
	SenderName        string               `json:"sender_name,omitempty"`
	Automatic         bool                 `json:"automatic"`
	PlatformMessageID *string              `json:"platform_message_id"`
	ClientID          *string              `json:"client_id"`
	CreatedAt         time.Time            `json:"created_at"`
}

func toMessage(m dbsqlc.Message, senderName string) messageJSON {
	var atts []channel.Attachment
	_ = json.Unmarshal(m.Attachments, &atts)
	if atts == nil {
		atts = []channel.Attachment{}
	}
	out := messageJSON{
		ID: strconv.FormatInt(m.ID, 10), SessionID: nullUUID(m.SessionID), ChannelID: m.ChannelID.String(),
		ContactID: m.ContactID.String(), Direction: m.Direction, Text: m.Text, Attachments: atts,
		Status: m.Status, FailureReason: m.FailureReason, Resendable: m.Resendable,
		SenderID: nullUUID(m.SenderID), SenderName: senderName, Automatic: m.Automatic,
		PlatformMessageID: m.PlatformMessageID, ClientID: m.ClientID, CreatedAt: m.SentAt.UTC(),
	}
	if m.Direction == "in" && m.PlatformMessageID != nil {
		// The widget's client id is kept as the platform id of its messages.
		if rest, ok := strings.CutPrefix(*m.PlatformMessageID, webChatIDPrefix); ok {
			if _, cid, ok := strings.Cut(rest, ":"); ok {
				out.ClientID = &cid
			}
		}
	}
	return out
}

// visitorMessageJSON is a message as the visitor's widget sees it: no staff
// ids, no platform details.
type visitorMessageJSON struct {
	ID          string               `json:"id"`
	SessionID   *string              `json:"session_id"`
	Direction   string               `json:"direction"`
	Text        string               `json:"text"`
	Attachments []channel.Attachment `json:"attachments"`
	Status      string               `json:"status"`
	SenderName  string               `json:"sender_name,omitempty"`
	Automatic   bool                 `json:"automatic"`
	ClientID    *string              `json:"client_id,omitempty"`
	CreatedAt   time.Time            `json:"created_at"`
}

func toVisitorMessage(m dbsqlc.Message, senderName string) visitorMessageJSON {
	full := toMessage(m, senderName)
	v := visitorMessageJSON{
		ID: full.ID, SessionID: full.SessionID, Direction: full.Direction, Text: full.Text,
		Attachments: full.Attachments, Status: full.Status, SenderName: senderName,
		Automatic: full.Automatic, CreatedAt: full.CreatedAt,
	}
	if m.Direction == "in" {
		v.ClientID = full.ClientID
	}
	return v
}

type eventJSON struct {
	Seq       int32             `json:"seq"`
	Type      string            `json:"type"`
	ActorID   *string           `json:"actor_id"`
	Data      map[string]string `json:"data"`
	CreatedAt time.Time         `json:"created_at"`
}

type listJSON[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func nullUUID(u uuid.NullUUID) *string {
	if !u.Valid {
		return nil
	}
	s := u.UUID.String()
	return &s
}

func uuidStrings(ids []uuid.UUID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary.
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
