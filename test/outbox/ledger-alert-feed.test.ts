import assert from "node:assert/strict";
import { get, type IncomingMessage } from "node:http";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import pg from "pg";
import { AlertHub } from "../../src/alerts/hub.ts";
import type { AlertPublisher } from "../../src/alerts/publisher.ts";
import { buildApp } from "../../src/api/app.ts";
import { createApiKey } from "../../src/api/auth.ts";
import { MemoryClaimStore } from "../../src/claims/index.ts";
import { MemoryHistoryStore } from "../../src/history/index.ts";
import { openEmbeddedLedger, openPostgresLedger, type SqlLedger } from "../../src/ledger/index.ts";
import type { Alert, Ledger } from "../../src/ledger/types.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { createMetrics } from "../../src/observability/metrics.ts";
import { type LedgerAlertFeed, startLedgerAlertFeed } from "../../src/outbox/ledger-alert-feed.ts";
import { processBatch } from "../../src/processor/process-batch.ts";
import { LocalLogStream } from "../../src/stream/index.ts";
import { PgProxy } from "../api/pg-proxy.ts";
import { record } from "../processor/process-batch.suite.ts";
import { alwaysReviewRuleset } from "../support/fixtures.ts";
import { logSink } from "../support/log-sink.ts";
import { DATABASE_URL, dropSchema, uniqueName } from "../support/services.ts";

const ruleset = alwaysReviewRuleset();

const silent = createLogger("silent");

