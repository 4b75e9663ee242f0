/**
 * How long the embedded monitor (`txwatch start` without DATABASE_URL or REDIS_URL) takes to
 * start on a ledger holding a day of transactions (REL-6): until it listens, and until its
 * in-memory history holds the last 24 h again (the first batch waits for that). The ledger is
 * filled as the load the issue measured sends it: 20 customers, one card, device and IP (the
 * hardest case for the history, whose keys grow with the day), or `--shape spread`.
 *
 *   node --import tsx bench/embedded-start.ts [--rows 33000] [--shape same|spread] [--runs 3]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../src/config.ts";
import { openEmbeddedLedger } from "../src/ledger/index.ts";
import type { LedgerRecord } from "../src/ledger/types.ts";
import { createLogger } from "../src/observability/logger.ts";
import { startMonitor } from "../src/runtime/monitor.ts";

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "33000" },
    shape: { type: "string", default: "same" },
    runs: { type: "string", default: "3" },
  },
});
const rows = Number(values.rows);
const spread = values.shape === "spread";
const runs = Number(values.runs);

async function fill(dir: string): Promise<void> {
  const ledger = await openEmbeddedLedger({ dataDir: join(dir, "ledger") });
  await ledger.migrate();
  const now = Date.now();
  for (let i = 0; i < rows; i += 1000) {
    const records: LedgerRecord[] = [];
    for (let j = i; j < Math.min(rows, i + 1000); j++) {
      const at = new Date(now - 23 * 3_600_000 + Math.floor((j * 23 * 3_600_000) / rows));
      const iso = at.toISOString();
      records.push({
        tx: {
          transactionId: `bench-${j}`,
          occurredAt: iso,
          merchantId: "demo",
          customerId: `cust-${j % 20}`,
          amount: 12800,
          currency: "JPY",
          paymentMethod: {
            type: "card",
            card: { token: spread ? `tok-${j % 5000}` : "tok-one", bin: "411111", last4: "1111" },
          },
          channel: "web",
          ipAddress: spread ? `10.0.${j % 250}.${j % 7}` : "203.0.113.7",
          deviceId: spread ? `dev-${j % 3000}` : "dev-9f2c",
          country: "JP",
          mcc: "5732",
        },
        receivedAt: iso,
        decision: {
          action: "allow",
          score: 0,
          reasons: [],
          rulesetVersion: "bench",
          decidedAt: iso,
        },
      });
    }
    await ledger.commitBatch(records, [], []);
  }
  await ledger.close();
}

const dir = mkdtempSync(join(tmpdir(), "txwatch-bench-start-"));
try {
  await fill(dir);
  const config = loadConfig({ TXWATCH_DATA_DIR: dir, PORT: "0", HOST: "127.0.0.1" });
  console.log(`embedded start on ${rows} transactions of the last 24 h (${values.shape})`);
  console.log("run | listening s | history complete s");
  for (let run = 1; run <= runs; run++) {
    const started = performance.now();
    const monitor = await startMonitor(config, createLogger("silent"));
    const listening = (performance.now() - started) / 1000;
    const history = monitor.runtime.history as { whenComplete?: () => Promise<void> };
    await history.whenComplete?.();
    const complete = (performance.now() - started) / 1000;
    console.log(`${run} | ${listening.toFixed(2)} | ${complete.toFixed(2)}`);
    await monitor.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
