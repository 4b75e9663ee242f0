/**
 * The machine's ceiling for this work (SCL-5), measured in the same run on the rows the monitor
 * just wrote, each service alone and given all the work it can take:
 *
 * - PostgreSQL: the same rows (each transaction's key, row and decision, every column as the
 *   ledger stored it) bulk-inserted into a scratch copy of the ledger's schema: one multi-row
 *   INSERT per table from arrays (unnest), a transaction per batch, several connections;
 * - Redis: the same commands the history sends for those transactions (one script call per
 *   entity, entityCalls), a batch's calls in one pipeline, several connections at once.
 *
 * Every transaction needs both, so the lower of the two is the most the pipeline could reach on
 * this machine. Each part also says the CPU it spent per row or transaction, and how busy Redis
 * was: a Redis short of 100% busy means the client, not Redis, set its figure.
 */
import { Redis } from "ioredis";
import pg from "pg";
import { ensureMonthPartitions, monthsToPrepare } from "../src/ledger/commit.ts";
import { openPostgresLedger } from "../src/ledger/index.ts";
import { isoSql } from "../src/ledger/rows.ts";
import { historyItemOf } from "../src/processor/history-item.ts";
import type { CompiledRuleset } from "../src/rules/types.ts";
import type { StreamEnvelope, Transaction } from "../src/transaction/types.ts";
import { postgresSeconds, redisSeconds } from "./cpu-meter.ts";
import {
  batchCalls,
  type CallBatch,
  callCount,
  defineRecord,
  deleteKeys,
  sendBatches,
} from "./history-calls.ts";

export interface CeilingOptions {
  databaseUrl: string;
  redisUrl: string;
  /** Where the monitor wrote the rows. */
  sourceSchema: string;
  /** The first `rows` transactions of the ledger (seq order): those throughput was measured on. */
  rows: number;
  /** Scratch schema and key prefix, dropped afterwards. */
  schema: string;
  prefix: string;
  ruleset: CompiledRuleset;
  /** Rows per insert transaction and transactions per history pipeline: the monitor's batch. */
  batchSize: number;
  /** PostgreSQL connections inserting at once: the monitor's partitions. */
  concurrency: number;
  /** Redis connections, each with one pipeline in flight. */
  redisConnections: number;
  /** Whether PostgreSQL's processes are on this machine (their CPU is read from /proc). */
  postgresIsLocal: boolean;
}

export interface Ceiling {
  rows: number;
  postgres: {
    /** Transactions (key, row and decision) per second. */
    perSecond: number;
    /** CPU of all PostgreSQL processes per transaction, µs (when local). */
    cpuUsPerTx?: number;
  };
  redis: {
    /** Transactions per second (all their script calls). */
    perSecond: number;
    connections: number;
    /** Script calls per transaction. */
    callsPerTx: number;
    /** Redis's CPU per transaction, µs. */
    cpuUsPerTx?: number;
    /** Share of the time Redis's CPU was busy, 0..1. */
    busy?: number;
    /** Share of the time this process (the client) was busy, 0..1. */
    clientBusy: number;
  };
  /** The lower of the two, tx/s. */
  perSecond: number;
  boundBy: "PostgreSQL" | "Redis";
}

/** Transactions read (and timed) at a time: bounds the memory of a million-row run. */
const CHUNK = 20_000;
/** The tables the ledger writes for every transaction, in the order their keys require. */
const TABLES = ["transaction_keys", "transactions", "decisions"] as const;
type Table = (typeof TABLES)[number];

interface Column {
  name: string;
  type: string;
}

