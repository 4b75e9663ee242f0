import assert from "node:assert/strict";
import { test } from "node:test";
import { decide, historyFor, makeTx, rulesetOf, T0 } from "./test-fixtures.ts";

const planned = rulesetOf([
  { id: "ip-velocity-1h", kind: "velocity", entity: "ip", window: "1h", maxCount: 30, score: 10 },
  { id: "card-10m", kind: "velocity", entity: "card", window: "10m", maxCount: 4, score: 50 },
  { id: "card-1h", kind: "velocity", entity: "card", window: "60m", maxCount: 10, score: 40 },
  {
    id: "device-cards-1h",
    kind: "distinct_cards",
    entity: "device",
    window: "1h",
    maxCards: 3,
    score: 60,
  },
  { id: "device-10m", kind: "velocity", entity: "device", window: "1h", maxCount: 5, score: 10 },
  {
    id: "structuring",
    kind: "structuring",
    threshold: { JPY: 1000000 },
    bandPercent: 10,
    window: "24h",
    minCount: 3,
    score: 70,
  },
  {
    id: "customer-24h",
    kind: "velocity",
    entity: "customer",
    window: "24h",
    maxAmount: { JPY: 2000000 },
    score: 30,
  },
  { id: "high", kind: "high_amount", minAmount: { JPY: 500000 }, score: 20 },
  {
    id: "off",
    kind: "velocity",
    entity: "customer",
    window: "30s",
    maxCount: 1,
    score: 10,
    enabled: false,
  },
]);

test("PRC-3 SCL-1 plan deduplicates identical queries, merges what they read, and orders them by entity, window and band", () => {
  assert.deepEqual(planned.plan(makeTx({ amount: 950000 })), [
    { entity: "customer", windowSeconds: 86400, measures: ["sum"] },
    {
      entity: "customer",
      windowSeconds: 86400,
      minAmount: 900000,
      maxAmount: 1000000,
      measures: [],
    },
    { entity: "card", windowSeconds: 600, measures: [] },
    { entity: "card", windowSeconds: 3600, measures: [] },
    // The distinct-cards rule and a count-only velocity rule on one window: the cards are read.
    { entity: "device", windowSeconds: 3600, measures: ["distinctCards"] },
    { entity: "ip", windowSeconds: 3600, measures: [] },
  ]);
});

test("PRC-3 plan leaves out absent entities, out-of-band amounts and disabled rules", () => {
  const tx = makeTx({
    paymentMethod: { type: "bank_transfer" },
    deviceId: undefined,
    ipAddress: undefined,
  });
  assert.deepEqual(planned.plan(tx), [
    { entity: "customer", windowSeconds: 86400, measures: ["sum"] },
  ]);
});

test("PRC-3 plan is deterministic: the same transaction always gets the same queries", () => {
  const tx = makeTx({ amount: 950000 });
  assert.deepEqual(planned.plan(tx), planned.plan(structuredClone(tx)));
});

test("PRC-3 a transaction is planned once: the same object gets the same frozen list", () => {
  const tx = makeTx({ amount: 950000 });
  const first = planned.plan(tx);
  assert.equal(planned.plan(tx), first, "the same plan object for the same transaction");
  assert.ok(Object.isFrozen(first), "no user of a shared plan can add, drop or reorder queries");
  assert.notEqual(planned.plan(structuredClone(tx)), first, "another object is planned anew");
});

test("PRC-3 evaluate reads each window result at its planned position", () => {
  const tx = makeTx();
  const verdict = decide(planned, tx, {
    windows: (q) => (q.entity === "card" && q.windowSeconds === 3600 ? { count: 11 } : {}),
  });
  assert.deepEqual(
    verdict.reasons.map((r) => r.rule),
    ["card-1h"],
  );
});

test("PRC-3 evaluate refuses a history that does not match the plan", () => {
  const tx = makeTx();
  const history = historyFor(planned, tx);
  history.windows.pop();
  assert.throws(() => planned.evaluate(tx, T0, history), /window results for .* planned queries/);
});

const scored = rulesetOf([
  { id: "a", kind: "high_amount", minAmount: { JPY: 100 }, score: 30 },
  { id: "b", kind: "shipping_mismatch", score: 20 },
  { id: "c", kind: "high_amount", minAmount: { JPY: 1000 }, score: 40 },
  { id: "d", kind: "high_amount", minAmount: { JPY: 5000 }, score: 60 },
  { id: "watch-only", kind: "high_amount", minAmount: { JPY: 100 }, score: 0 },
]);

