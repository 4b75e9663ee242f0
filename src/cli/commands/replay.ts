import { resolve } from "node:path";
import { ValidationError } from "../../errors.ts";
import { type BacktestReport, backtest, formatBacktest } from "../../replay/backtest.ts";
import { loadRuleset } from "../../rules/index.ts";
import { isRfc3339WithOffset } from "../../transaction/schema.ts";
import { viaMonitorOr } from "./ledger-admin.ts";

export interface ReplayOptions {
  ruleset: string;
  from: string;
  to: string;
  merchant?: string;
  json?: boolean;
}

export async function replayCommand(options: ReplayOptions): Promise<void> {
  for (const field of ["from", "to"] as const) {
    if (!isRfc3339WithOffset(options[field])) {
      throw new ValidationError(
        field,
        `--${field} must be an RFC 3339 timestamp with offset, e.g. 2026-11-01T00:00:00Z`,
      );
    }
  }
  if (Date.parse(options.from) >= Date.parse(options.to))
    throw new ValidationError("to", "--to must be after --from");
  const path = resolve(options.ruleset);
  loadRuleset(path); // refuse a bad ruleset here, with its rule and field, before any work
  const period = {
    from: options.from,
    to: options.to,
    ...(options.merchant && { merchantId: options.merchant }),
  };
  const report = await viaMonitorOr<BacktestReport>(
    { command: "replay", ruleset: path, options: period },
    (ledger) => backtest(ledger, loadRuleset(path), period),
  );
  process.stdout.write(
    options.json ? `${JSON.stringify(report, null, 2)}\n` : formatBacktest(report),
  );
}
