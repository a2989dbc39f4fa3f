-- MCP Events webhook subscriptions (events/subscribe) are webhooks of their own kind: the subscription key beside the
-- url (principal, event name, canonical arguments JSON) and an expiry. All NULL for a register_webhook webhook.
ALTER TABLE webhooks ADD COLUMN principal TEXT;
ALTER TABLE webhooks ADD COLUMN event_name TEXT;
ALTER TABLE webhooks ADD COLUMN arguments TEXT;
ALTER TABLE webhooks ADD COLUMN expires_at_ms INTEGER;

-- Counting a principal's live subscriptions (the limit) and sweeping expired ones.
CREATE INDEX ix_webhooks_subscriptions ON webhooks (principal, expires_at_ms) WHERE event_name IS NOT NULL AND deleted_at_ms IS NULL;
