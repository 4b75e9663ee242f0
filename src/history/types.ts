import { randomBytes } from "node:crypto";

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
  /**
   * REL-6: set when the store could not confirm that it holds the whole 24 hours (it lost its
   * data and another process's rebuild from the ledger did not finish in time): the aggregates
   * may count less than the day, and the decision says so.
   */
  incomplete?: true;
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

/** How long an owner's liveness mark lives unrefreshed: its claims are taken over after it. */
export const OWNER_LIVENESS_MS = 3000;
/** How often a live owner refreshes its mark: OWNER_LIVENESS_MS lets two refreshes fail. */
export const OWNER_REFRESH_MS = 1000;

/** A fresh HistoryStore.ownerId: 72 random bits, URL-safe, no spaces. */
export function newOwnerId(): string {
  return randomBytes(9).toString("base64url");
}

/**
 * The owner named by an ingest claim's value (`accepting <receivedAt> <nonce> <owner>`), or
 * undefined for any other value: such claims are never taken over. The Lua claim script reads
 * it alike.
 */
export function claimOwnerOf(value: string): string | undefined {
  const words = value.split(" ");
  return words.length === 4 && words[0] === "accepting" && words[3] !== "" ? words[3] : undefined;
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
  /**
   * This process's owner id for ingest claims (REL-4): random per start, no spaces. The store
   * keeps it alive (a short-lived liveness mark in the store, refreshed every second, dropped
   * by close()) from the first claimIds call on; a process that dies (kill -9) stops refreshing
   * it, and its claims can be taken over within seconds (OWNER_LIVENESS_MS).
   */
  readonly ownerId: string;
  /**
   * Ingest claims (ING-1): claims each id for the merchant unless a claim exists, atomically per
   * id (SET NX EX, all ids in one round trip). Maps each id to null when this call claimed it,
   * or to the value of the claim already there: of concurrent calls for one id, exactly one
   * claims it.
   *
   * Takeover (REL-4): a claim whose value is `accepting <receivedAt> <nonce> <owner>` (four
   * words) is held only while its owner is alive. If `owner` is not this store's ownerId and
   * that owner's liveness mark is gone, this call takes the claim over (atomically with the
   * check) and maps the id to null. Claims of any other shape are held until they expire. The
   * call also refreshes this store's own liveness mark, so a claim it makes is never taken over
   * while its maker lives.
   */
  claimIds(
    merchantId: string,
    ids: string[],
    value: string,
    ttlSeconds: number,
  ): Promise<Map<string, string | null>>;
  /**
   * Sets the value and ttl of the ids' claims (SET EX): of all of them, claimed or not, or, with
   * `ifHeld`, only of those whose claim still holds `ifHeld` or has none (compare-and-set, atomic
   * per id), so that a request whose claim was taken over (REL-4) cannot overwrite the claim of
   * the request that took it.
   */
  setClaims(
    merchantId: string,
    ids: string[],
    value: string,
    ttlSeconds: number,
    ifHeld?: string,
  ): Promise<void>;
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
