-- The ledger's tables (PRC-4, PRC-5, QRY-1). Timestamps the hash chain covers are written
-- with millisecond precision by the application, so they read back exactly as hashed.

-- The exactly-once guard. A UNIQUE or PRIMARY KEY constraint on a partitioned table must
-- include the partition key (recorded_at), and recorded_at differs on every delivery, so
-- (merchant_id, transaction_id) cannot be unique on `transactions` itself: this small
-- non-partitioned table carries that key, and commitBatch inserts here first
-- (ON CONFLICT DO NOTHING RETURNING) to learn which records are new.
CREATE TABLE transaction_keys (
  merchant_id text NOT NULL,
  transaction_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (merchant_id, transaction_id)
);

-- Partitioned by the month it was recorded (server time) so old months can be detached and
-- archived whole; the ledger creates monthly partitions ahead of the months it writes
-- (ensure_transactions_partition below), and the DEFAULT partition catches anything else.
CREATE TABLE transactions (
  seq bigint NOT NULL CHECK (seq > 0),
  merchant_id text NOT NULL,
  transaction_id text NOT NULL,
  customer_id text NOT NULL,
  occurred_at timestamptz NOT NULL,
  received_at timestamptz NOT NULL,
  recorded_at timestamptz NOT NULL,
  amount bigint NOT NULL,
  currency text NOT NULL,
  -- The transaction as it left the API: card numbers already replaced by tokens (PRIV-1).
  tx jsonb NOT NULL,
  prev_hash text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
  row_hash text NOT NULL CHECK (row_hash ~ '^[0-9a-f]{64}$'),
  -- seq alone cannot be the key of a partitioned table (see transaction_keys); its uniqueness
  -- comes from the chain-head lock and is checked by verifyChain.
  PRIMARY KEY (seq, recorded_at),
  FOREIGN KEY (merchant_id, transaction_id) REFERENCES transaction_keys
) PARTITION BY RANGE (recorded_at);

CREATE TABLE transactions_default PARTITION OF transactions DEFAULT;

CREATE INDEX transactions_by_key ON transactions (merchant_id, transaction_id);
-- Export (per merchant) and replay (all merchants) page through occurred_at, seq.
CREATE INDEX transactions_by_merchant_time ON transactions (merchant_id, occurred_at, seq);
CREATE INDEX transactions_by_time ON transactions (occurred_at, seq);
CREATE INDEX transactions_by_customer ON transactions (merchant_id, customer_id, occurred_at);

CREATE TABLE decisions (
  merchant_id text NOT NULL,
  transaction_id text NOT NULL,
  action text NOT NULL CHECK (action IN ('allow', 'review', 'block')),
  score double precision NOT NULL,
  reasons jsonb NOT NULL,
  ruleset_version text NOT NULL,
  decided_at timestamptz NOT NULL,
  PRIMARY KEY (merchant_id, transaction_id),
  FOREIGN KEY (merchant_id, transaction_id) REFERENCES transaction_keys
);

CREATE TABLE alerts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  merchant_id text NOT NULL,
  transaction_id text NOT NULL,
  customer_id text NOT NULL,
  rule text NOT NULL,
  action text NOT NULL CHECK (action IN ('allow', 'review', 'block')),
  score double precision NOT NULL,
  detail text NOT NULL,
  status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'closed')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  -- One alert per transaction and rule, so a redelivered batch cannot raise it twice.
  UNIQUE (merchant_id, transaction_id, rule),
  FOREIGN KEY (merchant_id, transaction_id) REFERENCES transaction_keys
);

-- Analysts list newest first, optionally by status or customer; (created_at, id) is the
-- keyset the cursor carries.
CREATE INDEX alerts_by_time ON alerts (merchant_id, created_at DESC, id DESC);
CREATE INDEX alerts_by_status ON alerts (merchant_id, status, created_at DESC, id DESC);
CREATE INDEX alerts_by_customer ON alerts (merchant_id, customer_id, created_at DESC, id DESC);

-- alerts.status changes; this is its append-only history (who may not rewrite it is below).
CREATE TABLE alert_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  alert_id bigint NOT NULL REFERENCES alerts (id),
  status text NOT NULL CHECK (status IN ('open', 'acknowledged', 'closed')),
  note text,
  at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX alert_events_by_alert ON alert_events (alert_id, id);

CREATE TABLE quarantine (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  source text NOT NULL,
  sequence_number text NOT NULL,
  partition_key text NOT NULL,
  reason text NOT NULL,
  -- Masked by the processor before it gets here: no card number (PRIV-1).
  payload text NOT NULL,
  quarantined_at timestamptz NOT NULL DEFAULT now(),
  -- A redelivered bad record is the same stream record: kept once.
  UNIQUE (source, sequence_number)
);

CREATE INDEX quarantine_by_time ON quarantine (quarantined_at DESC, id DESC);

CREATE TABLE api_keys (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  merchant_id text NOT NULL,
  -- SHA-256 of the key: the key itself is never stored.
  key_hash text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);

CREATE INDEX api_keys_by_merchant ON api_keys (merchant_id) WHERE revoked_at IS NULL;
