import type { Action, Reason, Transaction } from "../transaction/types.ts";
import type { HistoryResult, WindowQuery } from "./vocabulary.ts";

/** The outcome of the rules for one transaction, before it is stamped with a time. */
export interface Verdict {
  action: Action;
  score: number;
  reasons: Reason[];
  rulesetVersion: string;
}

/**
 * A validated ruleset ready to run (PRC-3). Pure: the same inputs give the same verdict.
 * `plan` says which window aggregates the history must compute for a transaction; `evaluate`
 * receives them in that order (HistoryResult.windows) and decides.
 */
export interface CompiledRuleset {
  readonly name: string;
  /** Content hash of the normalized ruleset, e.g. "rs-3f9a0c1b2d4e". */
  readonly version: string;
  /** The normalized ruleset document, as loaded (for display and replay reports). */
  readonly source: unknown;
  /**
   * Remembered per transaction object, and `evaluate` uses the remembered plan: a transaction
   * must not be changed between the two (change a copy instead).
   */
  plan(tx: Transaction): readonly WindowQuery[];
  evaluate(tx: Transaction, eventTime: number, history: HistoryResult): Verdict;
}
