import type { Alert, LedgerRecord } from "../ledger/types.ts";
import type { Logger } from "../observability/logger.ts";

/**
 * What a committed slice decided, in the log (OPS-4): each new decision at debug (at info they
 * would be the whole log at any volume, and the ledger holds them anyway) and each new alert at
 * info (each is something a person acts on). Ids, the action, the score and rule names only:
 * never the transaction itself, whose card fields are tokens but still the card's. Only what
 * the commit inserted, so a redelivered batch logs nothing twice.
 */
export function logOutcome(
  log: Logger,
  inserted: readonly LedgerRecord[],
  alerts: readonly Alert[],
): void {
  // Checked once: a batch of hundreds would otherwise build each line's fields to drop them.
  if (log.isLevelEnabled("debug")) {
    for (const { tx, decision } of inserted) {
      log.debug(
        {
          merchant: tx.merchantId,
          transactionId: tx.transactionId,
          action: decision.action,
          score: decision.score,
          rules: decision.reasons.map((reason) => reason.rule),
        },
        "transaction decided",
      );
    }
  }
  for (const alert of alerts) {
    log.info(
      {
        merchant: alert.merchantId,
        transactionId: alert.transactionId,
        rule: alert.rule,
        action: alert.action,
        alertId: alert.id,
      },
      "alert raised",
    );
  }
}
