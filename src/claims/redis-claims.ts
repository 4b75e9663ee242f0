import type { ChainableCommander } from "ioredis";
import type { RedisClient } from "../redis-client.ts";
import { transactionStoreKey } from "../transaction/key.ts";
import { claimOwnerOf } from "./claim-value.ts";
import {
  type ClaimStore,
  newOwnerId,
  OWNER_LIVENESS_MS,
  OWNER_REFRESH_MS,
  validateClaimTtl,
} from "./types.ts";

/*
 * Every command here touches one key, declared as such (a script's KEYS[1]), so each runs in
 * the hash slot of its key: the store works alike on one Redis and on a Redis Cluster (SCL-2),
 * where no command or script may span slots and a script may touch only the keys it declares.
 * A request's ids are one command each, all sent together: one pipeline on one Redis (one
 * round trip), on a cluster one command per id that the client sends each node its share of.
 */

/** ioredis sends EVALSHA, or EVAL the first time on a connection, and retries on NOSCRIPT. */
const RELEASE_COMMAND = "txwReleaseClaim";
const SET_IF_HELD_COMMAND = "txwSetClaimIfHeld";

/**
 * Compare-and-delete of one claim: DEL only while the key holds this request's value. pcall, so
 * a key of another type (not a claim of ours) is left alone instead of failing the pipeline.
 */
const RELEASE_SCRIPT = `
if redis.pcall("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end
return 0`;

/**
 * Compare-and-set of one claim: sets the value ARGV[1] with the ttl ARGV[2] where the key holds
 * exactly ARGV[3] or nothing, and answers nil; otherwise leaves it and answers what it holds.
 * Both a takeover (ARGV[3] the dead owner's claim as read) and a mark with `ifHeld` use it.
 */
const SET_IF_HELD_SCRIPT = `
local held = redis.call("GET", KEYS[1])
if held == false or held == ARGV[3] then
  redis.call("SET", KEYS[1], ARGV[1], "EX", ARGV[2])
  return false
end
return held`;

/** The Redis key of a transaction's ingest claim: `<prefix>:seen:<merchant>:<transactionId>`. */
export function seenKey(prefix: string, merchantId: string, transactionId: string): string {
  return transactionStoreKey(`${prefix}:seen`, { merchantId, transactionId });
}

/** An owner's liveness mark: `<prefix>:owner:<ownerId>`. */
function ownerKey(prefix: string, ownerId: string): string {
  return `${prefix}:owner:${ownerId}`;
}

export interface RedisClaimStoreOptions {
  /** This process's owner id (REL-4). @default random (newOwnerId) */
  ownerId?: string;
}

/** One command of one key: a Redis command by name, or a script defined on the client. */
interface Call {
  command: string;
  /** The key, then the arguments. */
  args: string[];
}

type Target = ChainableCommander | RedisClient;
type Reply = [Error | null, unknown];

const SCRIPTS = new Set([RELEASE_COMMAND, SET_IF_HELD_COMMAND]);

/** Queues (on a pipeline) or sends (on a client) the call; defined scripts looked up, checked. */
function issue(target: Target, { command, args }: Call): unknown {
  if (!SCRIPTS.has(command)) return target.call(command, ...args);
  const method: unknown = Reflect.get(target, command);
  if (typeof method !== "function") throw new Error(`${command} is not defined on this client`);
  return Reflect.apply(method, target, args);
}

function failure(what: string, err: Error): Error {
  return new Error(`claim store: ${what}: ${err.message}`, { cause: err });
}

/**
 * The ingest claims in Redis, one key per claim. Claiming a request's ids is one round trip:
 * SET NX GET of each id and the refresh of this owner's liveness mark, together; only ids held
 * by another owner's "accepting" claim cost more (REL-4): a second round trip reads whether
 * their owners live, and a third takes over those of the dead. Marking and releasing are one
 * round trip. It shares the history's client and key prefix (the runtime builds both on one
 * connection), so the keys sit beside the history's (history/keys.ts); the client is the
 * history store's to close, and close() here drops only the liveness mark.
 */
