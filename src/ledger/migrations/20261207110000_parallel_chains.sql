-- Several hash chains instead of one (SCL-3). One chain admits one writer at a time, so every
-- stream partition and Kinesis shard used to queue on its lock. Now a batch commits on the chain
-- of the partition it came from: batches of different partitions take different locks and
-- commit side by side, those of one partition still one after another.
--
-- Rows that exist already were all written on the one chain: they become chain 0, whose rows
-- keep their seq and hashes, so an old ledger verifies as before and its new rows continue it.
ALTER TABLE transactions ADD COLUMN chain integer NOT NULL DEFAULT 0;
-- Which chain a key's row went to: a key whose row is gone then names the chain cut short.
ALTER TABLE transaction_keys ADD COLUMN chain integer NOT NULL DEFAULT 0;

-- A chain's head (its highest seq) is read on every commit, and verify walks each chain in order.
-- Built in this transaction over every partition: commits wait until it is done.
CREATE INDEX transactions_by_chain ON transactions (chain, seq, recorded_at);

-- seq stays unique across the ledger (export, replay, history rebuilds and archives page by it)
-- but no longer comes from a chain's head, which would need one lock for all chains: it comes
-- from this sequence. Each chain takes its values under its own lock, so they grow along every
-- chain; a rolled-back commit leaves a gap, so along a chain seq increases without being
-- consecutive, and the prev_hash links are what prove that no row is missing. CACHE 1 (the
-- default, stated because it matters): cached blocks per session would hand a later commit of a
-- chain a smaller number than an earlier one.
CREATE SEQUENCE transactions_seq AS bigint MINVALUE 1 CACHE 1;
SELECT setval('transactions_seq', max(seq)) FROM transactions HAVING max(seq) IS NOT NULL;

