import { type ClientOptions, exportDecisions, getDecision, sleep } from "./client.ts";
import type { TxRecord } from "./summary.ts";

export interface CollectOptions {
  /** Give up on missing decisions after this long. */
  waitMs: number;
  /** Concurrent single-transaction GETs. */
  concurrency: number;
  pollIntervalMs: number;
  /**
   * Transactions that occurred from here on are read in bulk from the export; older ones
   * (backdated pattern steps, hours in the past) one by one, so the export never has to scan
   * hours of the merchant's other traffic.
   */
  liveFromMs: number;
}

/** Rounds a transaction may be missing from a good export before it is asked for by id. */
const EXPORT_MISSES_BEFORE_GET = 2;

function occurredMs(record: TxRecord): number {
  return record.occurredAt === undefined ? Number.NaN : Date.parse(record.occurredAt);
}

/** Runs `fn` over `items` with at most `limit` at once. */
async function forEachPool<T>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Reads the monitor's decision for every accepted record until all are in or the wait is over.
 * Decisions arrive asynchronously (stream, then processor), so "not found" means "not yet".
 * Bulk first (the export), then GET /v1/transactions/{id} for what the export cannot cover;
 * without the export endpoint everything goes by id. A 429 pauses the next round, not the run.
 */
export async function collectDecisions(
  client: ClientOptions,
  records: TxRecord[],
  options: CollectOptions,
  io: { signal?: AbortSignal; onDecisions?(decided: number, expected: number): void },
): Promise<void> {
  if (options.waitMs <= 0) return;
  const deadline = performance.now() + options.waitMs;
  const expected = records.filter((r) => r.status === "accepted" || r.status === "duplicate");
  const misses = new Map<TxRecord, number>();
  let bulk = true;
  let pending = expected;
  while (pending.length > 0 && !io.signal?.aborted) {
    let backoff = 0;
    const covered = new Set<TxRecord>();
    const live = bulk
      ? pending.filter(
          (r) =>
            occurredMs(r) >= options.liveFromMs && (misses.get(r) ?? 0) < EXPORT_MISSES_BEFORE_GET,
        )
      : [];
    if (live.length > 0) {
      const times = live.map(occurredMs);
      const from = times.reduce((a, b) => Math.min(a, b));
      const to = times.reduce((a, b) => Math.max(a, b)) + 1;
      const outcome = await exportDecisions(
        client,
        new Date(from).toISOString(),
        new Date(to).toISOString(),
      );
      if (outcome.state === "ok") {
        for (const record of live) {
          const decision = outcome.decisions.get(record.transactionId);
          if (decision !== undefined) apply(record, decision);
          else misses.set(record, (misses.get(record) ?? 0) + 1);
          covered.add(record);
        }
      } else if (outcome.state === "unavailable") {
        bulk = false;
      } else {
        backoff = outcome.retryAfterMs ?? 0;
      }
    }
    const single = pending.filter((r) => r.action === undefined && !covered.has(r));
    if (backoff === 0) {
      await forEachPool(single, options.concurrency, async (record) => {
        // Once the monitor says "slow down", the rest of this round would only be refused too.
        if (backoff > 0 || io.signal?.aborted) return;
        const outcome = await getDecision(client, record.transactionId);
        if (outcome.state === "decided") apply(record, outcome);
        else if (outcome.retryAfterMs !== undefined) backoff = Math.max(outcome.retryAfterMs, 1);
      });
    }
    pending = pending.filter((r) => r.action === undefined);
    io.onDecisions?.(expected.length - pending.length, expected.length);
    const left = deadline - performance.now();
    if (pending.length === 0 || left <= 0) break;
    await sleep(Math.min(left, Math.max(options.pollIntervalMs, backoff)), io.signal);
  }
}

function apply(
  record: TxRecord,
  decision: { action: TxRecord["action"]; latencyMs?: number; rules?: string[] },
): void {
  record.action = decision.action;
  if (decision.latencyMs !== undefined) record.latencyMs = decision.latencyMs;
  if (decision.rules !== undefined) record.rules = decision.rules;
}
