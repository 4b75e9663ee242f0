import type { HistoryRebuild } from "../history/rebuild.ts";
import type { Ledger } from "../ledger/types.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import { warmHistory } from "./warm-history.ts";

export interface RebuildReporting {
  log: Logger;
  /** Which store: Redis rebuilds only after a loss, the in-memory one at every start. */
  store: "redis" | "memory";
  /** txwatch_history_rebuilds_total, counted per loss. */
  metrics?: Pick<Metrics, "historyRebuilds">;
  /** Also told of each loss: the Lambda publishes it as a CloudWatch metric, which is alarmed. */
  onLost?: () => void;
  /** HistoryRebuild.waitMs. */
  waitMs?: number;
  /** HistoryRebuild.budgetMs: the Lambda's, to stop before its invocation is killed. */
  budgetMs?: number;
  /** Transactions per restore and per saved progress (warmHistory); tests lower it. */
  chunkSize?: number;
}

/**
 * The rebuild a history store runs when it is not known to hold the last 24 h (REL-6): the
 * ledger's day replayed into it (warmHistory), each step logged once. A loss of the Redis history
 * is a warning, counted, and the only line that speaks of rebuilding, so an operator (or a test)
 * finds one line per loss; the in-memory store's rebuild at start is routine.
 */
export function historyRebuildFrom(
  ledger: Pick<Ledger, "scanHistory">,
  reporting: RebuildReporting,
): HistoryRebuild {
  const { log, store, metrics, onLost } = reporting;
  const seconds = (ms: number) => Math.round(ms) / 1000;
  return {
    replay: (into, now, options) => warmHistory(ledger, into, now, options, reporting.chunkSize),
    ...(reporting.waitMs !== undefined && { waitMs: reporting.waitMs }),
    ...(reporting.budgetMs !== undefined && { budgetMs: reporting.budgetMs }),
    events: {
      lost() {
        log.warn(
          { store },
          "history store came back empty; rebuilding the last 24 h from the ledger",
        );
        metrics?.historyRebuilds.inc();
        onLost?.();
      },
      resumed(replayed) {
        log.info(
          { store, replayed },
          "history store still incomplete; resuming the replay of the ledger where another process stopped",
        );
      },
      paused(replayed, ms) {
        log.warn(
          { store, replayed, seconds: seconds(ms) },
          "history replay paused: its time budget ran out; the next batch resumes it, and decisions until then are marked history-incomplete",
        );
      },
      rebuilt(transactions, ms) {
        if (store === "memory") {
          log.info(
            { transactions, seconds: seconds(ms) },
            "in-memory history rebuilt from the ledger",
          );
        } else {
          log.info(
            { store, transactions, seconds: seconds(ms) },
            "history complete again: the last 24 h replayed from the ledger",
          );
        }
      },
      failed(err) {
        log.error({ err, store }, "history replay from the ledger failed; decisions wait for it");
      },
      blind(waitedMs) {
        log.warn(
          { store, waitedMs },
          "history incomplete: another process is still replaying the ledger; deciding on what the store holds, marked history-incomplete",
        );
      },
    },
  };
}
