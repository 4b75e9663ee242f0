-- The start of a ledger commit in one round trip instead of three (PRC-4). Every statement a
-- commit sends waits for its answer, and a busy client answers late, so fewer of them shorten
-- the commit and the time the chain lock is held.
--
-- In this order, as the three statements did: claims the batch's keys (in key order, so two
-- writers claiming overlapping keys wait in turn and never deadlock), then, when it claimed
-- any, takes the chain lock and reads the head. The head is read by a statement of its own
-- after the lock: under READ COMMITTED (the ledger's isolation level) each statement of a
-- VOLATILE function takes a fresh snapshot, so it sees what the previous writer committed.
CREATE FUNCTION ledger_claim_and_lock(batch jsonb)
RETURNS TABLE (claimed jsonb, head_seq bigint, head_hash text, locked_at timestamptz)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  WITH c AS (
    INSERT INTO transaction_keys (merchant_id, transaction_id)
    SELECT k.merchant_id, k.transaction_id
    FROM jsonb_to_recordset(batch) AS k(merchant_id text, transaction_id text)
    ORDER BY k.merchant_id, k.transaction_id
    ON CONFLICT DO NOTHING
    RETURNING merchant_id, transaction_id
  )
  SELECT coalesce(jsonb_agg(jsonb_build_array(c.merchant_id, c.transaction_id)), '[]'::jsonb)
  INTO claimed FROM c;
  IF jsonb_array_length(claimed) > 0 THEN
    PERFORM pg_advisory_xact_lock(hashtextextended('txwatch.chain.' || current_schema(), 0));
    SELECT t.seq, t.row_hash INTO head_seq, head_hash
    FROM transactions t ORDER BY t.seq DESC LIMIT 1;
  END IF;
  locked_at := clock_timestamp();
  RETURN NEXT;
END
$$;

-- Pinned to this schema, as ensure_transactions_partition is: the tables it names and the lock
-- it takes (current_schema()) are this ledger's, whatever the caller's search_path.
DO $$
BEGIN
  EXECUTE format('ALTER FUNCTION ledger_claim_and_lock(jsonb) SET search_path = %I, pg_temp',
    current_schema());
END
$$;
