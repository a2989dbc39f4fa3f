-- Webhooks out: registrations, an outbox of deliveries written in the same transaction as their event, and a log
-- of every attempt. Webhooks in: idempotency keys of ingested requests.
CREATE TABLE webhooks (
    webhook_id       TEXT    PRIMARY KEY,
    url              TEXT    NOT NULL,
    channel          TEXT    NOT NULL,  -- a prefix; '' matches every channel
    event_types      TEXT,              -- JSON array; NULL matches every type
    secret           BLOB    NOT NULL,  -- encrypted (ASP.NET Core Data Protection, keys outside this file)
    active           INTEGER NOT NULL,
    created_at_ms    INTEGER NOT NULL,
    failing_since_ms INTEGER,           -- first failure since the last success
    disabled_reason  TEXT,
    deleted_at_ms    INTEGER
);

CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY,
    webhook_id       TEXT    NOT NULL,
    event_id         INTEGER NOT NULL,
    status           INTEGER NOT NULL,  -- 0 pending, 1 delivered, 2 failed (dead letter), 3 cancelled
    attempts         INTEGER NOT NULL,
    retry_index      INTEGER NOT NULL,  -- attempts since (re)queued: the position in the retry schedule
    next_attempt_ms  INTEGER NOT NULL,
    created_at_ms    INTEGER NOT NULL,
    last_attempt_ms  INTEGER,
    last_status_code INTEGER,
    last_error       TEXT,
    delivered_at_ms  INTEGER
);

-- The sender walks each webhook's pending deliveries in order; finished rows leave this index.
CREATE INDEX ix_deliveries_pending ON webhook_deliveries (webhook_id, id) WHERE status = 0;

CREATE TABLE webhook_attempts (
    delivery_id INTEGER NOT NULL,
    attempt     INTEGER NOT NULL,
    at_ms       INTEGER NOT NULL,
    status_code INTEGER,
    error       TEXT,
    duration_ms REAL    NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
) WITHOUT ROWID;

CREATE TABLE ingest_keys (
    key           TEXT    PRIMARY KEY,
    event_id      INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
