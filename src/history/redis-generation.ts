import { setTimeout as sleep } from "node:timers/promises";
import type { RedisClient } from "../redis-client.ts";
import { DAY_MS, generationKey, rebuildLockKey, rebuildProgressKey } from "./keys.ts";
import {
  type HistoryRebuild,
  type HistorySink,
  REBUILD_WAIT_MS,
  type RebuildProgress,
} from "./rebuild.ts";
import { HistoryUnavailableError } from "./unavailable.ts";

/**
 * The rebuild lock lives this long unrefreshed: the rebuilding process refreshes it three times
 * as often, and one that dies (a Lambda timing out mid-rebuild) frees it for another in time.
 */
const LOCK_MS = 30_000;
/** How often a waiting process looks for the marker (and for a lock left free). */
const POLL_MS = 100;
/**
 * A saved progress whose `from` is older than the day before now by more than this is not
 * resumed but started over: it was left by a rebuild abandoned long ago (no batch came to go on
 * with it), and going on would replay far more than a day. A busy day replays in minutes.
 */
const PROGRESS_SLACK_MS = 60 * 60_000;
/** Like every other key, the progress expires (PRC-2); a day after its last write. */
const PROGRESS_TTL_MS = DAY_MS;

const FINISH_COMMAND = "txwFinishRebuild";
const EXTEND_COMMAND = "txwExtendRebuild";
const DROP_COMMAND = "txwDropRebuild";
const PROGRESS_COMMAND = "txwRebuildProgress";

/**
 * Sets the marker only while the lock is still this process's: a Redis that restarted during the
 * rebuild has lost the lock with the entries replayed before, and must not be marked complete.
 * The progress goes with the lock, so that the next loss's rebuild cannot resume this one's.
 */
const FINISH_SCRIPT = `
if redis.call("GET", KEYS[1]) ~= ARGV[1] then return 0 end
redis.call("SET", KEYS[2], ARGV[2])
redis.call("DEL", KEYS[1], KEYS[3])
return 1`;

/**
 * Saves the progress only while the lock is this process's: one that lost it (Redis restarted,
 * or it stalled past the lock's life and another process took over) must not move the progress
 * of the rebuild that goes on without it.
 */
const PROGRESS_SCRIPT = `
if redis.call("GET", KEYS[1]) ~= ARGV[1] then return 0 end
redis.call("SET", KEYS[2], ARGV[2], "PX", ARGV[3])
return 1`;

const EXTEND_SCRIPT = `
if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) end
return 0`;

const DROP_SCRIPT = `
if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end
return 0`;

/** The saved progress, or undefined when the key holds something else (set by hand, say). */
function progressOf(text: string): RebuildProgress | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const { from, cursor, replayed } = value as Record<string, unknown>;
  if (typeof from !== "string" || Number.isNaN(Date.parse(from))) return undefined;
  if (typeof cursor !== "string" || typeof replayed !== "number") return undefined;
  if (!Number.isSafeInteger(replayed) || replayed < 0) return undefined;
  return { from, cursor, replayed };
}

function call(redis: RedisClient, name: string, ...keysAndArgs: string[]): Promise<unknown> {
  const method: unknown = Reflect.get(redis, name);
  if (typeof method !== "function") throw new Error(`${name} is not defined on this client`);
  return Reflect.apply(method, redis, keysAndArgs) as Promise<unknown>;
}

/**
 * REL-6: the generation marker of one Redis history and what is done when it is gone. Redis
 * restarted without persistence (or flushed) comes back without the marker, and the store's
 * checks see it (RedisHistoryStore.recordBatch). Then one process, the one that takes the lock,
 * replays the ledger's last 24 h and sets the marker again; the others wait for the marker a
 * bounded time (HistoryRebuild.waitMs) and, if it does not come, decide on what the store holds
 * with their results marked incomplete until it does.
 *
 * A day may take longer to replay than a process lives (a Lambda invocation), so the rebuild
 * saves its progress beside the lock after each chunk: a process that takes the lock over
 * resumes from there, and one whose time budget (HistoryRebuild.budgetMs) runs out stops at a
 * chunk's end and frees the lock for the next.
 */
