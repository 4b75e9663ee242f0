import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, describe, test } from "node:test";
import { AlertHub } from "../../src/alerts/hub.ts";
import { createApiKey } from "../../src/api/auth.ts";
import { MemoryClaimStore } from "../../src/claims/index.ts";
import { loadConfig } from "../../src/config.ts";
import { MemoryHistoryStore } from "../../src/history/index.ts";
import { openEmbeddedLedger, type SqlLedger } from "../../src/ledger/index.ts";
import type { LedgerRecord, StoredTransaction } from "../../src/ledger/types.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { createMetrics } from "../../src/observability/metrics.ts";
import { defaultRuleset } from "../../src/rules/index.ts";
import { historyRebuildFrom } from "../../src/runtime/history-rebuild.ts";
import { startMonitor } from "../../src/runtime/monitor.ts";
import { type Pipeline, startPipeline } from "../../src/runtime/pipeline.ts";
import { LocalLogStream } from "../../src/stream/index.ts";
import { wireTransaction } from "../support/fixtures.ts";
import { sleep, waitFor } from "../support/wait.ts";

const MINUTE = 60_000;
const REBUILT = "in-memory history rebuilt from the ledger";

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger(
    "info",
    new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    }),
  );
  return { log, lines };
}

/** A card's purchases for one customer: seven in the ten minutes before now, then the eighth. */
function cardBurst(customerId: string, number: string) {
  const now = Date.now();
  const tx = (at: number) =>
    wireTransaction({
      merchantId: "demo",
      customerId,
      occurredAt: new Date(at).toISOString(),
      paymentMethod: { type: "card", card: { number } },
    });
  return {
    seven: Array.from({ length: 7 }, (_, i) => tx(now - (7 - i) * MINUTE)),
    eighth: tx(now),
  };
}

