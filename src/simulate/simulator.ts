import { ValidationError } from "../errors.ts";
import type { TransactionInput } from "../transaction/schema.ts";
import {
  type ClientOptions,
  type FetchLike,
  type ItemOutcome,
  NETWORK_FAILURE,
  postBatch,
  sleep,
} from "./client.ts";
import { collectDecisions } from "./decisions.ts";
import { PATTERN_NAMES, type PatternName } from "./patterns.ts";
import { CURRENCIES, type Currency, PROFILES } from "./population.ts";
import { type SimulationSummary, summarize, type TxRecord } from "./summary.ts";
import { type PlannedTx, planTraffic } from "./traffic.ts";

export interface SimulationOptions {
  url: string;
  apiKey: string;
  merchantId: string;
  currency: Currency;
  /** Transactions per second. */
  rate: number;
  durationSeconds: number;
  /** Share of bursts that are fraud patterns. @default 0.03 */
  fraudRatio?: number;
  /** @default 42 */
  seed?: number;
  /** Transactions per request (the API takes up to 500). @default 50 */
  batchSize?: number;
  /** Requests in flight at once. @default 4 */
  concurrency?: number;
  /** Prefix of transaction and customer ids. @default "sim-" + the start time in base 36 */
  runId?: string;
  /** How long to wait for decisions after sending; 0 skips fetching them. @default 30 */
  decisionWaitSeconds?: number;
  /** Concurrent GETs while fetching decisions. @default 16 */
  decisionConcurrency?: number;
  /** Pause between rounds of decision fetches. @default 1000 */
  pollIntervalMs?: number;
  /** Retries per batch after 429, 5xx or a network error. @default 5 */
  maxRetries?: number;
  /** Patterns to inject. @default all */
  patterns?: readonly PatternName[];
}

export interface SimulationIo {
  /** @default globalThis.fetch */
  fetch?: FetchLike;
  onProgress?(sent: number, total: number): void;
  onDecisions?(decided: number, expected: number): void;
  /** Stops sending and waiting; the summary covers what was done (aborted: true). */
  signal?: AbortSignal;
}

const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,40}$/;