export class HistoryGeneration {
  readonly markerKey: string;
  private readonly lockKey: string;
  private readonly progressKey: string;
  private readonly waitMs: number;
  private readonly budgetMs: number | undefined;
  /** The regain in flight in this process: its concurrent batches share it. */
  private regaining: Promise<boolean> | undefined;
  /** This outage's wait has run out: later batches decide at once until the marker is back. */
  private waitedOut = false;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly ownerId: string,
    private readonly rebuild: HistoryRebuild,
    private readonly sink: HistorySink,
  ) {
    this.markerKey = generationKey(prefix);
    this.lockKey = rebuildLockKey(prefix);
    this.progressKey = rebuildProgressKey(prefix);
    this.waitMs = rebuild.waitMs ?? REBUILD_WAIT_MS;
    this.budgetMs = rebuild.budgetMs;
    redis.defineCommand(FINISH_COMMAND, { numberOfKeys: 3, lua: FINISH_SCRIPT });
    redis.defineCommand(PROGRESS_COMMAND, { numberOfKeys: 2, lua: PROGRESS_SCRIPT });
    redis.defineCommand(EXTEND_COMMAND, { numberOfKeys: 1, lua: EXTEND_SCRIPT });
    redis.defineCommand(DROP_COMMAND, { numberOfKeys: 1, lua: DROP_SCRIPT });
  }

  /** A batch saw the marker around its scripts: any outage is over. */
  confirmed(): void {
    this.waitedOut = false;
  }

  /**
   * A batch did not see the marker. Answers true when the batch is to check again: the marker is
   * back (rebuilt here or by another process), or this process's rebuild was cut short by Redis
   * losing its data once more; false when the batch is to be decided on an incomplete history
   * (the store holds whatever it holds, counted as the day): the wait ran out, or the time
   * budget counted from `since` (when the batch began) did. Rejects with a
   * HistoryUnavailableError when the lock, the marker or this process's rebuild failed (Redis
   * refused, the ledger could not be read): the batch then fails and is redelivered, and the
   * next attempt rebuilds again. Never with the raw error: what the ledger's scan or Redis said
   * is no fault of the batch's records, which must not be quarantined for it (REL-5).
   */
  regain(now: number, since = Date.now()): Promise<boolean> {
    this.regaining ??= this.regainOnce(now, since)
      .catch((error: unknown) => {
        throw error instanceof HistoryUnavailableError
          ? error
          : new HistoryUnavailableError("regaining the lost history", error);
      })
      .finally(() => {
        this.regaining = undefined;
      });
    return this.regaining;
  }

  private async regainOnce(now: number, since: number): Promise<boolean> {
    const budgetEnd = this.budgetMs === undefined ? Infinity : since + this.budgetMs;
    const taken = await this.takeLock();
    if (taken === "marked") return true;
    if (taken === "taken") return this.rebuildHere(now, budgetEnd);
    if (this.waitedOut) return false;
    const waitStart = Date.now();
    const deadline = Math.min(waitStart + this.waitMs, budgetEnd);
    while (Date.now() < deadline) {
      await sleep(Math.min(POLL_MS, Math.max(0, deadline - Date.now())));
      if ((await this.redis.exists(this.markerKey)) === 1) return true;
      // The rebuilding process may have died, or given up its turn: it freed the lock, or the
      // lock expired, and one of the waiters goes on from the progress saved.
      const again = await this.takeLock();
      if (again === "marked") return true;
      if (again === "taken") return this.rebuildHere(now, budgetEnd);
    }
    this.waitedOut = true;
    this.rebuild.events?.blind?.(Date.now() - waitStart);
    return false;
  }

  /**
   * The rebuild lock, unless the marker is back: a rebuild that finished freed the lock as it
   * set the marker (one script), so a lock taken just after must not replay the day again.
   */
  private async takeLock(): Promise<"taken" | "held" | "marked"> {
    if ((await this.redis.set(this.lockKey, this.ownerId, "PX", LOCK_MS, "NX")) !== "OK") {
      return "held";
    }
    if ((await this.redis.exists(this.markerKey)) === 0) return "taken";
    await call(this.redis, DROP_COMMAND, this.lockKey, this.ownerId).catch(() => {});
    return "marked";
  }

  /**
   * The progress another process saved, to go on from; undefined to start over: none saved, or
   * one from too long ago (PROGRESS_SLACK_MS).
   */
  private async savedProgress(now: number): Promise<RebuildProgress | undefined> {
    const text = await this.redis.get(this.progressKey);
    const progress = text === null ? undefined : progressOf(text);
    if (progress === undefined) return undefined;
    const from = Date.parse(progress.from);
    // A `from` after the day before now would leave the day's first transactions out.
    if (from < now - DAY_MS - PROGRESS_SLACK_MS || from > now - DAY_MS) return undefined;
    return progress;
  }

  private async rebuildHere(now: number, budgetEnd: number): Promise<boolean> {
    const events = this.rebuild.events;
    const started = Date.now();
    const refresh = setInterval(() => {
      call(this.redis, EXTEND_COMMAND, this.lockKey, this.ownerId, String(LOCK_MS)).catch(() => {});
    }, LOCK_MS / 3);
    refresh.unref();
    try {
      const resume = await this.savedProgress(now);
      if (resume === undefined) events?.lost?.();
      else events?.resumed?.(resume.replayed);
      const stop: { why?: "lock" | "budget" } = {};
      const checkpoint = async (progress: RebuildProgress): Promise<boolean> => {
        const saved = await call(
          this.redis,
          PROGRESS_COMMAND,
          this.lockKey,
          this.progressKey,
          this.ownerId,
          JSON.stringify(progress),
          String(PROGRESS_TTL_MS),
        );
        if (saved !== 1) stop.why = "lock";
        else if (Date.now() >= budgetEnd) stop.why = "budget";
        return stop.why === undefined;
      };
      const transactions = await this.rebuild.replay(this.sink, now, {
        ...(resume !== undefined && { resume }),
        checkpoint,
      });
      if (stop.why === "lock") {
        // The batch checks again: after a Redis restart it rebuilds anew (within its rounds);
        // when another process took the lock over, it waits for that one's marker.
        events?.failed?.(new Error("the rebuild lock was lost before the end (Redis restarted?)"));
        return true;
      }
      if (stop.why === "budget") {
        // The progress is saved: whoever takes the lock next (this process's next batch, or
        // another's) goes on from there. Until the marker is back this process decides at once.
        await call(this.redis, DROP_COMMAND, this.lockKey, this.ownerId).catch(() => {});
        this.waitedOut = true;
        events?.paused?.(transactions, Date.now() - started);
        return false;
      }
      const generation = `${new Date().toISOString()} ${this.ownerId} ${transactions}`;
      const finished = await call(
        this.redis,
        FINISH_COMMAND,
        this.lockKey,
        this.markerKey,
        this.progressKey,
        this.ownerId,
        generation,
      );
      if (finished !== 1) {
        // The batch checks again, misses the marker, and rebuilds anew (within its rounds).
        events?.failed?.(new Error("the rebuild lock was lost before the end (Redis restarted?)"));
        return true;
      }
      events?.rebuilt?.(transactions, Date.now() - started);
      return true;
    } catch (error) {
      events?.failed?.(error);
      await call(this.redis, DROP_COMMAND, this.lockKey, this.ownerId).catch(() => {});
      throw new HistoryUnavailableError("rebuilding the history from the ledger", error);
    } finally {
      clearInterval(refresh);
    }
  }
}
