-- Push subscriptions: a session hears channels matching these patterns at or above min_level.
CREATE TABLE subscriptions (
    session_id    TEXT    NOT NULL,
    pattern       TEXT    NOT NULL,
    min_level     INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (session_id, pattern)
) WITHOUT ROWID;

-- How far push delivery has gone for each session: a reconnecting stream resumes after it.
ALTER TABLE sessions ADD COLUMN push_cursor INTEGER;