function validate(o: SimulationOptions): void {
  const positive = (field: string, v: number | undefined) => {
    if (v !== undefined && !(Number.isFinite(v) && v > 0)) {
      throw new ValidationError(field, `${field} must be a positive number, got ${v}`);
    }
  };
  if (!CURRENCIES.includes(o.currency)) {
    throw new ValidationError(
      "currency",
      `currency must be one of ${CURRENCIES.join(", ")}, got ${o.currency}`,
    );
  }
  if (!o.apiKey)
    throw new ValidationError("apiKey", "apiKey is required (--api-key or TXWATCH_API_KEY)");
  if (!/^https?:\/\//.test(o.url))
    throw new ValidationError("url", `url must start with http:// or https://, got ${o.url}`);
  positive("rate", o.rate);
  positive("durationSeconds", o.durationSeconds);
  positive("batchSize", o.batchSize);
  positive("concurrency", o.concurrency);
  if (o.batchSize !== undefined && o.batchSize > 500) {
    throw new ValidationError("batchSize", "batchSize must be at most 500 (the API's batch limit)");
  }
  if (o.fraudRatio !== undefined && !(o.fraudRatio >= 0 && o.fraudRatio <= 1)) {
    throw new ValidationError(
      "fraudRatio",
      `fraudRatio must be between 0 and 1, got ${o.fraudRatio}`,
    );
  }
  if (o.runId !== undefined && !ID_PATTERN.test(o.runId)) {
    throw new ValidationError("runId", "runId must be 1-40 characters of A-Z a-z 0-9 _ . : -");
  }
  const unknown = o.patterns?.find((p) => !PATTERN_NAMES.includes(p));
  if (unknown !== undefined) {
    throw new ValidationError(
      "patterns",
      `unknown pattern ${unknown}; known: ${PATTERN_NAMES.join(", ")}`,
    );
  }
}

/** An instant as the merchant's wall clock shows it: 2026-11-21T09:30:00.123+09:00. */
export function formatWithOffset(epochMs: number, offsetMinutes: number, offset: string): string {
  return new Date(epochMs + offsetMinutes * 60_000).toISOString().replace("Z", offset);
}

/**
 * Sends synthetic traffic at `rate` for `durationSeconds` (OPS-2), then collects the monitor's
 * decisions and summarizes them per label. Bounded in count (rate x duration transactions) and
 * in time (sending stops at the duration even if the monitor is slower than the rate).
 */
export async function runSimulation(
  options: SimulationOptions,
  io: SimulationIo = {},
): Promise<SimulationSummary> {
  validate(options);
  const started = performance.now();
  const startedAt = Date.now();
  const runId = options.runId ?? `sim-${Date.now().toString(36)}`;
  const seed = options.seed ?? 42;
  const profile = PROFILES[options.currency];
  const total = Math.max(1, Math.round(options.rate * options.durationSeconds));
  const batchSize = Math.floor(options.batchSize ?? 50);
  const concurrency = Math.floor(options.concurrency ?? 4);
  const client: ClientOptions = {
    url: options.url,
    apiKey: options.apiKey,
    fetch: io.fetch ?? ((input, init) => fetch(input, init)),
    maxRetries: options.maxRetries ?? 5,
    requestTimeoutMs: 15_000,
    maxRetryAfterMs: 30_000,
    ...(io.signal && { signal: io.signal }),
  };
  const plan = planTraffic({
    seed,
    currency: options.currency,
    merchantId: options.merchantId,
    namespace: runId,
    total,
    fraudRatio: options.fraudRatio ?? 0.03,
    ...(options.patterns && { patterns: options.patterns }),
  });
  const records: TxRecord[] = [];
  let seq = 0;

  // Stamped at dispatch, not at planning: occurredAt is "now" as the request leaves.
  const stamp = (planned: PlannedTx, now: number): TransactionInput => ({
    transactionId: `${runId}-${String(++seq).padStart(7, "0")}`,
    occurredAt: formatWithOffset(now + planned.offsetMs, profile.offsetMinutes, profile.utcOffset),
    ...planned.body,
  });

  let dispatched = 0;
  let completed = 0;
  const inFlight = new Set<Promise<void>>();
  let fatal: unknown;
  let answered = false;
  const dispatch = (count: number) => {
    const now = Date.now();
    const batch: { planned: PlannedTx; tx: TransactionInput }[] = [];
    for (let i = 0; i < count; i++) {
      const step = plan.next();
      if (step.done) break;
      batch.push({ planned: step.value, tx: stamp(step.value, now) });
    }
    // The plan yields exactly `total`; should it ever end early, stop asking instead of spinning.
    dispatched = batch.length < count ? total : dispatched + batch.length;
    if (batch.length === 0) return;
    const recordOf = (b: (typeof batch)[number], outcome: ItemOutcome): TxRecord => ({
      transactionId: b.tx.transactionId,
      label: b.planned.label,
      occurredAt: b.tx.occurredAt,
      burst: b.planned.burst,
      ...outcome,
    });
    const p = postBatch(
      client,
      batch.map((b) => b.tx),
    )
      .then((outcomes) => {
        if (outcomes.some((o) => o.errorCode !== NETWORK_FAILURE)) answered = true;
        else if (!answered && !io.signal?.aborted) {
          // Not one answer yet, after every retry: the address is wrong or the monitor is not
          // running. Saying so beats summarizing a run in which nothing was sent.
          fatal ??= new Error(
            `cannot reach the monitor at ${options.url} (${outcomes[0]?.errorMessage ?? "no answer"}); is it running?`,
          );
          return;
        }
        for (const [i, b] of batch.entries()) records.push(recordOf(b, outcomes[i]!));
        completed += batch.length;
        io.onProgress?.(completed, total);
      })
      .catch((error: unknown) => {
        fatal ??= error;
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };

  // Scheduled ticks: transaction i is due at i / rate seconds, and a tick sends what is due in
  // batches. Ticks are as long as one full batch takes at the rate (50-500 ms): a high rate
  // means fuller batches rather than more requests, because the API rate-limits requests per
  // merchant, and one-item batches would spend that budget for nothing.
  const tickMs = Math.min(500, Math.max(50, (1000 * batchSize) / options.rate));
  const durationMs = options.durationSeconds * 1000;
  while (fatal === undefined && !io.signal?.aborted) {
    const elapsed = performance.now() - started;
    const due = Math.min(total, Math.floor((elapsed / 1000) * options.rate) + 1);
    while (dispatched < due && inFlight.size < concurrency)
      dispatch(Math.min(batchSize, due - dispatched));
    if (dispatched >= total || elapsed >= durationMs) break;
    const wait = Math.min(tickMs, durationMs - elapsed);
    await Promise.race([sleep(wait, io.signal), ...(inFlight.size >= concurrency ? inFlight : [])]);
  }
  await Promise.all(inFlight);
  if (fatal !== undefined) throw fatal;
  const sendSeconds = (performance.now() - started) / 1000;

  if (!io.signal?.aborted) {
    await collectDecisions(
      client,
      records,
      {
        waitMs: (options.decisionWaitSeconds ?? 30) * 1000,
        concurrency: options.decisionConcurrency ?? 16,
        pollIntervalMs: options.pollIntervalMs ?? 1000,
        // Normal traffic occurs "now"; pattern steps up to a minute back still count as live.
        liveFromMs: startedAt - 2 * 60_000,
      },
      io,
    );
  }
  records.sort((a, b) => a.transactionId.localeCompare(b.transactionId));
  return summarize(records, {
    runId,
    merchantId: options.merchantId,
    currency: options.currency,
    seed,
    planned: total,
    sendSeconds,
    elapsedSeconds: (performance.now() - started) / 1000,
    aborted: io.signal?.aborted ?? false,
  });
}
