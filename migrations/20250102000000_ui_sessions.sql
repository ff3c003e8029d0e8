-- Session tokens for the embedded UI: short-lived, scoped to one user, stored hashed.
CREATE TABLE ui_sessions (
    -- SHA-256 of the token, hex. The token itself is never stored.
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    connector TEXT NULL,
    credential_id TEXT NULL,
    redirect_url TEXT NULL,
    hide_end_screen BOOLEAN NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX ui_sessions_expires_at ON ui_sessions (expires_at);
