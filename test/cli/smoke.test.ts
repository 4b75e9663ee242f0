import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, before, describe, test } from "node:test";
import { cleanEnv, runCli } from "../support/cli.ts";
import { type Harness, startHarness } from "../support/harness.ts";

/** A port of 127.0.0.1 nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** AWS-6: `txwatch smoke` against a running monitor (PostgreSQL + Redis, in this process). */
describe("txwatch smoke", () => {
  let harness: Harness;
  let url: string;
  let key: string;
  const env = cleanEnv();
  before(async () => {
    harness = await startHarness({ kind: "real" });
    await harness.app.listen({ port: 0, host: "127.0.0.1" });
    const { port } = harness.app.server.address() as { port: number };
    url = `http://127.0.0.1:${port}`;
    key = await harness.keyFor("demo");
  });
  after(async () => {
    await harness?.close();
  });

  test("AWS-6 smoke passes against a running monitor, printing each step with its time", async () => {
    const out = await runCli(["smoke", "--url", url, "--api-key", key], env);
    assert.equal(out.code, 0, out.stdout + out.stderr);
    const lines = out.stdout.trim().split("\n");
    assert.equal(lines.length, 5, out.stdout);
    assert.match(lines[0]!, /^ok {3}health +\d+ ms {2}GET \/healthz 200$/);
    assert.match(lines[1]!, /^ok {3}submit +\d+ ms {2}smoke-\S+ accepted$/);
    assert.match(lines[2]!, /^ok {3}decision +\d+ ms {2}review, score 70$/);
    assert.match(lines[3]!, /^ok {3}alert +\d+ ms {2}3 alert\(s\): .*new-customer-high-value/);
    assert.match(
      lines[4]!,
      /^smoke test passed: http:\/\/127\.0\.0\.1:\d+ \(transaction smoke-\S+\)$/,
    );
    // The transaction really is in the ledger, decided, with its alerts.
    const id = /transaction (smoke-\S+)\)/.exec(lines[4]!)![1]!;
    const stored = await harness.ledger.getTransaction("demo", id);
    assert.equal(stored?.decision.action, "review");
    const alerts = await harness.ledger.listAlerts(
      "demo",
      { customerId: stored!.transaction.customerId },
      { limit: 10 },
    );
    assert.equal(alerts.items.length, 3);
  });

  test("AWS-6 smoke run twice uses a fresh transaction each time", async () => {
    const first = await runCli(["smoke", "--url", url, "--api-key", key], env);
    const second = await runCli(["smoke", "--url", url, "--api-key", key], env);
    assert.equal(first.code, 0, first.stdout);
    assert.equal(second.code, 0, second.stdout);
    const idOf = (s: string) => /transaction (smoke-\S+)\)/.exec(s)?.[1];
    assert.notEqual(idOf(first.stdout), idOf(second.stdout));
  });

  test("AWS-6 smoke against a URL where nothing listens exits 1 naming the health step", async () => {
    const out = await runCli(
      ["smoke", "--url", `http://127.0.0.1:${await closedPort()}`, "--api-key", key],
      env,
    );
    assert.equal(out.code, 1, out.stdout + out.stderr);
    assert.match(out.stdout, /^FAIL health +\d+ ms {2}.*ECONNREFUSED/m);
    assert.match(out.stdout, /smoke test FAILED at step "health"/);
    assert.doesNotMatch(out.stdout, /submit/);
  });

  test("AWS-6 smoke with a wrong API key exits 1 naming the submit step", async () => {
    const out = await runCli(["smoke", "--url", url, "--api-key", "txw_not-a-real-key"], env);
    assert.equal(out.code, 1, out.stdout + out.stderr);
    assert.match(out.stdout, /^ok {3}health /m);
    assert.match(out.stdout, /^FAIL submit +\d+ ms {2}POST \/v1\/transactions answered 401/m);
    assert.match(out.stdout, /smoke test FAILED at step "submit"/);
    assert.ok(!out.stdout.includes("txw_not-a-real-key"), "the key is not printed");
  });
});
