package channel

import "context"

// WebChatSender delivers to the site's own live-chat widget. The message is
// already stored; visitors receive it over their event stream, so delivery is
// immediate while the visitor's page is open and waits for their return
// otherwise.
type WebChatSender struct {
	// Online reports whether a visitor's widget is connected now.
	Online func(ctx context.Context, contactID string) (bool, error)
}

// Send reports the message delivered when the visitor is connected, else sent.
func (w WebChatSender) Send(ctx context.Context, out Outbound) (Delivery, error) {
	status := "sent"
	if w.Online != nil {
		online, err := w.Online(ctx, out.ContactID)
		if err != nil {
			return Delivery{}, &SendError{Reason: "platform_unavailable", Temporary: true, Err: err}
		}
		if online {
			status = "delivered"
		}
	}
	return Delivery{Status: status}, nil
}
