// Package receipt matches platforms' delivery receipts (sent, delivered,
// seen, failed) with the messages they report. A receipt can overtake the
// send it reports: the platform answers the send, then its webhook arrives
// before omnichat has stored the platform's message id. Such receipts wait
// in message_receipts until Settle finds them; an advisory lock per platform
// message id keeps the two sides from missing each other.
package receipt

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/omnichat/omnichat/channel"
	"github.com/omnichat/omnichat/db"
	"github.com/omnichat/omnichat/db/dbsqlc"
	"github.com/omnichat/omnichat/realtime"
)

func lock(ctx context.Context, q *dbsqlc.Queries, tx pgx.Tx, channelID uuid.UUID, pmid string) error {
	return q.LockPlatformMessage(ctx, tx, channelID.String()+"/"+pmid)
}

// Record applies a receipt to its message, or keeps it for Settle when the
// message is not known yet. Statuses only move forward, so repeated and
// out-of-order receipts change nothing.
func Record(ctx context.Context, q *dbsqlc.Queries, tx pgx.Tx, channelID uuid.UUID, u channel.StatusUpdate) error {
	if err := lock(ctx, q, tx, channelID, u.PlatformMessageID); err != nil {
		return err
	}
	pmid := u.PlatformMessageID
	m, err := q.MessageGetByPlatformID(ctx, tx, dbsqlc.MessageGetByPlatformIDParams{ChannelID: channelID, PlatformMessageID: &pmid})
	if db.IsNotFound(err) {
		return q.ReceiptInsert(ctx, tx, dbsqlc.ReceiptInsertParams{
			ChannelID: channelID, PlatformMessageID: pmid, Status: u.Status, FailureReason: u.FailureReason, Resendable: u.Resendable,
		})
	}
	if err != nil {
		return err
	}
	if m.Direction != "out" {
		return nil
	}
	return apply(ctx, q, tx, m, u.Status, u.FailureReason, u.Resendable)
}

// Settle applies the receipts waiting for m, whose platform id has just
// been stored in the same transaction.
func Settle(ctx context.Context, q *dbsqlc.Queries, tx pgx.Tx, m dbsqlc.Message) error {
	if m.PlatformMessageID == nil {
		return nil
	}
	if err := lock(ctx, q, tx, m.ChannelID, *m.PlatformMessageID); err != nil {
		return err
	}
	rs, err := q.ReceiptTake(ctx, tx, dbsqlc.ReceiptTakeParams{ChannelID: m.ChannelID, PlatformMessageID: *m.PlatformMessageID})
	if err != nil {
		return err
	}
	// Forward-only updates make the order irrelevant, except that a failure
	// is only taken before delivery: apply the furthest status last.
	for _, st := range []string{"failed", "sent", "delivered", "seen"} {
		for _, r := range rs {
			if r.Status == st {
				if err := apply(ctx, q, tx, m, r.Status, r.FailureReason, r.Resendable); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func apply(ctx context.Context, q *dbsqlc.Queries, tx pgx.Tx, m dbsqlc.Message, status, reason string, resendable bool) error {
	_, err := q.MessageUpdateStatus(ctx, tx, dbsqlc.MessageUpdateStatusParams{ID: m.ID, Status: status, FailureReason: reason, Resendable: resendable})
	if db.IsNotFound(err) {
		return nil // already further along
	}
	if err != nil {
		return err
	}
	sid := ""
	if m.SessionID.Valid {
		sid = m.SessionID.UUID.String()
	}
	return realtime.Publish(ctx, q, tx, realtime.Notification{Type: realtime.MessageUpdated, MessageID: m.ID, SessionID: sid, ContactID: m.ContactID.String()})
}
