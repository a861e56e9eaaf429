-- name: TeamCreate :one
INSERT INTO teams (name, mode) VALUES (@name, @mode) RETURNING *;

-- name: TeamGet :one
SELECT * FROM teams WHERE id = @id;

-- name: TeamList :many
SELECT * FROM teams ORDER BY lower(name), id;

-- name: TeamMemberDeleteAll :exec
DELETE FROM team_members WHERE team_id = @team_id;

-- name: TeamMemberInsert :exec
INSERT INTO team_members (team_id, agent_id, role) VALUES (@team_id, @agent_id, @role);

-- name: TeamMemberList :many
SELECT m.team_id, m.agent_id, m.role, a.name, a.email, a.presence
FROM team_members m
JOIN agents a ON a.id = m.agent_id
WHERE m.team_id = ANY(@team_ids::uuid[])
ORDER BY m.team_id, lower(a.name), a.id;

-- name: TeamMembershipsByAgent :many
SELECT team_id, role FROM team_members WHERE agent_id = @agent_id ORDER BY team_id;
