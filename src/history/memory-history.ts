import { EntityHistory, recordEntity } from "./entity-history.ts";
import { DAY_MS, entityKeys, entryOf, validateBatch } from "./keys.ts";
import type { HistoryRebuild } from "./rebuild.ts";
import { AGGREGATE_FROM, type EntityAnswer, entityRequests, resultOf } from "./record-entity.ts";
import type {
  EntityKind,
  HistoryEntry,
  HistoryItem,
  HistoryResult,
  HistoryStore,
} from "./types.ts";

/** Keys are the Redis store's keys under this prefix, so both stores name entities alike. */
const PREFIX = "mem";

/**
 * How often (in the time of the `now` values passed in, not wall time) expired entities are
 * swept: as Redis expires keys a day after their last write.
 */
const SWEEP_EVERY_MS = 60_000;

export interface MemoryHistoryOptions {
  /**
   * REL-6: the store starts empty. With a rebuild, recordBatch and customerHistory first wait
   * for it to have replayed the ledger's last 24 h once (whenComplete), so that no decision is
   * made on a partial day.
   */
  rebuild?: HistoryRebuild;
  /** Entries from which an entity keeps running aggregates, as the Redis store's. */
  aggregateFrom?: number;
}

/**
 * The 24-hour history in process memory, with the Redis store's semantics (entity-history.ts
 * runs the script's steps): the embedded local run (LOC-1) and replays use it. No clock of its
 * own: every call says `now`, so a replay of last month's traffic ages entries exactly as
 * production did. Calls are expected not to move `now` backwards (wall time and a replay's time
 * do not).
 */
export class MemoryHistoryStore implements HistoryStore {
  private readonly histories = new Map<string, EntityHistory>();
  private readonly aggregateFrom: number;
  private lastSweep = -Infinity;
  private closed = false;
  private readonly rebuild: HistoryRebuild | undefined;
  /** Whether the store holds the whole 24 h: true without a rebuild, else once it has run. */
  private complete: boolean;
  /** The rebuild running, shared by every call that waits for it. */
  private rebuilding: Promise<void> | undefined;

  constructor(options: MemoryHistoryOptions = {}) {
    this.rebuild = options.rebuild;
    this.aggregateFrom = options.aggregateFrom ?? AGGREGATE_FROM;
    this.complete = options.rebuild === undefined;
  }

  /**
   * Resolves once the store holds the ledger's last 24 h, running the rebuild if no call has
   * started it yet. The runtime calls it at start without waiting, so the API listens while the
   * day is replayed and the processor's first batch waits for the end of it. A rebuild that
   * fails is run again by the next call.
   */
  whenComplete(now = Date.now()): Promise<void> {
    if (this.complete) return Promise.resolve();
    this.rebuilding ??= this.runRebuild(this.rebuild!, now).finally(() => {
      this.rebuilding = undefined;
    });
    return this.rebuilding;
  }

  private async runRebuild(rebuild: HistoryRebuild, now: number): Promise<void> {
    const started = Date.now();
    try {
      const transactions = await rebuild.replay(this, now);
      this.assertOpen();
      this.complete = true;
      rebuild.events?.rebuilt?.(transactions, Date.now() - started);
    } catch (error) {
      // Stopped while it ran: close() made the replay fail, which is no failure to report.
      if (!this.closed) rebuild.events?.failed?.(error);
      throw error;
    }
  }

  async recordBatch(items: HistoryItem[], now: number): Promise<HistoryResult[]> {
    this.assertOpen();
    validateBatch(items, now);
    await this.whenComplete(now);
    this.assertOpen();
    if (now - this.lastSweep >= SWEEP_EVERY_MS) this.sweep(now);
    return items.map((item) => this.record(item, now, true)!);
  }

  async restore(items: HistoryItem[], now: number): Promise<void> {
    this.assertOpen();
    validateBatch(items, now);
    if (now - this.lastSweep >= SWEEP_EVERY_MS) this.sweep(now);
    for (const item of items) this.record(item, now, false);
  }

  private record(item: HistoryItem, now: number, answer: boolean): HistoryResult | undefined {
    const answers: { kind: EntityKind; queryIndexes: number[]; answer: EntityAnswer }[] = [];
    for (const request of entityRequests(item, answer)) {
      const entity = this.entity(item.merchantId, request.kind, request.entityId, now);
      const got = recordEntity(entity, request, item.eventTime, now, this.aggregateFrom, answer);
      // Redis keeps no key for a set left empty (a transaction too old to store).
      if (entity.empty)
        this.histories.delete(this.keyOf(item.merchantId, request.kind, request.entityId));
      if (got !== undefined) answers.push({ ...request, answer: got });
    }
    return answer ? resultOf(item, answers) : undefined;
  }

  /** The entity's history, a fresh one when it has none or its keys expired (as in Redis). */
  private keyOf(merchantId: string, kind: EntityKind, entityId: string): string {
    return entityKeys(PREFIX, merchantId, kind, entityId).times;
  }

  private entity(merchantId: string, kind: EntityKind, entityId: string, now: number) {
    const key = this.keyOf(merchantId, kind, entityId);
    let entity = this.histories.get(key);
    if (entity === undefined || entity.expiresAt < now) {
      entity = new EntityHistory();
      this.histories.set(key, entity);
    }
    return entity;
  }

  async customerHistory(
    merchantId: string,
    customerId: string,
    now: number,
  ): Promise<HistoryEntry[]> {
    this.assertOpen();
    await this.whenComplete(now);
    this.assertOpen();
    const entity = this.histories.get(entityKeys(PREFIX, merchantId, "customer", customerId).times);
    if (entity === undefined || entity.expiresAt < now) return [];
    return entity.times.range(now - DAY_MS, now).map((e) => entryOf(e.member, e.score));
  }

  /** Drops the entities whose keys have expired; recordBatch calls it once a minute of `now`. */
  sweep(now: number): number {
    let dropped = 0;
    for (const [key, entity] of this.histories) {
      if (entity.expiresAt < now) {
        this.histories.delete(key);
        dropped++;
      }
    }
    this.lastSweep = Math.max(this.lastSweep, now);
    return dropped;
  }

  /** Entity keys held, for tests and metrics. */
  get size(): number {
    return this.histories.size;
  }

  async ping(): Promise<void> {
    this.assertOpen();
  }

  async close(): Promise<void> {
    this.closed = true;
    // A rebuild still running stops at its next restore (the store is closed); waiting for it
    // means the ledger it reads is not closed under it.
    await this.rebuilding?.catch(() => {});
    this.histories.clear();
  }

  /** As a closed Redis connection does, so code that uses a closed store fails the same way. */
  private assertOpen(): void {
    if (this.closed) throw new Error("history store is closed");
  }
}
