-- Alert delivery as an outbox (REL-6): the ledger's alerts are the outbox, and each delivery
-- channel (the webhook, the SNS topic) keeps here how far it has got. An alert is delivered
-- from the ledger, in id (commit) order, and the channel's cursor moves past it only once the
-- receiver took it or it was dead-lettered; so a receiver that is down loses nothing.

-- One row per channel. Mutable on purpose (the cursor and the lease move); what it settles is
-- recorded in the append-only alerts and alert_dead_letters.
CREATE TABLE alert_delivery (
  channel text PRIMARY KEY CHECK (channel IN ('webhook', 'sns')),
  -- The last alert (alerts.id) settled on the channel, delivered or dead-lettered; the alerts
  -- above it are undelivered. 0: none settled yet.
  cursor_id bigint NOT NULL CHECK (cursor_id >= 0),
  -- The process delivering the channel, until lease_expires_at (database time): several
  -- processes may share a ledger (the API tasks on AWS), one at a time delivers a channel.
  lease_owner text,
  lease_expires_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((lease_owner IS NULL) = (lease_expires_at IS NULL))
);

-- SNS is the channel of every AWS stack, whose processor published inline before this
-- migration: its cursor starts here, at the alerts' tail when the owner step migrates (before
-- the new processor and API tasks roll), so nothing committed during the roll-out is skipped
-- (what the old processor also published then is delivered twice: at least once). The webhook
-- is optional: its cursor starts at the tail when a monitor first delivers it
-- (openAlertChannel), not at a migration long before the URL was configured.
INSERT INTO alert_delivery (channel, cursor_id) SELECT 'sns', coalesce(max(id), 0) FROM alerts;

-- Alerts a channel gave up on: refused for good by the receiver (an HTTP 4xx other than 408
-- and 429, an SNS entry at fault), or still undelivered past the configured age or attempts.
-- The channel's cursor moves past them in the same transaction that records them.
CREATE TABLE alert_dead_letters (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  channel text NOT NULL CHECK (channel IN ('webhook', 'sns')),
  alert_id bigint NOT NULL REFERENCES alerts (id),
  -- What the receiver answered or why the channel stopped trying: a status or error code,
  -- never a URL (it may carry a token) nor alert content.
  reason text NOT NULL,
  attempts integer NOT NULL CHECK (attempts >= 0),
  dead_lettered_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (channel, alert_id)
);

CREATE INDEX alert_dead_letters_by_time ON alert_dead_letters (dead_lettered_at DESC, id DESC);

-- Append-only, as the ledger's other records (20261121090100_append_only.sql).
CREATE TRIGGER ledger_no_update_delete BEFORE UPDATE OR DELETE ON alert_dead_letters
  FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON alert_dead_letters
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();
REVOKE UPDATE, DELETE, TRUNCATE ON alert_dead_letters FROM PUBLIC;
