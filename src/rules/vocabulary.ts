/**
 * The rules' own words: which entities a rule can look at, what it asks of their last 24 hours
 * and what it gets back. The rules define them and the history implements them (history/
 * imports this module, never the reverse), so a new rule kind that needs a new aggregate starts
 * here and the stores follow.
 */

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
   * entries in the transaction's own currency are counted, and only the count is answered
   * (sum and distinctCards are 0): a band is a structuring rule's, which counts.
   */
  minAmount?: number;
  maxAmount?: number;
  /**
   * What the rule reads besides the count (always answered): the sum, distinct cards, or both
   * when absent. A measure not asked for answers 0, so the history skips the work (SCL-1).
   */
  measures?: readonly WindowMeasure[];
}

export type WindowMeasure = "sum" | "distinctCards";

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
  /** Entries in the transaction's currency and their sum. */
  sameCurrencyCount: number;
  sameCurrencySum: number;
  /** The latest earlier entry, for country change and impossible travel. */
  last: { eventTime: number; country?: string } | null;
}

/** What the history answers for one transaction, and what the rules decide on. */
export interface HistoryResult {
  /** Present for every entity the transaction has. */
  prior: Partial<Record<EntityKind, PriorSummary>>;
  /** In the order of the transaction's queries; zeros for an entity the transaction lacks. */
  windows: WindowResult[];
  /**
   * REL-6: set when the store could not confirm that it holds the whole 24 hours (it lost its
   * data and another process's rebuild from the ledger did not finish in time): the aggregates
   * may count less than the day, and the decision says so.
   */
  incomplete?: true;
}
