import type { Transaction } from "../transaction/types.ts";
import { type ChainRow, GENESIS_HASH, rowHash } from "./hash-chain.ts";
import { type AlertRow, alertOfRow, canonicalInstant, isoSql } from "./rows.ts";
import type { SqlClient } from "./sql-client.ts";
import type { Alert, AlertDraft, LedgerRecord, QuarantineRecord } from "./types.ts";

/** One writer extends the chain at a time, per schema; readers are never blocked. */
const CHAIN_LOCK =
  "SELECT pg_advisory_xact_lock(hashtextextended('txwatch.chain.' || current_schema(), 0))";

const keyOf = (merchantId: string, transactionId: string) => `${merchantId}\u0000${transactionId}`;

/**
 * The card as the contract defines it after ingest (token, BIN, last 4) and nothing else:
 * the type already forbids a number, but a cast or a plain-JS caller could smuggle one in,
 * and the ledger is permanent (PRIV-1).
 */
function tokenizedOnly(tx: Transaction): Transaction {
  const card = tx.paymentMethod.card;
  if (card === undefined) return tx;
  return {
    ...tx,
    paymentMethod: {
      ...tx.paymentMethod,
      card: { token: card.token, bin: card.bin, last4: card.last4 },
    },
  };
}

/** First day (YYYY-MM-01) of the UTC months whose partitions must exist before writing at `now`. */
export function monthsToPrepare(now: number): string[] {
  const DAY = 86_400_000;
  const months = new Set<string>();
  // Yesterday too: the database clock may still be in last month when ours has moved on.
  for (const at of [now - DAY, now]) months.add(new Date(at).toISOString().slice(0, 7));
  const current = new Date(now);
  const next = new Date(Date.UTC(current.getUTCFullYear(), current.getUTCMonth() + 1, 1));
  months.add(next.toISOString().slice(0, 7));
  return [...months].map((month) => `${month}-01`);
}

/** Creates the monthly partitions that are missing; one statement, its own transaction. */
export async function ensureMonthPartitions(db: SqlClient, monthStarts: string[]): Promise<void> {
  await db.query(
    "SELECT ensure_transactions_partition(m::date) FROM jsonb_array_elements_text($1::text::jsonb) AS m",
    [JSON.stringify(monthStarts)],
  );
}

/**
 * What one commit stored, each a subset of what it was given (the same objects, in order): the
 * records that were new, the alerts created, and the quarantine rows that were new.
 */
export interface StoredBatch {
  inserted: LedgerRecord[];
  alerts: Alert[];
  quarantined: QuarantineRecord[];
}

/**
 * Writes one batch in one transaction with a fixed number of statements, whatever its size:
 * each table gets one multi-row INSERT fed by a single jsonb parameter.
 */
export async function commitBatch(
  db: SqlClient,
  records: LedgerRecord[],
  alerts: AlertDraft[],
  quarantined: QuarantineRecord[],
): Promise<StoredBatch> {
  return db.transaction(async (tx) => {
    const inserted = records.length === 0 ? [] : await insertNewRecords(tx, records);
    const fresh = new Set(inserted.map((r) => keyOf(r.tx.merchantId, r.tx.transactionId)));
    const drafts = alerts.filter((a) => fresh.has(keyOf(a.merchantId, a.transactionId)));
    const created = drafts.length === 0 ? [] : await insertAlerts(tx, drafts);
    const stored = quarantined.length === 0 ? [] : await insertQuarantine(tx, quarantined);
    return { inserted, alerts: created, quarantined: stored };
  });
}

