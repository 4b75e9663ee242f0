import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { HistorySink, ReplayOptions } from "../history/rebuild.ts";
import { HISTORY_WINDOW_SECONDS, type HistoryItem } from "../history/types.ts";
import type { Ledger } from "../ledger/types.ts";
import { historyItemOfRow } from "../processor/history-item.ts";

/**
 * Items per restore call: one pipeline on Redis, one loop in memory; and per saved progress of a
 * Redis rebuild, so at most this many are replayed twice when another process resumes it.
 */
const CHUNK = 2000;

/**
 * Replays the ledger's last 24 hours into a history store through its restore path (no window
 * queries, no aggregates: only the entries matter). What the in-memory store does at start and
 * the Redis store when Redis came back empty (REL-6). Answers the transactions replayed, with
 * `options.resume` those replayed before included; `options.checkpoint` is told the progress
 * after each chunk (for another process to resume from) and may stop the replay there.
 */
export async function warmHistory(
  ledger: Pick<Ledger, "scanHistory">,
  history: HistorySink,
  now: number,
  options: ReplayOptions = {},
  chunkSize = CHUNK,
): Promise<number> {
  const { resume, checkpoint } = options;
  const from = resume?.from ?? new Date(now - HISTORY_WINDOW_SECONDS * 1000).toISOString();
  let chunk: HistoryItem[] = [];
  let cursor = "";
  let replayed = resume?.replayed ?? 0;
  for await (const row of ledger.scanHistory(from, resume?.cursor)) {
    chunk.push(historyItemOfRow(row));
    cursor = row.cursor;
    if (chunk.length === chunkSize) {
      await history.restore(chunk, now);
      replayed += chunk.length;
      chunk = [];
      if (checkpoint !== undefined && !(await checkpoint({ from, cursor, replayed }))) {
        return replayed;
      }
      // PGlite and the in-memory store answer without waiting for any I/O: without this the
      // replay would run as one chain of promise callbacks and hold the API's sockets and timers
      // until it ends, which is what running it in the background is meant to avoid.
      await yieldToEventLoop();
    }
  }
  // No checkpoint after the last chunk: the rebuild finishes next, which deletes the progress.
  if (chunk.length > 0) await history.restore(chunk, now);
  return replayed + chunk.length;
}
