import { transactionKey } from "../transaction/key.ts";
import type { Transaction } from "../transaction/types.ts";
import { type CheckpointPolicy, DEFAULT_CHECKPOINTS } from "./chains.ts";
import {
  type ChainRow,
  type Checkpoint,
  type CheckpointHead,
  checkpointHash,
  GENESIS_HASH,
  rowHash,
} from "./hash-chain.ts";
import { type AlertRow, alertOfRow, canonicalInstant, isoSql } from "./rows.ts";
import type { SqlClient } from "./sql-client.ts";
import type { Alert, AlertDraft, LedgerRecord, QuarantineRecord } from "./types.ts";

/** One text per quarantined stream record: its source and sequence number name it. */
const quarantineKeyOf = (q: Pick<QuarantineRecord, "source" | "sequenceNumber">) =>
  `${q.source}\u0000${q.sequenceNumber}`;

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
 * What one commit stored: the records that were new and the quarantine rows that were new (each
 * a subset of what it was given: the same objects, in order), and the alerts it created.
 */
export interface StoredBatch {
  inserted: LedgerRecord[];
  alerts: Alert[];
  quarantined: QuarantineRecord[];
}

const nothing = (): StoredBatch => ({ inserted: [], alerts: [], quarantined: [] });

/** Where a commit goes: its chain (SCL-3) and when that chain also writes a checkpoint. */
export interface CommitTarget {
  chain: number;
  checkpoints: CheckpointPolicy;
}

/** A checkpoint to insert with the batch: its row, hash included. */
type CheckpointRow = Checkpoint & { hash: string };

type Chained = ChainRow & { rowHash: string };

/**
 * Writes one batch in one transaction of four round trips, whatever its size: BEGIN; claiming
 * the keys, taking the chain's lock and reading its head (ledger_claim_and_lock); every row,
 * decision, alert, quarantine row and checkpoint in one statement fed by jsonb parameters;
 * COMMIT. Each round trip waits for a client that has other batches and requests to serve, so
 * their number, more than the statements' work, sets how long a commit takes under load.
 */
export async function commitBatch(
  db: SqlClient,
  records: LedgerRecord[],
  alerts: AlertDraft[],
  quarantined: QuarantineRecord[],
  target: CommitTarget = { chain: 0, checkpoints: DEFAULT_CHECKPOINTS },
): Promise<StoredBatch> {
  if (records.length === 0 && quarantined.length === 0) return nothing();
  return db.transaction(async (tx) => {
    const { fresh, rows, checkpoint } =
      records.length === 0
        ? { fresh: [], rows: [], checkpoint: null }
        : await claimAndChain(tx, records, target);
    const keys = new Set(fresh.map((r) => transactionKey(r.tx)));
    const drafts = alerts.filter((a) => keys.has(transactionKey(a)));
    if (rows.length === 0 && quarantined.length === 0) return nothing();
    const written = await writeRows(tx, target.chain, rows, drafts, quarantined, checkpoint);
    return { inserted: fresh, alerts: written.alerts, quarantined: written.quarantined };
  });
}

/**
 * Claims the records' keys and, for those that were new, builds their chained rows from the
 * chain's head read under its lock (held until the transaction ends), and the checkpoint when
 * one is due: the other chains' heads as read, this chain's as it will be after the batch.
 */
