import type { HistoryResult } from "../history/types.ts";
import type { Reason } from "../transaction/types.ts";

/** The reason a decision made on an incomplete 24-hour history carries (REL-6). */
export const HISTORY_INCOMPLETE_RULE = "history-incomplete";

const HISTORY_INCOMPLETE: Reason = Object.freeze({
  rule: HISTORY_INCOMPLETE_RULE,
  score: 0,
  detail:
    "the 24-hour history was incomplete (its store lost its data and was still being rebuilt from the ledger): velocity and history rules saw less than the day",
});

/**
 * Adds the history-incomplete reason to a verdict whose history was incomplete. Score 0, and the
 * score is the sum of the reasons' scores, so neither the score nor the action changes: the
 * decision only says what it could not see.
 */
export function noteIncompleteHistory<V extends { reasons: Reason[] }>(
  verdict: V,
  history: HistoryResult,
): V {
  if (history.incomplete !== true) return verdict;
  return { ...verdict, reasons: [...verdict.reasons, HISTORY_INCOMPLETE] };
}

/** Whether a reason raises an alert: the note about the history is no finding of its own. */
export function raisesAlert(reason: Reason): boolean {
  return reason.rule !== HISTORY_INCOMPLETE_RULE;
}