export class RedisClaimStore implements ClaimStore {
  readonly ownerId: string;
  /** Refreshes the liveness mark, from the first claim on; cleared by close(). */
  private liveness: NodeJS.Timeout | undefined;
  /** When the last refresh of the mark that Redis acknowledged was sent (Date.now). */
  private markSentAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix = "txw",
    options: RedisClaimStoreOptions = {},
  ) {
    this.ownerId = options.ownerId ?? newOwnerId();
    // As the history store does: a client nobody listens to crashes the process on its first
    // connection error; commands still reject to their callers.
    if (redis.listenerCount("error") === 0) redis.on("error", () => {});
    // Idempotent: several stores may share one client. One key each: ioredis (auto-)pipelines
    // a cluster's commands by the node of their first key, which is then this one.
    redis.defineCommand(RELEASE_COMMAND, { lua: RELEASE_SCRIPT, numberOfKeys: 1 });
    redis.defineCommand(SET_IF_HELD_COMMAND, { lua: SET_IF_HELD_SCRIPT, numberOfKeys: 1 });
  }

  async claimIds(
    merchantId: string,
    ids: string[],
    value: string,
    ttlSeconds: number,
  ): Promise<Map<string, string | null>> {
    const ttl = String(validateClaimTtl(ttlSeconds));
    if (ids.length === 0) return new Map();
    this.keepAlive();
    // An id given twice is claimed once: the call claimed it, as the in-memory store answers.
    const unique = [...new Set(ids)];
    const keys = unique.map((id) => seenKey(this.prefix, merchantId, id));
    const claims = keys.map(
      (key): Call => ({ command: "set", args: [key, value, "NX", "GET", "EX", ttl] }),
    );
    // The refresh of this owner's mark goes with the claims: a claim made here is never taken
    // over while its maker lives, so the mark must be in Redis before the claim is. One Redis
    // runs a pipeline in order, mark first; a cluster's nodes do not wait on each other, so
    // there a mark not known to live (the first claim, or after an outage) is set first.
    const mark = this.markCall();
    const markFirst = this.redis.isCluster && !this.markKnownAlive();
    if (markFirst) {
      const [[err]] = (await this.send("claiming ids", [mark])) as [Reply];
      if (err !== null) throw failure("claiming ids", err);
      this.marked(mark.sentAt);
    }
    const held = await this.send("claiming ids", markFirst ? claims : [mark, ...claims]);
    // A failed refresh alone is let be, as keepAlive's: the mark was known to live, or the
    // pipeline ran in order on a Redis that refused the claims as well.
    if (!markFirst && held.shift()?.[0] === null) this.marked(mark.sentAt);
    const answers = held.map(([err, reply]) => {
      if (err !== null) throw failure("claiming ids", err);
      if (reply !== null && typeof reply !== "string") {
        throw new Error("claim store: claiming ids: SET answered no claim");
      }
      return reply;
    });
    await this.takeOverFromTheDead(keys, answers, value, ttl);
    return new Map(unique.map((id, i) => [id, answers[i]!]));
  }

  /**
   * REL-4: an id held by another owner's "accepting" claim (`accepting <receivedAt> <nonce>
   * <owner>`, claimOwnerOf) whose liveness mark is gone is taken over: that owner died mid-put
   * (kill -9), and nothing else would free it before its ttl. The mark lives in another hash
   * slot than the claim, so no one script reads both: EXISTS of each such owner's mark, then a
   * compare-and-set of each dead owner's claim, which takes it only if it still holds exactly
   * the value read (or nothing). Updates `answers` in place: null where taken over, else what
   * the claim holds now (another request took it over first, or the owner marked it).
   */
  private async takeOverFromTheDead(
    keys: string[],
    answers: (string | null)[],
    value: string,
    ttl: string,
  ): Promise<void> {
    const ownerOf = answers.map((held) => {
      const owner = held === null ? undefined : claimOwnerOf(held);
      return owner === this.ownerId ? undefined : owner;
    });
    const owners = [...new Set(ownerOf.filter((owner) => owner !== undefined))];
    if (owners.length === 0) return;
    const lives = await this.send(
      "reading owners' liveness",
      owners.map((owner) => ({ command: "exists", args: [ownerKey(this.prefix, owner)] })),
    );
    const dead = new Set(
      owners.filter((_, i) => {
        const [err, reply] = lives[i]!;
        if (err !== null) throw failure("reading owners' liveness", err);
        return reply === 0;
      }),
    );
    const taken = ownerOf.flatMap((owner, i) =>
      owner !== undefined && dead.has(owner) ? [i] : [],
    );
    if (taken.length === 0) return;
    const replies = await this.send(
      "taking claims over",
      taken.map((i) => ({
        command: SET_IF_HELD_COMMAND,
        args: [keys[i]!, value, ttl, answers[i]!],
      })),
    );
    taken.forEach((at, j) => {
      const [err, reply] = replies[j]!;
      if (err !== null) throw failure("taking claims over", err);
      answers[at] = typeof reply === "string" ? reply : null;
    });
  }

  async setClaims(
    merchantId: string,
    ids: string[],
    value: string,
    ttlSeconds: number,
    ifHeld?: string,
  ): Promise<void> {
    const ttl = String(validateClaimTtl(ttlSeconds));
    if (ids.length === 0) return;
    const keys = [...new Set(ids)].map((id) => seenKey(this.prefix, merchantId, id));
    const calls = keys.map(
      (key): Call =>
        ifHeld === undefined
          ? { command: "set", args: [key, value, "EX", ttl] }
          : { command: SET_IF_HELD_COMMAND, args: [key, value, ttl, ifHeld] },
    );
    for (const [err] of await this.send("setting claims", calls)) {
      if (err !== null) throw failure("setting claims", err);
    }
  }

  async releaseClaims(merchantId: string, ids: string[], value: string): Promise<void> {
    if (ids.length === 0) return;
    const calls = [...new Set(ids)].map(
      (id): Call => ({
        command: RELEASE_COMMAND,
        args: [seenKey(this.prefix, merchantId, id), value],
      }),
    );
    for (const [err] of await this.send("releasing claims", calls)) {
      if (err !== null) throw failure("releasing claims", err);
    }
  }

  async claimOf(merchantId: string, id: string): Promise<string | null> {
    return this.redis.get(seenKey(this.prefix, merchantId, id));
  }

  /**
   * The calls, sent together, and each one's error or reply, in order. On one Redis: one
   * pipeline, one round trip, run in order. On a cluster a pipeline must stay on one node, so
   * each call is a command of its own, which the client auto-pipelines per node when so
   * configured (the runtime's is), and sends at once in any case.
   */
  private async send(what: string, calls: Call[]): Promise<Reply[]> {
    if (this.redis.isCluster) {
      const redis = this.redis;
      return Promise.all(
        calls.map((call) =>
          Promise.resolve()
            .then(() => issue(redis, call))
            .then(
              (reply): Reply => [null, reply],
              (err: Error): Reply => [err, null],
            ),
        ),
      );
    }
    const pipeline = this.redis.pipeline();
    for (const call of calls) issue(pipeline, call);
    const replies = await pipeline.exec();
    if (replies === null || replies.length !== calls.length) {
      throw new Error(`claim store: ${what}: the pipeline returned no result (connection lost?)`);
    }
    return replies;
  }

  /** The refresh of this owner's liveness mark, and when it is sent. */
  private markCall(): Call & { sentAt: number } {
    return {
      command: "set",
      args: [ownerKey(this.prefix, this.ownerId), "1", "PX", String(OWNER_LIVENESS_MS)],
      sentAt: Date.now(),
    };
  }

  /** Redis acknowledged a refresh of the mark sent at `sentAt`. */
  private marked(sentAt: number): void {
    this.markSentAt = Math.max(this.markSentAt, sentAt);
  }

  /**
   * Whether the mark surely still lives when a claim sent now reaches Redis: a refresh sent
   * less than OWNER_LIVENESS_MS ago was acknowledged, with OWNER_REFRESH_MS left for the claim
   * to arrive.
   */
  private markKnownAlive(): boolean {
    return Date.now() - this.markSentAt < OWNER_LIVENESS_MS - OWNER_REFRESH_MS;
  }

  /**
   * Starts refreshing this owner's liveness mark every OWNER_REFRESH_MS (each claim call
   * refreshes it too). A failed refresh is let be: Redis is down, so nobody can take a claim
   * over either; after OWNER_LIVENESS_MS without one (the process stalled or lost Redis), its
   * claims may be taken over, and its late marks then leave them alone (setClaims with ifHeld).
   */
  private keepAlive(): void {
    if (this.liveness !== undefined) return;
    this.liveness = setInterval(() => {
      const { args, sentAt } = this.markCall();
      this.redis.call("set", ...args).then(
        () => this.marked(sentAt),
        () => {},
      );
    }, OWNER_REFRESH_MS);
    this.liveness.unref();
  }

  async close(): Promise<void> {
    if (this.liveness === undefined) return;
    clearInterval(this.liveness);
    this.liveness = undefined;
    this.markSentAt = Number.NEGATIVE_INFINITY;
    // Stopped in order: what this process still claims, nobody will put; a successor takes it
    // over at once instead of after OWNER_LIVENESS_MS.
    if (this.redis.status === "ready") {
      await this.redis.del(ownerKey(this.prefix, this.ownerId)).catch(() => {});
    }
  }
}
