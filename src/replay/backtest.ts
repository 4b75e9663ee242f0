import { MemoryHistoryStore } from "../history/index.ts";
import { HISTORY_WINDOW_SECONDS } from "../history/types.ts";
import type { Ledger } from "../ledger/types.ts";
import { historyItemOf } from "../processor/history-item.ts";
import type { CompiledRuleset } from "../rules/types.ts";
import type { Action } from "../transaction/types.ts";

const ACTIONS: Action[] = ["allow", "review", "block"];
const MAX_EXAMPLES = 20;

export interface BacktestOptions {
  /** RFC 3339 bounds on occurredAt: from inclusive, to exclusive. */
  from: string;
  to: string;
  merchantId?: string;
}

export interface BacktestReport {
  from: string;
  to: string;
  ruleset: { name: string; version: string };
  transactions: number;
  changed: number;
  /** matrix[before][after] = how many transactions moved from one action to the other. */
  matrix: Record<Action, Record<Action, number>>;
  /** Times each rule fired, in the ledger (before) and under the new ruleset (after). */
  ruleHits: Record<string, { before: number; after: number }>;
  examples: {
    merchantId: string;
    transactionId: string;
    before: Action;
    after: Action;
    reasons: string[];
  }[];
}

/**
 * Re-decides the ledger's transactions of a period under another ruleset (OPS-2 `replay`).
 * History is rebuilt in memory from the ledger, starting 24 h before `from` so the first
 * transactions see the same windows they saw live; the clock is each transaction's own time.
 */
export async function backtest(
  ledger: Ledger,
  ruleset: CompiledRuleset,
  options: BacktestOptions,
): Promise<BacktestReport> {
  const fromMs = Date.parse(options.from);
  const warmFrom = new Date(fromMs - HISTORY_WINDOW_SECONDS * 1000).toISOString();
  const history = new MemoryHistoryStore();
  const matrix = Object.fromEntries(
    ACTIONS.map((a) => [a, Object.fromEntries(ACTIONS.map((b) => [b, 0]))]),
  ) as Record<Action, Record<Action, number>>;
  const ruleHits: BacktestReport["ruleHits"] = {};
  const hit = (rule: string, side: "before" | "after") => {
    ruleHits[rule] ??= { before: 0, after: 0 };
    ruleHits[rule][side]++;
  };
  const report: BacktestReport = {
    from: options.from,
    to: options.to,
    ruleset: { name: ruleset.name, version: ruleset.version },
    transactions: 0,
    changed: 0,
    matrix,
    ruleHits,
    examples: [],
  };

  for await (const row of ledger.scanTransactions(warmFrom, options.to, options.merchantId)) {
    const env = { v: 1 as const, receivedAt: row.receivedAt, tx: row.transaction };
    const item = historyItemOf(env, ruleset.plan(row.transaction));
    const [result] = await history.recordBatch([item], item.eventTime);
    if (Date.parse(row.transaction.occurredAt) < fromMs) continue; // warm-up only
    const verdict = ruleset.evaluate(row.transaction, item.eventTime, result!);
    const before = row.decision.action;
    report.transactions++;
    matrix[before][verdict.action]++;
    for (const r of row.decision.reasons) hit(r.rule, "before");
    for (const r of verdict.reasons) hit(r.rule, "after");
    if (before !== verdict.action) {
      report.changed++;
      if (report.examples.length < MAX_EXAMPLES) {
        report.examples.push({
          merchantId: row.transaction.merchantId,
          transactionId: row.transaction.transactionId,
          before,
          after: verdict.action,
          reasons: verdict.reasons.map((r) => r.rule),
        });
      }
    }
  }
  await history.close();
  return report;
}

export function formatBacktest(report: BacktestReport): string {
  const lines = [
    `replay of ${report.from} .. ${report.to} under ruleset ${report.ruleset.name} ${report.ruleset.version}`,
    `transactions: ${report.transactions}   decisions changed: ${report.changed}` +
      (report.transactions > 0
        ? ` (${((100 * report.changed) / report.transactions).toFixed(1)}%)`
        : ""),
    "",
    "before \\ after     allow    review     block",
  ];
  for (const a of ACTIONS) {
    const row = ACTIONS.map((b) => String(report.matrix[a][b]).padStart(10)).join("");
    lines.push(`${a.padEnd(14)}${row}`);
  }
  const rules = Object.entries(report.ruleHits).sort(([x], [y]) => x.localeCompare(y));
  if (rules.length > 0) {
    lines.push("", "rule                               before     after");
    for (const [rule, { before, after }] of rules) {
      lines.push(`${rule.padEnd(32)}${String(before).padStart(9)}${String(after).padStart(10)}`);
    }
  }
  if (report.examples.length > 0) {
    lines.push("", "changed (first examples):");
    for (const e of report.examples) {
      lines.push(
        `  ${e.merchantId}/${e.transactionId}: ${e.before} -> ${e.after} [${e.reasons.join(", ")}]`,
      );
    }
  }
  return `${lines.join("\n")}\n`;
}
