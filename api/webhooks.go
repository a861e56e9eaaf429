package api

import (
	"errors"
	"io"
	"net/http"
	"sort"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/omnichat/omnichat/channel"
	"github.com/omnichat/omnichat/db"
	"github.com/omnichat/omnichat/db/dbsqlc"
	"github.com/omnichat/omnichat/ingest"
)

// webhookBodyLimit bounds a platform's delivery; Meta batches at most a
// few hundred events, far below this.
const webhookBodyLimit = 1 << 20

// webhookChannel resolves the channel a webhook URL names, with its adapter
// and credentials. Unknown channels, a platform that does not match and
// inactive channels are all "not found".
func (s *Server) webhookChannel(c *gin.Context) (dbsqlc.Channel, channel.Adapter, channel.Credentials, error) {
	id, err := uuid.Parse(c.Param("channel_id"))
	if err != nil {
		return dbsqlc.Channel{}, nil, nil, notFound("channel")
	}
	ch, err := s.q.ChannelGet(c, s.Pool, id)
	if db.IsNotFound(err) || (err == nil && (ch.Platform != c.Param("platform") || !ch.Active)) {
		return ch, nil, nil, notFound("channel")
	}
	if err != nil {
		return ch, nil, nil, err
	}
	adapter := s.Adapters[channel.Platform(ch.Platform)]
	if adapter == nil {
		return ch, nil, nil, notFound("webhook for " + ch.Platform)
	}
	creds, err := s.credentials(ch)
	return ch, adapter, creds, err
}

// webhookHandshake answers a platform's GET check of the webhook URL.
func (s *Server) webhookHandshake(c *gin.Context) {
	_, adapter, creds, err := s.webhookChannel(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	hs, ok := adapter.(channel.Handshaker)
	if !ok {
		s.fail(c, notFound("handshake for this platform"))
		return
	}
	challenge, ok := hs.Handshake(c.Request.URL.Query(), creds)
	if !ok {
		s.fail(c, forbidden("the verify token does not match the channel's"))
		return
	}
	c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte(challenge))
}

// webhook takes a platform's delivery: verified over the raw body, parsed,
// every message stored once and handed to its session, every receipt
// applied. It answers 200 only when all of that is durable; on an error the
// platform delivers again, and the repeat changes nothing twice.
func (s *Server) webhook(c *gin.Context) {
	start := time.Now()
	ch, adapter, creds, err := s.webhookChannel(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := adapter.Verify(c.Request.Header, body, creds); err != nil {
		s.fail(c, unauthorized("the delivery's signature or secret does not match the channel's"))
		return
	}
	in, err := adapter.Parse(body, creds)
	if errors.Is(err, channel.ErrMalformed) {
		s.fail(c, badRequest("the delivery is not in the %s format", ch.Platform))
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	if in.Skipped > 0 {
		s.log.Debug("webhook events skipped", "platform", ch.Platform, "channel_id", ch.ID, "count", in.Skipped)
	}
	// A batch may hold one customer's messages out of order: hand them over
	// in the platform's order.
	sort.SliceStable(in.Messages, func(i, j int) bool { return in.Messages[i].SentAt.Before(in.Messages[j].SentAt) })
	platform := channel.Platform(ch.Platform)
	for _, m := range in.Messages {
		_, err := s.Ingest.Receive(c, ingest.Inbound{
			ChannelID: ch.ID, Platform: platform, TeamID: nullUUIDValue(ch.TeamID),
			ContactPlatformID: m.From, ContactName: m.FromName, PlatformMessageID: m.PlatformMessageID,
			Text: m.Text, Attachments: m.Attachments, SentAt: m.SentAt,
		})
		if err != nil {
			s.fail(c, temporalUnavailable(err))
			return
		}
	}
	if err := s.Ingest.Receipts(c, ch.ID, in.Statuses); err != nil {
		s.fail(c, err)
		return
	}
	if s.Metrics != nil {
		s.Metrics.WebhookDuration.WithLabelValues(ch.Platform).Observe(time.Since(start).Seconds())
	}
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}
