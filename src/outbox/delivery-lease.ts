import type { AlertChannelName, AlertDeadLetterDraft, Ledger } from "../ledger/types.ts";

export type LeaseLedger = Pick<
  Ledger,
  "leaseAlertChannel" | "advanceAlertChannel" | "releaseAlertChannel"
>;

/**
 * This process's hold on a channel's delivery cursor (REL-6). The ledger keeps the lease's
 * expiry in database time; this keeps a local bound that is never later than it: the moment a
 * take or advance was sent plus the lease, since the database stamps the lease after that
 * moment. Sending only while `remaining()` covers the request keeps two processes from ever
 * delivering a channel at the same time, whatever their clocks say.
 */
export class DeliveryLease {
  private expiresAt = 0;

  constructor(
    private readonly ledger: LeaseLedger,
    readonly channel: AlertChannelName,
    readonly owner: string,
    readonly leaseMs: number,
  ) {}

  /** Milliseconds this process may still act as the holder; 0 when it does not hold it. */
  remaining(): number {
    return Math.max(0, this.expiresAt - Date.now());
  }

  /** Takes or renews the lease: the channel's cursor, or null when another process holds it. */
  async take(): Promise<string | null> {
    const asked = Date.now();
    const cursor = await this.ledger.leaseAlertChannel(this.channel, this.owner, this.leaseMs);
    this.expiresAt = cursor === null ? 0 : asked + this.leaseMs;
    return cursor;
  }

  /** Moves the cursor (renewing the lease); false when the lease was lost, nothing written. */
  async advance(cursor: string, deadLetters: AlertDeadLetterDraft[]): Promise<boolean> {
    const asked = Date.now();
    const held = await this.ledger.advanceAlertChannel(
      this.channel,
      this.owner,
      this.leaseMs,
      cursor,
      deadLetters,
    );
    this.expiresAt = held ? asked + this.leaseMs : 0;
    return held;
  }

  async release(): Promise<void> {
    this.expiresAt = 0;
    await this.ledger.releaseAlertChannel(this.channel, this.owner);
  }
}
