import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { openPostgresLedger } from "../../src/ledger/open.ts";
import { cleanEnv, type Started, startCli } from "../support/cli.ts";
import { wireTransaction } from "../support/fixtures.ts";
import { freePort } from "../support/loopback.ts";
import { readyz, stateLines } from "../support/monitor-probe.ts";
import { type PrivatePostgres, startPrivatePostgres } from "../support/private-postgres.ts";
import { killRedis, type RedisServer, startRedis } from "../support/redis-server.ts";
import { sleep, waitFor } from "../support/wait.ts";

/**
 * REL-2 against the real `txwatch start`, on a PostgreSQL cluster and a Redis server of this
 * test's own (never the shared ones: they are stopped here), under a small steady load.
 */

/** Nothing printed outside the JSON logger: no raw stack, no unhandled-event report. */
function assertNoRawErrors(output: string): void {
  const raw = output
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("{"))
    .filter((l) => !/^(txwatch listening on|ledger: |API key: |\(merchant "demo")/.test(l));
  assert.deepEqual(raw, [], "only JSON log lines and the start banner");
  assert.doesNotMatch(output, /Unhandled|\[ioredis\]/);
  // A request refused with 503 while a store is down is in the request log with its status;
  // the outage is the tracker's one line, not an error line (with a stack) per request.
  const perRequestErrors = output
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { level?: number; msg?: string })
    .filter((l) => (l.level ?? 0) >= 50 && l.msg === "request failed");
  assert.deepEqual(perRequestErrors, [], "no error line per refused request");
}

