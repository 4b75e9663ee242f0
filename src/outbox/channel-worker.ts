import { safeErrorFields } from "../errors.ts";
import type { Alert, Ledger } from "../ledger/types.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import { type BackoffPolicy, backoffDelay } from "../stream/backoff.ts";
import {
  type AlertChannel,
  type AlertOutcome,
  errorReason,
  type SendResult,
} from "./alert-channel.ts";
import { ChannelHealth } from "./channel-health.ts";
import { DeliveryLease, type LeaseLedger } from "./delivery-lease.ts";
import { RoundTimer } from "./round-timer.ts";
import { type Fate, settle } from "./settle.ts";

export type OutboxLedger = LeaseLedger &
  Pick<Ledger, "openAlertChannel" | "alertChannelState" | "alertsAfter">;

export type OutboxMetrics = Pick<
  Metrics,
  "alertsDelivered" | "alertDeadLetters" | "alertsUndelivered" | "alertDeliveryFailures"
>;

export interface ChannelWorkerOptions {
  ledger: OutboxLedger;
  channel: AlertChannel;
  log: Logger;
  metrics?: OutboxMetrics;
  owner: string;
  pollMs: number;
  pageSize: number;
  leaseMs: number;
  backoff: BackoffPolicy;
  maxAgeMs: number;
  maxAttempts: number;
  stopGraceMs: number;
}

/** How a round ended, and so how long until the next. */
type Round = "caught-up" | "not-holder" | { failed: string };

/** The lease ran out (or was taken) between two requests: stop sending, nothing is advanced. */
class LeaseLost extends Error {}

/**
 * Margin between the end of a request and the end of the lease: a request is abandoned this
 * long before another process may take the channel over.
 */
const LEASE_MARGIN_MS = 1000;

/**
 * Delivers one channel from the ledger (REL-6), in rounds: take (or renew) the channel's lease,
 * read the alerts after its cursor in commit order, send them a request at a time, and move
 * the cursor over what the receiver took or refused for good (dead letters, in the same
 * transaction). Whatever fails is tried again with exponential backoff and jitter, from the
 * cursor, for as long as it takes or until the alert is past its max age (or attempts).
 *
 * The channel's state changes are logged once each (failing, recovered, the ledger unreachable
 * and back, this process taking or losing the channel), never once per retry.
 */
export class ChannelWorker {
  private readonly lease: DeliveryLease;
  private readonly health: ChannelHealth;
  private readonly timer = new RoundTimer();
  /** Times each alert not yet settled was sent, by id. */
  private readonly attempts = new Map<string, number>();
  private readonly abort = new AbortController();
  private stopped = false;
  private opened = false;
  private holding = false;
  private ledgerFailures = 0;
  private loop: Promise<void> | null = null;

  constructor(private readonly options: ChannelWorkerOptions) {
    this.lease = new DeliveryLease(
      options.ledger,
      options.channel.name,
      options.owner,
      options.leaseMs,
    );
    this.health = new ChannelHealth(options.log, options.channel.name);
    if (options.channel.timeoutMs + 2 * LEASE_MARGIN_MS > options.leaseMs) {
      throw new Error(
        `the lease (${options.leaseMs} ms) must outlast a request (${options.channel.timeoutMs} ms) by ${2 * LEASE_MARGIN_MS} ms`,
      );
    }
  }

  get name() {
    return this.options.channel.name;
  }

  /** Gives the channel its cursor if it has none; a failure is left to the first round. */
  async open(): Promise<void> {
    try {
      await this.options.ledger.openAlertChannel(this.name);
      this.opened = true;
    } catch {
      // The first round tries again and reports the ledger's state.
    }
  }

  start(): void {
    this.loop ??= this.run().catch((error: unknown) => {
      // Every round catches what it meets; reaching here is a bug, and must not go unseen.
      this.options.log.error(
        { err: safeErrorFields(error), channel: this.name },
        "alert delivery stopped",
      );
    });
  }

  /** Starts a round now if the worker is idle, or right after the one under way. */
  wake(): void {
    this.timer.wake();
  }

