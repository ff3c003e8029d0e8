-- Webhooks: an outbox of events, each written in the same transaction as the change it
-- reports, and its delivery state. Rows are kept when their credential is deleted (no
-- foreign key): they are the record of what was sent.

-- A verification collect logs in only; its end is reported as credential.verified or
-- credential.verification_failed.
ALTER TABLE collects ADD COLUMN verify BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE webhook_events (
    -- msg_<uuid v4, 32 hex digits>: the `webhook-id` header, for the receiver's idempotency.
    id TEXT PRIMARY KEY,
    -- The order events were written in (1, 2, 3… over the whole table), computed by the
    -- application in the writing transaction. Delivery follows it per credential.
    seq BIGINT NOT NULL UNIQUE,
    -- The ordering key: events of one credential are delivered one after the other.
    credential_id TEXT NULL,
    -- collect.state, collect.done, collect.failed, credential.verified,
    -- credential.verification_failed, document.new.
    type TEXT NOT NULL,
    -- JSON: {"type", "timestamp", "data"}, the body sent (relative download URLs are made
    -- absolute at delivery).
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    -- pending | delivered | dead
    status TEXT NOT NULL,
    -- Attempts made since the event was written or last replayed.
    attempts INTEGER NOT NULL DEFAULT 0,
    -- When a pending event may be tried (again).
    next_attempt_at BIGINT NOT NULL,
    -- The HTTP status of the last attempt, if the receiver answered.
    last_status INTEGER NULL,
    -- Why the last attempt failed (status and the start of the body, or the network error).
    last_error TEXT NULL,
    delivered_at BIGINT NULL
);

CREATE INDEX webhook_events_status_seq ON webhook_events (status, seq);
CREATE INDEX webhook_events_credential_seq ON webhook_events (credential_id, seq);
