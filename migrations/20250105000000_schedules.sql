-- Per-credential schedules of background collects. Portable SQL, like the first migration:
-- timestamps are BIGINT unix milliseconds, durations BIGINT milliseconds.
CREATE TABLE schedules (
    credential_id TEXT PRIMARY KEY REFERENCES credentials(id) ON DELETE CASCADE,
    -- The interval between two collects, and the random delay added to it (0..=jitter).
    every_ms BIGINT NOT NULL,
    jitter_ms BIGINT NOT NULL,
    -- When the scheduler starts the next background collect.
    next_collect_at BIGINT NOT NULL,
    -- When the scheduler last started (or attached to) a collect of this credential.
    last_started_at BIGINT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE INDEX schedules_next_collect_at ON schedules (next_collect_at);