async function claimAndChain(
  tx: SqlClient,
  records: LedgerRecord[],
  target: CommitTarget,
): Promise<{ fresh: LedgerRecord[]; rows: Chained[]; checkpoint: CheckpointRow | null }> {
  const keys = records.map((r) => ({
    merchant_id: r.tx.merchantId,
    transaction_id: r.tx.transactionId,
  }));
  const { rows: started } = await tx.query<{
    claimed: string;
    seqs: string;
    seq: string | null;
    row_hash: string | null;
    now: string;
    checkpoint: string | null;
  }>(
    `SELECT s.claimed::text AS claimed, s.seqs::text AS seqs, s.head_seq::text AS seq,
       s.head_hash AS row_hash, ${isoSql("s.locked_at")} AS now,
       s.checkpoint_base::text AS checkpoint
     FROM ledger_claim_and_lock($1::text::jsonb, $2::integer, $3::bigint, $4::bigint) AS s`,
    [JSON.stringify(keys), target.chain, target.checkpoints.everyRows, target.checkpoints.everyMs],
    { name: "txwatch_claim_and_lock" },
  );
  const head = started[0]!;
  const claimed = JSON.parse(head.claimed) as [string, string][];
  if (claimed.length === 0) return { fresh: [], rows: [], checkpoint: null };
  // The same transaction twice in one batch: the key was claimed once, the first one wins.
  const unclaimed = new Set(
    claimed.map(([merchantId, transactionId]) => transactionKey({ merchantId, transactionId })),
  );
  const fresh = records.filter((r) => unclaimed.delete(transactionKey(r.tx)));
  const seqs = JSON.parse(head.seqs) as string[];

  let prevHash = head.row_hash ?? GENESIS_HASH;
  const recordedAt = head.now;
  const rows = fresh.map((record, i) => {
    const stored = tokenizedOnly(record.tx);
    const decision = record.decision;
    const chain: ChainRow = {
      seq: seqs[i]!,
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
  const last = rows[rows.length - 1]!;
  return {
    fresh,
    rows,
    checkpoint:
      head.checkpoint === null
        ? null
        : completeCheckpoint(JSON.parse(head.checkpoint) as CheckpointBase, {
            chain: target.chain,
            seq: last.seq,
            hash: last.rowHash,
          }),
  };
}

/** What ledger_claim_and_lock hands over of a due checkpoint. */
interface CheckpointBase {
  id: string;
  prevHash: string | null;
  createdAt: string;
  heads: CheckpointHead[];
}

function completeCheckpoint(base: CheckpointBase, own: CheckpointHead): CheckpointRow {
  const checkpoint: Checkpoint = {
    id: base.id,
    createdAt: base.createdAt,
    prevHash: base.prevHash ?? GENESIS_HASH,
    heads: [...base.heads.filter((h) => h.chain !== own.chain), own].sort(
      (a, b) => a.chain - b.chain,
    ),
  };
  return { ...checkpoint, hash: checkpointHash(checkpoint) };
}

/**
 * Rows (on their chain) and their decisions, the alerts with their opening lifecycle event, the
 * quarantine rows and the checkpoint if any, in one statement. Alerts and quarantine rows
 * already stored are skipped (ON CONFLICT); the statement answers with those it created, as JSON.
 */
async function writeRows(
  tx: SqlClient,
  chain: number,
  rows: Chained[],
  drafts: AlertDraft[],
  quarantined: QuarantineRecord[],
  checkpoint: CheckpointRow | null,
): Promise<{ alerts: Alert[]; quarantined: QuarantineRecord[] }> {
  const { rows: answers } = await tx.query<{ alerts: string; quarantined: string }>(
    `WITH r AS (
       SELECT * FROM jsonb_to_recordset($1::text::jsonb) AS r(seq bigint, "merchantId" text,
         "transactionId" text, "customerId" text, "occurredAt" timestamptz,
         "receivedAt" timestamptz, "recordedAt" timestamptz, amount bigint, currency text,
         tx jsonb, "prevHash" text, "rowHash" text, decision jsonb)
     ), stored AS (
       INSERT INTO transactions (chain, seq, merchant_id, transaction_id, customer_id,
         occurred_at, received_at, recorded_at, amount, currency, tx, prev_hash, row_hash)
       SELECT $4::integer, r.seq, r."merchantId", r."transactionId", r."customerId",
         r."occurredAt", r."receivedAt", r."recordedAt", r.amount, r.currency, r.tx,
         r."prevHash", r."rowHash"
       FROM r
     ), decided AS (
       INSERT INTO decisions (merchant_id, transaction_id, action, score, reasons,
         ruleset_version, decided_at)
       SELECT r."merchantId", r."transactionId", r.decision->>'action',
         (r.decision->>'score')::double precision, r.decision->'reasons',
         r.decision->>'rulesetVersion', (r.decision->>'decidedAt')::timestamptz
       FROM r
     ), created AS (
       INSERT INTO alerts (merchant_id, transaction_id, customer_id, rule, action, score, detail)
       SELECT a."merchantId", a."transactionId", a."customerId", a.rule, a.action, a.score,
         a.detail
       FROM jsonb_to_recordset($2::text::jsonb) AS a("merchantId" text, "transactionId" text,
         "customerId" text, rule text, action text, score double precision, detail text)
       ON CONFLICT DO NOTHING
       RETURNING *
     ), opened AS (
       -- The opening of each alert is its first lifecycle event.
       INSERT INTO alert_events (alert_id, status, at) SELECT id, status, created_at FROM created
     ), kept AS (
       INSERT INTO quarantine (source, sequence_number, partition_key, reason, payload)
       SELECT q.source, q."sequenceNumber", q."partitionKey", q.reason, q.payload
       FROM jsonb_to_recordset($3::text::jsonb) AS q(source text, "sequenceNumber" text,
         "partitionKey" text, reason text, payload text)
       -- In key order, as the keys are claimed: writers with overlapping rows wait in turn.
       ORDER BY q.source, q."sequenceNumber"
       ON CONFLICT DO NOTHING
       RETURNING source, sequence_number
     ), checkpointed AS (
       INSERT INTO ledger_checkpoints (id, created_at, heads, prev_hash, checkpoint_hash)
       SELECT (c->>'id')::bigint, (c->>'createdAt')::timestamptz, c->'heads', c->>'prevHash',
         c->>'hash'
       FROM (SELECT $5::text::jsonb AS c) AS given WHERE given.c IS NOT NULL
     )
     SELECT
       (SELECT coalesce(jsonb_agg(jsonb_build_object(
          'id', id::text, 'merchant_id', merchant_id, 'transaction_id', transaction_id,
          'customer_id', customer_id, 'rule', rule, 'action', action, 'score', score,
          'detail', detail, 'status', status,
          'created_at', ${isoSql("created_at")}, 'updated_at', ${isoSql("updated_at")})
          ORDER BY id), '[]'::jsonb) FROM created)::text AS alerts,
       (SELECT coalesce(jsonb_agg(jsonb_build_array(source, sequence_number)), '[]'::jsonb)
          FROM kept)::text AS quarantined`,
    [
      JSON.stringify(rows),
      JSON.stringify(drafts),
      JSON.stringify(quarantined),
      chain,
      checkpoint === null ? null : JSON.stringify(checkpoint),
    ],
    { name: "txwatch_write_rows" },
  );
  const answer = answers[0]!;
  const alerts = (JSON.parse(answer.alerts) as AlertRow[]).map((row) => alertOfRow(row));
  // The same record twice in one batch was stored once: the first one counts.
  const kept = new Set(
    (JSON.parse(answer.quarantined) as [string, string][]).map(([source, sequenceNumber]) =>
      quarantineKeyOf({ source, sequenceNumber }),
    ),
  );
  return {
    alerts,
    quarantined: quarantined.filter((q) => kept.delete(quarantineKeyOf(q))),
  };
}