async function post(url: string, key: string, body: unknown): Promise<number> {
  const res = await fetch(`${url}/v1/transactions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  return res.status;
}

function decided(ledger: SqlLedger, id: string): Promise<StoredTransaction> {
  return waitFor(
    `${id} decided`,
    async () => (await ledger.getTransaction("demo", id)) ?? undefined,
    30_000,
  );
}

function cardTesting(stored: StoredTransaction) {
  return stored.decision.reasons.find((r) => r.rule === "card-testing-card-10m");
}

/** Transactions of other customers and cards spread over the last 23 hours. */
async function fillLedger(ledger: SqlLedger, count: number): Promise<void> {
  const now = Date.now();
  for (let i = 0; i < count; i += 1000) {
    const records: LedgerRecord[] = [];
    for (let j = i; j < Math.min(count, i + 1000); j++) {
      const at = new Date(
        now - 23 * 3_600_000 + Math.floor((j * 22 * 3_600_000) / count),
      ).toISOString();
      records.push({
        tx: {
          transactionId: `filler-${j}`,
          occurredAt: at,
          merchantId: "demo",
          customerId: `filler-${j % 500}`,
          amount: 3000,
          currency: "JPY",
          paymentMethod: {
            type: "card",
            card: { token: `tok-filler-${j % 2000}`, bin: "411111", last4: "1111" },
          },
          ipAddress: `198.51.100.${j % 250}`,
          deviceId: `dev-filler-${j % 1000}`,
          country: "JP",
        },
        receivedAt: at,
        decision: { action: "allow", score: 0, reasons: [], rulesetVersion: "test", decidedAt: at },
      });
    }
    await ledger.commitBatch(records, [], []);
  }
}

describe("embedded start with a day of history (REL-6)", { timeout: 120_000 }, () => {
  const dirs: string[] = [];
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test("REL-6 the API answers while the in-memory history is replayed; the first decision waits for the whole day", async () => {
    const ledger = await openEmbeddedLedger();
    await ledger.migrate();
    const tokenKey = Buffer.alloc(32, 7);
    const key = await createApiKey(ledger, "demo");
    const card = cardBurst("rel6-gated", "4242424242424242");
    const run = async (history: MemoryHistoryStore, log = capture().log) => {
      const stream = new LocalLogStream({ partitions: 2 });
      const hub = new AlertHub();
      const pipeline = await startPipeline(
        {
          ledger,
          history,
          claims: new MemoryClaimStore(),
          stream,
          tokenKey,
          hub,
          alerts: hub,
          metrics: createMetrics(),
          log,
          ruleset: defaultRuleset(),
          source: "local",
        },
        { rateLimitPerMinute: 10_000, bodyLimitBytes: 1 << 20, batchSize: 100, idleMs: 20 },
      );
      const url = await pipeline.app.listen({ port: 0, host: "127.0.0.1" });
      return { pipeline, stream, url };
    };
    const stop = async ({ pipeline, stream }: { pipeline: Pipeline; stream: LocalLogStream }) => {
      await pipeline.stop();
      await stream.close();
    };

    // The previous run decided the card's seven purchases.
    const first = await run(new MemoryHistoryStore());
    for (const tx of card.seven) assert.equal(await post(first.url, key, tx), 202);
    for (const tx of card.seven) await decided(ledger, tx.transactionId as string);
    await stop(first);

    // The restart: its replay of the ledger is held until the test lets it go.
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { log, lines } = capture();
    const rebuild = historyRebuildFrom(ledger, { log, store: "memory" });
    const replay = rebuild.replay;
    rebuild.replay = async (into, now) => {
      await gate;
      return replay(into, now);
    };
    const history = new MemoryHistoryStore({ rebuild });
    history.whenComplete().catch(() => {});
    const second = await run(history, log);
    try {
      assert.equal(await post(second.url, key, card.eighth), 202, "accepted during the replay");
      await sleep(300);
      const id = card.eighth.transactionId as string;
      assert.equal(await ledger.getTransaction("demo", id), null, "not decided on a partial day");
      const releasedAt = Date.now();
      release();
      const stored = await decided(ledger, id);
      assert.ok(Date.parse(stored.recordedAt) >= releasedAt, "committed after the replay");
      assert.match(cardTesting(stored)?.detail ?? "none", /\b8\b/, "the 7 before and this one");
      assert.equal(lines.filter((l) => l.msg === REBUILT).length, 1);
    } finally {
      await stop(second);
      await history.close();
      await ledger.close();
    }
  });

  test("REL-6 a monitor restarted on a ledger of 10,000 transactions in the last 24 h decides with the full history", async () => {
    const dir = mkdtempSync(join(tmpdir(), "txwatch-rel6-"));
    dirs.push(dir);
    const config = loadConfig({ TXWATCH_DATA_DIR: dir, PORT: "0", HOST: "127.0.0.1" });
    const card = cardBurst("rel6-restart", "5555555555554444");

    const first = await startMonitor(config, capture().log);
    const key = first.firstApiKey!;
    try {
      for (const tx of card.seven) assert.equal(await post(first.url, key, tx), 202);
      for (const tx of card.seven)
        await decided(first.runtime.ledger as SqlLedger, tx.transactionId as string);
    } finally {
      await first.close();
    }
    const ledger = await openEmbeddedLedger({ dataDir: join(dir, "ledger") });
    try {
      await fillLedger(ledger, 10_000);
    } finally {
      await ledger.close();
    }

    const { log, lines } = capture();
    const second = await startMonitor(config, log);
    try {
      // Sent as soon as the monitor listens, whether or not the replay has ended.
      assert.equal(await post(second.url, key, card.eighth), 202);
      const stored = await decided(
        second.runtime.ledger as SqlLedger,
        card.eighth.transactionId as string,
      );
      assert.match(cardTesting(stored)?.detail ?? "none", /\b8\b/, "the 7 before and this one");
      const rebuilt = lines.filter((l) => l.msg === REBUILT);
      assert.equal(rebuilt.length, 1);
      assert.equal(rebuilt[0]!.transactions, 10_007);
      assert.ok(
        Date.parse(stored.recordedAt) >= Date.parse(String(rebuilt[0]!.time)),
        "committed after the replay ended",
      );
    } finally {
      await second.close();
    }
  });
});
