-- name: ContactCreate :one
INSERT INTO contacts (channel_id, platform_user_id, name, email, phone)
VALUES (@channel_id, @platform_user_id, @name, @email, @phone)
RETURNING *;

-- name: ContactUpsert :one
-- ContactUpsert finds the contact of a platform identity, creating it on first
-- sight; a non-empty name fills an empty one, never overwrites an edited one.
INSERT INTO contacts (channel_id, platform_user_id, name)
VALUES (@channel_id, @platform_user_id, @name)
ON CONFLICT (channel_id, platform_user_id) DO UPDATE
SET name = CASE WHEN contacts.name = '' THEN EXCLUDED.name ELSE contacts.name END
RETURNING *;

-- name: ContactGet :one
SELECT * FROM contacts WHERE id = @id;

-- name: ContactTouchInbound :exec
UPDATE contacts
SET total_messages = total_messages + 1,
    first_active_at = LEAST(coalesce(first_active_at, @at::timestamptz), @at::timestamptz),
    last_active_at = GREATEST(coalesce(last_active_at, @at::timestamptz), @at::timestamptz),
    updated_at = now()
WHERE id = @id;

-- name: ContactSetOnline :exec
UPDATE contacts SET online = @online, last_seen_at = now(), updated_at = now() WHERE id = @id;

-- name: VisitorTokenCreate :exec
INSERT INTO visitor_tokens (token_hash, contact_id) VALUES (@token_hash, @contact_id);

-- name: VisitorTokenLookup :one
SELECT c.* FROM visitor_tokens t
JOIN contacts c ON c.id = t.contact_id
WHERE t.token_hash = @token_hash;

-- name: ContactGetByPlatformID :one
SELECT * FROM contacts WHERE channel_id = @channel_id AND platform_user_id = @platform_user_id;
