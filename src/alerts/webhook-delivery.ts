import type { Alert } from "../ledger/types.ts";
import { type AlertChannel, errorReason, type SendResult } from "../outbox/alert-channel.ts";

export interface WebhookOptions {
  url: string;
  /**
   * Per request: a webhook that has not answered by then counts as a failed attempt.
   * @default 5000
   */
  timeoutMs?: number;
  /** @default 500 */
  maxBatch?: number;
  fetch?: typeof fetch;
}

/**
 * The statuses that say the receiver cannot take these alerts (the request itself is at fault),
 * so each is sent alone and the one refused is dead-lettered. Any other status (401, 403 or 404
 * of a rotated token or a receiver mid-deploy, 408, 429, 5xx, ...) says nothing about the
 * alerts: the batch is tried again later, else a whole backlog would be dead-lettered (REL-6).
 */
const REFUSED_FOR_GOOD = new Set([400, 413, 415, 422]);

/**
 * One POST of `{ "alerts": [...] }` (each alert with its `id`), classified: 2xx delivered;
 * 400, 413, 415 and 422 refused for good; any other status, no answer or no connection failed
 * (tried again later). Never throws; the reason is a status or an error code, never the URL (it
 * may carry a token).
 */
export async function postAlerts(
  alerts: Alert[],
  options: { url: string; signal: AbortSignal; fetch?: typeof fetch },
): Promise<SendResult> {
  const doFetch = options.fetch ?? fetch;
  try {
    const res = await doFetch(options.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ alerts }),
      signal: options.signal,
    });
    // The body is not needed; reading it frees the connection for the next request.
    await res.arrayBuffer().catch(() => undefined);
    if (res.ok) return { kind: "delivered" };
    const reason = `webhook answered HTTP ${res.status}`;
    return { kind: REFUSED_FOR_GOOD.has(res.status) ? "refused" : "failed", reason };
  } catch (error) {
    return { kind: "failed", reason: errorReason("webhook", error) };
  }
}

/** The webhook as an outbox channel (REL-6): alerts POSTed in commit order, `maxBatch` a time. */
export function webhookChannel(options: WebhookOptions): AlertChannel {
  const maxBatch = options.maxBatch ?? 500;
  if (!Number.isInteger(maxBatch) || maxBatch < 1) {
    throw new Error(`maxBatch must be a positive integer, got ${maxBatch}`);
  }
  return {
    name: "webhook",
    maxBatch,
    timeoutMs: options.timeoutMs ?? 5000,
    send: (alerts, signal) =>
      postAlerts(alerts, {
        url: options.url,
        signal,
        ...(options.fetch !== undefined && { fetch: options.fetch }),
      }),
  };
}
