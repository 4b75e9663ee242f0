import { setTimeout as sleep } from "node:timers/promises";
import type { Alert } from "../ledger/types.ts";

export interface DeliveryOptions {
  url: string;
  /** Attempts per delivery, with doubling backoff from 200 ms. */
  attempts?: number;
  /** Per request: a webhook that does not answer in time counts as a failed attempt. */
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** Aborts the delivery (requests and backoff), e.g. when shutdown time is up. */
  signal?: AbortSignal;
}

/**
 * POSTs `{ alerts: [...] }` once, retrying transient failures (network, 5xx, 429) a bounded
 * number of times; a 4xx other than 429 is final. Rejects when the alerts were not delivered.
 */
export async function postAlerts(alerts: Alert[], options: DeliveryOptions): Promise<void> {
  if (alerts.length === 0) return;
  const attempts = options.attempts ?? 3;
  const timeoutMs = options.timeoutMs ?? 5000;
  const doFetch = options.fetch ?? fetch;
  const body = JSON.stringify({ alerts });
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (attempt > 0) await sleep(200 * 2 ** (attempt - 1), undefined, { signal: options.signal });
    const timeout = AbortSignal.timeout(timeoutMs);
    try {
      const res = await doFetch(options.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        signal: options.signal ? AbortSignal.any([timeout, options.signal]) : timeout,
      });
      // The body is not needed; reading it frees the connection for the next delivery.
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return;
      lastError = new Error(`webhook answered ${res.status}`);
      if (res.status < 500 && res.status !== 429) break;
    } catch (error) {
      lastError = error;
    }
    if (options.signal?.aborted) break;
  }
  throw lastError;
}
