-- Retention: how far deletion has gone. deleted_through is the highest event id ever deleted (0: none), so a reader
-- whose cursor is below it is told its history was cut; it never goes down. One row, changed only by a write group
-- (which holds the event_counter lock), so sweeps from several nodes are serialized like every other write.
CREATE TABLE retention_state (
    only_row        BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    deleted_through BIGINT  NOT NULL,
    deleted_total   BIGINT  NOT NULL
);
INSERT INTO retention_state (only_row, deleted_through, deleted_total) VALUES (TRUE, 0, 0);

-- Retention keeps an event while a delivery of it is pending or a dead letter (redeliver must find it): this finds
-- one without scanning the outbox.
DROP INDEX IF EXISTS ix_deliveries_event;
CREATE INDEX ix_deliveries_event ON webhook_deliveries (event_id, status);