/** A row as text, column by column: what the scratch copy is given back. */
type TextRow = Record<string, string | null>;

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;
const keyOf = (row: TextRow) => `${row.merchant_id}\u0000${row.transaction_id}`;

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
  const clients = Array.from({ length: options.redisConnections }, () => {
    const client = new Redis(options.redisUrl);
    defineRecord(client);
    return client;
  });
  const redis = clients[0]!;

  let rows = 0;
  const pgPart = { ms: 0, cpu: 0, cpuKnown: options.postgresIsLocal };
  const redisPart = { ms: 0, cpu: 0, cpuKnown: true, client: 0, calls: 0 };
  let after = "0";
  try {
    const columns = await columnsOf(source, options.schema);
    const statements = insertStatements(columns);
    while (rows < options.rows) {
      const chunk = await readChunk(source, columns, after, Math.min(CHUNK, options.rows - rows));
      if (chunk.transactions.length === 0) break;
      after = chunk.transactions.at(-1)!.seq!;
      rows += chunk.transactions.length;
      const batches = split(chunk.transactions, options.batchSize);

      const pgFrom = options.postgresIsLocal ? postgresSeconds() : undefined;
      pgPart.ms += await timed(() =>
        inParallel(batches, options.concurrency, (batch) =>
          insertBatch(target, statements, batch, chunk),
        ),
      );
      const pgTo = options.postgresIsLocal ? postgresSeconds() : undefined;
      if (pgFrom === undefined || pgTo === undefined) pgPart.cpuKnown = false;
      else pgPart.cpu += pgTo - pgFrom;

      // The calls are built before the clock starts: what is timed is Redis running them.
      const now = Date.now();
      const calls: CallBatch[] = batches.map((batch) =>
        batchCalls(
          options.prefix,
          batch.map((row) => {
            const { tx, receivedAt } = chunk.envelopes.get(keyOf(row))!;
            const envelope: StreamEnvelope = {
              v: 1,
              receivedAt,
              tx: JSON.parse(tx) as Transaction,
            };
            return historyItemOf(envelope, options.ruleset.plan(envelope.tx));
          }),
          now,
        ),
      );
      redisPart.calls += callCount(calls);
      const redisFrom = await redisSeconds(redis);
      const clientFrom = process.cpuUsage();
      redisPart.ms += await timed(async () => {
        await sendBatches(clients, calls, false);
      });
      const client = process.cpuUsage(clientFrom);
      redisPart.client += (client.user + client.system) / 1e6;
      const redisTo = await redisSeconds(redis);
      if (redisFrom === undefined || redisTo === undefined) redisPart.cpuKnown = false;
      else redisPart.cpu += redisTo - redisFrom;
    }
  } finally {
    await source.query(`DROP SCHEMA ${quote(options.schema)} CASCADE`);
    await source.end();
    await target.end();
    await deleteKeys(redis, options.prefix);
    await Promise.all(clients.map((client) => client.quit()));
  }
  const perSecond = (ms: number) => (ms > 0 ? Math.round((rows / ms) * 1000) : 0);
  const us = (seconds: number) => Math.round((seconds * 1e6) / Math.max(1, rows));
  const postgres = {
    perSecond: perSecond(pgPart.ms),
    ...(pgPart.cpuKnown && { cpuUsPerTx: us(pgPart.cpu) }),
  };
  const redisCeiling = {
    perSecond: perSecond(redisPart.ms),
    connections: options.redisConnections,
    callsPerTx: Number((redisPart.calls / Math.max(1, rows)).toFixed(2)),
    ...(redisPart.cpuKnown && {
      cpuUsPerTx: us(redisPart.cpu),
      busy: Number((redisPart.cpu / (redisPart.ms / 1000)).toFixed(3)),
    }),
    clientBusy: Number((redisPart.client / (redisPart.ms / 1000)).toFixed(3)),
  };
  return {
    rows,
    postgres,
    redis: redisCeiling,
    perSecond: Math.min(postgres.perSecond, redisCeiling.perSecond),
    boundBy: postgres.perSecond <= redisCeiling.perSecond ? "PostgreSQL" : "Redis",
  };
}

/**
 * The columns of each table as the ledger's migrations made them (read from the scratch copy,
 * made by the same migrations as the source): whatever columns the ledger gains, the copy
 * carries them all. Identity and generated columns are left to the copy, as the ledger leaves
 * them to PostgreSQL.
 */
