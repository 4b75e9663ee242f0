import type { EntityKind, HistoryResult, WindowQuery } from "../rules/vocabulary.ts";

/**
 * The words the history shares with the rules are the rules' (rules/vocabulary.ts): the
 * history computes what they ask for. Re-exported, so the history's port reads whole.
 */
export {
  ENTITY_KINDS,
  type EntityKind,
  HISTORY_WINDOW_SECONDS,
  type HistoryResult,
  type PriorSummary,
  type WindowQuery,
  type WindowResult,
} from "../rules/vocabulary.ts";

/** One transaction as the history sees it. */
export interface HistoryItem {
  merchantId: string;
  transactionId: string;
  /** Milliseconds since the epoch (see eventTimeOf). */
  eventTime: number;
  amount: number;
  currency: string;
  country?: string;
  cardToken?: string;
  /** The ids of the entities this transaction belongs to; absent ones are not tracked. */
  entities: Partial<Record<EntityKind, string>>;
  queries: readonly WindowQuery[];
}

/** One entry of an entity's history, as the query API shows it. */
export interface HistoryEntry {
  transactionId: string;
  eventTime: number;
  amount: number;
  currency: string;
  country?: string;
  cardToken?: string;
}

/**
 * The 24-hour history port. Implementations: Redis (one Lua script call per transaction,
 * pipelined per batch) and in-memory (same semantics, for the embedded run and replays).
 */
export interface HistoryStore {
  /**
   * Records each item in its entities' histories and returns its aggregates, in order.
   * Entries with event time before `now - 24 h` are trimmed and every touched key expires
   * at most 24 h after `now`. Recording an item twice changes nothing.
   */
  recordBatch(items: HistoryItem[], now: number): Promise<HistoryResult[]>;
  /**
   * Records the items as recordBatch does, but answers nothing and does not wait for the history
   * to be complete: the path a rebuild from the ledger writes through (REL-6). A store that can
   * skip the aggregates here does, so that a rebuild costs time linear in the day's volume.
   */
  restore(items: HistoryItem[], now: number): Promise<void>;
  /** The customer's entries of the last 24 hours before `now`, oldest first. */
  customerHistory(merchantId: string, customerId: string, now: number): Promise<HistoryEntry[]>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
