import type { Transaction } from "../transaction/types.ts";
import type { HistoryResult, WindowQuery, WindowResult } from "./vocabulary.ts";

/** What a rule sees when it decides whether it fires. */
export interface RuleContext {
  tx: Transaction;
  /** Milliseconds since the epoch: the instant the transaction counts at in windows. */
  eventTime: number;
  history: HistoryResult;
  /** The aggregate for a query this rule planned for this transaction. */
  window(query: WindowQuery): WindowResult;
}

/** A rule kind fires with a short human sentence carrying the numbers, or does not (null). */
export type Firing = string | null;
