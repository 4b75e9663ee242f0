import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import { AlertHub } from "../../src/alerts/hub.ts";
import { RedisHistoryStore } from "../../src/history/index.ts";
import { rebuildProgressKey } from "../../src/history/keys.ts";
import { openEmbeddedLedger, type SqlLedger } from "../../src/ledger/index.ts";
import type { Ledger } from "../../src/ledger/types.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { createMetrics, type Metrics } from "../../src/observability/metrics.ts";
import { HISTORY_INCOMPLETE_RULE } from "../../src/processor/history-note.ts";
import { type ProcessorDeps, processBatch } from "../../src/processor/process-batch.ts";
import { defaultRuleset } from "../../src/rules/index.ts";
import { historyRebuildFrom } from "../../src/runtime/history-rebuild.ts";
import { record } from "../processor/process-batch.suite.ts";
import { freePort } from "../support/loopback.ts";
import { killRedis, type RedisServer, startRedis } from "../support/redis-server.ts";
import { sleep, waitFor } from "../support/wait.ts";

const MINUTE = 60_000;
const LOST = "history store came back empty; rebuilding the last 24 h from the ledger";

/** One processor (a monitor process, a Lambda environment) on the private Redis. */
interface Processor {
  deps: ProcessorDeps;
  ledger: SqlLedger;
  redis: Redis;
  metrics: Metrics;
  lines: Record<string, unknown>[];
}

/** A card's purchases (a test card number of its own): seven in the ten minutes before now, then the eighth. */
function cardBurst(customerId: string, number: string) {
  const now = Date.now();
  const paymentMethod = { type: "card", card: { number } };
  const seven = Array.from({ length: 7 }, (_, i) =>
    record({ customerId, paymentMethod }, new Date(now - (7 - i) * MINUTE).toISOString()),
  );
  return { seven, eighth: () => record({ customerId, paymentMethod }) };
}

/**
 * REL-6 against a redis-server of this test's own (no persistence), killed and restarted empty,
 * with the real processBatch, rules and an embedded ledger.
 */