-- Every chain that ever held a row, registered by its first commit: checkpoints name the head of
-- each, and verify knows a chain that lost all its rows from the chain that never had any.
CREATE TABLE ledger_chains (
  chain integer PRIMARY KEY CHECK (chain >= 0),
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO ledger_chains (chain) SELECT 0 WHERE EXISTS (SELECT 1 FROM transactions);

-- Checkpoints tie the chains together. Each chain alone shows a row altered, removed or moved
-- within it, but not that it lost its newest rows, all of them, or its place to another chain.
-- A checkpoint records every chain's head (chain, seq, row_hash) and is itself hash-chained to
-- the previous checkpoint (ids 1, 2, ... without gaps): verify checks that every head a
-- checkpoint names is still a row of that chain with that hash. Written by a commit every so
-- many rows or seconds (ledger_claim_and_lock), never more than one at a time.
CREATE TABLE ledger_checkpoints (
  id bigint PRIMARY KEY CHECK (id > 0),
  created_at timestamptz NOT NULL,
  -- [{"chain": 0, "seq": "41", "hash": "<row_hash>"}, ...] ordered by chain.
  heads jsonb NOT NULL CHECK (jsonb_typeof(heads) = 'array'),
  prev_hash text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
  checkpoint_hash text NOT NULL CHECK (checkpoint_hash ~ '^[0-9a-f]{64}$')
);

-- Append-only, as the ledger's other records (20261121090100_append_only.sql).
CREATE TRIGGER ledger_no_update_delete BEFORE UPDATE OR DELETE ON ledger_chains
  FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger_chains
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();
CREATE TRIGGER ledger_no_update_delete BEFORE UPDATE OR DELETE ON ledger_checkpoints
  FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();
REVOKE UPDATE, DELETE, TRUNCATE ON ledger_chains, ledger_checkpoints FROM PUBLIC;

-- The one-chain version would chain rows onto the newest row of any chain: a process still
-- running the old code must fail its commits (SQLSTATE 42883, retried as an outage) until it is
-- replaced, never write.
DROP FUNCTION ledger_claim_and_lock(jsonb);

-- The start of a commit in one round trip, as before (PRC-4), now on one chain: claims the
-- batch's keys (in key order, so writers of overlapping keys wait in turn and never deadlock),
-- then, when it claimed any, takes the chain's lock, reads the chain's head and draws a seq per
-- claimed key. The head is read by a statement of its own after the lock: under READ COMMITTED
-- each statement of a VOLATILE function takes a fresh snapshot, so it sees what the chain's
-- previous writer committed.
--
-- The lock is an advisory lock on (this schema, chain): no table row to lock (that would need
-- UPDATE on an append-only table) and nothing other chains ever wait for.
--
-- When a checkpoint is due (none yet, checkpoint_rows seqs drawn since the last one, or
-- checkpoint_ms elapsed) it also returns what the commit must complete and insert: the next id,
-- the previous checkpoint's hash, the time, and the heads of the other chains; the commit adds
-- its own chain's new head and the hash. Only a commit that gets the checkpoint lock at once
-- writes one: the others go on without waiting, so checkpoints never hold the hot path up.
CREATE FUNCTION ledger_claim_and_lock(
  batch jsonb,
  chain_id integer,
  checkpoint_rows bigint,
  checkpoint_ms bigint
)
RETURNS TABLE (
  claimed jsonb,
  seqs jsonb,
  head_seq bigint,
  head_hash text,
  locked_at timestamptz,
  checkpoint_base jsonb
)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  claimed_count integer;
  last_seq bigint;
  last_id bigint;
  last_hash text;
  last_at timestamptz;
  last_through bigint;
  checkpoint_at timestamptz;
BEGIN
  WITH c AS (
    INSERT INTO transaction_keys (merchant_id, transaction_id, chain)
    SELECT k.merchant_id, k.transaction_id, chain_id
    FROM jsonb_to_recordset(batch) AS k(merchant_id text, transaction_id text)
    ORDER BY k.merchant_id, k.transaction_id
    ON CONFLICT DO NOTHING
    RETURNING merchant_id, transaction_id
  )
  SELECT coalesce(jsonb_agg(jsonb_build_array(c.merchant_id, c.transaction_id)), '[]'::jsonb)
  INTO claimed FROM c;
  claimed_count := jsonb_array_length(claimed);
  seqs := '[]'::jsonb;
  IF claimed_count > 0 THEN
    PERFORM pg_advisory_xact_lock(hashtext('txwatch.chain.' || current_schema()), chain_id);
    -- A range, not "=", and ordered by chain too: with "=" the planner drops chain from the
    -- order and may walk the primary key (seq) down past other chains' rows, all of them when
    -- this chain has been idle; only the chain index gives this order, one probe a partition.
    SELECT t.seq, t.row_hash INTO head_seq, head_hash
    FROM transactions t WHERE t.chain BETWEEN chain_id AND chain_id
    ORDER BY t.chain DESC, t.seq DESC LIMIT 1;
    IF head_seq IS NULL THEN
      INSERT INTO ledger_chains (chain) VALUES (chain_id) ON CONFLICT DO NOTHING;
    END IF;
    SELECT jsonb_agg(s.seq::text ORDER BY s.seq), max(s.seq) INTO seqs, last_seq
    FROM (SELECT nextval('transactions_seq') AS seq FROM generate_series(1, claimed_count)) s;

    SELECT k.id, k.checkpoint_hash, k.created_at,
      (SELECT max((h->>'seq')::bigint) FROM jsonb_array_elements(k.heads) h)
    INTO last_id, last_hash, last_at, last_through
    FROM ledger_checkpoints k ORDER BY k.id DESC LIMIT 1;
    -- Nested, not AND: SQL does not promise to evaluate the cheap test first, and a commit
    -- holding the lock without writing would make the one that is due skip.
    IF last_id IS NULL OR last_seq - coalesce(last_through, 0) >= checkpoint_rows
        OR clock_timestamp() - last_at >= checkpoint_ms * interval '1 millisecond' THEN
      IF pg_try_advisory_xact_lock(hashtext('txwatch.checkpoint.' || current_schema()), 0) THEN
        -- Read again under the lock: the last holder may have written one meanwhile.
        SELECT k.id, k.checkpoint_hash, k.created_at,
          (SELECT max((h->>'seq')::bigint) FROM jsonb_array_elements(k.heads) h)
        INTO last_id, last_hash, last_at, last_through
        FROM ledger_checkpoints k ORDER BY k.id DESC LIMIT 1;
        checkpoint_at := clock_timestamp();
        IF last_id IS NULL OR last_seq - coalesce(last_through, 0) >= checkpoint_rows
            OR checkpoint_at - last_at >= checkpoint_ms * interval '1 millisecond' THEN
          SELECT jsonb_build_object(
            'id', (coalesce(last_id, 0) + 1)::text,
            'prevHash', last_hash,
            'createdAt', to_char(checkpoint_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
            'heads', coalesce(jsonb_agg(jsonb_build_object(
              'chain', c.chain, 'seq', h.seq::text, 'hash', h.row_hash) ORDER BY c.chain),
              '[]'::jsonb))
          INTO checkpoint_base
          FROM ledger_chains c
          CROSS JOIN LATERAL (SELECT t.seq, t.row_hash FROM transactions t
            WHERE t.chain BETWEEN c.chain AND c.chain  -- the chain index, as above
            ORDER BY t.chain DESC, t.seq DESC LIMIT 1) h
          WHERE c.chain <> chain_id;
        END IF;
      END IF;
    END IF;
  END IF;
  locked_at := clock_timestamp();
  RETURN NEXT;
END
$$;

-- Pinned to this schema, as ensure_transactions_partition is: the tables it names and the locks
-- it takes (current_schema()) are this ledger's, whatever the caller's search_path.
DO $$
BEGIN
  EXECUTE format('ALTER FUNCTION ledger_claim_and_lock(jsonb, integer, bigint, bigint) '
    'SET search_path = %I, pg_temp', current_schema());
END
$$;
