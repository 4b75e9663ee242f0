import { Writable } from "node:stream";
import { AlertHub } from "../../src/alerts/hub.ts";
import { MemoryHistoryStore } from "../../src/history/index.ts";
import type { HistoryStore } from "../../src/history/types.ts";
import type { SqlLedger } from "../../src/ledger/index.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { createMetrics, type Metrics } from "../../src/observability/metrics.ts";
import type { ProcessorDeps } from "../../src/processor/process-batch.ts";
import { defaultRuleset } from "../../src/rules/index.ts";
import { TEST_PAN } from "../support/fixtures.ts";

/**
 * A trigger that refuses, for good, every transaction whose id starts with `poison-` (REL-5):
 * what a record the database will never take looks like. Its message carries a card number,
 * which must not reach the quarantine reason or the log.
 */
export const REFUSE_POISON = `
CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.transaction_id LIKE 'poison-%' THEN
    RAISE EXCEPTION 'transaction % is refused for good (card ${TEST_PAN})', NEW.transaction_id;
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER refuse_poison BEFORE INSERT ON transactions
  FOR EACH ROW EXECUTE FUNCTION refuse_poison();
`;

export interface LoggedLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export interface PoisonDeps {
  deps: ProcessorDeps;
  metrics: Metrics;
  history: HistoryStore;
  /** Every log line so far, parsed. */
  lines(): LoggedLine[];
  /** The raw log text (PRIV-1 checks). */
  text(): string;
}

/** processBatch's dependencies over `ledger`, an in-memory history, and a log kept for reading. */
export function poisonDeps(ledger: SqlLedger, source = "test"): PoisonDeps {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  const ruleset = defaultRuleset();
  const metrics = createMetrics();
  const history = new MemoryHistoryStore();
  return {
    deps: {
      history,
      ledger,
      ruleset: () => ruleset,
      alerts: new AlertHub(),
      log: createLogger("debug", sink),
      metrics,
      source,
    },
    metrics,
    history,
    text: () => chunks.join(""),
    lines: () =>
      chunks
        .join("")
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as LoggedLine),
  };
}

/** The merchant's transactions of `customerId` in ledger (chain) order. */
export async function ledgerOrder(
  ledger: SqlLedger,
  merchantId: string,
  customerId: string,
): Promise<string[]> {
  const { rows } = await ledger.db.query<{ transaction_id: string }>(
    `SELECT transaction_id FROM transactions WHERE merchant_id = $1 AND customer_id = $2
     ORDER BY seq`,
    [merchantId, customerId],
  );
  return rows.map((r) => r.transaction_id);
}

/** txwatch_quarantined_records_total{kind}. */
export async function quarantinedCount(metrics: Metrics, kind: string): Promise<number> {
  const { values } = await metrics.quarantined.get();
  return values.find((v) => v.labels.kind === kind)?.value ?? 0;
}
