import { HISTORY_WINDOW_SECONDS, type HistoryItem, type HistoryStore } from "../history/types.ts";
import type { Ledger } from "../ledger/types.ts";
import { historyItemOf } from "../processor/history-item.ts";

const CHUNK = 500;

/**
 * Replays the ledger's last 24 hours into a history store (no window queries: only the
 * entries matter). Used at start-up by the embedded run, whose history lives in memory.
 */
export async function warmHistory(
  ledger: Ledger,
  history: HistoryStore,
  now: number,
): Promise<number> {
  const from = new Date(now - HISTORY_WINDOW_SECONDS * 1000).toISOString();
  const to = new Date(now + 60_000).toISOString();
  let chunk: HistoryItem[] = [];
  let total = 0;
  for await (const row of ledger.scanTransactions(from, to)) {
    chunk.push(historyItemOf({ v: 1, receivedAt: row.receivedAt, tx: row.transaction }, []));
    if (chunk.length === CHUNK) {
      await history.recordBatch(chunk, now);
      total += chunk.length;
      chunk = [];
    }
  }
  if (chunk.length > 0) await history.recordBatch(chunk, now);
  return total + chunk.length;
}
