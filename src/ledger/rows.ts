import type { Action, Decision, Reason, Transaction } from "../transaction/types.ts";
import type { ChainRow } from "./hash-chain.ts";
import type { Alert, StoredTransaction } from "./types.ts";

/**
 * Instants leave the database as text built in SQL, never as driver Date objects: pg and
 * PGlite parse timestamps differently and a Date drops microseconds. Millisecond text is what
 * the API shows and what the hash chain covers.
 */
export function isoSql(column: string): string {
  return `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}

/** Full precision, for keyset cursors that must compare equal to the stored value. */
export function isoMicrosSql(column: string): string {
  return `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

/** An instant from outside, in the form the ledger stores and hashes (ms, UTC). */
export function canonicalInstant(value: string, what: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new Error(`${what} is not a valid instant: ${JSON.stringify(value)}`);
  return new Date(ms).toISOString();
}

/** A ledger row joined with its decision; decision columns are null only if it was removed. */
export interface LedgerRow {
  chain: number;
  seq: string;
  prev_hash: string;
  row_hash: string;
  merchant_id: string;
  transaction_id: string;
  customer_id: string;
  occurred_at: string;
  occurred_key: string;
  received_at: string;
  recorded_at: string;
  recorded_key: string;
  amount: string;
  currency: string;
  tx: Transaction;
  action: Action | null;
  score: number | null;
  reasons: Reason[] | null;
  ruleset_version: string | null;
  decided_at: string | null;
}

export const LEDGER_ROW_COLUMNS = `
  t.chain, t.seq::text AS seq, t.prev_hash, t.row_hash, t.merchant_id, t.transaction_id, t.customer_id,
  ${isoSql("t.occurred_at")} AS occurred_at, ${isoMicrosSql("t.occurred_at")} AS occurred_key,
  ${isoSql("t.received_at")} AS received_at,
  ${isoSql("t.recorded_at")} AS recorded_at, ${isoMicrosSql("t.recorded_at")} AS recorded_key,
  t.amount::text AS amount, t.currency, t.tx,
  d.action, d.score, d.reasons, d.ruleset_version, ${isoSql("d.decided_at")} AS decided_at`;

/** LEFT JOIN: verifyChain must see a row whose decision went missing, to report it. */
export const LEDGER_ROW_FROM = `transactions t LEFT JOIN decisions d
  ON d.merchant_id = t.merchant_id AND d.transaction_id = t.transaction_id`;

function decisionOf(row: LedgerRow): Decision | null {
  if (row.action === null || row.score === null || row.reasons === null) return null;
  if (row.ruleset_version === null || row.decided_at === null) return null;
  return {
    action: row.action,
    score: row.score,
    reasons: row.reasons,
    rulesetVersion: row.ruleset_version,
    decidedAt: row.decided_at,
  };
}

export function storedTransactionOf(row: LedgerRow): StoredTransaction {
  const decision = decisionOf(row);
  if (decision === null) {
    throw new Error(
      `ledger row ${row.seq} (${row.merchant_id}/${row.transaction_id}) has no decision`,
    );
  }
  return {
    transaction: row.tx,
    receivedAt: row.received_at,
    recordedAt: row.recorded_at,
    decision,
    seq: row.seq,
  };
}

/** What the hash covers, as read back; null when the decision is missing. */
export function chainRowOf(row: LedgerRow): ChainRow | null {
  const decision = decisionOf(row);
  if (decision === null) return null;
  return {
    seq: row.seq,
    prevHash: row.prev_hash,
    merchantId: row.merchant_id,
    transactionId: row.transaction_id,
    customerId: row.customer_id,
    occurredAt: row.occurred_at,
    receivedAt: row.received_at,
    recordedAt: row.recorded_at,
    amount: row.amount,
    currency: row.currency,
    tx: row.tx,
    decision,
  };
}

export interface AlertRow {
  id: string;
  merchant_id: string;
  transaction_id: string;
  customer_id: string;
  rule: string;
  action: Alert["action"];
  score: number;
  detail: string;
  status: Alert["status"];
  created_at: string;
  updated_at: string;
}

export function alertOfRow(row: AlertRow, notes: Alert["notes"] = []): Alert {
  return {
    id: row.id,
    merchantId: row.merchant_id,
    transactionId: row.transaction_id,
    customerId: row.customer_id,
    rule: row.rule,
    action: row.action,
    score: row.score,
    detail: row.detail,
    status: row.status,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    notes,
  };
}
