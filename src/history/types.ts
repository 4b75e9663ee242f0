/** The entities whose 24-hour history is kept (PRC-2). */
export const ENTITY_KINDS = ["customer", "card", "device", "ip"] as const;
export type EntityKind = (typeof ENTITY_KINDS)[number];

/** How long history is kept, and the longest window any rule may look back. */
export const HISTORY_WINDOW_SECONDS = 24 * 60 * 60;

/**
 * One aggregate a rule needs, over one entity's entries whose event time lies in
 * [eventTime - windowSeconds, eventTime]. The transaction itself is included (it is recorded
 * before aggregates are read), which also makes a redelivered transaction see the same numbers.
 */
export interface WindowQuery {
  entity: EntityKind;
  windowSeconds: number;
  /**
   * Optional amount band [minAmount, maxAmount) in minor units. When a band is set only
   * entries in the transaction's own currency are counted.
   */
  minAmount?: number;
  maxAmount?: number;
}

export interface WindowResult {
  /** Entries in the window (all currencies, or only the band when one is set). */
  count: number;
  /** Sum of the amounts of counted entries in the transaction's own currency. */
  sum: number;
  /** Distinct card tokens among the entries in the window (the transaction's own included). */
  distinctCards: number;
}

/** What the entity did in the 24 hours before this transaction (the transaction excluded). */
export interface PriorSummary {
  count: number;
  /** Entries in the transaction's currency, their sum and their maximum amount. */
  sameCurrencyCount: number;
  sameCurrencySum: number;
  sameCurrencyMax: number;
  /** The latest earlier entry, for country change and impossible travel. */
  last: { eventTime: number; country?: string } | null;
}

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

export interface HistoryResult {
  /** Present for every entity the transaction has. */
  prior: Partial<Record<EntityKind, PriorSummary>>;
  /** In the order of HistoryItem.queries; zeros for an entity the transaction lacks. */
  windows: WindowResult[];
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
  /** The customer's entries of the last 24 hours before `now`, oldest first. */
  customerHistory(merchantId: string, customerId: string, now: number): Promise<HistoryEntry[]>;
  /**
   * Ingest claims (ING-1): claims each id for the merchant unless a claim exists, atomically per
   * id (SET NX EX, all ids in one round trip). Maps each id to null when this call claimed it,
   * or to the value of the claim already there: of concurrent calls for one id, exactly one
   * claims it.
   */
  claimIds(
    merchantId: string,
    ids: string[],
    value: string,
    ttlSeconds: number,
  ): Promise<Map<string, string | null>>;
  /** Sets the value and ttl of the ids' claims, claimed or not (SET EX). */
  setClaims(merchantId: string, ids: string[], value: string, ttlSeconds: number): Promise<void>;
  /**
   * Drops each id's claim whose value is still `value` (compare-and-delete, atomic per id), so
   * that the id can be claimed again. A claim with another value is left alone: it was made by
   * another request after this one's expired, and is that request's to release.
   */
  releaseClaims(merchantId: string, ids: string[], value: string): Promise<void>;
  /** The value of the id's claim, or null when it has none (never claimed, released, expired). */
  claimOf(merchantId: string, id: string): Promise<string | null>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