async function columnsOf(db: pg.Client, schema: string): Promise<Record<Table, Column[]>> {
  const out = {} as Record<Table, Column[]>;
  for (const table of TABLES) {
    const { rows } = await db.query<Column>(
      `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
       FROM pg_attribute a
       WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
         AND a.attidentity = '' AND a.attgenerated = ''
       ORDER BY a.attnum`,
      [`${quote(schema)}.${quote(table)}`],
    );
    if (rows.length === 0) throw new Error(`ceiling: no columns found for ${schema}.${table}`);
    out[table] = rows;
  }
  return out;
}

interface Chunk {
  transactions: TextRow[];
  /** Each transaction as it left the API (JSON) and its receivedAt (ISO), by key. */
  envelopes: Map<string, { tx: string; receivedAt: string }>;
  keys: Map<string, TextRow>;
  decisions: Map<string, TextRow>;
}

const asText = (columns: Column[], alias: string) =>
  columns.map((c) => `${alias}.${quote(c.name)}::text AS ${quote(c.name)}`).join(", ");

/** The next transactions after seq `after`, in seq order, with their keys and decisions. */
async function readChunk(
  db: pg.Client,
  columns: Record<Table, Column[]>,
  after: string,
  limit: number,
): Promise<Chunk> {
  const { rows: transactions } = await db.query<TextRow & { __tx: string; __received: string }>(
    `SELECT ${asText(columns.transactions, "t")}, t.tx::text AS __tx,
       ${isoSql("t.received_at")} AS __received
     FROM transactions t WHERE t.seq > $1::bigint ORDER BY t.seq LIMIT $2`,
    [after, limit],
  );
  const envelopes = new Map<string, { tx: string; receivedAt: string }>();
  for (const row of transactions) {
    envelopes.set(keyOf(row), { tx: row.__tx, receivedAt: row.__received });
    delete (row as Partial<typeof row>).__tx;
    delete (row as Partial<typeof row>).__received;
  }
  const related = async (table: "transaction_keys" | "decisions") => {
    const { rows } = await db.query<TextRow>(
      `SELECT ${asText(columns[table], "r")} FROM ${table} r
       JOIN unnest($1::text[], $2::text[]) AS k (merchant_id, transaction_id)
         ON r.merchant_id = k.merchant_id AND r.transaction_id = k.transaction_id`,
      [transactions.map((row) => row.merchant_id), transactions.map((row) => row.transaction_id)],
    );
    return new Map(rows.map((row) => [keyOf(row), row]));
  };
  return {
    transactions,
    envelopes,
    keys: await related("transaction_keys"),
    decisions: await related("decisions"),
  };
}

interface Insert {
  table: Table;
  columns: Column[];
  text: string;
}

/** One statement per table, every column one array parameter. */
function insertStatements(columns: Record<Table, Column[]>): Insert[] {
  return TABLES.map((table) => {
    const cols = columns[table];
    return {
      table,
      columns: cols,
      text: `INSERT INTO ${quote(table)} (${cols.map((c) => quote(c.name)).join(", ")})
        SELECT * FROM unnest(${cols.map((c, i) => `$${i + 1}::${c.type}[]`).join(", ")})`,
    };
  });
}

/** One transaction per batch: its keys, rows and decisions. */
async function insertBatch(
  pool: pg.Pool,
  statements: Insert[],
  batch: TextRow[],
  chunk: Chunk,
): Promise<void> {
  const rowsOf: Record<Table, TextRow[]> = {
    transaction_keys: batch.map((row) => chunk.keys.get(keyOf(row))!).filter(Boolean),
    transactions: batch,
    decisions: batch.map((row) => chunk.decisions.get(keyOf(row))!).filter(Boolean),
  };
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    for (const statement of statements) {
      const rows = rowsOf[statement.table];
      await client.query({
        name: `ceiling_${statement.table}`,
        text: statement.text,
        values: statement.columns.map((c) => rows.map((row) => row[c.name] ?? null)),
      });
    }
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
