/**
 * The history's script calls as the Redis store sends them (src/history/redis-history.ts), for
 * the benchmarks that measure Redis alone (bench/ceiling.ts, bench/history-script.ts): one call
 * per entity of each transaction (entityCalls), each batch's calls in one pipeline, and several
 * batches in flight at once, one per connection.
 */
import type { Redis } from "ioredis";
import {
  resultOf as assemble,
  type EntityCall,
  entityCalls,
  RECORD_COMMAND,
  RECORD_SCRIPT,
} from "../src/history/record-entity.ts";
import type { HistoryItem, HistoryResult } from "../src/history/types.ts";

/** One batch: for each transaction, its calls (one per entity it has). */
export type CallBatch = EntityCall[][];

/** Defines the script on a client under the name the store uses (another version: `lua`). */
export function defineRecord(redis: Redis, lua: string = RECORD_SCRIPT): void {
  redis.defineCommand(RECORD_COMMAND, { lua });
}

/** The calls of a batch of transactions, as RedisHistoryStore.recordBatch builds them. */
export function batchCalls(prefix: string, items: HistoryItem[], now: number): CallBatch {
  return items.map((item) => entityCalls(prefix, item, now));
}

export function callCount(batches: readonly CallBatch[]): number {
  let n = 0;
  for (const batch of batches) for (const calls of batch) n += calls.length;
  return n;
}

/**
 * Sends every batch as one pipeline of its calls; each connection has `perConnection` pipelines
 * in flight and sends the next batch when one is answered. Answers, when `keep`, each batch's
 * replies per transaction and call. On one connection Redis runs the batches in order, as the
 * store's would; on several they interleave, so an entity in two batches may see them in
 * either order (and the replies differ from run to run).
 */
export async function sendBatches(
  clients: Redis[],
  batches: readonly CallBatch[],
  keep: boolean,
  perConnection = 1,
): Promise<unknown[][][]> {
  const replies: unknown[][][] = [];
  let next = 0;
  const connection = async (redis: Redis) => {
    while (next < batches.length) {
      const i = next++;
      const batch = batches[i]!;
      const pipeline = redis.pipeline();
      const record: unknown = Reflect.get(pipeline, RECORD_COMMAND);
      if (typeof record !== "function") throw new Error(`${RECORD_COMMAND} is not defined`);
      for (const calls of batch) {
        for (const c of calls)
          Reflect.apply(record, pipeline, [c.keys.length, ...c.keys, ...c.args]);
      }
      const answered = await pipeline.exec();
      if (answered === null) throw new Error("the pipeline returned no result (connection lost?)");
      for (const [err] of answered) if (err !== null) throw err;
      if (!keep) continue;
      let at = 0;
      replies[i] = batch.map((calls) => {
        const mine = answered.slice(at, at + calls.length).map(([, reply]) => reply);
        at += calls.length;
        return mine;
      });
    }
  };
  await Promise.all(
    clients.flatMap((client) => Array.from({ length: perConnection }, () => connection(client))),
  );
  return replies;
}

/** A transaction's result from its entities' replies, as the store assembles it. */
export function resultOf(
  item: HistoryItem,
  calls: readonly EntityCall[],
  replies: readonly unknown[],
): HistoryResult {
  return assemble(
    item,
    calls.map((call, i) => ({ ...call, answer: call.decode(replies[i]) })),
  );
}

/** Deletes every key under the prefix (the run's own). */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== "0");
}
