-- The PostgreSQL store's schema: the same tables as the SQLite store's migrations 001-006, plus what several nodes on
-- one database need (the id counter, webhook lane leases, the shared Data Protection key ring).

-- Event ids are handed out under this row's lock (see docs/postgres.md): every transaction that writes takes it
-- first and writes the new tip back before it commits, so ids commit in order and readers never skip one.
CREATE TABLE event_counter (
    only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    last_id  BIGINT  NOT NULL
);
INSERT INTO event_counter (only_row, last_id) VALUES (TRUE, 0);

CREATE TABLE events (
    id             BIGINT   PRIMARY KEY,
    event_type     TEXT     NOT NULL,
    payload        TEXT     NOT NULL,
    session_id     TEXT     NOT NULL,
    timestamp_ms   BIGINT   NOT NULL,
    channel        TEXT     NOT NULL,
    correlation_id TEXT,
    signal_level   INTEGER  NOT NULL,
    title          TEXT,
    tags           TEXT
);
CREATE INDEX ix_events_channel ON events (channel, id);
CREATE INDEX ix_events_type ON events (event_type, id);
CREATE INDEX ix_events_correlation ON events (correlation_id, id) WHERE correlation_id IS NOT NULL;
CREATE INDEX ix_events_level ON events (signal_level, id);
CREATE INDEX ix_events_session ON events (session_id, id);

CREATE TABLE event_traces (
    event_id    BIGINT PRIMARY KEY,
    traceparent TEXT   NOT NULL
);

CREATE TABLE sessions (
    session_id        TEXT   PRIMARY KEY,
    display_id        TEXT   NOT NULL,
    name              TEXT   NOT NULL,
    machine           TEXT   NOT NULL,
    cwd               TEXT   NOT NULL,
    repo              TEXT   NOT NULL,
    client_id         TEXT,
    registered_at_ms  BIGINT NOT NULL,
    last_heartbeat_ms BIGINT NOT NULL,
    cursor            BIGINT,
    deleted_at_ms     BIGINT,
    push_cursor       BIGINT,
    owner_token_id    TEXT
);
CREATE UNIQUE INDEX ux_sessions_client ON sessions (machine, client_id) WHERE client_id IS NOT NULL;
CREATE INDEX ix_sessions_display ON sessions (display_id) WHERE deleted_at_ms IS NULL;
CREATE INDEX ix_sessions_live ON sessions (last_heartbeat_ms) WHERE deleted_at_ms IS NULL;
CREATE INDEX ix_sessions_owner ON sessions (owner_token_id) WHERE owner_token_id IS NOT NULL;
CREATE INDEX ix_sessions_deleted ON sessions (deleted_at_ms) WHERE deleted_at_ms IS NOT NULL;

CREATE TABLE subscriptions (
    session_id    TEXT    NOT NULL,
    pattern       TEXT    NOT NULL,
    min_level     INTEGER NOT NULL,
    created_at_ms BIGINT  NOT NULL,
    PRIMARY KEY (session_id, pattern)
);

CREATE TABLE webhooks (
    webhook_id       TEXT     PRIMARY KEY,
    url              TEXT     NOT NULL,
    channel          TEXT     NOT NULL,  -- a prefix; '' matches every channel
    event_types      TEXT[],             -- NULL matches every type
    secret           BYTEA    NOT NULL,  -- encrypted with the key ring in dataprotection_keys
    active           BOOLEAN  NOT NULL,
    created_at_ms    BIGINT   NOT NULL,
    failing_since_ms BIGINT,
    disabled_reason  TEXT,
    deleted_at_ms    BIGINT
);

CREATE TABLE webhook_deliveries (
    id               BIGSERIAL PRIMARY KEY,
    webhook_id       TEXT      NOT NULL,
    event_id         BIGINT    NOT NULL,
    status           INTEGER   NOT NULL,  -- 0 pending, 1 delivered, 2 failed (dead letter), 3 cancelled
    attempts         INTEGER   NOT NULL,
    retry_index      INTEGER   NOT NULL,
    next_attempt_ms  BIGINT    NOT NULL,
    created_at_ms    BIGINT    NOT NULL,
    last_attempt_ms  BIGINT,
    last_status_code INTEGER,
    last_error       TEXT,
    delivered_at_ms  BIGINT
);
CREATE INDEX ix_deliveries_pending ON webhook_deliveries (webhook_id, id) WHERE status = 0;
CREATE INDEX ix_deliveries_event ON webhook_deliveries (event_id);

CREATE TABLE webhook_attempts (
    delivery_id BIGINT           NOT NULL,
    attempt     INTEGER          NOT NULL,
    at_ms       BIGINT           NOT NULL,
    status_code INTEGER,
    error       TEXT,
    duration_ms DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);

-- Which node sends a webhook's deliveries now: one lane per webhook across all nodes, so deliveries stay in order and
-- each is sent once. A lease lapses when its holder stops renewing it, or at once when the holder's listener
-- connection (holder_pid) is gone: a node killed with -9 hands its lanes over without waiting out the lease.
CREATE TABLE webhook_leases (
    webhook_id TEXT        PRIMARY KEY,
    node       TEXT        NOT NULL,
    holder_pid INTEGER,
    until      TIMESTAMPTZ NOT NULL
);

CREATE TABLE ingest_keys (
    key           TEXT   PRIMARY KEY,
    event_id      BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);

CREATE TABLE tokens (
    token_id        TEXT    PRIMARY KEY,
    name            TEXT    NOT NULL UNIQUE,
    hash            TEXT    NOT NULL UNIQUE,
    scope           INTEGER NOT NULL,
    session_pattern TEXT,
    created_at_ms   BIGINT  NOT NULL,
    expires_at_ms   BIGINT,
    revoked_at_ms   BIGINT
);

CREATE TABLE consumer_positions (
    consumer      TEXT   PRIMARY KEY,
    position      BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

-- ASP.NET Core Data Protection's key ring (the keys that encrypt webhook secrets), shared by every node.
CREATE TABLE dataprotection_keys (
    friendly_name TEXT PRIMARY KEY,
    xml           TEXT NOT NULL
);