async function insertNewRecords(tx: SqlClient, records: LedgerRecord[]): Promise<LedgerRecord[]> {
  // Claimed before the chain lock, so writers hold it only while they extend the chain; in key
  // order, so two writers claiming overlapping keys (a redelivery) wait in turn, never deadlock.
  const keys = records.map((r) => ({
    merchant_id: r.tx.merchantId,
    transaction_id: r.tx.transactionId,
  }));
  const { rows: claimed } = await tx.query<{ merchant_id: string; transaction_id: string }>(
    `INSERT INTO transaction_keys (merchant_id, transaction_id)
     SELECT k.merchant_id, k.transaction_id
     FROM jsonb_to_recordset($1::text::jsonb) AS k(merchant_id text, transaction_id text)
     ORDER BY k.merchant_id, k.transaction_id
     ON CONFLICT DO NOTHING
     RETURNING merchant_id, transaction_id`,
    [JSON.stringify(keys)],
  );
  if (claimed.length === 0) return [];
  // The same transaction twice in one batch: the key was claimed once, the first one wins.
  const unclaimed = new Set(claimed.map((k) => keyOf(k.merchant_id, k.transaction_id)));
  const fresh = records.filter((r) => unclaimed.delete(keyOf(r.tx.merchantId, r.tx.transactionId)));

  await tx.query(CHAIN_LOCK);
  // Read after the lock, in a new statement, so this sees the head the last writer committed.
  const { rows: heads } = await tx.query<{
    seq: string | null;
    row_hash: string | null;
    now: string;
  }>(
    `SELECT h.seq::text AS seq, h.row_hash, ${isoSql("clock_timestamp()")} AS now
     FROM (SELECT 1) AS one
     LEFT JOIN LATERAL (SELECT seq, row_hash FROM transactions ORDER BY seq DESC LIMIT 1) AS h ON true`,
  );
  const head = heads[0]!;
  let seq = BigInt(head.seq ?? "0");
  let prevHash = head.row_hash ?? GENESIS_HASH;
  const recordedAt = head.now;

  const rows = fresh.map((record) => {
    seq += 1n;
    const stored = tokenizedOnly(record.tx);
    const decision = record.decision;
    const chain: ChainRow = {
      seq: seq.toString(),
      prevHash,
      merchantId: stored.merchantId,
      transactionId: stored.transactionId,
      customerId: stored.customerId,
      occurredAt: canonicalInstant(stored.occurredAt, "occurredAt"),
      receivedAt: canonicalInstant(record.receivedAt, "receivedAt"),
      recordedAt,
      amount: String(stored.amount),
      currency: stored.currency,
      tx: stored,
      decision: {
        action: decision.action,
        score: decision.score,
        reasons: decision.reasons,
        rulesetVersion: decision.rulesetVersion,
        decidedAt: canonicalInstant(decision.decidedAt, "decidedAt"),
      },
    };
    const hash = rowHash(chain);
    prevHash = hash;
    return { ...chain, rowHash: hash };
  });

  // Rows and their decisions in one statement: one round trip less while the lock is held.
  await tx.query(
    `WITH r AS (
       SELECT * FROM jsonb_to_recordset($1::text::jsonb) AS r(seq bigint, "merchantId" text,
         "transactionId" text, "customerId" text, "occurredAt" timestamptz,
         "receivedAt" timestamptz, "recordedAt" timestamptz, amount bigint, currency text,
         tx jsonb, "prevHash" text, "rowHash" text, decision jsonb)
     ), stored AS (
       INSERT INTO transactions (seq, merchant_id, transaction_id, customer_id, occurred_at,
         received_at, recorded_at, amount, currency, tx, prev_hash, row_hash)
       SELECT r.seq, r."merchantId", r."transactionId", r."customerId", r."occurredAt",
         r."receivedAt", r."recordedAt", r.amount, r.currency, r.tx, r."prevHash", r."rowHash"
       FROM r
     )
     INSERT INTO decisions (merchant_id, transaction_id, action, score, reasons, ruleset_version,
       decided_at)
     SELECT r."merchantId", r."transactionId", r.decision->>'action',
       (r.decision->>'score')::double precision, r.decision->'reasons',
       r.decision->>'rulesetVersion', (r.decision->>'decidedAt')::timestamptz
     FROM r`,
    [JSON.stringify(rows)],
  );
  return fresh;
}

async function insertAlerts(tx: SqlClient, drafts: AlertDraft[]): Promise<Alert[]> {
  // The opening of each alert is its first lifecycle event, written by the same statement.
  const { rows } = await tx.query<AlertRow>(
    `WITH created AS (
       INSERT INTO alerts (merchant_id, transaction_id, customer_id, rule, action, score, detail)
       SELECT a."merchantId", a."transactionId", a."customerId", a.rule, a.action, a.score, a.detail
       FROM jsonb_to_recordset($1::text::jsonb) AS a("merchantId" text, "transactionId" text,
         "customerId" text, rule text, action text, score double precision, detail text)
       ON CONFLICT DO NOTHING
       RETURNING *
     ), opened AS (
       INSERT INTO alert_events (alert_id, status, at) SELECT id, status, created_at FROM created
     )
     SELECT id::text AS id, merchant_id, transaction_id, customer_id, rule, action, score, detail,
       status, ${isoSql("created_at")} AS created_at, ${isoSql("updated_at")} AS updated_at
     FROM created ORDER BY created.id`,
    [JSON.stringify(drafts)],
  );
  return rows.map((row) => alertOfRow(row));
}

async function insertQuarantine(
  tx: SqlClient,
  records: QuarantineRecord[],
): Promise<QuarantineRecord[]> {
  const { rows } = await tx.query<{ source: string; sequence_number: string }>(
    `INSERT INTO quarantine (source, sequence_number, partition_key, reason, payload)
     SELECT q.source, q."sequenceNumber", q."partitionKey", q.reason, q.payload
     FROM jsonb_to_recordset($1::text::jsonb) AS q(source text, "sequenceNumber" text,
       "partitionKey" text, reason text, payload text)
     ON CONFLICT DO NOTHING
     RETURNING source, sequence_number`,
    [JSON.stringify(records)],
  );
  // The same record twice in one batch was stored once: the first one counts.
  const stored = new Set(rows.map((row) => quarantineKey(row.source, row.sequence_number)));
  return records.filter((q) => stored.delete(quarantineKey(q.source, q.sequenceNumber)));
}

const quarantineKey = (source: string, sequenceNumber: string) =>
  `${source}\u0000${sequenceNumber}`;