  /**
   * Stops after the request in flight (aborted after `stopGraceMs`), recording what it settled,
   * and gives the lease up so another process takes the channel over at once.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer.cancel();
    const timer = setTimeout(() => this.abort.abort(), this.options.stopGraceMs);
    try {
      await this.loop;
    } finally {
      clearTimeout(timer);
    }
    if (this.holding) {
      this.holding = false;
      await this.lease.release().catch((error: unknown) => {
        // The lease then simply runs out.
        this.options.log.debug({ err: safeErrorFields(error) }, "alert lease not released");
      });
    }
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      this.timer.takeWake();
      const delay = await this.round();
      if (this.stopped) break;
      if (delay.wakeable && this.timer.takeWake()) continue;
      await this.timer.wait(delay.ms, delay.wakeable);
    }
  }

  /** One round, and when the next should start: a wake cuts only a poll, never a backoff. */
  private async round(): Promise<{ ms: number; wakeable: boolean }> {
    const { log, backoff, pollMs } = this.options;
    let round: Round;
    try {
      round = await this.deliver();
      if (this.ledgerFailures > 0) {
        this.ledgerFailures = 0;
        log.info({ channel: this.name }, "alert delivery: the ledger answers again");
      }
    } catch (error) {
      if (this.stopped) return { ms: 0, wakeable: true };
      if (error instanceof LeaseLost) {
        this.lostLease();
        return { ms: pollMs, wakeable: true };
      }
      this.ledgerFailures++;
      // Once per outage: the dependency tracker reports the ledger itself.
      if (this.ledgerFailures === 1) {
        log.warn(
          { err: safeErrorFields(error), channel: this.name },
          "alert delivery: cannot read or move the channel's cursor in the ledger; retrying",
        );
      }
      // Capped lower than a receiver's backoff: the ledger is ours, and one read is cheap.
      const ledgerBackoff = { baseMs: backoff.baseMs, maxMs: Math.min(backoff.maxMs, 5000) };
      return { ms: backoffDelay(this.ledgerFailures, ledgerBackoff), wakeable: false };
    }
    if (round === "not-holder") return { ms: pollMs, wakeable: true };
    if (round === "caught-up") {
      this.options.metrics?.alertsUndelivered.set({ channel: this.name }, 0);
      return { ms: pollMs, wakeable: true };
    }
    if (this.stopped) return { ms: 0, wakeable: true };
    await this.reportBacklog();
    return { ms: backoffDelay(this.health.failures, backoff), wakeable: false };
  }

  private async deliver(): Promise<Round> {
    const { ledger, pageSize, channel } = this.options;
    if (!this.opened) {
      await ledger.openAlertChannel(channel.name);
      this.opened = true;
    }
    const cursor = await this.lease.take();
    if (cursor === null) {
      if (this.holding) this.lostLease();
      this.options.metrics?.alertsUndelivered.set({ channel: channel.name }, 0);
      return "not-holder";
    }
    if (!this.holding) {
      this.holding = true;
      this.options.log.info(
        { channel: channel.name, owner: this.options.owner, cursor },
        "alert delivery: this process delivers the channel",
      );
    }
    let position = cursor;
    while (!this.stopped) {
      const page = await ledger.alertsAfter(position, pageSize);
      for (let i = 0; i < page.length && !this.stopped; i += channel.maxBatch) {
        const chunk = page.slice(i, i + channel.maxBatch);
        const settled = settle(
          chunk,
          await this.attempt(chunk),
          this.attempts,
          this.options.maxAttempts,
        );
        if (settled.through !== null) {
          if (!(await this.lease.advance(settled.through, settled.deadLetters))) {
            throw new LeaseLost();
          }
          position = settled.through;
          this.counted(settled.delivered, settled.deadLetters);
        }
        if (settled.pending !== undefined) return { failed: settled.pending };
      }
      if (page.length < pageSize) return "caught-up";
    }
    return "caught-up";
  }

