// Package activities holds the session workflow's side effects: reading
// channels, projecting session state into Postgres, storing and delivering
// messages. Every activity is idempotent: it may run again after a crash or a
// lost answer and change nothing the second time.
package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/temporal"

	"github.com/omnichat/omnichat/channel"
	"github.com/omnichat/omnichat/db"
	"github.com/omnichat/omnichat/db/dbsqlc"
	"github.com/omnichat/omnichat/metrics"
	"github.com/omnichat/omnichat/realtime"
	"github.com/omnichat/omnichat/receipt"
	"github.com/omnichat/omnichat/secret"
)

// Activities carries the dependencies of every activity. Workflows refer to
// its methods through a nil *Activities, so names are checked by the compiler.
type Activities struct {
	Pool    *pgxpool.Pool
	Queries *dbsqlc.Queries
	Secrets *secret.Box
	Metrics *metrics.Metrics
	Senders map[channel.Platform]channel.Sender
	Log     *slog.Logger
}

// ErrNotFound is the error type of a missing channel or session: retrying cannot help.
const ErrNotFound = "NotFound"

func notFound(what string, id string) error {
	return temporal.NewNonRetryableApplicationError(what+" "+id+" not found", ErrNotFound, nil)
}

// LoadChannel reads the channel a session belongs to.
func (a *Activities) LoadChannel(ctx context.Context, in LoadChannelInput) (ChannelInfo, error) {
	id, err := uuid.Parse(in.ChannelID)
	if err != nil {
		return ChannelInfo{}, notFound("channel", in.ChannelID)
	}
	ch, err := a.Queries.ChannelGet(ctx, a.Pool, id)
	if db.IsNotFound(err) {
		return ChannelInfo{}, notFound("channel", in.ChannelID)
	}
	if err != nil {
		return ChannelInfo{}, err
	}
	settings, err := channel.ParseSettings(ch.Settings)
	if err != nil {
		// A stored channel always validated; fall back rather than stall sessions.
		a.Log.Warn("channel settings unreadable, using defaults", "channel_id", in.ChannelID, "err", err)
		settings = channel.DefaultSettings()
	}
	return ChannelInfo{
		ChannelID: in.ChannelID,
		Platform:  channel.Platform(ch.Platform),
		TeamID:    nullUUIDString(ch.TeamID),
		Settings:  settings,
	}, nil
}

// LoadSession reads a stored session, to reopen it.
func (a *Activities) LoadSession(ctx context.Context, in LoadSessionInput) (SessionSnapshot, error) {
	id, err := uuid.Parse(in.SessionID)
	if err != nil {
		return SessionSnapshot{}, notFound("session", in.SessionID)
	}
	s, err := a.Queries.SessionGet(ctx, a.Pool, id)
	if db.IsNotFound(err) {
		return SessionSnapshot{}, notFound("session", in.SessionID)
	}
	if err != nil {
		return SessionSnapshot{}, err
	}
	seq, err := a.Queries.SessionLastEventSeq(ctx, a.Pool, id)
	if err != nil {
		return SessionSnapshot{}, err
	}
	var last int64
	if s.LastMessageID != nil {
		last = *s.LastMessageID
	}
	return SessionSnapshot{
		ID:              s.ID.String(),
		ChannelID:       s.ChannelID.String(),
		ContactID:       s.ContactID.String(),
		TeamID:          nullUUIDString(s.TeamID),
		Platform:        channel.Platform(s.Platform),
		WorkflowID:      s.WorkflowID,
		Status:          s.Status,
		OwnerID:         nullUUIDString(s.OwnerID),
		MemberIDs:       uuidStrings(s.MemberIds),
		SupporterIDs:    uuidStrings(s.SupporterIds),
		Tags:            s.Tags,
		Important:       s.Important,
		InCount:         int(s.InCount),
		WaitingSince:    s.WaitingSince,
		WindowExpiresAt: s.WindowExpiresAt,
		SnoozedUntil:    s.SnoozedUntil,
		FirstResponseAt: s.FirstResponseAt,
		LastMessageID:   last,
		LastActivityAt:  s.LastActivityAt,
		OpenedAt:        s.OpenedAt,
		ClosedAt:        s.ClosedAt,
		CloseStatus:     s.CloseStatus,
		Version:         s.Version,
		EventSeq:        int(seq),
	}, nil
}

