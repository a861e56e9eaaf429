-- name: AgentCreate :one
INSERT INTO agents (email, name, role, password_hash)
VALUES (@email, @name, @role, @password_hash)
RETURNING *;

-- name: AgentGet :one
SELECT * FROM agents WHERE id = @id;

-- name: AgentGetByEmail :one
SELECT * FROM agents WHERE lower(email) = lower(@email);

-- name: AgentList :many
SELECT * FROM agents ORDER BY lower(name), id;

-- name: AgentListByIDs :many
SELECT * FROM agents WHERE id = ANY(@ids::uuid[]);

-- name: AgentCountActiveAdmins :one
SELECT count(*) FROM agents WHERE role = 'admin' AND active;

-- name: AgentSetPresence :one
UPDATE agents SET presence = @presence, presence_at = now(), updated_at = now()
WHERE id = @id
RETURNING *;

-- name: AgentTokenCreate :exec
INSERT INTO agent_tokens (token_hash, agent_id, expires_at) VALUES (@token_hash, @agent_id, @expires_at);

-- name: AgentTokenLookup :one
SELECT a.* FROM agent_tokens t
JOIN agents a ON a.id = t.agent_id
WHERE t.token_hash = @token_hash AND t.expires_at > now() AND a.active;

-- name: AgentTokenDelete :exec
DELETE FROM agent_tokens WHERE token_hash = @token_hash;

-- name: AgentTokenDeleteExpired :execrows
DELETE FROM agent_tokens WHERE expires_at <= now();
