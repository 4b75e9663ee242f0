import type { ChainableCommander, Redis } from "ioredis";
import { DAY_MS, entityKey, entryOf, seenKey, validateBatch, validateSeenTtl } from "./keys.ts";
import { parseScriptReply, RECORD_SCRIPT, type ScriptCall, scriptCallOf } from "./record-script.ts";
import type { HistoryEntry, HistoryItem, HistoryResult, HistoryStore } from "./types.ts";

/** ioredis sends EVALSHA, or EVAL the first time on a connection, and retries on NOSCRIPT. */
const COMMAND = "txwHistoryRecord";

type ScriptMethod = (numKeys: number, ...keysAndArgs: string[]) => unknown;

/** defineCommand adds methods ioredis's types cannot know; look the method up, checked. */
function scriptMethod(target: ChainableCommander): ScriptMethod {
  const method: unknown = Reflect.get(target, COMMAND);
  if (typeof method !== "function") throw new Error(`${COMMAND} is not defined on this client`);
  return (numKeys, ...keysAndArgs) => Reflect.apply(method, target, [numKeys, ...keysAndArgs]);
}

function failure(what: string, err: Error): Error {
  return new Error(`history store: ${what}: ${err.message}`, { cause: err });
}

/**
 * The 24-hour history in Redis (PRC-2): one Lua script call per transaction, all the calls of a
 * batch in one pipeline, so a batch costs one round trip. Key layout: see keys.ts (flat,
 * hash-tag free, for a replication group with cluster mode disabled).
 */
export class RedisHistoryStore implements HistoryStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = "txw",
  ) {
    // Idempotent: several stores may share one client.
    redis.defineCommand(COMMAND, { lua: RECORD_SCRIPT });
  }

  async recordBatch(items: HistoryItem[], now: number): Promise<HistoryResult[]> {
    validateBatch(items, now);
    if (items.length === 0) return [];
    const calls: ScriptCall[] = items.map((item) => scriptCallOf(this.prefix, item, now));
    const pipeline = this.redis.pipeline();
    const record = scriptMethod(pipeline);
    for (const call of calls) record(call.keys.length, ...call.keys, ...call.args);
    const replies = await pipeline.exec();
    if (replies === null || replies.length !== calls.length) {
      throw new Error("history store: the pipeline returned no result (connection lost?)");
    }
    // The items before a failed one are recorded; redelivering the batch is safe (idempotent).
    return replies.map(([err, reply], i) => {
      const item = items[i]!;
      if (err !== null) throw failure(`recording ${item.transactionId}`, err);
      return parseScriptReply(reply, calls[i]!);
    });
  }

  async customerHistory(
    merchantId: string,
    customerId: string,
    now: number,
  ): Promise<HistoryEntry[]> {
    const key = entityKey(this.prefix, merchantId, "customer", customerId);
    // Read-only: entries past 24 h may still sit in a key nobody wrote since; the range hides them.
    const flat = await this.redis.zrangebyscore(key, now - DAY_MS, now, "WITHSCORES");
    const entries: HistoryEntry[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      entries.push(entryOf(flat[i]!, Number(flat[i + 1])));
    }
    return entries;
  }

  async seenIds(merchantId: string, ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const values = await this.redis.mget(ids.map((id) => seenKey(this.prefix, merchantId, id)));
    return new Set(ids.filter((_, i) => values[i] !== null));
  }

  async markSeen(merchantId: string, ids: string[], ttlSeconds: number): Promise<void> {
    const ttl = validateSeenTtl(ttlSeconds);
    if (ids.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.set(seenKey(this.prefix, merchantId, id), "1", "EX", ttl);
    const replies = await pipeline.exec();
    if (replies === null)
      throw new Error("history store: the pipeline returned no result (connection lost?)");
    for (const [err] of replies) if (err !== null) throw failure("marking ids seen", err);
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    if (this.redis.status === "end") return;
    await this.redis.quit();
  }
}
