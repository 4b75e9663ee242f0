import type { Alert } from "../ledger/types.ts";
import type { AlertPublisher } from "./publisher.ts";

export interface WebhookOptions {
  url: string;
  /** Attempts per delivery, with doubling backoff from 200 ms. */
  attempts?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** POSTs `{ alerts: [...] }` to a URL, retrying transient failures a bounded number of times. */
export function webhookPublisher(options: WebhookOptions): AlertPublisher {
  const attempts = options.attempts ?? 3;
  const timeoutMs = options.timeoutMs ?? 5000;
  const doFetch = options.fetch ?? fetch;
  return {
    async publish(alerts: Alert[]) {
      if (alerts.length === 0) return;
      const body = JSON.stringify({ alerts });
      let lastError: unknown;
      for (let attempt = 0; attempt < attempts; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, 200 * 2 ** (attempt - 1)));
        try {
          const res = await doFetch(options.url, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body,
            signal: AbortSignal.timeout(timeoutMs),
          });
          if (res.ok) return;
          lastError = new Error(`webhook answered ${res.status}`);
          if (res.status < 500 && res.status !== 429) break;
        } catch (error) {
          lastError = error;
        }
      }
      throw lastError;
    },
  };
}