// Project writes a session snapshot, adopts the messages the session
// received and appends its audit events, in one transaction, and announces
// the changes. A snapshot older than the stored one is skipped; messages and
// events are written once whatever the order or repetition of calls.
func (a *Activities) Project(ctx context.Context, in ProjectInput) (ProjectResult, error) {
	var res ProjectResult
	var applied bool
	var invited []string
	err := db.InTx(ctx, a.Pool, func(tx pgx.Tx) error {
		params, err := upsertParams(in.Session)
		if err != nil {
			return err
		}
		_, err = a.Queries.SessionUpsert(ctx, tx, params)
		switch {
		case err == nil:
			applied = true
		case !db.IsNotFound(err):
			return err
		}
		sid := params.ID
		if len(in.Attach) > 0 {
			ids, err := a.Queries.MessageAttach(ctx, tx, dbsqlc.MessageAttachParams{SessionID: uuid.NullUUID{UUID: sid, Valid: true}, Ids: in.Attach})
			if err != nil {
				return err
			}
			res.Attached = ids
			for _, id := range ids {
				if err := a.publish(ctx, tx, realtime.Notification{Type: realtime.MessageUpdated, MessageID: id, SessionID: in.Session.ID, ContactID: in.Session.ContactID}); err != nil {
					return err
				}
			}
		}
		for _, e := range in.Events {
			data, err := json.Marshal(orEmpty(e.Data))
			if err != nil {
				return err
			}
			n, err := a.Queries.SessionEventInsert(ctx, tx, dbsqlc.SessionEventInsertParams{
				SessionID: sid, Seq: int32(e.Seq), Type: e.Type, ActorID: parseNullUUID(e.ActorID), Data: data, CreatedAt: e.At,
			})
			if err != nil {
				return err
			}
			if n == 1 && e.Type == realtime.SupportInvited {
				invited = append(invited, e.Data["agent_id"])
			}
		}
		if !applied {
			return nil
		}
		if err := a.publish(ctx, tx, realtime.Notification{Type: realtime.SessionUpdated, SessionID: in.Session.ID, ContactID: in.Session.ContactID}); err != nil {
			return err
		}
		if in.Warning != "" {
			if err := a.publish(ctx, tx, realtime.Notification{Type: realtime.SessionWarning, SessionID: in.Session.ID, ContactID: in.Session.ContactID, Level: in.Warning}); err != nil {
				return err
			}
		}
		for _, agent := range invited {
			if err := a.publish(ctx, tx, realtime.Notification{Type: realtime.SupportInvited, SessionID: in.Session.ID, ContactID: in.Session.ContactID, AgentID: agent}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return ProjectResult{}, err
	}
	// Counted only when this call wrote the snapshot, so retries never count twice.
	if applied && a.Metrics != nil {
		platform := string(in.Session.Platform)
		if in.Warning != "" {
			a.Metrics.Warnings.WithLabelValues(in.Warning, platform).Inc()
		}
		if in.FirstResponse > 0 {
			a.Metrics.ObserveFirstResponse(platform, in.FirstResponse)
		}
	}
	return res, nil
}

// CreateMessage stores a message written inside a session, once per client id.
func (a *Activities) CreateMessage(ctx context.Context, in CreateMessageInput) (MessageRef, error) {
	sid, err := uuid.Parse(in.SessionID)
	if err != nil {
		return MessageRef{}, notFound("session", in.SessionID)
	}
	chID, err := uuid.Parse(in.ChannelID)
	if err != nil {
		return MessageRef{}, notFound("channel", in.ChannelID)
	}
	contactID, err := uuid.Parse(in.ContactID)
	if err != nil {
		return MessageRef{}, notFound("contact", in.ContactID)
	}
	atts, err := json.Marshal(orEmptySlice(in.Attachments))
	if err != nil {
		return MessageRef{}, err
	}
	status := "sending"
	if in.Direction == "note" || in.Direction == "system" {
		status = "sent"
	}
	var ref MessageRef
	err = db.InTx(ctx, a.Pool, func(tx pgx.Tx) error {
		clientID := in.ClientID
		m, err := a.Queries.MessageInsertSession(ctx, tx, dbsqlc.MessageInsertSessionParams{
			ChannelID:   chID,
			ContactID:   contactID,
			SessionID:   uuid.NullUUID{UUID: sid, Valid: true},
			Direction:   in.Direction,
			Text:        in.Text,
			Attachments: atts,
			Status:      status,
			SenderID:    parseNullUUID(in.SenderID),
			Automatic:   in.Automatic,
			ClientID:    &clientID,
			SentAt:      in.At,
		})
		if db.IsNotFound(err) {
			m, err = a.Queries.MessageGetByClientID(ctx, tx, dbsqlc.MessageGetByClientIDParams{SessionID: uuid.NullUUID{UUID: sid, Valid: true}, ClientID: &clientID})
			if err != nil {
				return err
			}
			ref = MessageRef{ID: m.ID, Status: m.Status}
			return nil
		}
		if err != nil {
			return err
		}
		ref = MessageRef{ID: m.ID, Status: m.Status}
		return a.publish(ctx, tx, realtime.Notification{Type: realtime.MessageCreated, MessageID: m.ID, SessionID: in.SessionID, ContactID: in.ContactID, ChannelID: in.ChannelID})
	})
	return ref, err
}

// SendMessage delivers an outbound message through its channel's platform
// and records the outcome. A refusal is recorded as a failed message (and
// returned as success: there is nothing to retry); a temporary error is
// returned for Temporal to retry.
func (a *Activities) SendMessage(ctx context.Context, in SendInput) (SendResult, error) {
	m, err := a.Queries.MessageGet(ctx, a.Pool, in.MessageID)
	if db.IsNotFound(err) {
		return SendResult{}, notFound("message", fmt.Sprint(in.MessageID))
	}
	if err != nil {
		return SendResult{}, err
	}
	if m.Status != "sending" {
		// Already delivered (or failed) by an earlier attempt.
		return SendResult{Status: m.Status, FailureReason: m.FailureReason}, nil
	}
	ch, err := a.Queries.ChannelGet(ctx, a.Pool, m.ChannelID)
	if err != nil {
		return SendResult{}, err
	}
	contact, err := a.Queries.ContactGet(ctx, a.Pool, m.ContactID)
	if err != nil {
		return SendResult{}, err
	}
	platform := channel.Platform(ch.Platform)
	sender := a.Senders[platform]
	if sender == nil {
		return a.recordFailure(ctx, m, platform, &channel.SendError{Reason: channel.ReasonPlatformUnavailable, Resendable: true})
	}
	creds, err := a.credentials(ch)
	if err != nil {
		return SendResult{}, err
	}
	var atts []channel.Attachment
	if err := json.Unmarshal(m.Attachments, &atts); err != nil {
		return SendResult{}, err
	}
	d, err := sender.Send(ctx, channel.Outbound{
		MessageID:   m.ID,
		ChannelID:   m.ChannelID.String(),
		ContactID:   m.ContactID.String(),
		Recipient:   contact.PlatformUserID,
		Text:        m.Text,
		Attachments: atts,
		Credentials: creds,
	})
	if err != nil {
		se, ok := channel.AsSendError(err)
		if !ok || se.Temporary {
			return SendResult{}, err
		}
		return a.recordFailure(ctx, m, platform, se)
	}
	var pmid *string
	if d.PlatformMessageID != "" {
		pmid = &d.PlatformMessageID
	}
	if err := a.setStatus(ctx, dbsqlc.MessageUpdateStatusParams{ID: m.ID, Status: d.Status, PlatformMessageID: pmid}, m); err != nil {
		return SendResult{}, err
	}
	a.countSend(platform, d.Status, "")
	return SendResult{Status: d.Status}, nil
}

// PrepareResend moves a failed, resendable message of the session back to
// sending; it reports false (and changes nothing) for any other message.
func (a *Activities) PrepareResend(ctx context.Context, in PrepareResendInput) (bool, error) {
	sid, err := uuid.Parse(in.SessionID)
	if err != nil {
		return false, nil
	}
	var ok bool
	err = db.InTx(ctx, a.Pool, func(tx pgx.Tx) error {
		m, err := a.Queries.MessageResend(ctx, tx, dbsqlc.MessageResendParams{ID: in.MessageID, SessionID: uuid.NullUUID{UUID: sid, Valid: true}})
		if db.IsNotFound(err) {
			// Already resent by an earlier attempt of this activity, or not resendable.
			cur, err := a.Queries.MessageGet(ctx, tx, in.MessageID)
			ok = err == nil && cur.SessionID.Valid && cur.SessionID.UUID == sid && cur.Status == "sending"
			return nil
		}
		if err != nil {
			return err
		}
		ok = true
		return a.publish(ctx, tx, realtime.Notification{Type: realtime.MessageUpdated, MessageID: m.ID, SessionID: in.SessionID, ContactID: m.ContactID.String()})
	})
	return ok, err
}

// FailMessage records that a message could not be delivered at all.
func (a *Activities) FailMessage(ctx context.Context, in FailMessageInput) error {
	m, err := a.Queries.MessageGet(ctx, a.Pool, in.MessageID)
	if err != nil {
		return err
	}
	ch, err := a.Queries.ChannelGet(ctx, a.Pool, m.ChannelID)
	if err != nil {
		return err
	}
	_, err = a.recordFailure(ctx, m, channel.Platform(ch.Platform), &channel.SendError{Reason: in.Reason, Resendable: true})
	return err
}

func (a *Activities) recordFailure(ctx context.Context, m dbsqlc.Message, platform channel.Platform, se *channel.SendError) (SendResult, error) {
	if err := a.setStatus(ctx, dbsqlc.MessageUpdateStatusParams{ID: m.ID, Status: "failed", FailureReason: se.Reason, Resendable: se.Resendable}, m); err != nil {
		return SendResult{}, err
	}
	a.countSend(platform, "failed", se.Reason)
	return SendResult{Status: "failed", FailureReason: se.Reason}, nil
}

// setStatus moves a message's status forward and announces it. With the
// platform's message id it also applies the receipts that overtook the send.
func (a *Activities) setStatus(ctx context.Context, p dbsqlc.MessageUpdateStatusParams, m dbsqlc.Message) error {
	return db.InTx(ctx, a.Pool, func(tx pgx.Tx) error {
		updated, err := a.Queries.MessageUpdateStatus(ctx, tx, p)
		if db.IsNotFound(err) {
			return nil // already further along
		}
		if err != nil {
			return err
		}
		if err := a.publish(ctx, tx, realtime.Notification{Type: realtime.MessageUpdated, MessageID: m.ID, SessionID: nullUUIDString(m.SessionID), ContactID: m.ContactID.String()}); err != nil {
			return err
		}
		return receipt.Settle(ctx, a.Queries, tx, updated)
	})
}

func (a *Activities) countSend(platform channel.Platform, status, reason string) {
	if a.Metrics != nil {
		a.Metrics.SendOutcomes.WithLabelValues(string(platform), status, reason).Inc()
	}
}

func (a *Activities) credentials(ch dbsqlc.Channel) (channel.Credentials, error) {
	creds := channel.Credentials{}
	if len(ch.Credentials) == 0 || a.Secrets == nil {
		return creds, nil
	}
	if err := a.Secrets.OpenJSON(ch.Credentials, &creds); err != nil {
		return nil, temporal.NewNonRetryableApplicationError("channel credentials cannot be opened: wrong OMNICHAT_SECRET_KEY?", "Credentials", err)
	}
	return creds, nil
}

func (a *Activities) publish(ctx context.Context, tx pgx.Tx, n realtime.Notification) error {
	return realtime.Publish(ctx, a.Queries, tx, n)
}

func upsertParams(s SessionSnapshot) (dbsqlc.SessionUpsertParams, error) {
	id, err := uuid.Parse(s.ID)
	if err != nil {
		return dbsqlc.SessionUpsertParams{}, temporal.NewNonRetryableApplicationError("bad session id", "BadInput", err)
	}
	chID, err := uuid.Parse(s.ChannelID)
	if err != nil {
		return dbsqlc.SessionUpsertParams{}, temporal.NewNonRetryableApplicationError("bad channel id", "BadInput", err)
	}
	contactID, err := uuid.Parse(s.ContactID)
	if err != nil {
		return dbsqlc.SessionUpsertParams{}, temporal.NewNonRetryableApplicationError("bad contact id", "BadInput", err)
	}
	var last *int64
	if s.LastMessageID > 0 {
		v := s.LastMessageID
		last = &v
	}
	return dbsqlc.SessionUpsertParams{
		ID:              id,
		ChannelID:       chID,
		ContactID:       contactID,
		TeamID:          parseNullUUID(s.TeamID),
		Platform:        string(s.Platform),
		WorkflowID:      s.WorkflowID,
		Status:          s.Status,
		OwnerID:         parseNullUUID(s.OwnerID),
		MemberIds:       parseUUIDs(s.MemberIDs),
		SupporterIds:    parseUUIDs(s.SupporterIDs),
		Tags:            orEmptySlice(s.Tags),
		Important:       s.Important,
		InCount:         int32(s.InCount),
		WaitingSince:    s.WaitingSince,
		WindowExpiresAt: s.WindowExpiresAt,
		SnoozedUntil:    s.SnoozedUntil,
		FirstResponseAt: s.FirstResponseAt,
		LastMessageID:   last,
		LastActivityAt:  s.LastActivityAt,
		OpenedAt:        s.OpenedAt,
		ClosedAt:        s.ClosedAt,
		CloseStatus:     s.CloseStatus,
		Version:         s.Version,
	}, nil
}

func parseNullUUID(s string) uuid.NullUUID {
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.NullUUID{}
	}
	return uuid.NullUUID{UUID: id, Valid: true}
}

func parseUUIDs(ss []string) []uuid.UUID {
	out := make([]uuid.UUID, 0, len(ss))
	for _, s := range ss {
		if id, err := uuid.Parse(s); err == nil {
			out = append(out, id)
		}
	}
	return out
}

func nullUUIDString(u uuid.NullUUID) string {
	if !u.Valid {
		return ""
	}
	return u.UUID.String()
}

func uuidStrings(ids []uuid.UUID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func orEmptySlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
