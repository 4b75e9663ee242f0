import { randomBytes } from "node:crypto";
import type { ChainableCommander, Redis } from "ioredis";
import { DAY_MS, entityKey, entryOf, validateBatch } from "./keys.ts";
import type { HistoryRebuild } from "./rebuild.ts";
import {
  AGGREGATE_FROM,
  RECORD_COMMAND,
  RECORD_SCRIPT,
  type RecordCall,
  recordCall,
} from "./record-history.ts";
import { HistoryGeneration } from "./redis-generation.ts";
import type { HistoryEntry, HistoryItem, HistoryResult, HistoryStore } from "./types.ts";
import { HistoryUnavailableError } from "./unavailable.ts";

export interface RedisHistoryOptions {
  /** Names this process in the rebuild lock and the generation marker (REL-6). @default random */
  ownerId?: string;
  /**
   * REL-6: how to rebuild the history when Redis lost it (redis-generation.ts). Given to the
   * stores that decide (the processors); without it recordBatch trusts whatever Redis holds.
   */
  rebuild?: HistoryRebuild;
}

/**
 * Rounds of a batch's scripts at most: a first one, and one after each of up to two rebuilds
 * (Redis losing its data again during a rebuild); past them the batch is decided as it is.
 */
const MAX_ROUNDS = 3;

type ScriptMethod = (numKeys: number, ...keysAndArgs: string[]) => unknown;

/** defineCommand adds methods ioredis's types cannot know; look the method up, checked. */
function scriptMethod(target: ChainableCommander): ScriptMethod {
  const method: unknown = Reflect.get(target, RECORD_COMMAND);
  if (typeof method !== "function") {
    throw new Error(`${RECORD_COMMAND} is not defined on this client`);
  }
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
  readonly ownerId: string;
  private readonly generation: HistoryGeneration | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly prefix = "txw",
    /** Entries from which a key keeps running aggregates; tests lower it to exercise them. */
    private readonly aggregateFrom = AGGREGATE_FROM,
    options: RedisHistoryOptions = {},
  ) {
    this.ownerId = options.ownerId ?? randomBytes(9).toString("base64url");
    // A client nobody listens to crashes the process on its first connection error (an
    // unhandled "error" event) or, in ioredis, prints raw stacks while it reconnects. The
    // runtime's client reports them (watchRedis); any other gets this: commands that fail while
    // Redis is unreachable still reject to their callers.
    if (redis.listenerCount("error") === 0) redis.on("error", () => {});
    // Idempotent: several stores may share one client.
    redis.defineCommand(RECORD_COMMAND, { lua: RECORD_SCRIPT });
    if (options.rebuild !== undefined) {
      this.generation = new HistoryGeneration(redis, prefix, this.ownerId, options.rebuild, this);
    }
  }

  async recordBatch(items: HistoryItem[], now: number): Promise<HistoryResult[]> {
    validateBatch(items, now);
    if (items.length === 0) return [];
    const calls = items.map((item) => recordCall(this.prefix, item, now, this.aggregateFrom));
    const generation = this.generation;
    if (generation === undefined) return (await this.run(items, calls, undefined)).results;
    // The time budget of a lost history (HistoryRebuild.budgetMs) counts from here.
    const since = Date.now();
    for (let round = 1; ; round++) {
      const { results, whole } = await this.run(items, calls, generation.markerKey);
      if (whole) {
        generation.confirmed();
        return results;
      }
      // Recording again is idempotent: the batch's entries are in already, and the second run
      // reads the aggregates the rebuild restored.
      if (round === MAX_ROUNDS || !(await generation.regain(now, since))) {
        return results.map((result) => ({ ...result, incomplete: true }));
      }
    }
  }

  async restore(items: HistoryItem[], now: number): Promise<void> {
    validateBatch(items, now);
    if (items.length === 0) return;
    const calls = items.map((item) => recordCall(this.prefix, item, now, this.aggregateFrom));
    await this.run(items, calls, undefined);
  }

  /**
   * The batch's script calls in one pipeline, one round trip. With `marker`, an EXISTS of it
   * before and after the scripts: commands of one pipeline run in order on one connection, and
   * a Redis that restarts drops the connection (ioredis may resend what was unanswered on the
   * new one, hence the check on both sides). The marker seen on both sides means the scripts ran
   * on a store that held the whole day.
   */
  private async run(
    items: HistoryItem[],
    calls: RecordCall[],
    marker: string | undefined,
  ): Promise<{ results: HistoryResult[]; whole: boolean }> {
    const pipeline = this.redis.pipeline();
    if (marker !== undefined) pipeline.exists(marker);
    const record = scriptMethod(pipeline);
    for (const call of calls) record(call.keys.length, ...call.keys, ...call.args);
    if (marker !== undefined) pipeline.exists(marker);
    const checks = marker === undefined ? 0 : 2;
    const replies = await pipeline.exec();
    if (replies === null || replies.length !== calls.length + checks) {
      throw new Error("history store: the pipeline returned no result (connection lost?)");
    }
    let whole = true;
    if (marker !== undefined) {
      for (const [err, reply] of [replies.shift()!, replies.pop()!]) {
        // Whatever EXISTS answered, it says nothing of the batch's records (REL-5).
        if (err !== null) throw new HistoryUnavailableError("checking the generation marker", err);
        whole &&= reply === 1;
      }
    }
    // The items before a failed one are recorded; redelivering the batch is safe (idempotent).
    const results = replies.map(([err, reply], i) => {
      const item = items[i]!;
      if (err !== null) throw failure(`recording ${item.transactionId}`, err);
      return calls[i]!.decode(reply);
    });
    return { results, whole };
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

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  /** Closes the client: the claim store sharing it (RedisClaimStore) is to be closed first. */
  async close(): Promise<void> {
    if (this.redis.status === "end") return;
    await this.redis.quit();
  }
}
