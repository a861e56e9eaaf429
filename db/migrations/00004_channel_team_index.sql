-- Sessions by channel and team, for the inbox list filtered by a channel:
-- api.listSessions counts how many of the channel's sessions an agent sees
-- through their teams. When few, the list gathers them (this index, and the
-- owner, member and supporter indexes) and sorts them instead of walking
-- every session of the channel (docs/performance.md).

-- +goose NO TRANSACTION
-- +goose Up
CREATE INDEX CONCURRENTLY IF NOT EXISTS sessions_channel_team_idx ON sessions (channel_id, team_id, status);

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS sessions_channel_team_idx;
