import type { AlertChannelName } from "../ledger/types.ts";
import type { Logger } from "../observability/logger.ts";

/**
 * Whether a channel's receiver answers, logged once per change: one line when requests start
 * failing, one when the receiver answers again, never one per retry.
 */
export class ChannelHealth {
  private failingSince: number | null = null;
  /** Consecutive failed requests: the attempt number of the next backoff. */
  failures = 0;

  constructor(
    private readonly log: Logger,
    private readonly channel: AlertChannelName,
  ) {}

  failed(reason: string): void {
    this.failures++;
    if (this.failingSince !== null) return;
    this.failingSince = Date.now();
    this.log.warn(
      { channel: this.channel, reason },
      "alert delivery: the channel is failing; its alerts wait in the ledger and are retried with backoff",
    );
  }

  /** The receiver answered (took the alerts, or refused them: either way it is up). */
  answered(): void {
    if (this.failingSince !== null) {
      this.log.info(
        {
          channel: this.channel,
          failedForMs: Date.now() - this.failingSince,
          attempts: this.failures,
        },
        "alert delivery: the channel recovered",
      );
    }
    this.failingSince = null;
    this.failures = 0;
  }
}
