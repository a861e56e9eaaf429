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

-- name: SessionListSearchEstimate :one
-- SessionListSearchEstimate is how many contacts the planner expects q to
-- match (name, e-mail or phone contains q), without searching.
SELECT contacts_search_estimate(@q::text)::bigint AS estimate;

-- name: SessionListSearchContacts :one
-- SessionListSearchContacts is the first step of a session list searched by
-- a term that matches few contacts (SessionListSearchEstimate): how many
-- contacts' name, e-mail or phone contains q, counting at most @lim (the
-- trigram indexes find them), and their ids as an array literal for
-- SessionList's contact_ids (text: thousands of ids cross the wire as one
-- value).
SELECT count(*) AS matches, coalesce(array_agg(m.id), '{}')::text AS ids
FROM (
    SELECT c.id FROM contacts c
    WHERE c.name ILIKE '%' || @q::text || '%'
       OR c.email ILIKE '%' || @q::text || '%'
       OR c.phone ILIKE '%' || @q::text || '%'
    LIMIT @lim
) m;

-- name: SessionChannelTeamSessions :one
-- SessionChannelTeamSessions counts, up to @cap each, the sessions of the
-- channel in one of statuses that belong to one of team_ids, and those that
-- belong to no team: what a caller in team_ids sees of the channel through
-- their teams. Each half is an index-only range of sessions_channel_team_idx
-- on all three columns (under a millisecond at a million sessions). Written
-- as one OR, the index could not take the team, and the scan read every
-- session of the channel; "status <> 'closed'" instead of the listed
-- statuses matches the open-session GIN indexes' predicate, and the planner
-- then read one of them whole (40 ms).
SELECT (SELECT count(*) FROM (
            SELECT 1 FROM sessions t
            WHERE t.channel_id = @channel_id::uuid AND t.team_id = ANY(@team_ids::uuid[]) AND t.status = ANY(@statuses::text[])
            LIMIT @cap::int) a)
     + (SELECT count(*) FROM (
            SELECT 1 FROM sessions u
            WHERE u.channel_id = @channel_id::uuid AND u.team_id IS NULL AND u.status = ANY(@statuses::text[])
            LIMIT @cap::int) b) AS n;

-- name: SessionList :many
-- SessionList is the inbox: the sessions the caller may see (all_access, or a
-- team of theirs, an unrouted channel, or one they own, joined or support),
-- narrowed by the view and filters, newest activity first, keyset-paged.
-- contact_ids, when given, is every contact q matches (an array literal from
-- SessionListSearchContacts), and q is then left out.
--
-- It is a catch-all query: run it with a plan made for its arguments (a
-- custom plan; api.listSessions does), never a cached generic one. Planned
-- with its arguments, the branches that do not apply fold away and Postgres
-- picks the index that answers the rest (docs/perf/explain-sessions.md): the
-- newest-first walk of sessions_activity_idx (or of the closed sessions') for
-- broad lists, the owner, member, supporter, tag and contact indexes for
-- narrow ones. A generic plan cannot know which applies and reads every
-- session.
--
-- The page's ids are chosen first (the inner query, which joins contacts
-- only when q is given); contacts, the last message and the caller's read
-- state are then read for those rows alone. Array membership is written with
-- @> so that the GIN indexes can answer it.
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
WHERE s.id IN (
    SELECT p.id
    FROM sessions p
    -- Removed by the planner unless q is given; then an inner join it may
    -- drive from the matching contacts.
    LEFT JOIN contacts pc ON pc.id = p.contact_id
    WHERE (@all_access::bool
           OR p.team_id IS NULL
           OR p.team_id = ANY(@team_ids::uuid[])
           OR p.owner_id = @agent_id
           OR p.member_ids @> ARRAY[@agent_id]::uuid[]
           OR p.supporter_ids @> ARRAY[@agent_id]::uuid[])
      AND (CASE WHEN cardinality(@statuses::text[]) = 0 THEN p.status <> 'closed'
                ELSE p.status = ANY(@statuses::text[]) END)
      AND (CASE @view::text
             WHEN 'mine' THEN p.owner_id = @agent_id
             WHEN 'joined' THEN p.owner_id = @agent_id OR p.member_ids @> ARRAY[@agent_id]::uuid[]
             WHEN 'support' THEN p.supporter_ids @> ARRAY[@agent_id]::uuid[]
             WHEN 'unassigned' THEN p.owner_id IS NULL AND p.member_ids = '{}'
             WHEN 'unanswered' THEN p.waiting_since IS NOT NULL
             WHEN 'team' THEN p.team_id = ANY(@view_team_ids::uuid[])
             ELSE true END)
      -- personal: team_id names a team the caller is not in; only sessions
      -- they own, joined or support remain, and the indexes over those
      -- answer it without walking the team's sessions.
      AND (NOT @personal::bool
           OR p.owner_id = @agent_id
           OR p.member_ids @> ARRAY[@agent_id]::uuid[]
           OR p.supporter_ids @> ARRAY[@agent_id]::uuid[])
      AND (sqlc.narg('team_id')::uuid IS NULL OR p.team_id = sqlc.narg('team_id'))
      AND (sqlc.narg('channel_id')::uuid IS NULL OR p.channel_id = sqlc.narg('channel_id'))
      AND (sqlc.narg('owner_id')::uuid IS NULL OR p.owner_id = sqlc.narg('owner_id'))
      AND (sqlc.narg('tag')::text IS NULL OR p.tags @> ARRAY[sqlc.narg('tag')::text])
      AND (sqlc.narg('contact_ids')::text IS NULL OR p.contact_id = ANY(sqlc.narg('contact_ids')::text::uuid[]))
      AND (sqlc.narg('q')::text IS NULL
           OR pc.name ILIKE '%' || sqlc.narg('q') || '%'
           OR pc.email ILIKE '%' || sqlc.narg('q') || '%'
           OR pc.phone ILIKE '%' || sqlc.narg('q') || '%')
      AND (p.last_activity_at, p.id) < (@before_activity_at::timestamptz, @before_id::uuid)
    -- The same order either way. With contact_ids, or gather (the caller
    -- sees few of a filtered channel's sessions), it is an expression no
    -- index provides, so that Postgres collects the few matching sessions
    -- through the indexes that find them (a bounded amount of work) and
    -- sorts them, instead of walking sessions newest first and hoping to
    -- meet them soon.
    ORDER BY (CASE WHEN sqlc.narg('contact_ids')::text IS NULL AND NOT @gather::bool THEN p.last_activity_at
                   ELSE p.last_activity_at + interval '0 seconds' END) DESC,
             p.id DESC
    LIMIT @lim)
ORDER BY s.last_activity_at DESC, s.id DESC;

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
