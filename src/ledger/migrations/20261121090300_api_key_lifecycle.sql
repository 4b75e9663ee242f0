-- API keys with a life cycle (SEC-7): an optional expiry, revocation that may be scheduled (a
-- rotated key keeps working until its grace period ends: revoked_at in the future), and an
-- append-only audit of every key event.

ALTER TABLE api_keys ADD COLUMN expires_at timestamptz;

-- `keys list --merchant` shows revoked and expired keys too (the partial index of the init
-- migration only covers keys never revoked).
CREATE INDEX api_keys_by_merchant_all ON api_keys (merchant_id, id);

-- Who did what to which key, and when. Never the key nor its hash.
CREATE TABLE api_key_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  key_id bigint NOT NULL REFERENCES api_keys (id),
  merchant_id text NOT NULL,
  event text NOT NULL CHECK (event IN ('created', 'rotated', 'revoked', 'expired_refused')),
  -- cli: `txwatch keys` on the ledger directly; admin-socket: `txwatch keys` answered by the
  -- running monitor; aws-admin: the AWS admin function; monitor: the demo key of a first
  -- start; api: the API refusing an expired key (once per key).
  actor text NOT NULL CHECK (actor IN ('cli', 'admin-socket', 'aws-admin', 'monitor', 'api')),
  at timestamptz NOT NULL DEFAULT now(),
  -- created: expiresAt, rotatedFrom; rotated: replacedBy, revokesAt.
  detail jsonb NOT NULL DEFAULT '{}'::jsonb
);

CREATE INDEX api_key_events_by_merchant ON api_key_events (merchant_id, id);
-- An expired key used again and again is audited once, not once per request.
CREATE UNIQUE INDEX api_key_events_expired_once ON api_key_events (key_id)
  WHERE event = 'expired_refused';
-- The revocation generation the API polls (count of the events that take keys away).
CREATE INDEX api_key_events_invalidating ON api_key_events (id)
  WHERE event IN ('rotated', 'revoked');

-- Append-only, as the ledger's other tables (20261121090100_append_only.sql).
CREATE TRIGGER ledger_no_update_delete BEFORE UPDATE OR DELETE ON api_key_events
  FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON api_key_events
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();
REVOKE UPDATE, DELETE, TRUNCATE ON api_key_events FROM PUBLIC;
