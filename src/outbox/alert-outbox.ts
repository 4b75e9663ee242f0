import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { AlertPublisher } from "../alerts/publisher.ts";
import type { Logger } from "../observability/logger.ts";
import type { BackoffPolicy } from "../stream/backoff.ts";
import type { AlertChannel } from "./alert-channel.ts";
import { ChannelWorker, type OutboxLedger, type OutboxMetrics } from "./channel-worker.ts";

export interface AlertOutboxOptions {
  /** Where alerts are read and each channel's cursor, lease and dead letters are kept. */
  ledger: OutboxLedger;
  /** At most one per name: the webhook and/or the SNS topic. */
  channels: AlertChannel[];
  log: Logger;
  metrics?: OutboxMetrics;
  /** Names this process in the channels' leases. @default host, pid and a random suffix */
  owner?: string;
  /**
   * Pause between two rounds once a channel has caught up: how late an alert may be delivered
   * when nothing wakes the outbox (another process committed it).
   * @default 1000
   */
  pollMs?: number;
  /** Alerts read from the ledger at a time (1-1000). @default 500 */
  pageSize?: number;
  /**
   * How long a channel's lease lasts without renewal: how soon another process takes a channel
   * over from one that died. Must outlast a request by 2 s.
   * @default 30000
   */
  leaseMs?: number;
  /** Backoff after a failed request, with jitter. @default { baseMs: 500, maxMs: 30000 } */
  backoff?: BackoffPolicy;
  /** An alert still undelivered this long after it was created is dead-lettered. @default 24 h */
  maxAgeMs?: number;
  /** Failed attempts after which an alert is dead-lettered; 0: no limit. @default 0 */
  maxAttempts?: number;
  /** How long stop() lets a request in flight finish before aborting it. @default 2000 */
  stopGraceMs?: number;
}

/**
 * The alert outbox: also an AlertPublisher, whose publish() only wakes it (the alerts
 * themselves are read from the ledger), so the processor's publish after each commit gets them
 * delivered at once rather than at the next poll.
 */
export interface AlertOutbox extends AlertPublisher {
  /** This process's name in the channels' leases. */
  readonly owner: string;
  /** Delivers what was committed now, rather than at the next poll. */
  wake(): void;
  /** Stops every channel (see ChannelWorker.stop): nothing undelivered is lost, it waits. */
  stop(): Promise<void>;
}

/**
 * Starts delivering the ledger's alerts to each channel (REL-6): at least once, in commit
 * order per channel, retried with backoff while a receiver is down, a permanent refusal
 * dead-lettered; one process at a time per channel among those sharing the ledger (a lease on
 * the channel's cursor).
 *
 * Resolves once each channel has its cursor, so what is committed afterwards is delivered
 * even on a channel's first start (its cursor begins at the alerts' tail). A ledger that cannot
 * be read does not hold the start: the channel is opened by its first round that reaches it.
 */
export async function startAlertOutbox(options: AlertOutboxOptions): Promise<AlertOutbox> {
  const owner = options.owner ?? `${hostname()}/${process.pid}/${randomBytes(6).toString("hex")}`;
  const pageSize = options.pageSize ?? 500;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) {
    throw new Error(`pageSize must be an integer from 1 to 1000, got ${pageSize}`);
  }
  const names = options.channels.map((c) => c.name);
  if (new Set(names).size !== names.length) throw new Error(`a channel twice: ${names.join()}`);
  const workers = options.channels.map(
    (channel) =>
      new ChannelWorker({
        ledger: options.ledger,
        channel,
        log: options.log,
        ...(options.metrics !== undefined && { metrics: options.metrics }),
        owner,
        pollMs: options.pollMs ?? 1000,
        pageSize,
        leaseMs: options.leaseMs ?? 30_000,
        backoff: options.backoff ?? { baseMs: 500, maxMs: 30_000 },
        maxAgeMs: options.maxAgeMs ?? 24 * 3_600_000,
        maxAttempts: options.maxAttempts ?? 0,
        stopGraceMs: options.stopGraceMs ?? 2000,
      }),
  );
  await Promise.all(workers.map((worker) => worker.open()));
  for (const worker of workers) worker.start();
  const wake = () => {
    for (const worker of workers) worker.wake();
  };
  return {
    owner,
    wake,
    async publish(alerts) {
      if (alerts.length > 0) wake();
    },
    async stop() {
      await Promise.all(workers.map((w) => w.stop()));
    },
  };
}
