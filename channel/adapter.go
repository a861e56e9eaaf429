package channel

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"
)

// Adapter is one messaging platform: how its webhook deliveries are
// authenticated and read, and how messages are sent to it. The ingest path
// and the send activity use adapters alike.
type Adapter interface {
	Sender
	// Verify authenticates a webhook delivery over its raw body (a
	// signature, a secret header); it returns ErrUnauthenticated when the
	// delivery is not the platform's.
	Verify(h http.Header, body []byte, creds Credentials) error
	// Parse reads a verified delivery. A body that is not the platform's
	// format is ErrMalformed; event kinds the adapter does not handle are
	// skipped and counted, never an error.
	Parse(body []byte, creds Credentials) (Inbound, error)
}

// Handshaker is an adapter whose platform checks the webhook URL with a
// GET before it delivers (Meta's hub.challenge).
type Handshaker interface {
	// Handshake answers the check: the body to send with 200, or false for 403.
	Handshake(q url.Values, creds Credentials) (string, bool)
}

// Credentials are a channel's decrypted credentials.
type Credentials map[string]string

// Errors of inbound deliveries.
var (
	ErrUnauthenticated = errors.New("the delivery is not signed by the platform")
	ErrMalformed       = errors.New("the delivery is not in the platform's format")
)

// Inbound is what one webhook delivery carries.
type Inbound struct {
	Messages []InboundMessage
	Statuses []StatusUpdate
	// Skipped counts events of kinds the adapter does not handle.
	Skipped int
}

// InboundMessage is a customer's message as the platform delivered it.
type InboundMessage struct {
	PlatformMessageID string
	// From is the customer's id on the platform; FromName their display name.
	From        string
	FromName    string
	Text        string
	Attachments []Attachment
	SentAt      time.Time
}

// StatusUpdate is the platform's news of a message omnichat sent.
type StatusUpdate struct {
	PlatformMessageID string
	// Status is sent, delivered, seen or failed.
	Status        string
	FailureReason string
	Resendable    bool
	At            time.Time
}

// Attachment is a file sent with a message.
type Attachment struct {
	URL         string `json:"url"`
	Name        string `json:"name,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	Size        int64  `json:"size,omitempty"`
}

// Outbound is one message to deliver to a customer.
type Outbound struct {
	MessageID int64
	ChannelID string
	ContactID string
	// Recipient is the contact's id on the platform.
	Recipient   string
	Text        string
	Attachments []Attachment
	// Credentials are the channel's decrypted credentials.
	Credentials Credentials
}

// Delivery is the platform's acceptance of a message.
type Delivery struct {
	PlatformMessageID string
	// Status is "sent" (accepted) or "delivered" (known to have reached the customer).
	Status string
}

// Sender delivers messages on one platform.
type Sender interface {
	Send(ctx context.Context, out Outbound) (Delivery, error)
}

// SendError is a platform's refusal, classified: Reason is one of the
// failure reasons agents see; Temporary errors are worth another attempt.
type SendError struct {
	Reason     string
	Resendable bool
	Temporary  bool
	Err        error
}

func (e *SendError) Error() string {
	if e.Err != nil {
		return e.Reason + ": " + e.Err.Error()
	}
	return e.Reason
}

func (e *SendError) Unwrap() error { return e.Err }

// AsSendError returns err's SendError, if it has one.
func AsSendError(err error) (*SendError, bool) {
	var se *SendError
	ok := errors.As(err, &se)
	return se, ok
}

// Failure reasons (MS2), as agents see them.
const (
	ReasonBadFormat           = "bad_format"
	ReasonBlacklistedURL      = "blacklisted_url"
	ReasonWindowExpired       = "window_expired"
	ReasonTokenExpired        = "token_expired"
	ReasonTooLarge            = "too_large"
	ReasonRateLimited         = "rate_limited"
	ReasonUserUnavailable     = "user_unavailable"
	ReasonPlatformUnavailable = "platform_unavailable"
)
