-- The core schema: who works (agents, teams), where customers write (channels,
-- contacts), and the read models the session workflows project into (sessions,
-- messages, session_events). Workflows own session state; these tables are what
-- the API lists and filters.

-- +goose Up
CREATE TABLE teams (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name       text NOT NULL,
    mode       text NOT NULL DEFAULT 'collaboration' CHECK (mode IN ('collaboration', 'grab')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX teams_name_key ON teams (lower(name));

CREATE TABLE agents (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email         text NOT NULL,
    name          text NOT NULL,
    role          text NOT NULL CHECK (role IN ('admin', 'supervisor', 'agent')),
    password_hash text NOT NULL,
    active        boolean NOT NULL DEFAULT true,
    presence      text NOT NULL DEFAULT 'offline' CHECK (presence IN ('online', 'away', 'offline')),
    presence_at   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX agents_email_key ON agents (lower(email));

CREATE TABLE team_members (
    team_id    uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    agent_id   uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    role       text NOT NULL DEFAULT 'member' CHECK (role IN ('admin', 'member')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, agent_id)
);
CREATE INDEX team_members_agent_idx ON team_members (agent_id);

-- Bearer tokens of signed-in agents. Only a SHA-256 of the token is kept, so a
-- leaked table does not leak sessions.
CREATE TABLE agent_tokens (
    token_hash   bytea PRIMARY KEY,
    agent_id     uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX agent_tokens_agent_idx ON agent_tokens (agent_id);

CREATE TABLE channels (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    platform      text NOT NULL CHECK (platform IN ('messenger', 'instagram', 'whatsapp', 'telegram', 'viber', 'webchat')),
    name          text NOT NULL,
    team_id       uuid REFERENCES teams (id) ON DELETE SET NULL,
    settings      jsonb NOT NULL DEFAULT '{}',
    -- AES-GCM sealed JSON of the platform credentials; never returned by the API.
    credentials   bytea,
    active        boolean NOT NULL DEFAULT true,
    healthy       boolean NOT NULL DEFAULT true,
    health_error  text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- A contact is one customer identity on one channel (a Messenger PSID, a
-- WhatsApp number, a web visitor).
CREATE TABLE contacts (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    channel_id       uuid NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    platform_user_id text NOT NULL,
    name             text NOT NULL DEFAULT '',
    email            text NOT NULL DEFAULT '',
    phone            text NOT NULL DEFAULT '',
    avatar_url       text NOT NULL DEFAULT '',
    first_active_at  timestamptz,
    last_active_at   timestamptz,
    total_messages   bigint NOT NULL DEFAULT 0,
    online           boolean NOT NULL DEFAULT false,
    last_seen_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (channel_id, platform_user_id)
);

-- Bearer tokens of web-chat visitors (hashed, like agent tokens).
CREATE TABLE visitor_tokens (
    token_hash bytea PRIMARY KEY,
    contact_id uuid NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX visitor_tokens_contact_idx ON visitor_tokens (contact_id);

-- sessions is the read model of the session workflows. Each row is written only
-- by the projection activity, guarded by version so that a late or repeated
-- projection never overwrites a newer one.
CREATE TABLE sessions (
    id                uuid PRIMARY KEY,
    channel_id        uuid NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    contact_id        uuid NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    team_id           uuid REFERENCES teams (id) ON DELETE SET NULL,
    platform          text NOT NULL,
    workflow_id       text NOT NULL,
    status            text NOT NULL CHECK (status IN ('rep_needed', 'pending', 'soon', 'overdue', 'answered', 'snoozed', 'closed')),
    owner_id          uuid REFERENCES agents (id) ON DELETE SET NULL,
    member_ids        uuid[] NOT NULL DEFAULT '{}',
    supporter_ids     uuid[] NOT NULL DEFAULT '{}',
    tags              text[] NOT NULL DEFAULT '{}',
    important         boolean NOT NULL DEFAULT false,
    in_count          integer NOT NULL DEFAULT 0,
    waiting_since     timestamptz,
    window_expires_at timestamptz,
    snoozed_until     timestamptz,
    first_response_at timestamptz,
    last_message_id   bigint,
    last_activity_at  timestamptz NOT NULL,
    opened_at         timestamptz NOT NULL,
    closed_at         timestamptz,
    close_status      text NOT NULL DEFAULT '',
    version           bigint NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sessions_activity_idx ON sessions (last_activity_at DESC, id DESC);
CREATE INDEX sessions_team_activity_idx ON sessions (team_id, last_activity_at DESC, id DESC);
CREATE INDEX sessions_channel_activity_idx ON sessions (channel_id, last_activity_at DESC, id DESC);
CREATE INDEX sessions_owner_activity_idx ON sessions (owner_id, last_activity_at DESC, id DESC) WHERE owner_id IS NOT NULL;
CREATE INDEX sessions_contact_idx ON sessions (contact_id, opened_at DESC);
CREATE INDEX sessions_members_idx ON sessions USING gin (member_ids);
CREATE INDEX sessions_supporters_idx ON sessions USING gin (supporter_ids);
CREATE INDEX sessions_tags_idx ON sessions USING gin (tags);
CREATE INDEX sessions_open_status_idx ON sessions (status, last_activity_at DESC, id DESC) WHERE status <> 'closed';

-- Per-agent read state: unread = sessions.in_count - read_in_count, or at least
-- one while marked_unread is set.
CREATE TABLE session_reads (
    session_id    uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    agent_id      uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    read_in_count integer NOT NULL DEFAULT 0,
    marked_unread boolean NOT NULL DEFAULT false,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, agent_id)
);

-- Messages are facts. Inbound ones are stored by the ingest path before the
-- workflow hears of them (session_id NULL until the receiving run adopts them);
-- platform_message_id de-duplicates platform retries, client_id agents' retries.
CREATE TABLE messages (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel_id          uuid NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    contact_id          uuid NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    session_id          uuid REFERENCES sessions (id) ON DELETE CASCADE,
    direction           text NOT NULL CHECK (direction IN ('in', 'out', 'note', 'system')),
    text                text NOT NULL DEFAULT '',
    attachments         jsonb NOT NULL DEFAULT '[]',
    status              text NOT NULL CHECK (status IN ('received', 'sending', 'sent', 'delivered', 'seen', 'failed')),
    failure_reason      text NOT NULL DEFAULT '',
    resendable          boolean NOT NULL DEFAULT false,
    sender_id           uuid REFERENCES agents (id) ON DELETE SET NULL,
    automatic           boolean NOT NULL DEFAULT false,
    platform_message_id text,
    client_id           text,
    -- sent_at is the platform's timestamp: per-conversation order follows it.
    sent_at             timestamptz NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX messages_platform_id_key ON messages (channel_id, platform_message_id) WHERE platform_message_id IS NOT NULL;
CREATE UNIQUE INDEX messages_client_id_key ON messages (session_id, client_id) WHERE client_id IS NOT NULL;
CREATE INDEX messages_contact_timeline_idx ON messages (contact_id, sent_at DESC, id DESC);
CREATE INDEX messages_unattached_idx ON messages (contact_id) WHERE session_id IS NULL;

-- session_events is the audit trail: every state change of a session, in the
-- workflow's order (seq), written idempotently by the projection.
CREATE TABLE session_events (
    session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    seq        integer NOT NULL,
    type       text NOT NULL,
    actor_id   uuid,
    data       jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL,
    PRIMARY KEY (session_id, seq)
);

-- +goose Down
DROP TABLE session_events;
DROP TABLE messages;
DROP TABLE session_reads;
DROP TABLE sessions;
DROP TABLE visitor_tokens;
DROP TABLE contacts;
DROP TABLE channels;
DROP TABLE agent_tokens;
DROP TABLE team_members;
DROP TABLE agents;
DROP TABLE teams;
