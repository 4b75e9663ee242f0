import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { cleanEnv, runCli, type Started, startCli } from "../support/cli.ts";
import { TEST_PAN, wireTransaction } from "../support/fixtures.ts";

async function waitForDecision(
  url: string,
  key: string,
  id: string,
  timeoutMs = 10_000,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${url}/v1/transactions/${id}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    // 200 without a decision is an accepted transaction still pending.
    const body = res.status === 200 ? ((await res.json()) as Record<string, unknown>) : undefined;
    if (body?.decision !== undefined) return body;
    if (Date.now() > deadline) throw new Error(`${id} not decided: ${res.status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** LOC-1 / OPS-2: what a user gets from `npm start` on a machine with no PostgreSQL or Redis. */
describe("txwatch start on embedded defaults", () => {
  let dir: string;
  let monitor: Started;
  let key: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "txwatch-e2e-"));
    monitor = await startCli(cleanEnv({ TXWATCH_DATA_DIR: dir, PORT: "0" }));
    key = monitor.apiKey!;
  });
  after(async () => {
    if (monitor.child.exitCode === null) await monitor.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("LOC-1 first start prints its URL and an API key for merchant demo", () => {
    assert.match(monitor.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(key, /^txw_[A-Za-z0-9_-]{43}$/);
    assert.match(monitor.output(), /ledger: embedded/);
  });

  test("LOC-1 ingest over HTTP is decided and kept in the embedded ledger; no card number is logged", async () => {
    const tx = wireTransaction({ merchantId: "demo" });
    const res = await fetch(`${monitor.url}/v1/transactions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify(tx),
    });
    assert.equal(res.status, 202);
    const stored = await waitForDecision(monitor.url, key, tx.transactionId as string);
    assert.equal((stored.decision as { action: string }).action, "allow");
    assert.ok(!JSON.stringify(stored).includes(TEST_PAN));
    const ready = await fetch(`${monitor.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.ok(!monitor.output().includes(TEST_PAN));
  });

  test("PRC-5 new alerts arrive on the server-sent events feed over HTTP", async () => {
    const controller = new AbortController();
    const res = await fetch(`${monitor.url}/v1/alerts/stream`, {
      headers: { authorization: `Bearer ${key}` },
      signal: controller.signal,
    });
    assert.equal(res.status, 200);
    assert.match(String(res.headers.get("content-type")), /text\/event-stream/);
    const reader = res.body!.getReader();
    const card = { type: "card", card: { number: "5105105105105100" } };
    const burst = Array.from({ length: 7 }, () =>
      wireTransaction({
        merchantId: "demo",
        customerId: "cust-sse",
        amount: 100,
        paymentMethod: card,
      }),
    );
    await fetch(`${monitor.url}/v1/transactions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ transactions: burst }),
    });
    let text = "";
    const deadline = Date.now() + 10_000;
    while (!/event: alert\ndata: .*cust-sse/.test(text) && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    controller.abort();
    const data = /event: alert\ndata: (.*)\n/.exec(text)?.[1];
    assert.ok(data, `an alert event arrived: ${text.slice(0, 200)}`);
    const alert = JSON.parse(data) as { customerId: string; status: string; merchantId: string };
    assert.equal(alert.customerId, "cust-sse");
    assert.equal(alert.merchantId, "demo");
    assert.equal(alert.status, "open");
  });

  test("LOC-1 keys create and verify-ledger work beside the running monitor; migrate is refused", async () => {
    const env = cleanEnv({ TXWATCH_DATA_DIR: dir });
    const created = await runCli(["keys", "create", "--merchant", "other"], env);
    assert.equal(created.code, 0, created.stderr);
    const otherKey = /^API key: (\S+)$/m.exec(created.stdout)?.[1];
    assert.ok(otherKey);
    const tx = wireTransaction({ merchantId: "demo" });
    const forbidden = await fetch(`${monitor.url}/v1/transactions`, {
      method: "POST",
      headers: { authorization: `Bearer ${otherKey}`, "content-type": "application/json" },
      body: JSON.stringify(tx),
    });
    assert.equal(forbidden.status, 403, "the new key works, for its own merchant only");
    const verified = await runCli(["verify-ledger"], env);
    assert.equal(verified.code, 0, verified.stderr);
    const migrate = await runCli(["migrate"], env);
    assert.notEqual(migrate.code, 0);
    assert.match(migrate.stderr, /in use by txwatch \(pid \d+\)/);
    assert.match(migrate.stderr, /stop it first: the embedded ledger has one owner/);
  });

  test("LOC-1 SIGTERM stops cleanly; a restart keeps the ledger, prints no new key, and the chain verifies", {
    timeout: 90_000,
  }, async () => {
    const tx = wireTransaction({ merchantId: "demo", customerId: "cust-restart" });
    await fetch(`${monitor.url}/v1/transactions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify(tx),
    });
    // A live event stream must not hold the stop up.
    const sse = await fetch(`${monitor.url}/v1/alerts/stream`, {
      headers: { authorization: `Bearer ${key}` },
    });
    assert.equal(sse.status, 200);
    assert.equal(await monitor.stop("SIGTERM"), 0);
    const verified = await runCli(["verify-ledger"], cleanEnv({ TXWATCH_DATA_DIR: dir }));
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, /hash chains intact/);

    monitor = await startCli(cleanEnv({ TXWATCH_DATA_DIR: dir, PORT: "0" }));
    assert.equal(monitor.apiKey, undefined, "the key is printed on first start only");
    const stored = await waitForDecision(monitor.url, key, tx.transactionId as string);
    assert.equal(stored.customerId, "cust-restart", "accepted before the stop, decided and kept");
    const history = (await (
      await fetch(`${monitor.url}/v1/customers/cust-restart/history`, {
        headers: { authorization: `Bearer ${key}` },
      })
    ).json()) as { count: number };
    assert.equal(history.count, 1, "the in-memory history was rebuilt from the ledger");
  });
});
