import type { SqlClient } from "../ledger/sql-client.ts";
import { type ArchiveDayOptions, archiveDay, SETTLE_MS } from "./archive-day.ts";
import { firstRecordedAt } from "./day-rows.ts";
import { nextUtcDay, previousUtcDay, utcDayOf } from "./layout.ts";
import type { ArchiveSink } from "./sink.ts";
import { archivedDays } from "./verify-archive.ts";

/**
 * Days archived by one run at most. An empty day takes a few queries; a day at the presets'
 * peak (~4 M rows) takes minutes, so a long backlog is caught up over several runs (each daily
 * run, or invocations by hand), never by one that would outlive the function's 15 minutes.
 */
export const MAX_DAYS_PER_RUN = 31;

export interface ArchivedDaySummary {
  day: string;
  rows: number;
  /** True when the day's manifest already existed: nothing was written. */
  skipped: boolean;
}

export interface ArchivePendingOptions extends ArchiveDayOptions {
  maxDays?: number;
}

/** Thrown when a day fails: the days before it were archived, the later ones not tried. */
export class ArchiveRunError extends Error {
  constructor(
    readonly day: string,
    readonly done: ArchivedDaySummary[],
    cause: unknown,
  ) {
    super(
      `archiving ${day} failed after ${done.length} day(s) archived: ${(cause as Error)?.message ?? String(cause)}`,
      { cause },
    );
  }
}

/** The last day that can be archived at `now`: over, and ended at least SETTLE_MS ago. */
export function lastSettledDay(now: number): string {
  return previousUtcDay(now - SETTLE_MS);
}

/**
 * The days a run archives, oldest first, at most `maxDays`: from the day after the newest
 * manifest in the sink up to the last settled day. With no manifest at all, from the day of the
 * ledger's first row (a complete archive starts there; one indexed row read), or only the last
 * settled day when the ledger is empty (nothing earlier to archive). Holes before the newest
 * manifest are not filled here (`verify-ledger --archive` names them; `event.day` fills one).
 */
export async function pendingDays(
  ledger: { db: SqlClient },
  sink: ArchiveSink,
  now: number,
  maxDays = MAX_DAYS_PER_RUN,
): Promise<{ days: string[]; more: boolean }> {
  const last = lastSettledDay(now);
  const newest = (await archivedDays(sink)).at(-1);
  let from: string;
  if (newest !== undefined) {
    from = nextUtcDay(newest);
  } else {
    const first = await firstRecordedAt(ledger.db);
    from = first === null ? last : utcDayOf(first.getTime());
  }
  const days: string[] = [];
  for (let d = from; d <= last; d = nextUtcDay(d)) {
    if (days.length === maxDays) return { days, more: true };
    days.push(d);
  }
  return { days, more: false };
}

/**
 * Archives every day not yet archived (see pendingDays), oldest first, stopping at the first
 * failure (thrown as an ArchiveRunError: the next run starts again from that day, so no day is
 * ever skipped). Each day is archiveDay: idempotent, manifest last.
 */
export async function archivePendingDays(
  ledger: { db: SqlClient },
  sink: ArchiveSink,
  { now = Date.now, maxDays = MAX_DAYS_PER_RUN, ...options }: ArchivePendingOptions = {},
): Promise<{ days: ArchivedDaySummary[]; more: boolean }> {
  const pending = await pendingDays(ledger, sink, now(), maxDays);
  const done: ArchivedDaySummary[] = [];
  for (const day of pending.days) {
    try {
      const result = await archiveDay(ledger, day, sink, { ...options, now });
      done.push({ day, rows: result.rows, skipped: result.skipped });
    } catch (error) {
      throw new ArchiveRunError(day, done, error);
    }
  }
  return { days: done, more: pending.more };
}
