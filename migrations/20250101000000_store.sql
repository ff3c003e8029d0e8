-- The persistent store. Portable SQL: SQLite (default) and Postgres accept it as is.
-- Timestamps are BIGINT unix milliseconds; ids are TEXT uuid v4.

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL
);

CREATE TABLE credentials (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    connector TEXT NOT NULL,
    -- JSON object of the NON-secret field values.
    fields TEXT NOT NULL,
    -- JSON object: field name -> base64(nonce || ciphertext), encrypted under the master key.
    secrets TEXT NOT NULL,
    -- The saved browser session, encrypted; wiped on delete.
    session TEXT NULL,
    state INTEGER NOT NULL DEFAULT 0,
    last_collect_id TEXT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE INDEX credentials_user_id ON credentials (user_id);

CREATE TABLE collects (
    id TEXT PRIMARY KEY,
    credential_id TEXT NOT NULL REFERENCES credentials(id) ON DELETE CASCADE,
    background BOOLEAN NOT NULL,
    state INTEGER NOT NULL,
    error_code TEXT NULL,
    error_message TEXT NULL,
    -- JSON: what the collect extracted.
    records TEXT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    finished_at BIGINT NULL
);

CREATE INDEX collects_credential_created ON collects (credential_id, created_at);

CREATE TABLE collect_events (
    collect_id TEXT NOT NULL REFERENCES collects(id) ON DELETE CASCADE,
    -- 0, 1, 2… per collect, computed by the application in the writing transaction.
    seq INTEGER NOT NULL,
    state INTEGER NOT NULL,
    message TEXT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (collect_id, seq)
);

CREATE TABLE documents (
    id TEXT PRIMARY KEY,
    credential_id TEXT NOT NULL REFERENCES credentials(id) ON DELETE CASCADE,
    collect_id TEXT NOT NULL REFERENCES collects(id) ON DELETE CASCADE,
    list TEXT NOT NULL,
    -- The site's own id for the document.
    doc_id TEXT NULL,
    sha256 TEXT NOT NULL,
    ext TEXT NOT NULL,
    content_type TEXT NULL,
    bytes BIGINT NOT NULL,
    url TEXT NOT NULL,
    date TEXT NULL,
    amount DOUBLE PRECISION NULL,
    currency TEXT NULL,
    -- JSON object.
    metadata TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX documents_collect_id ON documents (collect_id);
CREATE INDEX documents_credential_id ON documents (credential_id);
