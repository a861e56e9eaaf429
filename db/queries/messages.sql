-- name: MessageInsertInbound :one
-- MessageInsertInbound stores a customer's message once: a platform retry of
-- the same platform_message_id returns no row (see MessageGetByPlatformID).
INSERT INTO messages (channel_id, contact_id, direction, text, attachments, status, platform_message_id, sent_at)
VALUES (@channel_id, @contact_id, 'in', @text, @attachments, 'received', @platform_message_id, @sent_at)
ON CONFLICT (channel_id, platform_message_id) WHERE platform_message_id IS NOT NULL DO NOTHING
RETURNING *;

-- name: MessageGetByPlatformID :one
SELECT * FROM messages WHERE channel_id = @channel_id AND platform_message_id = @platform_message_id;

-- name: MessageGet :one
SELECT * FROM messages WHERE id = @id;

-- name: MessageAttach :many
-- MessageAttach gives unattached messages to the session whose run received
-- them; ids already owned by a session are left alone and not returned.
UPDATE messages SET session_id = @session_id, updated_at = now()
WHERE id = ANY(@ids::bigint[]) AND session_id IS NULL
RETURNING id;

-- name: MessageListUnattached :many
SELECT id, sent_at FROM messages
WHERE contact_id = @contact_id AND session_id IS NULL
ORDER BY sent_at, id;

-- name: MessageInsertSession :one
-- MessageInsertSession stores a message written inside a session (a reply, a
-- note, an automatic message) once per client_id.
INSERT INTO messages (channel_id, contact_id, session_id, direction, text, attachments, status, sender_id, automatic, client_id, sent_at)
VALUES (@channel_id, @contact_id, @session_id, @direction, @text, @attachments, @status, @sender_id, @automatic, @client_id, @sent_at)
ON CONFLICT (session_id, client_id) WHERE client_id IS NOT NULL DO NOTHING
RETURNING *;

-- name: MessageGetByClientID :one
SELECT * FROM messages WHERE session_id = @session_id AND client_id = @client_id;

-- name: MessageUpdateStatus :one
-- MessageUpdateStatus moves a message forward only (sending, sent, delivered,
-- seen); failed is taken from sending or sent. Late or repeated receipts
-- return no row and change nothing.
UPDATE messages
SET status = @status,
    failure_reason = @failure_reason,
    resendable = @resendable,
    platform_message_id = coalesce(sqlc.narg('platform_message_id')::text, platform_message_id),
    updated_at = now()
WHERE id = @id
  AND (
    (@status::text = 'failed' AND status IN ('sending', 'sent'))
    OR array_position(ARRAY['sending', 'sent', 'delivered', 'seen'], @status::text)
       > coalesce(array_position(ARRAY['sending', 'sent', 'delivered', 'seen'], status), 99)
  )
RETURNING *;

-- name: MessageResend :one
UPDATE messages SET status = 'sending', failure_reason = '', resendable = false, updated_at = now()
WHERE id = @id AND session_id = @session_id AND direction = 'out' AND status = 'failed' AND resendable
RETURNING *;

-- name: MessageTimeline :many
-- MessageTimeline pages back through one contact's conversation, newest
-- first: the given session's messages, the contact's messages not yet adopted
-- by a session (when the session is the open one) and every earlier session's.
SELECT m.* FROM messages m
LEFT JOIN sessions s ON s.id = m.session_id
WHERE m.contact_id = @contact_id
  AND (m.session_id = @session_id
       OR (m.session_id IS NULL AND @include_unattached::bool)
       OR s.opened_at < @opened_at)
  AND (m.sent_at, m.id) < (@before_sent_at::timestamptz, @before_id::bigint)
ORDER BY m.sent_at DESC, m.id DESC
LIMIT @lim;

-- name: MessageVisitorTimeline :many
-- MessageVisitorTimeline is what a web visitor sees of their conversation:
-- everything written to or by them, never staff notes.
SELECT * FROM messages
WHERE contact_id = @contact_id
  AND direction IN ('in', 'out')
  AND (sent_at, id) < (@before_sent_at::timestamptz, @before_id::bigint)
ORDER BY sent_at DESC, id DESC
LIMIT @lim;
