import type { Alert, AlertChannelName } from "../ledger/types.ts";

/** What became of one alert a request carried. */
export type AlertOutcome =
  | { kind: "delivered" }
  /** Not taken this time (receiver down, timeout, any other non-2xx answer): tried again later. */
  | { kind: "failed"; reason: string }
  /** Refused for good (HTTP 400, 413, 415 or 422; an SNS entry at fault): dead-lettered. */
  | { kind: "refused"; reason: string };

/** The answer to one request: for all its alerts at once, or per alert. */
export type SendResult =
  | AlertOutcome
  /** Per alert, in the order sent (an SNS PublishBatch answers for each entry). */
  | { kind: "each"; outcomes: AlertOutcome[] };

/**
 * A receiver of alerts (REL-6): the webhook or the SNS topic. The outbox hands it the ledger's
 * alerts in commit order, a request at a time, and moves the channel's cursor on what it
 * answers. A request that is refused as a whole (e.g. an HTTP 400) is sent again alert by alert, so
 * the one the receiver objects to is dead-lettered and the others are delivered.
 */
export interface AlertChannel {
  readonly name: AlertChannelName;
  /** Alerts per request at most. */
  readonly maxBatch: number;
  /** How long a request may take before it is abandoned and counts as failed. */
  readonly timeoutMs: number;
  /**
   * One request. Never throws: what went wrong is an outcome. `signal` aborts the request (the
   * timeout, the lease running out, the process stopping); an aborted request counts as failed.
   * Every message names its alert's id, so a receiver can drop a redelivered one.
   */
  send(alerts: Alert[], signal: AbortSignal): Promise<SendResult>;
}

/** A reason for a thrown error that names no URL, host or content: its code or name. */
export function errorReason(prefix: string, error: unknown): string {
  if (error instanceof Error) {
    if (error.name === "TimeoutError" || error.name === "AbortError") return `${prefix}: no answer`;
    const cause = (error as { cause?: unknown }).cause;
    const code =
      (error as { code?: unknown }).code ??
      (cause instanceof Error ? ((cause as { code?: unknown }).code ?? cause.name) : undefined);
    return `${prefix}: ${typeof code === "string" ? code : error.name}`;
  }
  return `${prefix}: ${typeof error}`;
}
