/**
 * The hot-entity phase's day (SCL-1): a day of transactions on one card and one address,
 * recorded straight into the monitor's history store (its Redis and key prefix) before the
 * phase, with event times spread over the last 24 hours, as if the monitor had decided them.
 * Through the store's recordBatch, with the monitor's ruleset's queries, so the store holds
 * what processing them would have left (a busy entity's running aggregates and band sets
 * included) without a day of HTTP and ledger work first. Nothing goes to the ledger.
 */
import { Redis } from "ioredis";
import { RedisHistoryStore } from "../src/history/index.ts";
import type { HistoryItem } from "../src/history/types.ts";
import { historyItemOf } from "../src/processor/history-item.ts";
import type { CompiledRuleset } from "../src/rules/types.ts";
import { parseTransactionInput } from "../src/transaction/schema.ts";
import { tokenizeTransaction } from "../src/transaction/tokenize.ts";
import type { StreamEnvelope } from "../src/transaction/types.ts";
import { benchTokenKey } from "./monitor-protocol.ts";
import type { HotTraffic } from "./workload.ts";

export interface PreloadOptions {
  redisUrl: string;
  /** The monitor's key prefix. */
  prefix: string;
  traffic: HotTraffic;
  /** Transactions to record. */
  volume: number;
  ruleset: CompiledRuleset;
  batchSize: number;
}

const HOUR = 3_600_000;
/** Batches in flight at once, on one connection: Redis runs them in order. */
const IN_FLIGHT = 4;

/** Records the day; answers how long it took. */
export async function preloadHotEntity(options: PreloadOptions): Promise<{ seconds: number }> {
  const redis = new Redis(options.redisUrl);
  const store = new RedisHistoryStore(redis, options.prefix);
  const tokenKey = benchTokenKey();
  const started = performance.now();
  // From 23.5 h ago to a minute ago, in order: the phase's own transactions come after.
  const last = Date.now() - 60_000;
  const first = last - 23.5 * HOUR;
  const spacing = (last - first) / options.volume;
  let made = 0;
  const nextBatch = (): HistoryItem[] => {
    const items: HistoryItem[] = [];
    for (; items.length < options.batchSize && made < options.volume; made++) {
      const eventTime = Math.round(first + made * spacing);
      const parsed = parseTransactionInput(options.traffic.next(eventTime));
      if (!parsed.ok) throw parsed.error;
      const tx = tokenizeTransaction(parsed.value, tokenKey);
      const envelope: StreamEnvelope = { v: 1, receivedAt: new Date(eventTime).toISOString(), tx };
      items.push(historyItemOf(envelope, options.ruleset.plan(tx)));
    }
    return items;
  };
  try {
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        for (let items = nextBatch(); items.length > 0; items = nextBatch()) {
          await store.recordBatch(items, Date.now());
        }
      }),
    );
  } finally {
    await store.close();
  }
  return { seconds: (performance.now() - started) / 1000 };
}
