-- Positions of consumers that follow the log outside sessions (issue 14: an MQTT bridge's outbound side).
CREATE TABLE consumer_positions (
    consumer      TEXT    PRIMARY KEY,
    position      INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
