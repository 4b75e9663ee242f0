import { type CheckpointHead, checkpointHash, GENESIS_HASH } from "./hash-chain.ts";
import { isoSql } from "./rows.ts";
import type { SqlClient } from "./sql-client.ts";
import type { CheckpointCheck } from "./types.ts";

interface CheckpointRow {
  id: string;
  created_at: string;
  heads: unknown;
  prev_hash: string;
  checkpoint_hash: string;
}

const HASH = /^[0-9a-f]{64}$/;

/** The heads as stored, or null when they are not a list of heads ordered by chain. */
function headsOf(value: unknown): CheckpointHead[] | null {
  if (!Array.isArray(value)) return null;
  const heads: CheckpointHead[] = [];
  for (const item of value as unknown[]) {
    const head = item as Partial<CheckpointHead> | null;
    if (
      head === null ||
      typeof head !== "object" ||
      !Number.isInteger(head.chain) ||
      (head.chain as number) < 0 ||
      typeof head.seq !== "string" ||
      !/^[1-9]\d*$/.test(head.seq) ||
      typeof head.hash !== "string" ||
      !HASH.test(head.hash) ||
      Object.keys(head).length !== 3
    ) {
      return null;
    }
    if (heads.length > 0 && heads[heads.length - 1]!.chain >= (head.chain as number)) return null;
    heads.push(head as CheckpointHead);
  }
  return heads;
}

/** Why this checkpoint is broken, given the one before it; null when it is sound. */
function checkCheckpoint(
  row: CheckpointRow,
  expectedId: bigint,
  prevHash: string,
  prevHeads: CheckpointHead[],
): string | null {
  const id = BigInt(row.id);
  if (id !== expectedId) {
    return id > expectedId
      ? `checkpoint ids jump from ${expectedId - 1n} to ${id} (checkpoints removed)`
      : `checkpoint ${id} repeated or out of order (expected ${expectedId})`;
  }
  if (row.prev_hash !== prevHash) {
    return "prev_hash does not match the previous checkpoint's hash (a checkpoint removed, altered or reordered)";
  }
  const heads = headsOf(row.heads);
  if (heads === null) return "its heads are not a list of chain heads ordered by chain";
  const hash = checkpointHash({ id: row.id, createdAt: row.created_at, prevHash, heads });
  if (hash !== row.checkpoint_hash) {
    return "checkpoint_hash does not match its heads and time (checkpoint altered)";
  }
  const now = new Map(heads.map((h) => [h.chain, BigInt(h.seq)]));
  for (const before of prevHeads) {
    const seq = now.get(before.chain);
    if (seq === undefined)
      return `chain ${before.chain} is missing (the checkpoint before named it)`;
    if (seq < BigInt(before.seq)) {
      return `chain ${before.chain} went back from seq ${before.seq} to ${seq} (the checkpoint before named the later head)`;
    }
  }
  return null;
}

/** Why the live ledger does not hold a head a checkpoint names. */
async function whyMissing(db: SqlClient, head: CheckpointHead): Promise<string> {
  const { rows } = await db.query<{ chain: number; row_hash: string }>(
    "SELECT t.chain, t.row_hash FROM transactions t WHERE t.seq = $1::bigint LIMIT 1",
    [head.seq],
  );
  const row = rows[0];
  const named = `names chain ${head.chain}'s row seq ${head.seq}`;
  if (row === undefined) {
    return `${named}, which is gone: chain ${head.chain} was cut short or removed`;
  }
  if (row.chain !== head.chain) {
    return `${named}, which is now on chain ${row.chain}: chains swapped or rows moved`;
  }
  return `${named}, whose row_hash is no longer the one recorded: the row was altered`;
}

/**
 * The first of `heads` (in order) that is not a row of its chain with that hash, or undefined:
 * one query, an index probe per head.
 */
async function firstMissing(db: SqlClient, heads: CheckpointHead[]): Promise<number | undefined> {
  if (heads.length === 0) return undefined;
  const { rows } = await db.query<{ i: number }>(
    `SELECT h.i FROM jsonb_to_recordset($1::text::jsonb) AS h(i integer, chain integer,
       seq bigint, hash text)
     WHERE NOT EXISTS (SELECT 1 FROM transactions t
       WHERE t.chain = h.chain AND t.seq = h.seq AND t.row_hash = h.hash)
     ORDER BY h.i LIMIT 1`,
    [JSON.stringify(heads.map((h, i) => ({ i, ...h })))],
  );
  return rows[0]?.i;
}

/**
 * Walks the checkpoints in id order, a page at a time: consecutive ids, each linked to the
 * previous one's hash, its own hash, heads that never go back nor drop a chain, and every head
 * still a row of its chain with the recorded hash. Stops at the first bad one.
 */
export async function verifyCheckpoints(db: SqlClient, pageSize: number): Promise<CheckpointCheck> {
  let expectedId = 1n;
  let prevHash = GENESIS_HASH;
  let prevHeads: CheckpointHead[] = [];
  let last: CheckpointCheck["last"] = null;
  // The heads already found in the ledger: idle chains repeat theirs in every checkpoint.
  let known = new Set<string>();
  const key = (h: CheckpointHead) => `${h.chain}:${h.seq}:${h.hash}`;
  for (;;) {
    const { rows } = await db.query<CheckpointRow>(
      `SELECT c.id::text AS id, ${isoSql("c.created_at")} AS created_at, c.heads, c.prev_hash,
         c.checkpoint_hash
       FROM ledger_checkpoints c WHERE c.id >= $2::bigint ORDER BY c.id LIMIT $1`,
      [pageSize, expectedId.toString()],
    );
    const sound: { row: CheckpointRow; heads: CheckpointHead[] }[] = [];
    let broken: { id: string; reason: string } | undefined;
    for (const row of rows) {
      const reason = checkCheckpoint(row, expectedId, prevHash, prevHeads);
      if (reason !== null) {
        broken = { id: row.id, reason };
        break;
      }
      const heads = headsOf(row.heads)!;
      sound.push({ row, heads });
      expectedId += 1n;
      prevHash = row.checkpoint_hash;
      prevHeads = heads;
    }
    // Heads to look up, each with the first checkpoint of the page naming it.
    const lookups: { head: CheckpointHead; index: number }[] = [];
    const page = new Set<string>();
    for (const [index, { heads }] of sound.entries()) {
      for (const head of heads) {
        if (known.has(key(head)) || page.has(key(head))) continue;
        page.add(key(head));
        lookups.push({ head, index });
      }
    }
    const missing = await firstMissing(
      db,
      lookups.map((l) => l.head),
    );
    if (missing !== undefined) {
      const { head, index } = lookups[missing]!;
      const before = sound[index - 1];
      return {
        checked: Number(sound[index]!.row.id) - 1,
        last: before === undefined ? last : lastOf(before.row, before.heads),
        firstBad: { id: sound[index]!.row.id, reason: await whyMissing(db, head) },
      };
    }
    const newest = sound[sound.length - 1];
    if (newest !== undefined) {
      last = lastOf(newest.row, newest.heads);
      known = new Set(newest.heads.map(key));
    }
    if (broken !== undefined) {
      return { checked: Number(expectedId - 1n), last, firstBad: broken };
    }
    if (rows.length < pageSize) return { checked: Number(expectedId - 1n), last };
  }
}

function lastOf(row: CheckpointRow, heads: CheckpointHead[]): NonNullable<CheckpointCheck["last"]> {
  return { id: row.id, createdAt: row.created_at, chains: heads.length };
}
