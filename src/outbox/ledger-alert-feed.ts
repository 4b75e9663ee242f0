import type { AlertPublisher } from "../alerts/publisher.ts";
import type { Ledger } from "../ledger/types.ts";
import type { Logger } from "../observability/logger.ts";

export interface LedgerAlertFeedOptions {
  /** Where committed alerts are read; only the two feed methods are used. */
  ledger: Pick<Ledger, "alertsTail" | "alertsCursorAt" | "alertsAfter">;
  /**
   * Where they go: the API's AlertHub, which hands each alert to the live streams of its
   * merchant.
   */
  hub: AlertPublisher;
  log: Logger;
  /**
   * Pause between two reads once the feed has caught up: how late a stream may hear of an
   * alert, and one small indexed query per task per interval.
   * @default 1000
   */
  intervalMs?: number;
  /**
   * Alerts per read. A burst larger than this is read page after page without pausing.
   * @default 500
   */
  pageSize?: number;
  /**
   * Used only when the ledger cannot be read as the feed starts: it then resumes, once the
   * ledger answers, from the alerts created this long before it started. An alert's created_at
   * is when its committing transaction began, which may be before the start for an alert
   * committed after it, and the task's clock may differ from the database's. A ledger commit
   * lasts at most the processor's timeout (60 s); alerts committed in the margin before the
   * start may then be relayed too.
   * @default 120000
   */
  startMarginMs?: number;
}

export interface LedgerAlertFeed {
  /** The position of the last alert relayed; null until the ledger has answered once. */
  readonly cursor: string | null;
  /** Stops reading; resolves once a read in flight is done, after which nothing is published. */
  stop(): Promise<void>;
}

/**
 * The API's live alert streams on AWS (PRC-5, AWS-4). There, alerts are raised in the Lambda,
 * another process, so the API's AlertHub never hears them; each API task instead follows the
 * ledger, which every process commits alerts to. It reads alerts after its cursor in commit
 * order and publishes them to its own hub, so every task's streams see every alert once,
 * whichever process raised it and however many tasks run, with no extra infrastructure.
 *
 * It starts at the ledger's current tail: a task that starts or restarts does not replay the
 * day. A ledger error is logged once (and the recovery once), the read is tried again on the
 * next interval, and nothing is thrown. Nothing committed after start() was called is skipped:
 * when the tail cannot be read at start, the feed resumes from the start instant (less
 * startMarginMs) once the ledger answers, rather than from the then-tail; alerts committed
 * while the ledger cannot be read are
 * delivered when it can: the cursor only moves past alerts it has read. Not for the local
 * all-in-one process, whose processor already publishes to the hub it serves.
 */
export async function startLedgerAlertFeed(
  options: LedgerAlertFeedOptions,
): Promise<LedgerAlertFeed> {
  const feed = new Feed(options);
  await feed.start();
  return feed;
}

class Feed implements LedgerAlertFeed {
  cursor: string | null = null;
  private readonly intervalMs: number;
  private readonly pageSize: number;
  private readonly startMarginMs: number;
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private stopped = false;
  private failing = false;
  /**
   * Where to resume when the tail could not be read at start: a time cursor on the start
   * instant. Set by start() before its first read, used only while `cursor` is null.
   */
  private since: Date | null = null;
  private started = false;

  constructor(private readonly options: LedgerAlertFeedOptions) {
    this.intervalMs = options.intervalMs ?? 1000;
    this.pageSize = options.pageSize ?? 500;
    this.startMarginMs = options.startMarginMs ?? 120_000;
    if (!Number.isInteger(this.pageSize) || this.pageSize < 1 || this.pageSize > 1000) {
      throw new Error(`pageSize must be an integer from 1 to 1000, got ${this.pageSize}`);
    }
    if (!Number.isFinite(this.intervalMs) || this.intervalMs < 1) {
      throw new Error(`intervalMs must be a positive number, got ${this.intervalMs}`);
    }
    if (!Number.isFinite(this.startMarginMs) || this.startMarginMs < 0) {
      throw new Error(`startMarginMs must be a number >= 0, got ${this.startMarginMs}`);
    }
  }

  /**
   * Reads the tail now, so that what is committed once this resolves is delivered. Does not
   * wait for a ledger that cannot be read (the API must start and stop regardless): the
   * instant is taken before the read, and if the read fails the feed later resumes from it.
   */
  async start(): Promise<void> {
    this.since = new Date(Date.now() - this.startMarginMs);
    await this.run();
    this.started = true;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.inFlight;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.run().then(() => this.schedule());
    }, this.intervalMs);
    // The HTTP server keeps the task alive; a feed left running must not.
    this.timer.unref();
  }

  private run(): Promise<void> {
    this.inFlight = this.tick().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  private async tick(): Promise<void> {
    const { ledger, log } = this.options;
    try {
      if (this.cursor !== null) await this.drain(this.cursor);
      else if (!this.started || this.since === null) this.cursor = await ledger.alertsTail();
      else await this.resume(this.since);
      if (this.failing) {
        this.failing = false;
        log.info({ cursor: this.cursor }, "alert feed: the ledger answers again");
      }
    } catch (error) {
      // Once per outage: a ledger that stays down would otherwise log every interval.
      if (!this.failing) {
        this.failing = true;
        log.warn(
          { err: error, retryMs: this.intervalMs },
          "alert feed: cannot read alerts from the ledger; retrying",
        );
      }
    }
  }

  /**
   * The first read after a start whose tail read failed. The then-tail would skip what was
   * committed since the start, so the feed continues from the last alert created before the
   * start instant (less the margin) instead.
   */
  private async resume(since: Date): Promise<void> {
    const cursor = await this.options.ledger.alertsCursorAt(since);
    if (this.stopped) return;
    this.cursor = cursor;
    await this.drain(cursor);
  }

  private async drain(from: string): Promise<void> {
    let cursor = from;
    while (!this.stopped) {
      const alerts = await this.options.ledger.alertsAfter(cursor, this.pageSize);
      const last = alerts[alerts.length - 1];
      if (last === undefined) return;
      // Moved before publishing: a failing listener must not make other streams hear it twice.
      cursor = last.id;
      this.cursor = cursor;
      try {
        await this.options.hub.publish(alerts);
      } catch (error) {
        this.options.log.warn({ err: error, alerts: alerts.length }, "alert feed: publish failed");
      }
      if (alerts.length < this.pageSize) return;
    }
  }
}
