import { archiveDay } from "../archive/archive-day.ts";
import {
  type ArchivedDaySummary,
  ArchiveRunError,
  archivePendingDays,
  MAX_DAYS_PER_RUN,
} from "../archive/archive-pending.ts";
import { parseDay } from "../archive/layout.ts";
import { s3Sink } from "../archive/s3-sink.ts";
import type { ArchiveSink } from "../archive/sink.ts";
import { loadConfig } from "../config.ts";
import { ValidationError } from "../errors.ts";
import { createLogger } from "../observability/logger.ts";
import { openConfiguredLedger } from "./aws-stores.ts";

/**
 * What invokes the job: the EventBridge scheduled event (its `time` is the instant the schedule
 * fired, ISO 8601), or a manual invocation naming one day.
 */
export interface ArchiveEvent {
  day?: unknown;
  time?: unknown;
}

/** One entry per day the run archived (or found archived), oldest first. */
export interface ArchiveHandlerResult {
  days: ArchivedDaySummary[];
}

export interface ArchiveJobOptions {
  env?: NodeJS.ProcessEnv;
  /** Where to write (tests); by default the S3 bucket named by ARCHIVE_BUCKET. */
  sink?: ArchiveSink;
  maxDays?: number;
}

/** `event.day` validated, or undefined when the event names none. */
export function requestedDay(event: ArchiveEvent | null | undefined): string | undefined {
  const given = event?.day;
  if (given === undefined || given === null) return undefined;
  if (typeof given !== "string") throw new ValidationError("day", "day must be YYYY-MM-DD");
  return parseDay(given);
}

/**
 * "Now" for the run: the scheduled event's `time` when present, so a retry of the event (Lambda
 * retries an async invocation up to twice, hours later) archives what its schedule meant;
 * otherwise the clock.
 */
export function nowOf(event: ArchiveEvent | null | undefined, clock: number = Date.now()): number {
  const time = event?.time;
  if (time === undefined || time === null) return clock;
  const ms = typeof time === "string" ? Date.parse(time) : Number.NaN;
  if (Number.isNaN(ms)) throw new ValidationError("time", "time must be an ISO 8601 instant");
  return ms;
}

/**
 * The daily ledger archive (AWS-6), invoked by an EventBridge schedule at 00:30 UTC. Without
 * `event.day` it archives every day not yet in the bucket, from the day after the newest
 * manifest up to the previous UTC day (of the event's time), oldest first, at most
 * MAX_DAYS_PER_RUN, stopping at the first failure (which fails the invocation): a missed day is
 * caught up by the next run. With `event.day` it archives that day only. Idempotent: a day whose
 * manifest exists is skipped. Only the ledger is opened (no Redis), per invocation, and closed
 * before returning: once a day, a cached connection would hold a database slot idle for 24 hours.
 */
export async function runArchiveJob(
  event: ArchiveEvent = {},
  { env = process.env, sink, maxDays = MAX_DAYS_PER_RUN }: ArchiveJobOptions = {},
): Promise<ArchiveHandlerResult> {
  const config = loadConfig(env);
  const day = requestedDay(event);
  const now = nowOf(event);
  const bucket = config.ARCHIVE_BUCKET;
  if (sink === undefined && bucket === undefined) {
    throw new ValidationError("ARCHIVE_BUCKET", "ARCHIVE_BUCKET is not set: nowhere to archive");
  }
  const target = sink ?? s3Sink({ bucket: bucket! });
  const log = createLogger(config.LOG_LEVEL);
  const ledger = await openConfiguredLedger(config);
  try {
    if (day !== undefined) {
      const result = await archiveDay(ledger, day, target, { now: () => now });
      const days = [{ day, rows: result.rows, skipped: result.skipped }];
      log.info({ days }, "ledger day archived");
      return { days };
    }
    const { days, more } = await archivePendingDays(ledger, target, { now: () => now, maxDays });
    log.info({ days }, days.length === 0 ? "no ledger day to archive" : "ledger days archived");
    if (more) log.warn({ maxDays }, "more ledger days are pending: the next run continues");
    return { days };
  } catch (error) {
    if (error instanceof ArchiveRunError) {
      log.error({ day: error.day, days: error.done, err: error.cause }, "ledger archive failed");
    }
    throw error;
  } finally {
    await ledger.close();
  }
}
