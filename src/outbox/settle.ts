import type { Alert, AlertDeadLetterDraft } from "../ledger/types.ts";
import type { AlertOutcome } from "./alert-channel.ts";

/**
 * What the outbox makes of one alert of a request: the receiver's outcome, "expired" (past the
 * max age, not sent) or "skipped" (not sent: an earlier alert failed, or the process stopped).
 */
export type Fate = AlertOutcome | { kind: "expired"; reason: string } | { kind: "skipped" };

export interface Settlement {
  /** The last alert settled, where the cursor moves; null when the first was not settled. */
  through: string | null;
  delivered: number;
  deadLetters: AlertDeadLetterDraft[];
  /** Why the alert after `through` waits; undefined when every alert was settled. */
  pending?: string;
}

/**
 * Settles alerts in commit order: the cursor only moves over a prefix of delivered and
 * dead-lettered alerts, and stops at the first that must be tried again, so the channel loses
 * nothing and keeps the order. `attempts` holds how often each alert was sent, across
 * requests; a failing alert that reached `maxAttempts` (0: no limit) is dead-lettered too.
 * Entries of settled alerts are removed from it.
 */
export function settle(
  alerts: Alert[],
  fates: Fate[],
  attempts: Map<string, number>,
  maxAttempts: number,
): Settlement {
  const result: Settlement = { through: null, delivered: 0, deadLetters: [] };
  for (const [i, alert] of alerts.entries()) {
    const fate: Fate = fates[i] ?? { kind: "skipped" };
    const tried = attempts.get(alert.id) ?? 0;
    if (fate.kind === "skipped") {
      result.pending = "not sent yet";
      break;
    }
    if (fate.kind === "failed" && (maxAttempts === 0 || tried < maxAttempts)) {
      result.pending = fate.reason;
      break;
    }
    if (fate.kind === "delivered") result.delivered++;
    else if (fate.kind === "failed") {
      result.deadLetters.push({
        alertId: alert.id,
        reason: `gave up after ${tried} attempts: ${fate.reason}`,
        attempts: tried,
      });
    } else result.deadLetters.push({ alertId: alert.id, reason: fate.reason, attempts: tried });
    attempts.delete(alert.id);
    result.through = alert.id;
  }
  return result;
}
