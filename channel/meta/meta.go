// Package meta holds what Meta's platforms (Messenger, Instagram, WhatsApp
// Cloud API) share: the webhook handshake and signature, and the Graph API's
// error format and its mapping to failure reasons.
package meta

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/omnichat/omnichat/channel"
)

// SignatureHeader carries the HMAC-SHA256 of a webhook's raw body, keyed by the app secret.
const SignatureHeader = "X-Hub-Signature-256"

// Verify checks a delivery's X-Hub-Signature-256 over the raw body, in
// constant time.
func Verify(h http.Header, body []byte, appSecret string) error {
	sig, ok := strings.CutPrefix(h.Get(SignatureHeader), "sha256=")
	if !ok || appSecret == "" {
		return channel.ErrUnauthenticated
	}
	got, err := hex.DecodeString(sig)
	if err != nil || !hmac.Equal(got, Sign(body, appSecret)) {
		return channel.ErrUnauthenticated
	}
	return nil
}

// Sign is the signature Meta sends with body.
func Sign(body []byte, appSecret string) []byte {
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write(body)
	return m.Sum(nil)
}

// SignatureValue is the header value for body ("sha256=<hex>").
func SignatureValue(body []byte, appSecret string) string {
	return "sha256=" + hex.EncodeToString(Sign(body, appSecret))
}

// Handshake answers Meta's subscription check: the bare hub.challenge when
// hub.verify_token matches the channel's.
func Handshake(q url.Values, verifyToken string) (string, bool) {
	if q.Get("hub.mode") != "subscribe" || verifyToken == "" ||
		!hmac.Equal([]byte(q.Get("hub.verify_token")), []byte(verifyToken)) {
		return "", false
	}
	return q.Get("hub.challenge"), true
}

// GraphError is the Graph API's error object.
type GraphError struct {
	Message      string `json:"message"`
	Type         string `json:"type"`
	Code         int    `json:"code"`
	ErrorSubcode int    `json:"error_subcode"`
	FBTraceID    string `json:"fbtrace_id"`
	Title        string `json:"title"`
}

func (e *GraphError) Error() string {
	return fmt.Sprintf("graph error %d/%d: %s", e.Code, e.ErrorSubcode, e.Message)
}

// ParseError reads the error of a failed Graph API call. A body without
// one yields a GraphError with only the HTTP status in its message.
func ParseError(status int, body []byte) *GraphError {
	var wrapper struct {
		Error *GraphError `json:"error"`
	}
	if json.Unmarshal(body, &wrapper) == nil && wrapper.Error != nil {
		return wrapper.Error
	}
	return &GraphError{Message: fmt.Sprintf("HTTP %d", status)}
}

// Classify maps a Graph API error (or a WhatsApp status error code) to what
// agents see and what the sender does: a reason, whether an agent may send
// again later, and whether another attempt now may succeed.
func Classify(httpStatus, code, subcode int) *channel.SendError {
	se := func(reason string, resendable, temporary bool) *channel.SendError {
		return &channel.SendError{Reason: reason, Resendable: resendable, Temporary: temporary}
	}
	switch {
	case code == 190:
		// Expired or revoked token: sendable again once the channel is reconnected.
		return se(channel.ReasonTokenExpired, true, false)
	case code == 10 && subcode == 2018278, code == 131047:
		// Outside the 24-hour window: sendable again once the customer writes.
		return se(channel.ReasonWindowExpired, true, false)
	case code == 4, code == 17, code == 32, code == 613, code == 80007, code == 130429, code == 131056:
		return se(channel.ReasonRateLimited, true, true)
	case code == 551, code == 131026:
		return se(channel.ReasonUserUnavailable, true, false)
	case code == 368:
		// Blocked for a policy violation, such as a blocklisted link.
		return se(channel.ReasonBlacklistedURL, true, false)
	case httpStatus == http.StatusRequestEntityTooLarge:
		return se(channel.ReasonTooLarge, false, false)
	case httpStatus >= 500, httpStatus == 0, code == 1, code == 2, code == 131000, code == 131016:
		return se(channel.ReasonPlatformUnavailable, true, true)
	default:
		// 100 (invalid parameter), 131008/131009 (missing/invalid
		// parameter), 131051 (unsupported type) and the rest: the message
		// itself is wrong and sending it again cannot help.
		return se(channel.ReasonBadFormat, false, false)
	}
}
