import { createHash, randomBytes } from "node:crypto";
import type { ChainableCommander } from "ioredis";
import type { RedisClient } from "../redis-client.ts";
import { DAY_MS, entityKeys, entryOf, validateBatch } from "./keys.ts";
import type { HistoryRebuild } from "./rebuild.ts";
import {
  AGGREGATE_FROM,
  type EntityCall,
  entityCalls,
  RECORD_COMMAND,
  RECORD_SCRIPT,
  resultOf,
} from "./record-entity.ts";
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

const RECORD_SHA = createHash("sha1").update(RECORD_SCRIPT).digest("hex");

type ScriptMethod = (numKeys: number, ...keysAndArgs: string[]) => unknown;

/** defineCommand adds methods ioredis's types cannot know; look the method up, checked. */
function scriptMethod(target: ChainableCommander | RedisClient): ScriptMethod {
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
 * The 24-hour history in Redis (PRC-2): one Lua script call per entity of a transaction, each
 * on that entity's keys alone (one hash slot, SCL-2), so the history runs on one Redis or on a
 * Redis Cluster alike. On one Redis all the calls of a batch go in one pipeline (one round
 * trip); on a cluster ioredis sends each node its share. Key layout: see keys.ts.
 */
export class RedisHistoryStore implements HistoryStore {
  readonly ownerId: string;
  private readonly generation: HistoryGeneration | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix = "txw",
    /** Entries from which an entity keeps running aggregates; tests lower it to exercise them. */
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
    const calls = items.map((item) =>
      entityCalls(this.prefix, item, now, { aggregateFrom: this.aggregateFrom }),
    );
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
    const calls = items.map((item) =>
      entityCalls(this.prefix, item, now, { aggregateFrom: this.aggregateFrom, answer: false }),
    );
    const replies = await this.send(calls.flat(), undefined);
    replies.forEach(([err], i) => {
      if (err !== null) throw failure(`restoring (call ${i})`, err);
    });
  }

  /**
   * The batch's script calls, sent together. With `marker`, an EXISTS of it before and after
   * the scripts: on one Redis the commands of a pipeline run in order on one connection, and a
   * Redis that restarts drops the connection (ioredis may resend what was unanswered on the new
   * one, hence the check on both sides). The marker seen on both sides means the scripts ran on
   * a store that held the whole day.
   */
  private async run(
    items: HistoryItem[],
    calls: EntityCall[][],
    marker: string | undefined,
  ): Promise<{ results: HistoryResult[]; whole: boolean }> {
    const flat = calls.flat();
    const replies = await this.send(flat, marker);
    let whole = true;
    if (marker !== undefined) {
      for (const [err, reply] of [replies.shift()!, replies.pop()!]) {
        // Whatever EXISTS answered, it says nothing of the batch's records (REL-5).
        if (err !== null) throw new HistoryUnavailableError("checking the generation marker", err);
        whole &&= reply === 1;
      }
    }
    // The items before a failed one are recorded; redelivering the batch is safe (idempotent).
    let at = 0;
    const results = items.map((item, i) => {
      const own = calls[i]!;
      const mine = replies.slice(at, at + own.length);
      at += own.length;
      for (const [err] of mine)
        if (err !== null) throw failure(`recording ${item.transactionId}`, err);
      return resultOf(
        item,
        own.map((call, j) => ({ ...call, answer: call.decode(mine[j]![1]) })),
      );
    });
    return { results, whole };
  }

  /**
   * One pipeline on a single Redis. On a cluster, a pipeline must stay within one slot, so
   * every call is its own command, auto-pipelined per node by the client.
   */
  private async send(
    calls: EntityCall[],
    marker: string | undefined,
  ): Promise<[Error | null, unknown][]> {
    if (this.redis.isCluster) {
      const settle = (p: Promise<unknown>) =>
        p.then(
          (reply): [Error | null, unknown] => [null, reply],
          (err: Error): [Error | null, unknown] => [err, null],
        );
      const sent: Promise<[Error | null, unknown]>[] = [];
      if (marker !== undefined) sent.push(settle(this.redis.exists(marker)));
      for (const c of calls) sent.push(settle(this.evalOnCluster(c)));
      // The second check only once the scripts have answered: it must follow them.
      const answered = await Promise.all(sent);
      if (marker !== undefined) answered.push(await settle(this.redis.exists(marker)));
      return answered;
    }
    const pipeline = this.redis.pipeline();
    if (marker !== undefined) pipeline.exists(marker);
    const record = scriptMethod(pipeline);
    for (const c of calls) record(c.keys.length, ...c.keys, ...c.args);
    if (marker !== undefined) pipeline.exists(marker);
    const replies = await pipeline.exec();
    const expected = calls.length + (marker === undefined ? 0 : 2);
    if (replies === null || replies.length !== expected) {
      throw new Error("history store: the pipeline returned no result (connection lost?)");
    }
    return replies;
  }

  /**
   * EVALSHA, and EVAL where a node lacks the script (NOSCRIPT): a command ioredis knows the keys
   * of, so that its auto-pipelining groups it by the node of its slot (a defined command's
   * first argument is the key count, which it would route by).
   */
  private evalOnCluster(c: EntityCall): Promise<unknown> {
    const redis = this.redis;
    return redis.evalsha(RECORD_SHA, c.keys.length, ...c.keys, ...c.args).catch((err: Error) => {
      if (!err.message.startsWith("NOSCRIPT")) throw err;
      return redis.eval(RECORD_SCRIPT, c.keys.length, ...c.keys, ...c.args);
    });
  }

  async customerHistory(
    merchantId: string,
    customerId: string,
    now: number,
  ): Promise<HistoryEntry[]> {
    const keys = entityKeys(this.prefix, merchantId, "customer", customerId);
    // Read-only: entries past 24 h may still sit in a key nobody wrote since; the range hides them.
    const flat = await this.redis.zrangebyscore(keys.times, now - DAY_MS, now, "WITHSCORES");
    const entries: HistoryEntry[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2)
      entries.push(entryOf(flat[i]!, Number(flat[i + 1])));
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
