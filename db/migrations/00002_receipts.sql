-- Delivery receipts that arrive before the send they report has recorded
-- the platform's message id (a fast platform, a slow database) wait here
-- until it does. Reads and writes of one platform message id take the same
-- advisory lock (LockPlatformMessage), so a receipt is never left behind.

-- +goose Up
CREATE TABLE message_receipts (
    channel_id          uuid NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    platform_message_id text NOT NULL,
    status              text NOT NULL CHECK (status IN ('sent', 'delivered', 'seen', 'failed')),
    failure_reason      text NOT NULL DEFAULT '',
    resendable          boolean NOT NULL DEFAULT false,
    received_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel_id, platform_message_id, status)
);

-- +goose Down
DROP TABLE message_receipts;