async function until(check: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a hub delivered, per merchant, in delivery order. */
function listen(hub: AlertHub, merchants: string[]): Map<string, Alert[]> {
  const heard = new Map<string, Alert[]>();
  for (const merchantId of merchants) {
    const list: Alert[] = [];
    heard.set(merchantId, list);
    hub.subscribe(merchantId, (alert) => list.push(alert));
  }
  return heard;
}

const total = (heard: Map<string, Alert[]>) =>
  [...heard.values()].reduce((n, list) => n + list.length, 0);

/**
 * The Lambda's side: processBatch on its own ledger connection, another process as far as the
 * API's ledger is concerned. Answers the alerts the processor itself published after the commit.
 */
async function raise(
  ledger: Ledger,
  txs: { merchantId: string; customerId: string }[],
): Promise<Alert[]> {
  const published: Alert[] = [];
  const alerts: AlertPublisher = {
    publish: async (list) => {
      published.push(...list);
    },
  };
  const result = await processBatch(
    txs.map((t) => record(t)),
    {
      history: new MemoryHistoryStore(),
      ledger,
      ruleset: () => ruleset,
      alerts,
      log: silent,
      source: "test",
    },
  );
  assert.deepEqual(result.batchItemFailures, []);
  assert.equal(published.length, txs.length, "one alert per transaction");
  return published;
}

/** AWS-4 / PRC-5: each API task relays the ledger's alerts to its own live streams. */
/** The ledger through a proxy the test can cut, as a task sees it across a network outage. */
async function proxiedLedger(
  url: string,
  schema: string,
  cleanups: (() => Promise<unknown>)[],
): Promise<{ proxy: PgProxy; proxied: SqlLedger }> {
  const target = new URL(url);
  const proxy = new PgProxy({ host: target.hostname, port: Number(target.port || 5432) });
  const through = new URL(url);
  through.hostname = "127.0.0.1";
  through.port = String(await proxy.listen());
  cleanups.push(() => proxy.close());
  const proxied = await openPostgresLedger({ connectionString: through.toString(), schema });
  cleanups.push(() => proxied.close());
  return { proxy, proxied };
}

describe("ledger alert feed (real PostgreSQL)", () => {
  const schema = uniqueName("txw_test");
  const url = DATABASE_URL;
  /** The API task's connection and the processor's, as on AWS two processes. */
  let api: SqlLedger;
  let processor: SqlLedger;
  const cleanups: (() => Promise<unknown>)[] = [];
  before(async () => {
    api = await openPostgresLedger({ connectionString: url, schema });
    processor = await openPostgresLedger({ connectionString: url, schema });
    await api.migrate();
  });
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    await api.close();
    await processor.close();
    await dropSchema(schema);
  });

  test("AWS-4 alerts committed by another process reach the hub once each, in order, for their merchant; earlier ones are not replayed", async () => {
    const earlier = await raise(processor, [{ merchantId: "japancart", customerId: "f-old" }]);
    const hub = new AlertHub();
    const heard = listen(hub, ["japancart", "fastshop"]);
    const feed = await startLedgerAlertFeed({ ledger: api, hub, log: silent, intervalMs: 20 });
    cleanups.push(() => feed.stop());
    assert.equal(feed.cursor, earlier[0]!.id, "starts at the tail");

    const published = [
      ...(await raise(processor, [
        { merchantId: "japancart", customerId: "f-1" },
        { merchantId: "fastshop", customerId: "f-2" },
        { merchantId: "japancart", customerId: "f-3" },
      ])),
      ...(await raise(processor, [{ merchantId: "japancart", customerId: "f-4" }])),
    ];
    await until(() => total(heard) >= published.length, 5000, "every alert heard");
    await pause(150); // several more reads: nothing is heard twice
    assert.deepEqual(
      heard.get("japancart"),
      published.filter((a) => a.merchantId === "japancart"),
      "japancart's alerts, as the processor published them, in commit order",
    );
    assert.deepEqual(
      heard.get("fastshop"),
      published.filter((a) => a.merchantId === "fastshop"),
    );
    assert.ok(
      !heard.get("japancart")!.some((a) => a.id === earlier[0]!.id),
      "the alert committed before the feed started is not replayed",
    );
    assert.equal(feed.cursor, published.at(-1)!.id);
    await feed.stop();
  });

  test("AWS-4 two tasks each hear every alert exactly once, with commits racing from two processors and pages smaller than the burst", async () => {
    const secondTask = await openPostgresLedger({ connectionString: url, schema });
    const secondProcessor = await openPostgresLedger({ connectionString: url, schema });
    cleanups.push(
      () => secondTask.close(),
      () => secondProcessor.close(),
    );
    const hubs = [new AlertHub(), new AlertHub()];
    const heard = hubs.map((hub) => listen(hub, ["japancart", "fastshop"]));
    const feeds: LedgerAlertFeed[] = [];
    for (const [i, ledger] of [api, secondTask].entries()) {
      const feed = await startLedgerAlertFeed({
        ledger,
        hub: hubs[i]!,
        log: silent,
        intervalMs: 5,
        pageSize: 3,
      });
      feeds.push(feed);
      cleanups.push(() => feed.stop());
    }
    // Twelve batches at once, half through each processor: they queue on the chain lock.
    const batches = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        raise(i % 2 === 0 ? processor : secondProcessor, [
          { merchantId: "japancart", customerId: `r-${i}-a` },
          { merchantId: i % 3 === 0 ? "fastshop" : "japancart", customerId: `r-${i}-b` },
        ]),
      ),
    );
    const published = batches.flat().sort((a, b) => Number(BigInt(a.id) - BigInt(b.id)));
    assert.equal(published.length, 24);
    for (const [i, task] of heard.entries()) {
      await until(() => total(task) >= published.length, 5000, `task ${i} heard every alert`);
    }
    await pause(100);
    for (const task of heard) {
      for (const merchantId of ["japancart", "fastshop"]) {
        assert.deepEqual(
          task.get(merchantId)!.map((a) => a.id),
          published.filter((a) => a.merchantId === merchantId).map((a) => a.id),
          `${merchantId}: each alert once, in id order`,
        );
      }
    }
    for (const feed of feeds) await feed.stop();
  });

  test("AWS-4 a ledger outage is logged once and never thrown; what was committed meanwhile is delivered once it is back", async () => {
    const { proxy, proxied } = await proxiedLedger(url, schema, cleanups);
    const hub = new AlertHub();
    const heard = listen(hub, ["japancart"]);
    const { log, lines } = logSink();
    const feed = await startLedgerAlertFeed({ ledger: proxied, hub, log, intervalMs: 20 });
    cleanups.push(() => feed.stop());

    proxy.cut();
    // A task that starts during the outage starts too; it waits for the ledger to find its tail.
    const lateStarter = await startLedgerAlertFeed({
      ledger: proxied,
      hub: new AlertHub(),
      log: silent,
      intervalMs: 20,
    });
    cleanups.push(() => lateStarter.stop());
    assert.equal(lateStarter.cursor, null);

    const during = await raise(processor, [
      { merchantId: "japancart", customerId: "o-1" },
      { merchantId: "japancart", customerId: "o-2" },
    ]);
    await pause(300); // about fifteen failed reads
    assert.equal(total(heard), 0);
    const warned = lines().filter((l) => /cannot read alerts/.test(l.msg));
    assert.equal(warned.length, 1, "one warning for the whole outage");

    proxy.restore();
    await until(() => total(heard) >= during.length, 5000, "delivery after the outage");
    const later = await raise(processor, [{ merchantId: "japancart", customerId: "o-3" }]);
    await until(() => total(heard) >= during.length + later.length, 5000, "delivery resumes");
    await pause(100);
    assert.deepEqual(heard.get("japancart"), [...during, ...later]);
    assert.equal(lines().filter((l) => /answers again/.test(l.msg)).length, 1);
    await until(() => lateStarter.cursor !== null, 5000, "the late starter finds its tail");
    await feed.stop();
    await lateStarter.stop();
  });

  test("AWS-4 end to end over HTTP: a merchant's SSE stream on an API task receives the alert another process committed, and no other merchant's", async () => {
    const hub = new AlertHub();
    const stream = new LocalLogStream({ partitions: 1 });
    const history = new MemoryHistoryStore();
    const app: FastifyInstance = await buildApp({
      ledger: api,
      history,
      claims: new MemoryClaimStore(),
      stream,
      tokenKey: Buffer.alloc(32, 1),
      hub,
      metrics: createMetrics(),
      log: silent,
      rateLimitPerMinute: 1000,
      bodyLimitBytes: 1024 * 1024,
    });
    cleanups.push(
      () => stream.close(),
      () => app.close(),
    );
    await app.listen({ port: 0, host: "127.0.0.1" });
    const feed = await startLedgerAlertFeed({ ledger: api, hub, log: silent, intervalMs: 20 });
    cleanups.push(() => feed.stop());
    const address = app.server.address();
    assert.ok(address !== null && typeof address !== "string");
    const key = await createApiKey(api, "japancart");

    let text = "";
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const request = get(
        {
          host: "127.0.0.1",
          port: address.port,
          path: "/v1/alerts/stream",
          headers: { authorization: `Bearer ${key}`, accept: "text/event-stream" },
        },
        resolve,
      );
      request.on("error", reject);
    });
    cleanups.push(async () => response.destroy());
    assert.equal(response.statusCode, 200);
    response.setEncoding("utf8");
    response.on("data", (chunk: string) => {
      text += chunk;
    });
    await until(() => text.includes(": connected"), 5000, "stream open");

    const published = await raise(processor, [
      { merchantId: "fastshop", customerId: "h-other" },
      { merchantId: "japancart", customerId: "h-1" },
    ]);
    const mine = published.find((a) => a.merchantId === "japancart")!;
    await until(() => text.includes("event: alert"), 5000, "the SSE event");
    await pause(100);
    const events = text
      .split("\n\n")
      .filter((block) => block.includes("event: alert"))
      .map((block) => {
        const fields = Object.fromEntries(
          block
            .split("\n")
            .map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 2)]),
        );
        return { id: fields.id, data: JSON.parse(fields.data!) as Alert };
      });
    assert.deepEqual(events, [{ id: mine.id, data: mine }], "only japancart's alert, once");
    await feed.stop();
  });
});

