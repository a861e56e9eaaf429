// Package channel describes where customers write from: the platforms, their
// messaging rules and each channel's settings.
package channel

import "time"

// Platform is a messaging platform a channel connects to.
type Platform string

// The platforms omnichat connects to.
const (
	Messenger Platform = "messenger"
	Instagram Platform = "instagram"
	WhatsApp  Platform = "whatsapp"
	Telegram  Platform = "telegram"
	Viber     Platform = "viber"
	WebChat   Platform = "webchat"
)

// MaxTextBytes bounds one message's text, below every platform's own limit
// that omnichat sends to, so an accepted reply is never too long to deliver.
const MaxTextBytes = 4096

// Platforms lists every platform, in the order the product shows them.
var Platforms = []Platform{Messenger, Instagram, WhatsApp, Telegram, Viber, WebChat}

// Valid reports whether p is a known platform.
func (p Platform) Valid() bool {
	for _, q := range Platforms {
		if p == q {
			return true
		}
	}
	return false
}

// ReplyWindow is how long after the customer's last message the platform
// accepts a free-form reply; zero means no limit. Meta's platforms allow 24 h
// (standard messaging); Telegram, Viber and the web widget set none.
func (p Platform) ReplyWindow() time.Duration {
	switch p {
	case Messenger, Instagram, WhatsApp:
		return 24 * time.Hour
	default:
		return 0
	}
}

// RequiredCredentials lists the credentials a channel of p needs; each entry
// is a set of alternatives of which one must be given.
func (p Platform) RequiredCredentials() [][]string {
	switch p {
	case Messenger:
		return [][]string{{"page_id"}, {"access_token"}, {"app_secret"}, {"verify_token"}}
	case Instagram:
		return [][]string{{"page_id", "ig_user_id"}, {"access_token"}, {"app_secret"}, {"verify_token"}}
	case WhatsApp:
		return [][]string{{"phone_number_id"}, {"access_token"}, {"app_secret"}, {"verify_token"}}
	case Telegram:
		return [][]string{{"bot_token"}, {"secret_token"}}
	case Viber:
		return [][]string{{"auth_token"}}
	default:
		return nil
	}
}

// UsesWebhooks reports whether the platform delivers events to a webhook URL.
func (p Platform) UsesWebhooks() bool { return p != WebChat }
