-- The event log. Ids only grow: rows are never deleted from the top, so SQLite's max(rowid)+1 never reuses one
-- and a cursor always means the same position. (Not AUTOINCREMENT: that costs an extra B-tree write per insert.)
CREATE TABLE events (
    id             INTEGER PRIMARY KEY,
    event_type     TEXT    NOT NULL,
    payload        TEXT    NOT NULL,
    session_id     TEXT    NOT NULL,
    timestamp_ms   INTEGER NOT NULL,
    channel        TEXT    NOT NULL,
    correlation_id TEXT,
    signal_level   INTEGER NOT NULL,
    title          TEXT,
    tags           TEXT
);

-- One index per get_events filter, each ending in id so a cursor read is a range scan in id order.
CREATE INDEX ix_events_channel ON events (channel, id);
CREATE INDEX ix_events_type ON events (event_type, id);
CREATE INDEX ix_events_correlation ON events (correlation_id, id) WHERE correlation_id IS NOT NULL;
CREATE INDEX ix_events_level ON events (signal_level, id);

CREATE TABLE sessions (
    session_id        TEXT    PRIMARY KEY,
    display_id        TEXT    NOT NULL,
    name              TEXT    NOT NULL,
    machine           TEXT    NOT NULL,
    cwd               TEXT    NOT NULL,
    repo              TEXT    NOT NULL,
    client_id         TEXT,
    registered_at_ms  INTEGER NOT NULL,
    last_heartbeat_ms INTEGER NOT NULL,
    cursor            INTEGER,
    deleted_at_ms     INTEGER
);

-- (machine, client_id) identifies a client across restarts; two machines may share a client id.
CREATE UNIQUE INDEX ux_sessions_client ON sessions (machine, client_id) WHERE client_id IS NOT NULL;
CREATE INDEX ix_sessions_display ON sessions (display_id) WHERE deleted_at_ms IS NULL;
CREATE INDEX ix_sessions_live ON sessions (last_heartbeat_ms) WHERE deleted_at_ms IS NULL;