describe("dependency outages under load (private PostgreSQL and Redis)", {
  timeout: 90_000,
}, () => {
  let postgres: PrivatePostgres;
  let redisPort: number;
  let redis: RedisServer;
  let dir: string;
  let monitor: Started;
  let key: string;
  const accepted: string[] = [];
  const statuses = new Map<number, number>();
  let loading = true;
  let load: Promise<void> = Promise.resolve();

  before(async () => {
    postgres = await startPrivatePostgres();
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    // The private cluster acknowledges commits before writing them (synchronous_commit=off on its
    // command line): an immediate stop would lose decisions the monitor was told were stored. A
    // role's setting outranks the command line, so the monitor's connections commit for real.
    await client.query("ALTER ROLE postgres SET synchronous_commit = on");
    await client.end();
    redisPort = await freePort();
    redis = await startRedis(redisPort);
    dir = mkdtempSync(join(tmpdir(), "txwatch-rel2-"));
    monitor = await startCli(
      cleanEnv({
        DATABASE_URL: postgres.url,
        REDIS_URL: `redis://127.0.0.1:${redisPort}`,
        TXWATCH_DATA_DIR: dir,
        PORT: "0",
        LOG_LEVEL: "info",
        TXWATCH_RATE_LIMIT: "100000",
      }),
    );
    key = monitor.apiKey!;
    assert.ok(key, "a first start prints the demo key");
    // The steady load: one transaction every 50 ms, whatever the answers.
    load = (async () => {
      let n = 0;
      while (loading) {
        const tx = wireTransaction({ merchantId: "demo", customerId: `cust-${n++ % 20}` });
        try {
          const res = await fetch(`${monitor.url}/v1/transactions`, {
            method: "POST",
            headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
            body: JSON.stringify(tx),
            signal: AbortSignal.timeout(5000),
          });
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res.status === 202) accepted.push(tx.transactionId as string);
          await res.arrayBuffer();
        } catch {
          statuses.set(0, (statuses.get(0) ?? 0) + 1);
        }
        await sleep(50);
      }
    })();
    await sleep(1000);
  });

  after(async () => {
    loading = false;
    await load;
    if (monitor !== undefined && monitor.child.exitCode === null) await monitor.stop();
    if (redis !== undefined) await killRedis(redis);
    if (postgres !== undefined) {
      await postgres.stop();
    }
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  async function outage(
    dependency: "ledger" | "history",
    stop: () => Promise<void>,
    start: () => Promise<void>,
  ): Promise<void> {
    const before = stateLines(monitor.output(), dependency).length;
    const acceptedBefore = accepted.length;
    await stop();
    const down = await waitFor(
      `/readyz to name ${dependency} down`,
      async () => {
        const r = await readyz(monitor.url);
        return r?.status === 503 && r.body.dependencies?.[dependency] === "down" ? r : undefined;
      },
      10_000,
    );
    assert.equal(down.body.status, "not_ready");
    for (const [name, state] of Object.entries(down.body.dependencies!)) {
      assert.equal(
        state,
        name === dependency ? "down" : "up",
        `${name} while ${dependency} is down`,
      );
    }
    await sleep(3000); // the outage goes on under load
    assert.equal(monitor.child.exitCode, null, "the monitor is alive during the outage");
    await start();
    const ready = await waitFor(
      "/readyz to be 200 again",
      async () => {
        const r = await readyz(monitor.url);
        return r?.status === 200 ? r : undefined;
      },
      20_000,
    );
    assert.deepEqual(ready.body.dependencies, { ledger: "up", history: "up", stream: "up" });
    // Load goes on being accepted after the outage.
    const acceptedAfterRecovery = accepted.length;
    await waitFor(
      "a transaction accepted after recovery",
      async () => (accepted.length > acceptedAfterRecovery ? true : undefined),
      10_000,
    );
    assert.ok(acceptedBefore > 0, "transactions were accepted before the outage");
    await waitFor(
      `the ${dependency} up line`,
      async () =>
        stateLines(monitor.output(), dependency).at(-1)?.state === "up" ? true : undefined,
      10_000,
    );
    const lines = stateLines(monitor.output(), dependency).slice(before);
    assert.deepEqual(
      lines.map((l) => l.state),
      ["down", "up"],
      `one down and one up line for the ${dependency}: ${JSON.stringify(lines)}`,
    );
    assert.ok(lines[0]!.reason, "the down line says why");
    assert.ok(lines[1]!.downMs! >= 2500, "the up line says how long it was down");
    assert.equal(monitor.child.exitCode, null, "the monitor is alive after the outage");
    assertNoRawErrors(monitor.output());
  }

  test("REL-2 PostgreSQL stopped under load: the monitor lives, /readyz names the ledger, one down and one up line", async () => {
    // Beside the monitor, a ledger of this process holds a client checked out of its pool, in a
    // transaction, when the server goes: its "error" event must fail that transaction (reported
    // to the observer, the client discarded), not escape as an uncaught exception.
    const failures: unknown[] = [];
    const ledger = await openPostgresLedger({
      connectionString: postgres.url,
      observer: { ok() {}, failed: (reason) => failures.push(reason) },
    });
    let resume: (() => void) | undefined;
    const held = ledger.db.transaction(async (tx) => {
      await tx.query("SELECT 1");
      await new Promise<void>((resolve) => {
        resume = resolve;
      });
      await tx.query("SELECT 1");
    });
    await waitFor("the held transaction", async () => resume, 5000);
    await outage(
      "ledger",
      async () => {
        await postgres.halt();
        await waitFor("the held client's error", async () => failures[0], 5000);
        resume!();
        await assert.rejects(held, "the held transaction fails like any other");
      },
      () => postgres.resume(),
    );
    await ledger.ping(); // the pool reconnects; the broken client was not pooled again
    await ledger.close();
  });

  test("REL-2 Redis killed under load: the monitor lives, /readyz names the history, one down and one up line", async () => {
    await outage(
      "history",
      () => killRedis(redis),
      async () => {
        redis = await startRedis(redisPort);
      },
    );
  });

  test("REL-2 every transaction accepted before, during and after the outages is decided; the gauge reads 1", async () => {
    loading = false;
    await load;
    assert.ok(accepted.length >= 5, `a steady load was accepted: ${JSON.stringify([...statuses])}`);
    const pending = new Set(accepted);
    const deadline = Date.now() + 20_000;
    while (pending.size > 0 && Date.now() < deadline) {
      const ids = [...pending];
      for (let i = 0; i < ids.length; i += 10) {
        await Promise.all(
          ids.slice(i, i + 10).map(async (id) => {
            const res = await fetch(`${monitor.url}/v1/transactions/${id}`, {
              headers: { authorization: `Bearer ${key}` },
            });
            const body = res.status === 200 ? ((await res.json()) as { decision?: unknown }) : {};
            if (body.decision !== undefined) pending.delete(id);
          }),
        );
      }
      if (pending.size > 0) await sleep(250);
    }
    assert.equal(pending.size, 0, `undecided: ${[...pending].slice(0, 5).join(", ")}`);
    const metrics = await (await fetch(`${monitor.url}/metrics`)).text();
    for (const name of ["ledger", "history", "stream"]) {
      assert.match(metrics, new RegExp(`txwatch_dependency_up\\{dependency="${name}"\\} 1`));
    }
    assert.equal(monitor.child.exitCode, null);
    assertNoRawErrors(monitor.output());
  });
});