const edges = rulesetOf([
  { id: "base-49", kind: "high_amount", minAmount: { JPY: 100 }, score: 49 },
  { id: "plus-1", kind: "shipping_mismatch", score: 1 },
  { id: "plus-40", kind: "high_amount", minAmount: { JPY: 1000 }, score: 40 },
]);

test("PRC-3 thresholds: 49 allows, 50 reviews, 89 reviews, 90 blocks (review 50, block 90)", () => {
  const cases = [
    { tx: makeTx({ amount: 500 }), score: 49, action: "allow" },
    { tx: makeTx({ amount: 500, shippingCountry: "US" }), score: 50, action: "review" },
    { tx: makeTx({ amount: 2000 }), score: 89, action: "review" },
    { tx: makeTx({ amount: 2000, shippingCountry: "US" }), score: 90, action: "block" },
  ];
  for (const { tx, score, action } of cases) {
    const verdict = decide(edges, tx);
    assert.deepEqual([verdict.score, verdict.action], [score, action]);
  }
});

test("PRC-3 thresholds come from the document: review 40 / block 95 moves the edges", () => {
  const strict = rulesetOf(
    [
      { id: "base-49", kind: "high_amount", minAmount: { JPY: 100 }, score: 49 },
      { id: "plus-40", kind: "high_amount", minAmount: { JPY: 1000 }, score: 40 },
    ],
    { review: 40, block: 95 },
  );
  assert.equal(decide(strict, makeTx({ amount: 500 })).action, "review");
  assert.equal(decide(strict, makeTx({ amount: 2000 })).action, "review");
});

test("PRC-3 score is the sum of fired rules capped at 100, reasons in rule order", () => {
  const verdict = decide(scored, makeTx({ amount: 9000, shippingCountry: "US" }));
  assert.equal(verdict.score, 100);
  assert.equal(verdict.action, "block");
  assert.deepEqual(
    verdict.reasons.map((r) => [r.rule, r.score]),
    [
      ["a", 30],
      ["b", 20],
      ["c", 40],
      ["d", 60],
      ["watch-only", 0],
    ],
  );
  assert.equal(verdict.rulesetVersion, scored.version);
});

const lists = rulesetOf([
  { id: "vip", kind: "list", list: "allow", field: "customerId", values: ["cust-vip"], score: 0 },
  { id: "bad-bin", kind: "list", list: "block", field: "cardBin", values: ["411111"], score: 10 },
  { id: "big", kind: "high_amount", minAmount: { JPY: 100000 }, score: 95 },
]);

test("PRC-3 a block-list hit forces block whatever the score", () => {
  const verdict = decide(lists, makeTx({ amount: 100 }));
  assert.equal(verdict.score, 10);
  assert.equal(verdict.action, "block");
  assert.equal(verdict.reasons[0]?.detail, "cardBin 411111 is on the block list");
});

test("PRC-3 an allow-list hit forces allow, recorded with score 0", () => {
  const card = { type: "card" as const, card: { token: "t", bin: "520000" } };
  const verdict = decide(
    lists,
    makeTx({ customerId: "cust-vip", amount: 200000, paymentMethod: card }),
  );
  assert.equal(verdict.action, "allow");
  assert.deepEqual(verdict.reasons, [
    { rule: "vip", score: 0, detail: "customerId cust-vip is on the allow list" },
    { rule: "big", score: 95, detail: "amount 200000 JPY is at or above 100000" },
  ]);
});

test("PRC-3 a block-list hit wins over an allow-list hit", () => {
  const verdict = decide(lists, makeTx({ customerId: "cust-vip" }));
  assert.equal(verdict.action, "block");
  assert.deepEqual(
    verdict.reasons.map((r) => r.rule),
    ["vip", "bad-bin"],
  );
});

test("PRC-3 the compiled ruleset is immutable and exposes its normalized source", () => {
  assert.throws(() => {
    (planned.source as { name: string }).name = "changed";
  }, TypeError);
  assert.equal((planned.source as { rules: { window?: string }[] }).rules[2]?.window, "1h");
});
