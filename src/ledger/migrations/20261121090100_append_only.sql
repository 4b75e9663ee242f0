-- Append-only, enforced by the database rather than by the application's good manners
-- (PRC-4): rows of the ledger tables can be inserted and read, never changed or removed.
-- alerts is deliberately absent: its status moves through the lifecycle, and every move is
-- an appended alert_events row.

CREATE FUNCTION ledger_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the ledger is append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END
$$;

-- Row triggers on the partitioned parent are cloned onto every partition, present and future.
CREATE TRIGGER ledger_no_update_delete BEFORE UPDATE OR DELETE ON transactions
  FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();
CREATE TRIGGER ledger_no_update_delete BEFORE UPDATE OR DELETE ON transaction_keys
  FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();
CREATE TRIGGER ledger_no_update_delete BEFORE UPDATE OR DELETE ON decisions
  FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();
CREATE TRIGGER ledger_no_update_delete BEFORE UPDATE OR DELETE ON alert_events
  FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();
CREATE TRIGGER ledger_no_update_delete BEFORE UPDATE OR DELETE ON quarantine
  FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();

-- TRUNCATE skips row triggers, and statement triggers are not cloned onto partitions: each
-- partition gets its own (the default one here, monthly ones in the function below).
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON transactions
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON transactions_default
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON transaction_keys
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON decisions
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON alert_events
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON quarantine
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();

-- The triggers stop everyone but a superuser or the tables' owner disabling them; the
-- privileges make the intent explicit for every other role (the application's role is
-- granted INSERT and SELECT only by the platform, never ownership).
REVOKE UPDATE, DELETE, TRUNCATE ON transactions, transactions_default, transaction_keys,
  decisions, alert_events, quarantine FROM PUBLIC;

-- Creates the month's partition of transactions with the same protections, once. Called by
-- the ledger before it writes in a month; concurrent callers are serialised by the lock.
-- Returns false when it already existed, or when rows for that month already sit in the
-- default partition (they stay there; the default partition is the safety net).
-- SECURITY DEFINER: the application's role only inserts and selects (it owns nothing, so it
-- cannot disable the triggers), yet must be able to open next month; it runs as the owner,
-- with its search_path pinned to this schema below so callers cannot redirect it.
CREATE FUNCTION ensure_transactions_partition(month_start date) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
  first_day date := date_trunc('month', month_start)::date;
  schema_name text := current_schema();
  part text := 'transactions_y' || to_char(first_day, 'YYYY') || 'm' || to_char(first_day, 'MM');
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('txwatch.partitions.' || schema_name, 0));
  IF to_regclass(format('%I.%I', schema_name, part)) IS NOT NULL THEN
    RETURN false;
  END IF;
  BEGIN
    EXECUTE format(
      'CREATE TABLE %I.%I PARTITION OF %I.transactions FOR VALUES FROM (%L) TO (%L)',
      schema_name, part, schema_name,
      to_char(first_day, 'YYYY-MM-DD') || ' 00:00:00+00',
      to_char(first_day + interval '1 month', 'YYYY-MM-DD') || ' 00:00:00+00');
  EXCEPTION WHEN check_violation THEN
    RAISE WARNING 'partition % not created: the default partition holds rows of that month', part;
    RETURN false;
  END;
  EXECUTE format(
    'CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON %I.%I '
    'FOR EACH STATEMENT EXECUTE FUNCTION %I.ledger_reject_change()',
    schema_name, part, schema_name);
  EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %I.%I FROM PUBLIC', schema_name, part);
  RETURN true;
END
$$;

DO $$
BEGIN
  EXECUTE format('ALTER FUNCTION ensure_transactions_partition(date) SET search_path = %I, pg_temp',
    current_schema());
END
$$;
