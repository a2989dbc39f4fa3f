-- The W3C traceparent of the span that published an event, when tracing was on: a webhook delivery of the event
-- continues that trace, so it can be followed back to the request that caused it. Only traced events have a row.
CREATE TABLE event_traces (
    event_id    INTEGER PRIMARY KEY,
    traceparent TEXT    NOT NULL
);
