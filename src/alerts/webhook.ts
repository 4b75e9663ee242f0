import { safeErrorFields } from "../errors.ts";
import type { Alert } from "../ledger/types.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { AlertPublisher } from "./publisher.ts";
import { type DeliveryOptions, postAlerts } from "./webhook-delivery.ts";

export interface WebhookOptions extends Omit<DeliveryOptions, "signal"> {
  /** Alerts held in memory waiting for delivery; when full the oldest are dropped. */
  capacity?: number;
  /** Alerts per POST at most. */
  maxBatch?: number;
  log?: Logger;
  metrics?: Pick<Metrics, "alertWebhookDropped" | "alertWebhookQueued" | "alertPublishFailures">;
}

export interface WebhookPublisher extends AlertPublisher {
  /** Alerts queued and not yet handed to a request. */
  queued(): number;
  /** Waits until everything queued was attempted, at most `timeoutMs`; true when drained. */
  flush(timeoutMs: number): Promise<boolean>;
  /** Stops taking alerts, flushes for at most `timeoutMs`, then abandons (and counts) the rest. */
  close(timeoutMs?: number): Promise<void>;
}

const DROP_WARNING_INTERVAL_MS = 10_000;

/**
 * Delivers alerts to a webhook from a bounded in-memory queue, in the background (PRC-5):
 * publish() only enqueues, so a slow or dead webhook never holds up the batch that raised the
 * alerts. The ledger holds every alert; the webhook is a best-effort notification, so under a
 * backlog the oldest undelivered alerts are dropped (counted and logged) rather than memory
 * growing without bound. Not for Lambda, which freezes once the handler returns: SNS there is
 * awaited.
 */
export function webhookPublisher(options: WebhookOptions): WebhookPublisher {
  const capacity = options.capacity ?? 10_000;
  const maxBatch = options.maxBatch ?? 500;
  const { log, metrics } = options;
  const queue: Alert[] = [];
  const shutdown = new AbortController();
  let draining: Promise<void> | null = null;
  let closed = false;
  let unreported = 0;
  let lastWarning = 0;

  const dropped = (count: number, why: string) => {
    metrics?.alertWebhookDropped.inc(count);
    unreported += count;
    const now = Date.now();
    // One warning per interval: a dead webhook under load must not flood the log.
    if (now - lastWarning < DROP_WARNING_INTERVAL_MS && !closed) return;
    lastWarning = now;
    log?.warn({ dropped: unreported, capacity }, `webhook alerts dropped: ${why}`);
    unreported = 0;
  };

  async function drain(): Promise<void> {
    while (queue.length > 0 && !shutdown.signal.aborted) {
      const batch = queue.splice(0, maxBatch);
      metrics?.alertWebhookQueued.set(queue.length);
      try {
        await postAlerts(batch, { ...options, signal: shutdown.signal });
      } catch (error) {
        if (shutdown.signal.aborted) {
          dropped(batch.length, "the process stopped before they were delivered");
          break;
        }
        // Stored alerts stay queryable; delivery is best effort and counted.
        metrics?.alertPublishFailures.inc(batch.length);
        log?.warn(
          { err: safeErrorFields(error), alerts: batch.length },
          "webhook delivery failed; the alerts stay in the ledger",
        );
      }
    }
  }

  async function flush(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (draining !== null) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        draining,
        new Promise((r) => {
          timer = setTimeout(r, left);
        }),
      ]);
      clearTimeout(timer);
    }
    return queue.length === 0;
  }

  const kick = () => {
    draining ??= drain().finally(() => {
      draining = null;
      if (queue.length > 0 && !shutdown.signal.aborted) kick();
    });
  };

  return {
    async publish(alerts) {
      if (alerts.length === 0) return;
      if (closed) {
        dropped(alerts.length, "published after the webhook was closed");
        return;
      }
      queue.push(...alerts);
      const excess = queue.length - capacity;
      if (excess > 0) {
        queue.splice(0, excess);
        dropped(excess, "the queue is full (the webhook is slower than alerts arrive)");
      }
      metrics?.alertWebhookQueued.set(queue.length);
      kick();
    },

    queued: () => queue.length,

    flush,

    async close(timeoutMs = 5000) {
      closed = true;
      if (await flush(timeoutMs)) return;
      shutdown.abort();
      const left = queue.splice(0);
      metrics?.alertWebhookQueued.set(0);
      if (left.length > 0) dropped(left.length, "the process stopped before they were delivered");
      await draining;
    },
  };
}
