import type { ChainableCommander, Redis } from "ioredis";
import { DAY_MS, entityKey, entryOf, seenKey, validateBatch, validateSeenTtl } from "./keys.ts";
import type { HistoryRebuild } from "./rebuild.ts";
import {
  AGGREGATE_FROM,
  parseScriptReply,
  RECORD_SCRIPT,
  type ScriptCall,
  scriptCallOf,
} from "./record-script.ts";
import { HistoryGeneration } from "./redis-generation.ts";
import {
  type HistoryEntry,
  type HistoryItem,
  type HistoryResult,
  type HistoryStore,
  newOwnerId,
  OWNER_LIVENESS_MS,
  OWNER_REFRESH_MS,
} from "./types.ts";

/** ioredis sends EVALSHA, or EVAL the first time on a connection, and retries on NOSCRIPT. */
const COMMAND = "txwHistoryRecord";
const RELEASE_COMMAND = "txwReleaseClaim";
const CLAIM_COMMAND = "txwClaimIds";
const SET_CLAIMS_COMMAND = "txwSetClaims";

/**
 * Compare-and-delete of one claim: DEL only while the key holds this request's value. pcall, so
 * a key of another type (not a claim of ours) is left alone instead of failing the pipeline.
 */
const RELEASE_SCRIPT = `
if redis.pcall("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end
return 0`;

/**
 * Claims each key that is absent, atomically per key (SET NX GET, Redis >= 7.0), and answers
 * what each key held before: one command for a request's ids instead of one per id, which
 * costs Redis and the client less per id. A key given twice is claimed by its first SET.
 *
 * REL-4: first refreshes the caller's liveness mark (ARGV[3] .. ARGV[4], ttl ARGV[5] ms), so a
 * claim made here is never taken over while its maker lives. A key holding another owner's
 * "accepting" claim (`accepting <receivedAt> <nonce> <owner>`, as claimOwnerOf reads it) whose
 * liveness mark is gone is taken over: that owner died mid-put (kill -9), and nothing else
 * would free it before its ttl. Check and takeover are one script, so atomic. The owner marks
 * are not in KEYS: the layout is for one Redis (cluster mode disabled), see keys.ts.
 */
const CLAIM_SCRIPT = `
local owners, me = ARGV[3], ARGV[4]
redis.call("SET", owners .. me, "1", "PX", ARGV[5])
local alive = {}
local out = {}
for i = 1, #KEYS do
  local held = redis.call("SET", KEYS[i], ARGV[1], "NX", "GET", "EX", ARGV[2])
  if held then
    local owner = string.match(held, "^accepting [^ ]+ [^ ]+ ([^ ]+)$")
    if owner and owner ~= me then
      if alive[owner] == nil then alive[owner] = redis.call("EXISTS", owners .. owner) == 1 end
      if not alive[owner] then
        redis.call("SET", KEYS[i], ARGV[1], "EX", ARGV[2])
        held = false
      end
    end
  end
  out[i] = held
end
return out`;

/**
 * Sets every key to the value with the ttl, whatever it held, or, with ARGV[3] (compare-and-set),
 * only where the key holds ARGV[3] or nothing: one command for all ids.
 */
const SET_CLAIMS_SCRIPT = `
local n = 0
for i = 1, #KEYS do
  local set = ARGV[3] == nil
  if not set then
    local held = redis.call("GET", KEYS[i])
    set = held == false or held == ARGV[3]
  end
  if set then
    redis.call("SET", KEYS[i], ARGV[1], "EX", ARGV[2])
    n = n + 1
  end
end
return n`;

export interface RedisHistoryOptions {
  /** This process's owner id for ingest claims (REL-4). @default random (newOwnerId) */
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
function scriptMethod(target: ChainableCommander | Redis, name = COMMAND): ScriptMethod {
  const method: unknown = Reflect.get(target, name);
  if (typeof method !== "function") throw new Error(`${name} is not defined on this client`);
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
  /** Refreshes the liveness mark, from the first claim on; cleared by close(). */
  private liveness: NodeJS.Timeout | undefined;
  private readonly generation: HistoryGeneration | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly prefix = "txw",
    /** Entries from which a key keeps running aggregates; tests lower it to exercise them. */
    private readonly aggregateFrom = AGGREGATE_FROM,
    options: RedisHistoryOptions = {},
  ) {
    this.ownerId = options.ownerId ?? newOwnerId();
    // A client nobody listens to crashes the process on its first connection error (an
    // unhandled "error" event) or, in ioredis, prints raw stacks while it reconnects. The
    // runtime's client reports them (watchRedis); any other gets this: commands that fail while
    // Redis is unreachable still reject to their callers.
    if (redis.listenerCount("error") === 0) redis.on("error", () => {});
    // Idempotent: several stores may share one client.
    redis.defineCommand(COMMAND, { lua: RECORD_SCRIPT });
    redis.defineCommand(RELEASE_COMMAND, { lua: RELEASE_SCRIPT });
    redis.defineCommand(CLAIM_COMMAND, { lua: CLAIM_SCRIPT });
    redis.defineCommand(SET_CLAIMS_COMMAND, { lua: SET_CLAIMS_SCRIPT });
    if (options.rebuild !== undefined) {
      this.generation = new HistoryGeneration(redis, prefix, this.ownerId, options.rebuild, this);
    }
  }

