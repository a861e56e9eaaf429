-- name: LockPlatformMessage :exec
-- LockPlatformMessage serialises, until the transaction ends, everything
-- that matches receipts with the message they report.
SELECT pg_advisory_xact_lock(hashtextextended(sqlc.arg('lock_key')::text, 7411));

-- name: ReceiptInsert :exec
INSERT INTO message_receipts (channel_id, platform_message_id, status, failure_reason, resendable)
VALUES (@channel_id, @platform_message_id, @status, @failure_reason, @resendable)
ON CONFLICT DO NOTHING;

-- name: ReceiptTake :many
-- ReceiptTake removes and returns the receipts waiting for a message, in
-- the order the statuses progress.
DELETE FROM message_receipts
WHERE channel_id = @channel_id AND platform_message_id = @platform_message_id
RETURNING *;
