-- Access tokens (issue 6): only a SHA-256 hash of each secret is stored.
CREATE TABLE tokens (
    token_id        TEXT    PRIMARY KEY,
    name            TEXT    NOT NULL UNIQUE,
    hash            TEXT    NOT NULL UNIQUE,
    scope           INTEGER NOT NULL,
    session_pattern TEXT,
    created_at_ms   INTEGER NOT NULL,
    expires_at_ms   INTEGER,
    revoked_at_ms   INTEGER
);

-- A session registered under a token belongs to it.
ALTER TABLE sessions ADD COLUMN owner_token_id TEXT;
CREATE INDEX ix_sessions_owner ON sessions (owner_token_id) WHERE owner_token_id IS NOT NULL;