describe("Redis restarted empty: the history rebuilt from the ledger (private Redis)", {
  timeout: 60_000,
}, () => {
  let server: RedisServer;
  let ledger: SqlLedger;
  const processors: Processor[] = [];
  const ruleset = defaultRuleset();

  /**
   * `hold`, when given, is awaited before each replay of the ledger: a rebuild that takes as long
   * as the test wants. `ledger` replaces the suite's; `scan` is what the rebuild reads it through.
   */
  function processor(
    prefix: string,
    options: {
      waitMs?: number;
      hold?: () => Promise<void>;
      budgetMs?: number;
      chunkSize?: number;
      ledger?: SqlLedger;
      scan?: Pick<Ledger, "scanHistory">;
    } = {},
  ): Processor {
    const store = options.ledger ?? ledger;
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
    const metrics = createMetrics();
    const redis = new Redis(server.url, { maxRetriesPerRequest: 2, enableAutoPipelining: false });
    const rebuild = historyRebuildFrom(options.scan ?? store, {
      log,
      store: "redis",
      metrics,
      ...(options.waitMs !== undefined && { waitMs: options.waitMs }),
      ...(options.budgetMs !== undefined && { budgetMs: options.budgetMs }),
      ...(options.chunkSize !== undefined && { chunkSize: options.chunkSize }),
    });
    const replay = rebuild.replay;
    rebuild.replay = async (into, now, replayOptions) => {
      await options.hold?.();
      return replay(into, now, replayOptions);
    };
    const history = new RedisHistoryStore(redis, prefix, undefined, { rebuild });
    const deps: ProcessorDeps = {
      history,
      ledger: store,
      ruleset: () => ruleset,
      alerts: new AlertHub(),
      log,
      metrics,
      source: "test",
    };
    const made = { deps, ledger: store, redis, metrics, lines };
    processors.push(made);
    return made;
  }

  async function decide(p: Processor, records: ReturnType<typeof record>[]) {
    assert.deepEqual(await processBatch(records, p.deps), { batchItemFailures: [] });
    const out = [];
    for (const r of records) {
      const stored = await p.ledger.getTransaction(r.tx.merchantId, r.tx.transactionId);
      assert.ok(stored, `${r.tx.transactionId} is in the ledger`);
      out.push(stored.decision);
    }
    return out;
  }

  async function restartEmpty(): Promise<void> {
    await killRedis(server, "SIGKILL");
    server = await startRedis(server.port);
    for (const p of processors) {
      await waitFor(
        "the client to reconnect",
        async () => {
          try {
            return (await p.redis.ping()) === "PONG" ? true : undefined;
          } catch {
            return undefined;
          }
        },
        15_000,
      );
    }
  }

  const rebuilds = async (p: Processor) => (await p.metrics.historyRebuilds.get()).values[0]!.value;

  before(async () => {
    server = await startRedis(await freePort());
    ledger = await openEmbeddedLedger();
    await ledger.migrate();
  });

  after(async () => {
    for (const p of processors) await p.deps.history.close().catch(() => undefined);
    await killRedis(server);
    await ledger.close();
  });

  test("REL-6 after Redis restarts empty the history is rebuilt before the next decision: the card's 8th purchase in 10 minutes still sees the 7 before; one log line; the counter", async () => {
    const p = processor("rel6a");
    const card = cardBurst("rel6-a", "5555555555554444");
    await decide(p, card.seven);
    // A fresh Redis has no marker either: the first batch rebuilt it (from an empty ledger).
    const before = await rebuilds(p);
    assert.equal(before, 1);
    await restartEmpty();
    const offset = p.lines.length;

    const [decision] = await decide(p, [card.eighth()]);
    const rules = decision!.reasons.map((r) => r.rule);
    assert.ok(rules.includes("card-testing-card-10m"), `reasons: ${rules.join(", ")}`);
    assert.match(
      decision!.reasons.find((r) => r.rule === "card-testing-card-10m")!.detail,
      /\b8\b/,
      "the 8th in 10 minutes",
    );
    assert.ok(!rules.includes(HISTORY_INCOMPLETE_RULE));
    assert.equal(decision!.action, "review");

    const lines = p.lines.slice(offset);
    assert.deepEqual(
      lines.filter((l) => l.msg === LOST).map((l) => l.level),
      [40],
      "one warning that the store came back empty",
    );
    assert.equal(
      lines.filter((l) => /history/i.test(String(l.msg)) && /rebuil/i.test(String(l.msg))).length,
      1,
      "and no other line about rebuilding",
    );
    assert.ok(
      lines.some((l) => l.transactions === 7),
      "the rebuild replayed the card's 7",
    );
    assert.equal(await rebuilds(p), before + 1, "txwatch_history_rebuilds_total");

    // The marker is back: the next batch does not rebuild.
    await decide(p, [record({ customerId: "rel6-a2" })]);
    assert.equal(await rebuilds(p), before + 1);
  });

  test("REL-6 two processors on one Redis: one rebuilds, and a decision made before it ends is marked history-incomplete without changing its action or raising an alert", async () => {
    // Once Redis restarted, the first processor's rebuild is held until the second has decided.
    let gate = Promise.resolve();
    let release: () => void = () => {};
    const rebuilding = processor("rel6b", { hold: () => gate });
    const waiting = processor("rel6b", { waitMs: 200 });
    const card = cardBurst("rel6-b", "4242424242424242");
    await decide(rebuilding, card.seven);
    await restartEmpty();
    const offset = rebuilding.lines.length;
    gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = decide(rebuilding, [record({ customerId: "rel6-b-other" })]);
    await waitFor(
      "the first processor to take the rebuild",
      async () => (rebuilding.lines.slice(offset).some((l) => l.msg === LOST) ? true : undefined),
      10_000,
    );

    const [blind] = await decide(waiting, [card.eighth()]);
    assert.deepEqual(
      blind!.reasons.map((r) => [r.rule, r.score]),
      [[HISTORY_INCOMPLETE_RULE, 0]],
      "blind, the card looks new: only the note, which changes neither score nor action",
    );
    assert.equal(blind!.action, "allow");
    assert.equal(blind!.score, 0);
    assert.equal(
      (await ledger.listAlerts("japancart", { customerId: "rel6-b" }, { limit: 100 })).items.filter(
        (a) => a.rule === HISTORY_INCOMPLETE_RULE,
      ).length,
      0,
    );
    assert.ok(waiting.lines.some((l) => /history incomplete/.test(String(l.msg))));
    assert.equal(await rebuilds(waiting), 0, "the waiting processor did not rebuild");

    release();
    await first;
    assert.equal(await rebuilds(rebuilding), 2, "its start and this loss");
    // The marker is back: the waiting processor decides on the whole day again.
    const [whole] = await decide(waiting, [card.eighth()]);
    assert.ok(!whole!.reasons.some((r) => r.rule === HISTORY_INCOMPLETE_RULE));
    assert.ok(whole!.reasons.some((r) => r.rule === "card-testing-card-10m"));
  });
  test("REL-6 a day too long for one Lambda invocation: the rebuild stops at its time budget with the batch marked history-incomplete, and the next invocation resumes it, replaying only the rest; the card's 8th purchase sees the 7", async () => {
    // A ledger of this test's own, so that it holds just the card's purchases and what follows.
    const own = await openEmbeddedLedger();
    try {
      await own.migrate();
      // The ledger read slows down after four rows, in the first invocation only.
      let slow = true;
      const reads: { after: string | undefined; rows: number }[] = [];
      const scan: Pick<Ledger, "scanHistory"> = {
        async *scanHistory(from, after) {
          const read = { after, rows: 0 };
          reads.push(read);
          for await (const row of own.scanHistory(from, after)) {
            if (slow && read.rows === 4) await sleep(1000);
            read.rows++;
            yield row;
          }
        },
      };
      const lambda = { ledger: own, scan, budgetMs: 500, chunkSize: 2 };
      const first = processor("rel6c", lambda);
      const card = cardBurst("rel6-c", "4000056655665556");
      await decide(first, card.seven);
      await restartEmpty();
      const offset = first.lines.length;
      reads.length = 0;

      const [marked] = await decide(first, [record({ customerId: "rel6-c-other" })]);
      assert.ok(marked!.reasons.some((r) => r.rule === HISTORY_INCOMPLETE_RULE));
      const paused = first.lines.slice(offset).filter((l) => /paused/.test(String(l.msg)));
      assert.deepEqual(
        paused.map((l) => l.replayed),
        [6],
        "stopped after its third chunk, past its budget",
      );
      const progress = JSON.parse((await first.redis.get(rebuildProgressKey("rel6c")))!);
      assert.equal(progress.replayed, 6);
      assert.deepEqual(
        reads.map((r) => r.rows),
        [6],
      );

      // The next invocation, in another Lambda environment.
      slow = false;
      const second = processor("rel6c", lambda);
      const [decision] = await decide(second, [card.eighth()]);
      assert.deepEqual(
        reads.slice(1),
        [{ after: progress.cursor, rows: 2 }],
        "the card's 7th and the purchase decided meanwhile, nothing of the 6 before",
      );
      const rules = decision!.reasons.map((r) => r.rule);
      assert.ok(!rules.includes(HISTORY_INCOMPLETE_RULE), `reasons: ${rules.join(", ")}`);
      assert.match(
        decision!.reasons.find((r) => r.rule === "card-testing-card-10m")?.detail ?? "",
        /\b8\b/,
        "the 8th in 10 minutes",
      );
      assert.ok(second.lines.some((l) => /resuming/.test(String(l.msg)) && l.replayed === 6));
      assert.ok(
        second.lines.some((l) => l.transactions === 8),
        "6 + 2 replayed in all",
      );
      assert.equal(await rebuilds(second), 0, "a resumed rebuild is no new loss");
      assert.equal(await first.redis.exists(rebuildProgressKey("rel6c")), 0, "gone with the lock");
    } finally {
      await own.close();
    }
  });
});
