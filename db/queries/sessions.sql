-- name: SessionUpsert :one
-- SessionUpsert writes the workflow's snapshot of a session; a snapshot older
-- than the stored one returns no row and changes nothing.
INSERT INTO sessions (
    id, channel_id, contact_id, team_id, platform, workflow_id, status, owner_id,
    member_ids, supporter_ids, tags, important, in_count, waiting_since,
    window_expires_at, snoozed_until, first_response_at, last_message_id,
    last_activity_at, opened_at, closed_at, close_status, version, updated_at
) VALUES (
    @id, @channel_id, @contact_id, @team_id, @platform, @workflow_id, @status, @owner_id,
    @member_ids, @supporter_ids, @tags, @important, @in_count, @waiting_since,
    @window_expires_at, @snoozed_until, @first_response_at, @last_message_id,
    @last_activity_at, @opened_at, @closed_at, @close_status, @version, now()
)
ON CONFLICT (id) DO UPDATE SET
    team_id = EXCLUDED.team_id,
    status = EXCLUDED.status,
    owner_id = EXCLUDED.owner_id,
    member_ids = EXCLUDED.member_ids,
    supporter_ids = EXCLUDED.supporter_ids,
    tags = EXCLUDED.tags,
    important = EXCLUDED.important,
    in_count = EXCLUDED.in_count,
    waiting_since = EXCLUDED.waiting_since,
    window_expires_at = EXCLUDED.window_expires_at,
    snoozed_until = EXCLUDED.snoozed_until,
    first_response_at = EXCLUDED.first_response_at,
    last_message_id = EXCLUDED.last_message_id,
    last_activity_at = EXCLUDED.last_activity_at,
    closed_at = EXCLUDED.closed_at,
    close_status = EXCLUDED.close_status,
    version = EXCLUDED.version,
    updated_at = now()
WHERE sessions.version < EXCLUDED.version
RETURNING id;

-- name: SessionGet :one
SELECT * FROM sessions WHERE id = @id;

-- name: SessionLatestByContact :one
SELECT * FROM sessions WHERE contact_id = @contact_id ORDER BY opened_at DESC LIMIT 1;

-- name: SessionList :many
-- SessionList is the inbox: the sessions the caller may see (all_access, or a
-- team of theirs, an unrouted channel, or one they own, joined or support),
-- narrowed by the view and filters, newest activity first, keyset-paged.
SELECT
    sqlc.embed(s),
    sqlc.embed(c),
    lm.direction AS last_direction,
    lm.text AS last_text,
    lm.sent_at AS last_sent_at,
    lm.sender_id AS last_sender_id,
    (CASE WHEN r.marked_unread THEN GREATEST(1, s.in_count - coalesce(r.read_in_count, 0))
          ELSE GREATEST(0, s.in_count - coalesce(r.read_in_count, 0)) END)::integer AS unread
FROM sessions s
JOIN contacts c ON c.id = s.contact_id
LEFT JOIN messages lm ON lm.id = s.last_message_id
LEFT JOIN session_reads r ON r.session_id = s.id AND r.agent_id = @agent_id
WHERE (@all_access::bool
       OR s.team_id IS NULL
       OR s.team_id = ANY(@team_ids::uuid[])
       OR s.owner_id = @agent_id
       OR @agent_id = ANY(s.member_ids)
       OR @agent_id = ANY(s.supporter_ids))
  AND (CASE WHEN cardinality(@statuses::text[]) = 0 THEN s.status <> 'closed'
            ELSE s.status = ANY(@statuses::text[]) END)
  AND (CASE @view::text
         WHEN 'mine' THEN s.owner_id = @agent_id
         WHEN 'joined' THEN s.owner_id = @agent_id OR @agent_id = ANY(s.member_ids)
         WHEN 'support' THEN @agent_id = ANY(s.supporter_ids)
         WHEN 'unassigned' THEN s.owner_id IS NULL AND cardinality(s.member_ids) = 0
         WHEN 'unanswered' THEN s.waiting_since IS NOT NULL
         WHEN 'team' THEN s.team_id = ANY(@view_team_ids::uuid[])
         ELSE true END)
  AND (sqlc.narg('team_id')::uuid IS NULL OR s.team_id = sqlc.narg('team_id'))
  AND (sqlc.narg('channel_id')::uuid IS NULL OR s.channel_id = sqlc.narg('channel_id'))
  AND (sqlc.narg('owner_id')::uuid IS NULL OR s.owner_id = sqlc.narg('owner_id'))
  AND (sqlc.narg('tag')::text IS NULL OR s.tags @> ARRAY[sqlc.narg('tag')::text])
  AND (sqlc.narg('q')::text IS NULL
       OR c.name ILIKE '%' || sqlc.narg('q') || '%'
       OR c.email ILIKE '%' || sqlc.narg('q') || '%'
       OR c.phone ILIKE '%' || sqlc.narg('q') || '%')
  AND (s.last_activity_at, s.id) < (@before_activity_at::timestamptz, @before_id::uuid)
ORDER BY s.last_activity_at DESC, s.id DESC
LIMIT @lim;

-- name: SessionView :one
-- SessionView is one session as the inbox shows it, without the per-agent
-- unread count (see SessionReadList).
SELECT
    sqlc.embed(s),
    sqlc.embed(c),
    lm.direction AS last_direction,
    lm.text AS last_text,
    lm.sent_at AS last_sent_at,
    lm.sender_id AS last_sender_id
FROM sessions s
JOIN contacts c ON c.id = s.contact_id
LEFT JOIN messages lm ON lm.id = s.last_message_id
WHERE s.id = @id;

-- name: SessionReadList :many
SELECT * FROM session_reads WHERE session_id = @session_id;

-- name: SessionMarkRead :exec
INSERT INTO session_reads (session_id, agent_id, read_in_count, marked_unread)
SELECT s.id, @agent_id, s.in_count, false FROM sessions s WHERE s.id = @session_id
ON CONFLICT (session_id, agent_id) DO UPDATE
SET read_in_count = EXCLUDED.read_in_count, marked_unread = false, updated_at = now();

-- name: SessionMarkUnread :exec
INSERT INTO session_reads (session_id, agent_id, read_in_count, marked_unread)
VALUES (@session_id, @agent_id, 0, true)
ON CONFLICT (session_id, agent_id) DO UPDATE SET marked_unread = true, updated_at = now();

-- name: SessionEventInsert :execrows
INSERT INTO session_events (session_id, seq, type, actor_id, data, created_at)
VALUES (@session_id, @seq, @type, @actor_id, @data, @created_at)
ON CONFLICT (session_id, seq) DO NOTHING;

-- name: SessionEventList :many
SELECT * FROM session_events WHERE session_id = @session_id ORDER BY seq;

-- name: SessionLastEventSeq :one
SELECT coalesce(max(seq), 0)::integer FROM session_events WHERE session_id = @session_id;
