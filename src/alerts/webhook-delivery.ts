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
 * One POST of `{ "alerts": [...] }` (each alert with its `id`), classified: 2xx delivered;
 * 408, 429, 5xx, no answer or no connection failed (tried again later); any other status refused
 * for good. Never throws; the reason is a status or an error code, never the URL (it may carry
 * a token).
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
    const transient = res.status >= 500 || res.status === 408 || res.status === 429;
    return { kind: transient ? "failed" : "refused", reason };
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
