-- Retention (issue 16): how far deletion has gone. deleted_through is the highest event id ever deleted (0: none), so a
-- reader whose cursor is below it is told its history was cut; it never goes down. One row.
CREATE TABLE retention_state (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    deleted_through INTEGER NOT NULL,
    deleted_total   INTEGER NOT NULL
);
INSERT INTO retention_state (id, deleted_through, deleted_total) VALUES (1, 0, 0);

-- Retention keeps an event while a delivery of it is pending or a dead letter (redeliver must find it): this finds
-- one without scanning the outbox.
CREATE INDEX ix_deliveries_event ON webhook_deliveries (event_id, status);
