-- Extended statistics on how sessions' channel, team and status go
-- together. Without them the planner takes the columns as independent: for
-- an agent listing a channel routed to another team, it expected thousands
-- of the channel's sessions to be in the agent's teams, read every open
-- session of the channel and filtered them (160–270 ms at a million
-- sessions). Knowing that a channel's sessions sit almost all in its own
-- team, it gathers the few visible ones through the team, owner, member and
-- supporter indexes instead (8 ms; docs/performance.md).

-- +goose Up
CREATE STATISTICS IF NOT EXISTS sessions_channel_team_stats (mcv, dependencies) ON channel_id, team_id, status FROM sessions;
ANALYZE sessions;

-- +goose Down
DROP STATISTICS IF EXISTS sessions_channel_team_stats;
