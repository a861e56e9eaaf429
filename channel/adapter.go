package channel

import (
	"context"
	"errors"
)

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
	Credentials map[string]string
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
