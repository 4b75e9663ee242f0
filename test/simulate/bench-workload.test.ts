import assert from "node:assert/strict";
import { test } from "node:test";
import { Workload } from "../../bench/workload.ts";
import { parseTransactionInput } from "../../src/transaction/schema.ts";

const T0 = Date.parse("2026-11-21T00:00:00Z");

function run(count: number, seed?: number) {
  const workload = new Workload(Math.round(count / 10), "bench", "t", seed);
  return Array.from({ length: count }, (_, i) => workload.next(T0 + i * 1000));
}

test("the benchmark's workload is the same for a seed, and passes the wire schema", () => {
  const a = run(2000);
  assert.deepEqual(a, run(2000));
  assert.notDeepEqual(a, run(2000, 8));
  for (const tx of a) {
    const parsed = parseTransactionInput(tx);
    assert.ok(parsed.ok, parsed.ok ? "" : parsed.error.message);
  }
});

test("the benchmark's fraud comes from the simulator's patterns, about 1.5% of its transactions", () => {
  const txs = run(50_000);
  // Every pattern's customers are new ones (nextCustomerId: n0, n1, ...); the population's are c<i>.
  const fraud = txs.filter((tx) => String(tx.customerId).startsWith("n"));
  const share = fraud.length / txs.length;
  assert.ok(share > 0.012 && share < 0.021, `fraud share ${share}`);
  // The simulator's bodies carry an order id; the benchmark's ordinary purchases do not.
  assert.ok(fraud.every((tx) => tx.metadata !== undefined));
  for (const tx of fraud) assert.ok(parseTransactionInput(tx).ok);
});
