import type { ChainableCommander, Redis } from "ioredis";
import { transactionStoreKey } from "../transaction/key.ts";
import {
  type ClaimStore,
  newOwnerId,
  OWNER_LIVENESS_MS,
  OWNER_REFRESH_MS,
  validateClaimTtl,
} from "./types.ts";

/** ioredis sends EVALSHA, or EVAL the first time on a connection, and retries on NOSCRIPT. */
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
 * are not in KEYS: the layout is for one Redis (cluster mode disabled), see history/keys.ts.
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

/** The Redis key of a transaction's ingest claim: `<prefix>:seen:<merchant>:<transactionId>`. */
export function seenKey(prefix: string, merchantId: string, transactionId: string): string {
  return transactionStoreKey(`${prefix}:seen`, { merchantId, transactionId });
}

/** Where owners' liveness marks live: `<prefix>:owner:<ownerId>`. */
function ownersPrefix(prefix: string): string {
  return `${prefix}:owner:`;
}

export interface RedisClaimStoreOptions {
  /** This process's owner id (REL-4). @default random (newOwnerId) */
  ownerId?: string;
}

type ScriptMethod = (numKeys: number, ...keysAndArgs: string[]) => unknown;

/** defineCommand adds methods ioredis's types cannot know; look the method up, checked. */
function scriptMethod(target: ChainableCommander | Redis, name: string): ScriptMethod {
  const method: unknown = Reflect.get(target, name);
  if (typeof method !== "function") throw new Error(`${name} is not defined on this client`);
  return (numKeys, ...keysAndArgs) => Reflect.apply(method, target, [numKeys, ...keysAndArgs]);
}

function failure(what: string, err: Error): Error {
  return new Error(`claim store: ${what}: ${err.message}`, { cause: err });
}

/**
 * The ingest claims in Redis: one script call per request for claiming and for marking, one
 * pipeline for releasing. It shares the history's client and key prefix (the runtime builds
 * both on one connection), so the keys sit in the same flat keyspace (history/keys.ts); the
 * client is the history store's to close, and close() here drops only the liveness mark.
 */
export class RedisClaimStore implements ClaimStore {
  readonly ownerId: string;
  /** Refreshes the liveness mark, from the first claim on; cleared by close(). */
  private liveness: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly prefix = "txw",
    options: RedisClaimStoreOptions = {},
  ) {
    this.ownerId = options.ownerId ?? newOwnerId();
    // As the history store does: a client nobody listens to crashes the process on its first
    // connection error; commands still reject to their callers.
    if (redis.listenerCount("error") === 0) redis.on("error", () => {});
    // Idempotent: several stores may share one client.
    redis.defineCommand(RELEASE_COMMAND, { lua: RELEASE_SCRIPT });
    redis.defineCommand(CLAIM_COMMAND, { lua: CLAIM_SCRIPT });
    redis.defineCommand(SET_CLAIMS_COMMAND, { lua: SET_CLAIMS_SCRIPT });
  }

  async claimIds(
    merchantId: string,
    ids: string[],
    value: string,
    ttlSeconds: number,
  ): Promise<Map<string, string | null>> {
    const ttl = validateClaimTtl(ttlSeconds);
    if (ids.length === 0) return new Map();
    this.keepAlive();
    const keys = ids.map((id) => seenKey(this.prefix, merchantId, id));
    const replies = await this.script(
      CLAIM_COMMAND,
      "claiming ids",
      keys,
      value,
      String(ttl),
      ownersPrefix(this.prefix),
      this.ownerId,
      String(OWNER_LIVENESS_MS),
    );
    if (!Array.isArray(replies) || replies.length !== ids.length) {
      throw new Error("claim store: claiming ids: the script answered no list of claims");
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
  ): Promise<void> {
    const ttl = validateClaimTtl(ttlSeconds);
    if (ids.length === 0) return;
    const keys = ids.map((id) => seenKey(this.prefix, merchantId, id));
    const args = [value, String(ttl), ...(ifHeld !== undefined ? [ifHeld] : [])];
    await this.script(SET_CLAIMS_COMMAND, "setting claims", keys, ...args);
  }

  async releaseClaims(merchantId: string, ids: string[], value: string): Promise<void> {
    if (ids.length === 0) return;
    // One script call per id, all in one pipeline: one round trip, each id atomic on its own.
    const pipeline = this.redis.pipeline();
    const release = scriptMethod(pipeline, RELEASE_COMMAND);
    for (const id of ids) release(1, seenKey(this.prefix, merchantId, id), value);
    const replies = await pipeline.exec();
    if (replies === null || replies.length !== ids.length)
      throw new Error("claim store: the pipeline returned no result (connection lost?)");
    for (const [err] of replies) if (err !== null) throw failure("releasing claims", err);
  }

  async claimOf(merchantId: string, id: string): Promise<string | null> {
    return this.redis.get(seenKey(this.prefix, merchantId, id));
  }

  /**
   * Starts refreshing this owner's liveness mark every OWNER_REFRESH_MS (the claim script sets
   * it too). A failed refresh is let be: Redis is down, so nobody can take a claim over either;
   * after OWNER_LIVENESS_MS without one (the process stalled or lost Redis), its claims may be
   * taken over, and its late marks then leave them alone (setClaims with ifHeld).
   */
  private keepAlive(): void {
    if (this.liveness !== undefined) return;
    const key = ownersPrefix(this.prefix) + this.ownerId;
    this.liveness = setInterval(() => {
      this.redis.set(key, "1", "PX", OWNER_LIVENESS_MS).catch(() => {});
    }, OWNER_REFRESH_MS);
    this.liveness.unref();
  }

  /** One call of a script defined on the client, over `keys`. */
  private async script(name: string, what: string, keys: string[], ...args: string[]) {
    try {
      return await scriptMethod(this.redis, name)(keys.length, ...keys, ...args);
    } catch (error) {
      throw failure(what, error as Error);
    }
  }

  async close(): Promise<void> {
    if (this.liveness === undefined) return;
    clearInterval(this.liveness);
    this.liveness = undefined;
    // Stopped in order: what this process still claims, nobody will put; a successor takes it
    // over at once instead of after OWNER_LIVENESS_MS.
    if (this.redis.status === "ready") {
      await this.redis.del(ownersPrefix(this.prefix) + this.ownerId).catch(() => {});
    }
  }
}
