import { transactionKey } from "../transaction/key.ts";
import {
  compareEntries,
  lowerBound,
  priorOf,
  type StoredEntry,
  storedEntryOf,
  windowOf,
  ZERO_WINDOW,
} from "./aggregate.ts";
import { DAY_MS, entityKey, entryOf, presentKinds, validateBatch } from "./keys.ts";
import type { HistoryRebuild } from "./rebuild.ts";
import type {
  EntityKind,
  HistoryEntry,
  HistoryItem,
  HistoryResult,
  HistoryStore,
  PriorSummary,
} from "./types.ts";

/** Keys are the Redis store's keys under this prefix, so both stores name entities alike. */
const PREFIX = "mem";

/**
 * How often (in the time of the `now` values passed in, not wall time) untouched keys are swept:
 * trimming on write only bounds the keys that keep being written to.
 */
const SWEEP_EVERY_MS = 60_000;

export interface MemoryHistoryOptions {
  /**
   * REL-6: the store starts empty. With a rebuild, recordBatch and customerHistory first wait
   * for it to have replayed the ledger's last 24 h once (whenComplete), so that no decision is
   * made on a partial day.
   */
  rebuild?: HistoryRebuild;
}

/** One entity's entries, sorted as a Redis sorted set orders them, and its members. */
interface EntityHistory {
  entries: StoredEntry[];
  members: Set<string>;
}

/**
 * The 24-hour history in process memory, with the Redis store's semantics: the embedded local
 * run (LOC-1) and replays use it. No clock of its own: every call says `now`,
 * so a replay of last month's traffic ages entries exactly as production did. Calls are expected
 * not to move `now` backwards (wall time and a replay's time do not): the sweep trims every key
 * to the latest `now`, where Redis would have trimmed only the keys a call touched.
 */
export class MemoryHistoryStore implements HistoryStore {
  private readonly histories = new Map<string, EntityHistory>();
  /** transactionKey -> the member first stored for the id, and when that expires (`now` time). */
  private readonly recorded = new Map<string, { member: string; expiresAt: number }>();
  private lastSweep = -Infinity;
  private closed = false;
  private readonly rebuild: HistoryRebuild | undefined;
  /** Whether the store holds the whole 24 h: true without a rebuild, else once it has run. */
  private complete: boolean;
  /** The rebuild running, shared by every call that waits for it. */
  private rebuilding: Promise<void> | undefined;

  constructor(options: MemoryHistoryOptions = {}) {
    this.rebuild = options.rebuild;
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
    return items.map((item) => this.record(item, now));
  }

  async restore(items: HistoryItem[], now: number): Promise<void> {
    this.assertOpen();
    validateBatch(items, now);
    if (now - this.lastSweep >= SWEEP_EVERY_MS) this.sweep(now);
    for (const item of items) this.add(item, now);
  }

  private record(item: HistoryItem, now: number): HistoryResult {
    const { self, touched } = this.add(item, now);
    const prior: Partial<Record<EntityKind, PriorSummary>> = {};
    for (const [kind, entries] of touched) prior[kind] = priorOf(entries, self);
    const windows = item.queries.map((q) => {
      const entries = touched.get(q.entity);
      return entries === undefined ? { ...ZERO_WINDOW } : windowOf(entries, self, q);
    });
    return { prior, windows };
  }

  /**
   * The writing half of the script: trims each of the item's entity keys and adds its entry
   * (ZADD NX), once per transaction id. Answers the entry as stored and each key's entries after
   * the add; reading them (priorOf, windowOf) is what costs time with the key's size, and a
   * restore skips it.
   */
  private add(
    item: HistoryItem,
    now: number,
  ): { self: StoredEntry; touched: Map<EntityKind, readonly StoredEntry[]> } {
    const cutoff = now - DAY_MS;
    // As the script does: an id already recorded is that first entry, whatever it carries now.
    const rkey = transactionKey(item);
    const kept = this.recorded.get(rkey);
    const first = kept !== undefined && kept.expiresAt > now ? kept.member : undefined;
    const self = { ...storedEntryOf(item), ...(first !== undefined && { member: first }) };
    const stored = item.eventTime >= cutoff && first === undefined;
    const touched = new Map<EntityKind, readonly StoredEntry[]>();
    for (const kind of presentKinds(item)) {
      const key = entityKey(PREFIX, item.merchantId, kind, item.entities[kind]!);
      const history = this.histories.get(key) ?? { entries: [], members: new Set<string>() };
      trim(history, cutoff);
      if (stored && !history.members.has(self.member)) insert(history, self);
      if (history.entries.length === 0) this.histories.delete(key);
      else this.histories.set(key, history);
      touched.set(kind, history.entries);
    }
    if (stored) this.recorded.set(rkey, { member: self.member, expiresAt: now + DAY_MS });
    return { self, touched };
  }

  async customerHistory(
    merchantId: string,
    customerId: string,
    now: number,
  ): Promise<HistoryEntry[]> {
    this.assertOpen();
    await this.whenComplete(now);
    this.assertOpen();
    const history = this.histories.get(entityKey(PREFIX, merchantId, "customer", customerId));
    if (history === undefined) return [];
    const out: HistoryEntry[] = [];
    for (let i = lowerBound(history.entries, now - DAY_MS); i < history.entries.length; i++) {
      const e = history.entries[i]!;
      if (e.eventTime > now) break;
      out.push(entryOf(e.member, e.eventTime));
    }
    return out;
  }

  /**
   * Trims every key to the 24 h before `now`, drops the empty ones and forgets expired record
   * keys; recordBatch calls it once a minute of `now`. Returns the entity keys dropped.
   */
  sweep(now: number): number {
    let dropped = 0;
    for (const [key, history] of this.histories) {
      trim(history, now - DAY_MS);
      if (history.entries.length === 0) {
        this.histories.delete(key);
        dropped++;
      }
    }
    for (const [key, { expiresAt }] of this.recorded)
      if (expiresAt <= now) this.recorded.delete(key);
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
    this.recorded.clear();
  }

  /** As a closed Redis connection does, so code that uses a closed store fails the same way. */
  private assertOpen(): void {
    if (this.closed) throw new Error("history store is closed");
  }
}

/** ZREMRANGEBYSCORE -inf (cutoff: entries are sorted, so the old ones are a prefix. */
function trim(history: EntityHistory, cutoff: number): void {
  const keep = lowerBound(history.entries, cutoff);
  if (keep === 0) return;
  for (const e of history.entries.splice(0, keep)) history.members.delete(e.member);
}

/** ZADD NX: the position keeps Redis's order (score, then member bytes). */
function insert(history: EntityHistory, entry: StoredEntry): void {
  const { entries } = history;
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareEntries(entries[mid]!, entry) < 0) lo = mid + 1;
    else hi = mid;
  }
  entries.splice(lo, 0, entry);
  history.members.add(entry.member);
}