  async recordBatch(items: HistoryItem[], now: number): Promise<HistoryResult[]> {
    validateBatch(items, now);
    if (items.length === 0) return [];
    const calls: ScriptCall[] = items.map((item) =>
      scriptCallOf(this.prefix, item, now, this.aggregateFrom),
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
    const calls = items.map((item) => scriptCallOf(this.prefix, item, now, this.aggregateFrom));
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
    calls: ScriptCall[],
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
        if (err !== null) throw failure("checking the generation marker", err);
        whole &&= reply === 1;
      }
    }
    // The items before a failed one are recorded; redelivering the batch is safe (idempotent).
    const results = replies.map(([err, reply], i) => {
      const item = items[i]!;
      if (err !== null) throw failure(`recording ${item.transactionId}`, err);
      return parseScriptReply(reply, calls[i]!);
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

  async claimIds(
    merchantId: string,
    ids: string[],
    value: string,
    ttlSeconds: number,
  ): Promise<Map<string, string | null>> {
    const ttl = validateSeenTtl(ttlSeconds);
    if (ids.length === 0) return new Map();
    this.keepAlive();
    const keys = ids.map((id) => seenKey(this.prefix, merchantId, id));
    const replies = await this.script(
      CLAIM_COMMAND,
      "claiming ids",
      keys,
      value,
      String(ttl),
      this.ownersPrefix(),
      this.ownerId,
      String(OWNER_LIVENESS_MS),
    );
    if (!Array.isArray(replies) || replies.length !== ids.length) {
      throw new Error("history store: claiming ids: the script answered no list of claims");
    }
    // An id given twice: the first SET claimed it, as the in-memory store answers.
    const out = new Map<string, string | null>();
    ids.forEach((id, i) => {
      if (!out.has(id)) out.set(id, replies[i] as string | null);
    });
    return out;
  }

  async setClaims(
    merchantId: string,
    ids: string[],
    value: string,
    ttlSeconds: number,
    ifHeld?: string,
  ) {
    const ttl = validateSeenTtl(ttlSeconds);
    if (ids.length === 0) return;
    const keys = ids.map((id) => seenKey(this.prefix, merchantId, id));
    const args = [value, String(ttl), ...(ifHeld !== undefined ? [ifHeld] : [])];
    await this.script(SET_CLAIMS_COMMAND, "setting claims", keys, ...args);
  }

  /** Where owners' liveness marks live: `<prefix>:owner:<ownerId>`. */
  private ownersPrefix(): string {
    return `${this.prefix}:owner:`;
  }

  /**
   * Starts refreshing this owner's liveness mark every OWNER_REFRESH_MS (the claim script sets
   * it too). A failed refresh is let be: Redis is down, so nobody can take a claim over either;
   * after OWNER_LIVENESS_MS without one (the process stalled or lost Redis), its claims may be
   * taken over, and its late marks then leave them alone (setClaims with ifHeld).
   */
  private keepAlive(): void {
    if (this.liveness !== undefined) return;
    const key = this.ownersPrefix() + this.ownerId;
    this.liveness = setInterval(() => {
      this.redis.set(key, "1", "PX", OWNER_LIVENESS_MS).catch(() => {});
    }, OWNER_REFRESH_MS);
    this.liveness.unref();
  }

  async releaseClaims(merchantId: string, ids: string[], value: string): Promise<void> {
    if (ids.length === 0) return;
    // One script call per id, all in one pipeline: one round trip, each id atomic on its own.
    const pipeline = this.redis.pipeline();
    const release = scriptMethod(pipeline, RELEASE_COMMAND);
    for (const id of ids) release(1, seenKey(this.prefix, merchantId, id), value);
    await this.settle("releasing claims", pipeline, ids.length);
  }

  async claimOf(merchantId: string, id: string): Promise<string | null> {
    return this.redis.get(seenKey(this.prefix, merchantId, id));
  }

  /** One call of a script defined on the client, over `keys`. */
  private async script(name: string, what: string, keys: string[], ...args: string[]) {
    try {
      return await scriptMethod(this.redis, name)(keys.length, ...keys, ...args);
    } catch (error) {
      throw failure(what, error as Error);
    }
  }

  private async settle(what: string, pipeline: ChainableCommander, count: number) {
    const replies = await pipeline.exec();
    if (replies === null || replies.length !== count)
      throw new Error("history store: the pipeline returned no result (connection lost?)");
    return replies.map(([err, reply]) => {
      if (err !== null) throw failure(what, err);
      return reply;
    });
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    if (this.liveness !== undefined) {
      clearInterval(this.liveness);
      this.liveness = undefined;
      // Stopped in order: what this process still claims, nobody will put; a successor takes it
      // over at once instead of after OWNER_LIVENESS_MS.
      if (this.redis.status === "ready") {
        await this.redis.del(this.ownersPrefix() + this.ownerId).catch(() => {});
      }
    }
    if (this.redis.status === "end") return;
    await this.redis.quit();
  }
}