/**
 * The feed's two guarantees at their edges, on a schema of their own (its alerts' times are
 * the tests'): nothing committed after start() is skipped when the ledger cannot be read at
 * start, and ids become visible in commit order. A trigger makes a commit slow on purpose: it
 * sleeps after inserting a `slow-` customer's alert, holding its ids (and the chain lock)
 * uncommitted.
 */
describe("ledger alert feed: start-up outage and commit order (real PostgreSQL)", () => {
  const schema = uniqueName("txw_test");
  const url = DATABASE_URL;
  let api: SqlLedger;
  let processor: SqlLedger;
  let secondProcessor: SqlLedger;
  const cleanups: (() => Promise<unknown>)[] = [];
  before(async () => {
    api = await openPostgresLedger({ connectionString: url, schema });
    processor = await openPostgresLedger({ connectionString: url, schema });
    secondProcessor = await openPostgresLedger({ connectionString: url, schema });
    await api.migrate();
    await api.db.exec(`
      CREATE FUNCTION slow_alert() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.customer_id LIKE 'slow-%' THEN PERFORM pg_sleep(0.6); END IF;
        RETURN NEW;
      END
      $$;
      CREATE TRIGGER slow_alert AFTER INSERT ON alerts FOR EACH ROW EXECUTE FUNCTION slow_alert();
    `);
  });
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    await api.close();
    await processor.close();
    await secondProcessor.close();
    await dropSchema(schema);
  });

  /** Resolves once a `slow-` alert is inserted and its transaction sleeps, uncommitted. */
  async function slowCommitSleeping(): Promise<void> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const { rows } = await api.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
         WHERE wait_event = 'PgSleep' AND datname = current_database() AND pid <> pg_backend_pid()`,
      );
      if (rows[0]!.n > 0) return;
      if (Date.now() > deadline) throw new Error("the slow commit never slept");
      await pause(10);
    }
  }

  test("AWS-4 a feed started while the ledger is down delivers, once it is back, every alert committed after its start, including one whose transaction began before it; none from before", async () => {
    const earlier = await raise(processor, [{ merchantId: "japancart", customerId: "g-old" }]);
    await pause(700); // earlier than the start by more than the margin below

    const { proxy, proxied } = await proxiedLedger(url, schema, cleanups);

    // A commit already under way when the feed starts: its alert's created_at (the start of its
    // transaction) is before the feed's start, but it commits after it.
    const slowCommit = raise(processor, [{ merchantId: "japancart", customerId: "slow-g" }]);
    await slowCommitSleeping();

    proxy.cut(); // the outage begins before the feed starts
    const hub = new AlertHub();
    const heard = listen(hub, ["japancart"]);
    const { log, lines } = logSink();
    const startedAt = Date.now();
    const feed = await startLedgerAlertFeed({
      ledger: proxied,
      hub,
      log,
      intervalMs: 20,
      startMarginMs: 400,
    });
    cleanups.push(() => feed.stop());
    assert.equal(feed.cursor, null, "the tail could not be read");

    const slow = await slowCommit;
    assert.ok(Date.parse(slow[0]!.createdAt) < startedAt, "the slow alert's time is before start");
    const during = await raise(processor, [
      { merchantId: "japancart", customerId: "g-1" },
      { merchantId: "japancart", customerId: "g-2" },
    ]);
    await pause(200);
    assert.equal(total(heard), 0);

    proxy.restore();
    await until(() => total(heard) >= slow.length + during.length, 5000, "delivery after it");
    const later = await raise(processor, [{ merchantId: "japancart", customerId: "g-3" }]);
    await until(() => total(heard) >= 4, 5000, "delivery resumes");
    await pause(100);
    assert.deepEqual(heard.get("japancart"), [...slow, ...during, ...later]);
    assert.ok(!heard.get("japancart")!.some((a) => a.id === earlier[0]!.id), "no replay");
    assert.equal(feed.cursor, later[0]!.id);
    assert.equal(lines().filter((l) => /cannot read alerts/.test(l.msg)).length, 1);
    await feed.stop();
  });

  test("AWS-4 a feed started while the ledger is down, with nothing committed since, takes the tail as its cursor once it is back and misses nothing after", async () => {
    const before = await raise(processor, [{ merchantId: "japancart", customerId: "e-old" }]);
    await pause(50);
    const { proxy, proxied } = await proxiedLedger(url, schema, cleanups);
    proxy.cut();
    const hub = new AlertHub();
    const heard = listen(hub, ["japancart"]);
    const feed = await startLedgerAlertFeed({
      ledger: proxied,
      hub,
      log: silent,
      intervalMs: 20,
      startMarginMs: 0,
    });
    cleanups.push(() => feed.stop());
    proxy.restore();
    await until(() => feed.cursor !== null, 5000, "a cursor");
    assert.equal(feed.cursor, before[0]!.id, "the tail, which the time cursor named");
    const after = await raise(processor, [{ merchantId: "japancart", customerId: "e-1" }]);
    await until(() => total(heard) >= 1, 5000, "the next alert");
    await pause(100);
    assert.deepEqual(heard.get("japancart"), after);
    await feed.stop();
  });

  test("AWS-4 ids become visible in commit order: a commit that took lower ids is visible before one with higher ids, so a feed reading meanwhile skips none (and would without the chain lock)", async () => {
    const hub = new AlertHub();
    const heard = listen(hub, ["japancart"]);
    const feed = await startLedgerAlertFeed({
      ledger: api,
      hub,
      log: silent,
      intervalMs: 5,
      pageSize: 1,
    });
    cleanups.push(() => feed.stop());

    // Control: two connections inserting alerts without the chain lock. The first takes an id
    // and commits late; the second takes the next id and commits at once. The feed reads the
    // second and moves past the first, which it then never delivers: this is what the chain
    // lock prevents.
    const merchantId = "japancart";
    const lockless = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
    await lockless.connect();
    cleanups.push(() => lockless.end());
    type Query = (text: string, params: string[]) => Promise<{ rows: { id: string }[] }>;
    const insert = async (query: Query, tx: string) => {
      await query("INSERT INTO transaction_keys (merchant_id, transaction_id) VALUES ($1, $2)", [
        merchantId,
        tx,
      ]);
      const { rows } = await query(
        `INSERT INTO alerts (merchant_id, transaction_id, customer_id, rule, action, score, detail)
         VALUES ($1, $2, 'c-lockless', 'r', 'review', 1, 'd') RETURNING id::text AS id`,
        [merchantId, tx],
      );
      return rows[0]!.id;
    };
    await lockless.query("BEGIN");
    const lowId = await insert((t, p) => lockless.query(t, p), uniqueName("lockless-low"));
    const highId = await insert((t, p) => processor.db.query(t, p), uniqueName("lockless-high"));
    assert.ok(BigInt(highId) > BigInt(lowId));
    await until(() => feed.cursor === highId, 5000, "the feed read the higher id");
    await lockless.query("COMMIT");
    await pause(100);
    const ids = heard.get(merchantId)!.map((a) => a.id);
    assert.deepEqual(ids, [highId], "without the lock the lower id is skipped");

    // The ledger's own commits: the slow one allocates its alert's id and sleeps, uncommitted,
    // holding the chain lock; a second processor commits meanwhile and must wait for it, so
    // its higher id becomes visible only after the lower one.
    const order: string[] = [];
    const slowCommit = raise(processor, [{ merchantId, customerId: "slow-o" }]).then((a) => {
      order.push("slow");
      return a;
    });
    await slowCommitSleeping();
    const fastCommit = raise(secondProcessor, [
      { merchantId, customerId: "o-1" },
      { merchantId, customerId: "o-2" },
    ]).then((a) => {
      order.push("fast");
      return a;
    });
    const [slow, fast] = await Promise.all([slowCommit, fastCommit]);
    assert.deepEqual(order, ["slow", "fast"], "the second commit waited for the first");
    assert.ok(BigInt(slow[0]!.id) < BigInt(fast[0]!.id));
    await until(() => total(heard) >= 1 + slow.length + fast.length, 5000, "every alert");
    await pause(100);
    assert.deepEqual(heard.get(merchantId)!.slice(1), [...slow, ...fast], "none skipped, in order");
    await feed.stop();
  });
});

/** The same port on the embedded ledger (PGlite): one SQL for both drivers. */
describe("ledger alert feed (PGlite)", () => {
  let ledger: SqlLedger;
  before(async () => {
    ledger = await openEmbeddedLedger({});
    await ledger.migrate();
  });
  after(() => ledger.close());

  test("AWS-4 the feed reads alerts after its cursor on PGlite too", async () => {
    const earlier = await raise(ledger, [{ merchantId: "japancart", customerId: "p-old" }]);
    const hub = new AlertHub();
    const heard = listen(hub, ["japancart"]);
    const feed = await startLedgerAlertFeed({ ledger, hub, log: silent, intervalMs: 10 });
    assert.equal(feed.cursor, earlier[0]!.id);
    const published = await raise(ledger, [
      { merchantId: "japancart", customerId: "p-1" },
      { merchantId: "japancart", customerId: "p-2" },
    ]);
    await until(() => total(heard) >= published.length, 5000, "every alert heard");
    await pause(50);
    await feed.stop();
    assert.deepEqual(heard.get("japancart"), published);
    assert.deepEqual(await ledger.alertsAfter("0", 1), earlier, "from the start, paged");
  });
});
