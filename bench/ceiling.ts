/**
 * The machine's ceiling, measured in the same run on the rows the monitor just wrote: how fast
 * PostgreSQL alone takes them as a bulk insert, and how fast Redis alone runs the history
 * script for them. The monitor needs both for every transaction, so the lower of the two is
 * the most it could ever reach here.
 */
import { Redis } from "ioredis";
import pg from "pg";
import { RedisHistoryStore } from "../src/history/index.ts";
import { ensureMonthPartitions, monthsToPrepare } from "../src/ledger/commit.ts";
import { openPostgresLedger } from "../src/ledger/index.ts";
import { isoSql } from "../src/ledger/rows.ts";
import { historyItemOf } from "../src/processor/history-item.ts";
import type { CompiledRuleset } from "../src/rules/types.ts";
import type { StreamEnvelope, Transaction } from "../src/transaction/types.ts";

export interface CeilingOptions {
  databaseUrl: string;
  redisUrl: string;
  /** Where the monitor wrote the rows. */
  sourceSchema: string;
  /** The first `rows` rows of the ledger (seq order): those the throughput was measured on. */
  rows: number;
  /** Scratch schema and key prefix, dropped afterwards. */
  schema: string;
  prefix: string;
  ruleset: CompiledRuleset;
  /** Rows per insert transaction and per history pipeline: the monitor's batch size. */
  batchSize: number;
  /** Transactions or pipelines in flight at once: the monitor's partitions. */
  concurrency: number;
}

export interface Ceiling {
  rows: number;
  /** Rows (transaction key, transaction, decision) per second, PostgreSQL alone. */
  postgresPerSecond: number;
  /** Transactions per second through the history script, Redis alone. */
  redisPerSecond: number;
}

interface SourceRow {
  seq: string;
  merchant_id: string;
  transaction_id: string;
  customer_id: string;
  occurred_at: string;
  received_at: string;
  recorded_at: string;
  amount: string;
  currency: string;
  tx: string;
  prev_hash: string;
  row_hash: string;
  action: string;
  score: number;
  reasons: string;
  ruleset_version: string;
  decided_at: string;
}

/** Rows read (and timed) at a time: bounds the memory of a million-row run. */
const CHUNK = 20_000;

export async function measureCeiling(options: CeilingOptions): Promise<Ceiling> {
  const scratch = await openPostgresLedger({
    connectionString: options.databaseUrl,
    schema: options.schema,
  });
  await scratch.migrate();
  await ensureMonthPartitions(scratch.db, monthsToPrepare(Date.now()));
  await scratch.close();
  const source = new pg.Client({
    connectionString: options.databaseUrl,
    options: `-c search_path=${options.sourceSchema}`,
  });
  await source.connect();
  const target = new pg.Pool({
    connectionString: options.databaseUrl,
    options: `-c search_path=${options.schema}`,
    max: options.concurrency,
  });
  const redis = new Redis(options.redisUrl);
  const history = new RedisHistoryStore(redis, options.prefix);

  let rows = 0;
  let postgresMs = 0;
  let redisMs = 0;
  let after = "0";
  try {
    for (;;) {
      const { rows: chunk } = await source.query<SourceRow>(
        `SELECT t.seq::text AS seq, t.merchant_id, t.transaction_id, t.customer_id,
           t.occurred_at::text AS occurred_at, ${isoSql("t.received_at")} AS received_at,
           t.recorded_at::text AS recorded_at, t.amount::text AS amount, t.currency,
           t.tx::text AS tx, t.prev_hash, t.row_hash, d.action, d.score,
           d.reasons::text AS reasons, d.ruleset_version, d.decided_at::text AS decided_at
         FROM transactions t JOIN decisions d USING (merchant_id, transaction_id)
         WHERE t.seq > $1::bigint AND t.seq <= $2::bigint ORDER BY t.seq LIMIT $3`,
        [after, options.rows, CHUNK],
      );
      if (chunk.length === 0) break;
      after = chunk.at(-1)!.seq;
      rows += chunk.length;
      const batches = split(chunk, options.batchSize);
      postgresMs += await timed(() =>
        inParallel(batches, options.concurrency, (batch) => insertRows(target, batch)),
      );
      const itemBatches = batches.map((batch) =>
        batch.map((row) => {
          const tx = JSON.parse(row.tx) as Transaction;
          const envelope: StreamEnvelope = { v: 1, receivedAt: row.received_at, tx };
          return historyItemOf(envelope, options.ruleset.plan(tx));
        }),
      );
      redisMs += await timed(() =>
        inParallel(itemBatches, options.concurrency, async (items) => {
          await history.recordBatch(items, Date.now());
        }),
      );
    }
  } finally {
    await source.query(`DROP SCHEMA "${options.schema}" CASCADE`);
    await source.end();
    await target.end();
    await deleteKeys(redis, options.prefix);
    await history.close();
  }
  return {
    rows,
    postgresPerSecond: Math.round((rows / postgresMs) * 1000),
    redisPerSecond: Math.round((rows / redisMs) * 1000),
  };
}

/** One transaction per batch, one statement per table, each column one array parameter. */
async function insertRows(pool: pg.Pool, batch: SourceRow[]): Promise<void> {
  const column = <K extends keyof SourceRow>(key: K) => batch.map((row) => row[key]);
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query(
      `INSERT INTO transaction_keys (merchant_id, transaction_id)
       SELECT * FROM unnest($1::text[], $2::text[])`,
      [column("merchant_id"), column("transaction_id")],
    );
    await client.query(
      `INSERT INTO transactions (seq, merchant_id, transaction_id, customer_id, occurred_at,
         received_at, recorded_at, amount, currency, tx, prev_hash, row_hash)
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[],
         $5::timestamptz[], $6::timestamptz[], $7::timestamptz[], $8::bigint[], $9::text[],
         $10::jsonb[], $11::text[], $12::text[])`,
      [
        column("seq"),
        column("merchant_id"),
        column("transaction_id"),
        column("customer_id"),
        column("occurred_at"),
        column("received_at"),
        column("recorded_at"),
        column("amount"),
        column("currency"),
        column("tx"),
        column("prev_hash"),
        column("row_hash"),
      ],
    );
    await client.query(
      `INSERT INTO decisions (merchant_id, transaction_id, action, score, reasons,
         ruleset_version, decided_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::jsonb[],
         $6::text[], $7::timestamptz[])`,
      [
        column("merchant_id"),
        column("transaction_id"),
        column("action"),
        column("score"),
        column("reasons"),
        column("ruleset_version"),
        column("decided_at"),
      ],
    );
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

function split<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

async function inParallel<T>(
  items: T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

async function timed(work: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== "0");
}
