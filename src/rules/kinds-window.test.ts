import assert from "node:assert/strict";
import { test } from "node:test";
import { decide, fired, makeTx, rulesetOf } from "./test-fixtures.ts";

const velocity = rulesetOf([
  {
    id: "velocity-card-10m",
    kind: "velocity",
    entity: "card",
    window: "10m",
    maxCount: 4,
    maxAmount: { JPY: 300000, "*": 200000 },
    score: 40,
  },
]);

test("PRC-3 velocity fires when the card's count in the window exceeds maxCount", () => {
  const verdict = decide(velocity, makeTx(), { windows: () => ({ count: 6, sum: 6000 }) });
  assert.deepEqual(verdict.reasons, [
    { rule: "velocity-card-10m", score: 40, detail: "card made 6 transactions in 10m (limit 4)" },
  ]);
});

test("PRC-3 velocity does not fire at exactly maxCount", () => {
  assert.deepEqual(fired(velocity, makeTx(), { windows: () => ({ count: 4 }) }), []);
  assert.deepEqual(fired(velocity, makeTx(), { windows: () => ({ count: 5 }) }), [
    "velocity-card-10m",
  ]);
});

test("PRC-3 velocity fires when the same-currency sum exceeds maxAmount, not at it", () => {
  const tx = makeTx({ amount: 100000 });
  assert.deepEqual(fired(velocity, tx, { windows: () => ({ count: 2, sum: 300000 }) }), []);
  const verdict = decide(velocity, tx, { windows: () => ({ count: 2, sum: 300001 }) });
  assert.equal(verdict.reasons[0]?.detail, "card spent 300001 JPY in 10m (limit 300000)");
});

test("PRC-3 velocity uses the * amount for a currency without its own entry", () => {
  const tx = makeTx({ currency: "BRL", amount: 5000 });
  assert.deepEqual(fired(velocity, tx, { windows: () => ({ count: 1, sum: 200000 }) }), []);
  assert.deepEqual(fired(velocity, tx, { windows: () => ({ count: 1, sum: 200001 }) }), [
    "velocity-card-10m",
  ]);
});

test("PRC-3 velocity reports count and sum together when both limits are exceeded", () => {
  const verdict = decide(velocity, makeTx(), { windows: () => ({ count: 7, sum: 400000 }) });
  assert.equal(
    verdict.reasons[0]?.detail,
    "card made 7 transactions in 10m (limit 4); card spent 400000 JPY in 10m (limit 300000)",
  );
});

test("PRC-3 velocity does not fire when the transaction has no such entity", () => {
  const tx = makeTx({ paymentMethod: { type: "konbini" } });
  assert.deepEqual(velocity.plan(tx), []);
  assert.deepEqual(fired(velocity, tx), []);
});

test("PRC-3 velocity with only a sum limit does not apply to a currency it does not name", () => {
  const sumOnly = rulesetOf([
    {
      id: "sum-jpy",
      kind: "velocity",
      entity: "customer",
      window: "1h",
      maxAmount: { JPY: 1000 },
      score: 10,
    },
  ]);
  assert.deepEqual(sumOnly.plan(makeTx({ currency: "USD" })), []);
  assert.deepEqual(fired(sumOnly, makeTx({ currency: "USD", amount: 999999 })), []);
});

const distinct = rulesetOf([
  {
    id: "device-cards-1h",
    kind: "distinct_cards",
    entity: "device",
    window: "1h",
    maxCards: 3,
    score: 60,
  },
]);

test("PRC-3 distinct_cards fires when a device used more than maxCards cards in the window", () => {
  const verdict = decide(distinct, makeTx(), { windows: () => ({ count: 5, distinctCards: 4 }) });
  assert.deepEqual(verdict.reasons, [
    { rule: "device-cards-1h", score: 60, detail: "device used 4 distinct cards in 1h (limit 3)" },
  ]);
});

test("PRC-3 distinct_cards does not fire at exactly maxCards or without a device", () => {
  assert.deepEqual(fired(distinct, makeTx(), { windows: () => ({ distinctCards: 3 }) }), []);
  const noDevice = makeTx({ deviceId: undefined });
  assert.deepEqual(distinct.plan(noDevice), []);
  assert.deepEqual(fired(distinct, noDevice), []);
});

const structuring = rulesetOf([
  {
    id: "structuring-24h",
    kind: "structuring",
    threshold: { JPY: 1000000, BRL: 1000000 },
    bandPercent: 10,
    window: "24h",
    minCount: 3,
    score: 70,
  },
]);

test("PRC-3 structuring plans a banded customer query for an in-band payment", () => {
  assert.deepEqual(structuring.plan(makeTx({ amount: 950000 })), [
    {
      entity: "customer",
      windowSeconds: 86400,
      minAmount: 900000,
      maxAmount: 1000000,
      measures: [],
    },
  ]);
});

test("PRC-3 structuring fires at minCount in-band payments and not one below", () => {
  const tx = makeTx({ amount: 990000 });
  assert.deepEqual(fired(structuring, tx, { windows: () => ({ count: 2 }) }), []);
  const verdict = decide(structuring, tx, { windows: () => ({ count: 3 }) });
  assert.equal(
    verdict.reasons[0]?.detail,
    "customer made 3 payments of 900000-999999 JPY in 24h, just under the 1000000 threshold (flagged from 3)",
  );
});

test("PRC-3 structuring band is [threshold - band, threshold): its edges decide", () => {
  const atLow = makeTx({ amount: 900000 });
  const belowLow = makeTx({ amount: 899999 });
  const atThreshold = makeTx({ amount: 1000000 });
  const many = { windows: () => ({ count: 5 }) };
  assert.deepEqual(fired(structuring, atLow, many), ["structuring-24h"]);
  assert.deepEqual(fired(structuring, belowLow, many), []);
  assert.deepEqual(fired(structuring, atThreshold, many), []);
  assert.deepEqual(structuring.plan(belowLow), []);
  assert.deepEqual(structuring.plan(atThreshold), []);
});

test("PRC-3 structuring uses the transaction's currency threshold (BRL 1000000 = R$10,000.00)", () => {
  const brl = makeTx({ currency: "BRL", amount: 999000 });
  assert.deepEqual(fired(structuring, brl, { windows: () => ({ count: 3 }) }), ["structuring-24h"]);
  assert.deepEqual(structuring.plan(makeTx({ currency: "USD", amount: 950000 })), []);
});
