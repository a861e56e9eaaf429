-- Indexes for the inbox list (SessionList) at a million sessions; the plans
-- that use them are in docs/perf/explain-sessions.md.
--
-- - Contact search (q): trigram indexes, so that "name, e-mail or phone
--   contains" finds a few contacts without reading them all. pg_trgm is a
--   trusted extension: a database owner may create it without superuser.
-- - Open sessions by agent (views mine and joined, owner_id), by member
--   (joined), by supporter (support), by tag, by contact (search): indexes
--   over open sessions only, a tenth of the table, so that an agent's few
--   open sessions are found without visiting their thousands of closed ones.
-- - Closed sessions newest first (status=closed): open sessions are the most
--   recent ones, so a newest-first walk of all sessions for closed ones would
--   step over all open sessions first.
--
-- contacts_search_estimate is the planner's estimate of how many contacts a
-- search term matches (EXPLAIN, no execution: well under a millisecond).
-- api.listSessions routes on it: a term that matches few contacts lists their
-- sessions; a common one walks the newest sessions, where matches are close.
--
-- The GIN indexes keep no pending list (fastupdate = off): sessions are
-- rewritten on every message, and every search would read a long pending list.
-- Built CONCURRENTLY, so that migrating a live database does not stop the
-- session projections from writing.

-- +goose NO TRANSACTION
-- +goose Up
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX CONCURRENTLY IF NOT EXISTS contacts_name_trgm_idx ON contacts USING gin (name gin_trgm_ops) WITH (fastupdate = off);
CREATE INDEX CONCURRENTLY IF NOT EXISTS contacts_email_trgm_idx ON contacts USING gin (email gin_trgm_ops) WITH (fastupdate = off);
CREATE INDEX CONCURRENTLY IF NOT EXISTS contacts_phone_trgm_idx ON contacts USING gin (phone gin_trgm_ops) WITH (fastupdate = off);
CREATE INDEX CONCURRENTLY IF NOT EXISTS sessions_open_owner_idx ON sessions (owner_id, last_activity_at DESC, id DESC) WHERE status <> 'closed' AND owner_id IS NOT NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS sessions_open_members_idx ON sessions USING gin (member_ids) WITH (fastupdate = off) WHERE status <> 'closed';
CREATE INDEX CONCURRENTLY IF NOT EXISTS sessions_open_supporters_idx ON sessions USING gin (supporter_ids) WITH (fastupdate = off) WHERE status <> 'closed';
CREATE INDEX CONCURRENTLY IF NOT EXISTS sessions_open_tags_idx ON sessions USING gin (tags) WITH (fastupdate = off) WHERE status <> 'closed';
CREATE INDEX CONCURRENTLY IF NOT EXISTS sessions_open_contact_idx ON sessions (contact_id) WHERE status <> 'closed';
CREATE INDEX CONCURRENTLY IF NOT EXISTS sessions_closed_activity_idx ON sessions (last_activity_at DESC, id DESC) WHERE status = 'closed';

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION contacts_search_estimate(q text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    plan json;
BEGIN
    EXECUTE format('EXPLAIN (FORMAT JSON) SELECT 1 FROM contacts WHERE name ILIKE %1$L OR email ILIKE %1$L OR phone ILIKE %1$L',
                   '%' || q || '%') INTO plan;
    RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::bigint;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION IF EXISTS contacts_search_estimate(text);
DROP INDEX CONCURRENTLY IF EXISTS sessions_closed_activity_idx;
DROP INDEX CONCURRENTLY IF EXISTS sessions_open_contact_idx;
DROP INDEX CONCURRENTLY IF EXISTS sessions_open_tags_idx;
DROP INDEX CONCURRENTLY IF EXISTS sessions_open_supporters_idx;
DROP INDEX CONCURRENTLY IF EXISTS sessions_open_members_idx;
DROP INDEX CONCURRENTLY IF EXISTS sessions_open_owner_idx;
DROP INDEX CONCURRENTLY IF EXISTS contacts_phone_trgm_idx;
DROP INDEX CONCURRENTLY IF EXISTS contacts_email_trgm_idx;
DROP INDEX CONCURRENTLY IF EXISTS contacts_name_trgm_idx;
DROP EXTENSION IF EXISTS pg_trgm;
