-- name: Notify :exec
-- Notify announces a change to every API replica listening; it is delivered
-- when (and only if) the surrounding transaction commits.
SELECT pg_notify('omnichat_events', @payload::text);

-- name: Listen :exec
LISTEN omnichat_events;