  /** Sends a chunk (less what is past its max age); a chunk refused as a whole, alert by alert. */
  private async attempt(chunk: Alert[]): Promise<Fate[]> {
    const now = Date.now();
    const fates = new Map<string, Fate>();
    const toSend: Alert[] = [];
    for (const alert of chunk) {
      const age = now - Date.parse(alert.createdAt);
      if (age > this.options.maxAgeMs) {
        fates.set(alert.id, {
          kind: "expired",
          reason: `undelivered after ${Math.round(age / 1000)} s (max age ${Math.round(this.options.maxAgeMs / 1000)} s)`,
        });
      } else toSend.push(alert);
    }
    if (toSend.length > 0) {
      const result = await this.send(toSend);
      if (result.kind === "refused" && toSend.length > 1) {
        // Which alert the receiver objects to is unknown: alone, each gets its own answer.
        for (const alert of toSend) {
          if (this.stopped) break;
          const alone = outcomesOf(await this.send([alert]), 1)[0] ?? { kind: "skipped" };
          fates.set(alert.id, alone);
          if (alone.kind !== "delivered" && alone.kind !== "refused") break;
        }
      } else {
        outcomesOf(result, toSend.length).forEach((outcome, i) => {
          fates.set(toSend[i]!.id, outcome);
        });
      }
    }
    return chunk.map((alert) => fates.get(alert.id) ?? { kind: "skipped" });
  }

  /** One request, inside the lease: renewed first when it would not cover the request. */
  private async send(alerts: Alert[]): Promise<SendResult> {
    const { channel, metrics } = this.options;
    if (this.lease.remaining() < channel.timeoutMs + 2 * LEASE_MARGIN_MS) {
      if ((await this.lease.take()) === null) throw new LeaseLost();
    }
    const budget = Math.min(channel.timeoutMs, this.lease.remaining() - LEASE_MARGIN_MS);
    if (budget <= 0) throw new LeaseLost();
    const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(budget)]);
    for (const alert of alerts) this.attempts.set(alert.id, (this.attempts.get(alert.id) ?? 0) + 1);
    let result: SendResult;
    try {
      result = await channel.send(alerts, signal);
    } catch (error) {
      // A channel answers what went wrong; a throw is a bug, and still only a failed attempt.
      result = { kind: "failed", reason: errorReason(channel.name, error) };
    }
    if (this.stopped) return result;
    const outcomes = outcomesOf(result, alerts.length);
    const failed = outcomes.find((o) => o.kind === "failed");
    if (failed?.kind === "failed") {
      metrics?.alertDeliveryFailures.inc({ channel: channel.name });
      this.health.failed(failed.reason);
    } else this.health.answered();
    return result;
  }

  private counted(delivered: number, deadLetters: { alertId: string; reason: string }[]): void {
    const { metrics, log } = this.options;
    const labels = { channel: this.name };
    if (delivered > 0) metrics?.alertsDelivered.inc(labels, delivered);
    if (deadLetters.length === 0) return;
    metrics?.alertDeadLetters.inc(labels, deadLetters.length);
    log.warn(
      {
        channel: this.name,
        deadLettered: deadLetters.length,
        alertIds: deadLetters.slice(0, 10).map((d) => d.alertId),
        reason: deadLetters[0]!.reason,
      },
      "alert delivery: alerts dead-lettered (see alert_dead_letters); the channel moves on",
    );
  }

  private lostLease(): void {
    this.attempts.clear();
    this.options.metrics?.alertsUndelivered.set({ channel: this.name }, 0);
    if (!this.holding) return;
    this.holding = false;
    this.options.log.info(
      { channel: this.name, owner: this.options.owner },
      "alert delivery: this process no longer holds the channel's lease",
    );
  }

  /** The backlog gauge, read only when a round ends behind (a caught-up round sets 0). */
  private async reportBacklog(): Promise<void> {
    try {
      const state = await this.options.ledger.alertChannelState(this.name);
      if (state !== null) {
        this.options.metrics?.alertsUndelivered.set({ channel: this.name }, state.undelivered);
      }
    } catch {
      // The ledger is unreachable: the round that follows reports it.
    }
  }
}

/** One outcome per alert sent (fewer when a per-alert answer left some out: not sent). */
function outcomesOf(result: SendResult, count: number): AlertOutcome[] {
  if (result.kind === "each") return result.outcomes.slice(0, count);
  return Array.from({ length: count }, () => result);
}
