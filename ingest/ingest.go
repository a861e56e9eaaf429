// Package ingest takes customers' messages in: it stores each one once, then
// hands it to the session workflow of its (channel, contact). Every channel's
// inbound path (webhooks, the web widget) goes through Receive, and answers
// the platform only after Receive returns.
package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/omnichat/omnichat/channel"
	"github.com/omnichat/omnichat/db"
	"github.com/omnichat/omnichat/db/dbsqlc"
	"github.com/omnichat/omnichat/metrics"
	"github.com/omnichat/omnichat/realtime"
	"github.com/omnichat/omnichat/receipt"
	"github.com/omnichat/omnichat/workflows"
)

// Inbound is one customer message as a channel parsed it.
type Inbound struct {
	ChannelID uuid.UUID
	Platform  channel.Platform
	TeamID    string
	// ContactID is set when the channel already knows the contact (a web
	// visitor); otherwise the contact is found or created from
	// ContactPlatformID and ContactName.
	ContactID         uuid.UUID
	ContactPlatformID string
	ContactName       string
	// PlatformMessageID identifies the message on the platform; a repeated
	// delivery with the same id is recognised and stored once.
	PlatformMessageID string
	Text              string
	Attachments       []channel.Attachment
	// SentAt is the platform's timestamp; the conversation is ordered by it.
	SentAt time.Time
}

// Result is what Receive did with a message.
type Result struct {
	Message   dbsqlc.Message
	ContactID uuid.UUID
	// Duplicate is true when the message was stored by an earlier delivery.
	Duplicate bool
}

// Service stores and routes inbound messages.
type Service struct {
	Pool      *pgxpool.Pool
	Queries   *dbsqlc.Queries
	Temporal  client.Client
	Metrics   *metrics.Metrics
	TaskQueue string
}

// Receive stores in (once) and signals its session. When it returns nil the
// message is durable and its session workflow has it. A repeated delivery
// signals again only while no session has adopted the message yet, which
// covers a crash between the store and the signal.
func (s *Service) Receive(ctx context.Context, in Inbound) (Result, error) {
	res, err := s.store(ctx, in)
	if err != nil {
		return Result{}, err
	}
	if s.Metrics != nil {
		if res.Duplicate {
			s.Metrics.IngestDuplicates.WithLabelValues(string(in.Platform)).Inc()
		} else {
			s.Metrics.IngestMessages.WithLabelValues(string(in.Platform)).Inc()
		}
	}
	if res.Message.SessionID.Valid {
		return res, nil
	}
	if err := s.signal(ctx, in, res); err != nil {
		return Result{}, err
	}
	return res, nil
}

func (s *Service) store(ctx context.Context, in Inbound) (Result, error) {
	if in.PlatformMessageID == "" {
		return Result{}, fmt.Errorf("ingest: a message needs its platform id")
	}
	sentAt := in.SentAt
	if sentAt.IsZero() {
		sentAt = time.Now()
	}
	atts := in.Attachments
	if atts == nil {
		atts = []channel.Attachment{}
	}
	attJSON, err := json.Marshal(atts)
	if err != nil {
		return Result{}, err
	}
	var res Result
	err = db.InTx(ctx, s.Pool, func(tx pgx.Tx) error {
		contactID := in.ContactID
		if contactID == uuid.Nil {
			// Most messages come from contacts already known: read before
			// writing, so that they cost no row update.
			c, err := s.Queries.ContactGetByPlatformID(ctx, tx, dbsqlc.ContactGetByPlatformIDParams{ChannelID: in.ChannelID, PlatformUserID: in.ContactPlatformID})
			if db.IsNotFound(err) || (err == nil && c.Name == "" && in.ContactName != "") {
				c, err = s.Queries.ContactUpsert(ctx, tx, dbsqlc.ContactUpsertParams{
					ChannelID: in.ChannelID, PlatformUserID: in.ContactPlatformID, Name: in.ContactName,
				})
			}
			if err != nil {
				return err
			}
			contactID = c.ID
		}
		res.ContactID = contactID
		pmid := in.PlatformMessageID
		m, err := s.Queries.MessageInsertInbound(ctx, tx, dbsqlc.MessageInsertInboundParams{
			ChannelID: in.ChannelID, ContactID: contactID, Text: in.Text, Attachments: attJSON,
			PlatformMessageID: &pmid, SentAt: sentAt,
		})
		if db.IsNotFound(err) {
			m, err = s.Queries.MessageGetByPlatformID(ctx, tx, dbsqlc.MessageGetByPlatformIDParams{ChannelID: in.ChannelID, PlatformMessageID: &pmid})
			if err != nil {
				return err
			}
			res.Message, res.Duplicate = m, true
			return nil
		}
		if err != nil {
			return err
		}
		res.Message = m
		if err := s.Queries.ContactTouchInbound(ctx, tx, dbsqlc.ContactTouchInboundParams{ID: contactID, At: sentAt}); err != nil {
			return err
		}
		return realtime.Publish(ctx, s.Queries, tx, realtime.Notification{
			Type: realtime.MessageCreated, MessageID: m.ID, ContactID: contactID.String(), ChannelID: in.ChannelID.String(),
		})
	})
	return res, err
}

// signal delivers the message to the contact's session workflow, starting a
// new session when none is running.
func (s *Service) signal(ctx context.Context, in Inbound, res Result) error {
	channelID, contactID := in.ChannelID.String(), res.ContactID.String()
	id := workflows.SessionWorkflowID(channelID, contactID)
	search := []temporal.SearchAttributeUpdate{
		workflows.SearchChannel.ValueSet(channelID),
		workflows.SearchPlatform.ValueSet(string(in.Platform)),
		workflows.SearchContact.ValueSet(contactID),
		workflows.SearchStatus.ValueSet(workflows.StatusRepNeeded),
	}
	if in.TeamID != "" {
		search = append(search, workflows.SearchTeam.ValueSet(in.TeamID))
	}
	_, err := s.Temporal.SignalWithStartWorkflow(ctx, id, workflows.SignalCustomerMessage,
		workflows.CustomerMessage{MessageID: res.Message.ID, SentAt: res.Message.SentAt, ReceivedAt: res.Message.CreatedAt},
		client.StartWorkflowOptions{
			ID:                       id,
			TaskQueue:                s.TaskQueue,
			WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
			WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
			TypedSearchAttributes:    temporal.NewSearchAttributes(search...),
			StaticSummary:            "Session of contact " + contactID,
		},
		workflows.SessionWorkflowName,
		workflows.SessionInput{ChannelID: channelID, ContactID: contactID},
	)
	if err != nil {
		return fmt.Errorf("ingest: signal session: %w", err)
	}
	return nil
}

// Receipts records delivery receipts for messages omnichat sent on the
// channel; each is applied once, in any order, whenever it arrives.
func (s *Service) Receipts(ctx context.Context, channelID uuid.UUID, us []channel.StatusUpdate) error {
	if len(us) == 0 {
		return nil
	}
	return db.InTx(ctx, s.Pool, func(tx pgx.Tx) error {
		for _, u := range us {
			if err := receipt.Record(ctx, s.Queries, tx, channelID, u); err != nil {
				return err
			}
		}
		return nil
	})
}
