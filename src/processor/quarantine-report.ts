import type { QuarantineRecord } from "../ledger/types.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";

/**
 * Why a record was quarantined: `malformed`, not a valid envelope (seen at parsing); `refused`,
 * a valid one the ledger or the history store refused for good (REL-5).
 */
export type QuarantineKind = "malformed" | "refused";

export interface QuarantineObservers {
  log: Logger;
  metrics?: Metrics;
  /** Told how many records were newly quarantined (the Lambda publishes it to CloudWatch). */
  onQuarantined?: (kind: QuarantineKind, count: number) => void;
}

/**
 * The operator's alert for records newly quarantined: one error line each naming its source,
 * sequence number and reason (never the payload, which is evidence for the quarantine table
 * only), txwatch_quarantined_records_total{kind}, and the observer.
 */
export function reportQuarantined(
  observers: QuarantineObservers,
  rows: readonly QuarantineRecord[],
  kind: QuarantineKind,
): void {
  if (rows.length === 0) return;
  for (const row of rows) {
    observers.log.error(
      { source: row.source, sequenceNumber: row.sequenceNumber, reason: row.reason, kind },
      `stream record quarantined (${kind}): ${row.reason}`,
    );
  }
  observers.metrics?.quarantined.inc({ kind }, rows.length);
  observers.onQuarantined?.(kind, rows.length);
}
