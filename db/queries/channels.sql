-- name: ChannelCreate :one
INSERT INTO channels (platform, name, team_id, settings, credentials)
VALUES (@platform, @name, @team_id, @settings, @credentials)
RETURNING *;

-- name: ChannelGet :one
SELECT * FROM channels WHERE id = @id;

-- name: ChannelList :many
SELECT * FROM channels ORDER BY created_at, id;

-- name: ChannelFirstByPlatform :one
SELECT * FROM channels WHERE platform = @platform AND active ORDER BY created_at, id LIMIT 1;

-- name: ChannelUpdate :one
UPDATE channels
SET name = @name, team_id = @team_id, settings = @settings, active = @active, updated_at = now()
WHERE id = @id
RETURNING *;

-- name: ChannelSetCredentials :exec
UPDATE channels SET credentials = @credentials, healthy = true, health_error = '', updated_at = now() WHERE id = @id;
