// Package whatsapp is the WhatsApp Cloud API channel: signed webhook
// deliveries in, messages out through the Graph API.
package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/omnichat/omnichat/channel"
	"github.com/omnichat/omnichat/channel/meta"
)

// DefaultBaseURL is the Graph API; a channel's api_base_url replaces it
// (tests and benchmarks point it at a local fake).
const DefaultBaseURL = "https://graph.facebook.com"

// APIVersion is the Graph API version omnichat speaks.
const APIVersion = "v23.0"

// Adapter is the WhatsApp Cloud API platform.
type Adapter struct {
	// HTTP sends the Graph API requests; nil means a client with a 30 s timeout.
	HTTP *http.Client
}

var _ channel.Adapter = (*Adapter)(nil)
var _ channel.Handshaker = (*Adapter)(nil)

// Handshake answers Meta's GET check of the webhook URL.
func (a *Adapter) Handshake(q url.Values, creds channel.Credentials) (string, bool) {
	return meta.Handshake(q, creds["verify_token"])
}

// Verify checks the delivery's X-Hub-Signature-256 with the app secret.
func (a *Adapter) Verify(h http.Header, body []byte, creds channel.Credentials) error {
	return meta.Verify(h, body, creds["app_secret"])
}

// The webhook payload, as far as omnichat reads it.
type payload struct {
	Object string `json:"object"`
	Entry  []struct {
		Changes []struct {
			Field string `json:"field"`
			Value struct {
				Metadata struct {
					PhoneNumberID string `json:"phone_number_id"`
				} `json:"metadata"`
				Contacts []struct {
					WaID    string `json:"wa_id"`
					Profile struct {
						Name string `json:"name"`
					} `json:"profile"`
				} `json:"contacts"`
				Messages []message `json:"messages"`
				Statuses []status  `json:"statuses"`
			} `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

type message struct {
	From      string `json:"from"`
	ID        string `json:"id"`
	Timestamp string `json:"timestamp"`
	Type      string `json:"type"`
	Text      *struct {
		Body string `json:"body"`
	} `json:"text"`
	Image    *media `json:"image"`
	Video    *media `json:"video"`
	Audio    *media `json:"audio"`
	Document *media `json:"document"`
	Sticker  *media `json:"sticker"`
}

type media struct {
	ID       string `json:"id"`
	MimeType string `json:"mime_type"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
}

type status struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	Timestamp string `json:"timestamp"`
	Errors    []struct {
		Code  int    `json:"code"`
		Title string `json:"title"`
	} `json:"errors"`
}

// Parse reads messages and statuses addressed to the channel's phone
// number. Message kinds beyond text and media are kept as a placeholder
// text so no customer message is dropped.
func (a *Adapter) Parse(body []byte, creds channel.Credentials) (channel.Inbound, error) {
	var p payload
	if err := json.Unmarshal(body, &p); err != nil || p.Object == "" {
		return channel.Inbound{}, channel.ErrMalformed
	}
	var in channel.Inbound
	if p.Object != "whatsapp_business_account" {
		in.Skipped++
		return in, nil
	}
	phone := creds["phone_number_id"]
	for _, e := range p.Entry {
		for _, ch := range e.Changes {
			v := ch.Value
			if ch.Field != "messages" || (phone != "" && v.Metadata.PhoneNumberID != phone) {
				in.Skipped++
				continue
			}
			names := map[string]string{}
			for _, c := range v.Contacts {
				names[c.WaID] = c.Profile.Name
			}
			for _, m := range v.Messages {
				if m.ID == "" || m.From == "" {
					return channel.Inbound{}, channel.ErrMalformed
				}
				in.Messages = append(in.Messages, inboundMessage(m, names[m.From]))
			}
			for _, s := range v.Statuses {
				u, ok := statusUpdate(s)
				if !ok {
					in.Skipped++
					continue
				}
				in.Statuses = append(in.Statuses, u)
			}
		}
	}
	return in, nil
}

func inboundMessage(m message, name string) channel.InboundMessage {
	out := channel.InboundMessage{PlatformMessageID: m.ID, From: m.From, FromName: name, SentAt: unix(m.Timestamp)}
	switch {
	case m.Text != nil:
		out.Text = m.Text.Body
	case m.Image != nil, m.Video != nil, m.Audio != nil, m.Document != nil, m.Sticker != nil:
		md := firstMedia(m.Image, m.Video, m.Audio, m.Document, m.Sticker)
		out.Text = md.Caption
		out.Attachments = []channel.Attachment{{
			// The media id; the file itself is fetched from the Graph API on demand.
			URL: "whatsapp-media:" + md.ID, Name: md.Filename, ContentType: md.MimeType,
		}}
	default:
		out.Text = "[" + m.Type + " message]"
	}
	return out
}

func firstMedia(ms ...*media) *media {
	for _, m := range ms {
		if m != nil {
			return m
		}
	}
	return &media{}
}

func statusUpdate(s status) (channel.StatusUpdate, bool) {
	u := channel.StatusUpdate{PlatformMessageID: s.ID, At: unix(s.Timestamp)}
	switch s.Status {
	case "sent", "delivered":
		u.Status = s.Status
	case "read":
		u.Status = "seen"
	case "failed":
		u.Status = "failed"
		code := 0
		if len(s.Errors) > 0 {
			code = s.Errors[0].Code
		}
		se := meta.Classify(http.StatusOK, code, 0)
		u.FailureReason, u.Resendable = se.Reason, se.Resendable
	default:
		return u, false
	}
	return u, s.ID != ""
}

func unix(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return time.Now()
	}
	return time.Unix(n, 0)
}

// Send delivers a text message (attachments go as links in the text until
// media upload lands) through the Graph API.
func (a *Adapter) Send(ctx context.Context, out channel.Outbound) (channel.Delivery, error) {
	text := out.Text
	for _, att := range out.Attachments {
		text = strings.TrimSpace(text + "\n" + att.URL)
	}
	body, err := json.Marshal(map[string]any{
		"messaging_product": "whatsapp",
		"recipient_type":    "individual",
		"to":                out.Recipient,
		"type":              "text",
		"text":              map[string]any{"preview_url": false, "body": text},
	})
	if err != nil {
		return channel.Delivery{}, err
	}
	base := out.Credentials["api_base_url"]
	if base == "" {
		base = DefaultBaseURL
	}
	endpoint := strings.TrimRight(base, "/") + "/" + APIVersion + "/" + url.PathEscape(out.Credentials["phone_number_id"]) + "/messages"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return channel.Delivery{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+out.Credentials["access_token"])
	hc := a.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return channel.Delivery{}, &channel.SendError{Reason: channel.ReasonPlatformUnavailable, Resendable: true, Temporary: true, Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return channel.Delivery{}, &channel.SendError{Reason: channel.ReasonPlatformUnavailable, Resendable: true, Temporary: true, Err: err}
	}
	if resp.StatusCode/100 != 2 {
		ge := meta.ParseError(resp.StatusCode, raw)
		se := meta.Classify(resp.StatusCode, ge.Code, ge.ErrorSubcode)
		se.Err = ge
		return channel.Delivery{}, se
	}
	var ok struct {
		Messages []struct {
			ID string `json:"id"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(raw, &ok); err != nil || len(ok.Messages) == 0 || ok.Messages[0].ID == "" {
		return channel.Delivery{}, &channel.SendError{Reason: channel.ReasonPlatformUnavailable, Resendable: true, Temporary: true, Err: fmt.Errorf("whatsapp: unexpected answer %q", raw)}
	}
	return channel.Delivery{PlatformMessageID: ok.Messages[0].ID, Status: "sent"}, nil
}
