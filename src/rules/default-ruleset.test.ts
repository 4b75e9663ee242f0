import assert from "node:assert/strict";
import { test } from "node:test";
import { defaultRuleset } from "./index.ts";
import { decide, type HistoryFixture, MINUTE, makeTx, prior, T0 } from "./test-fixtures.ts";
import type { WindowQuery, WindowResult } from "./vocabulary.ts";

const rules = defaultRuleset();

/** Window results by "entity/seconds"; anything not named is just this one transaction. */
function windows(table: Record<string, Partial<WindowResult>>): HistoryFixture["windows"] {
  return (q: WindowQuery) => table[`${q.entity}/${q.windowSeconds}`] ?? {};
}

const returning = prior({
  count: 2,
  sameCurrencyCount: 2,
  sameCurrencySum: 16000,
  last: { eventTime: T0 - 120 * MINUTE, country: "JP" },
});
const seenBefore = { customer: returning, card: returning, device: returning, ip: returning };

test("PRC-3 the default ruleset loads from default-ruleset.yaml, versioned and cached", () => {
  assert.equal(rules.name, "default");
  assert.match(rules.version, /^rs-[0-9a-f]{12}$/);
  assert.equal(defaultRuleset(), rules);
});

test("PRC-3 default ruleset allows a normal transaction with empty history", () => {
  for (const tx of [
    makeTx(),
    makeTx({ currency: "BRL", amount: 8990, country: "BR", shippingCountry: "BR" }),
    makeTx({ currency: "USD", amount: 4999, country: "US", shippingCountry: "US" }),
    makeTx({ paymentMethod: { type: "konbini" }, deviceId: undefined, ipAddress: undefined }),
  ]) {
    assert.deepEqual(decide(rules, tx), {
      action: "allow",
      score: 0,
      reasons: [],
      rulesetVersion: rules.version,
    });
  }
});

test("PRC-3 default ruleset allows ordinary shopping: a few typical purchases in a day", () => {
  const verdict = decide(rules, makeTx({ amount: 9800 }), {
    prior: seenBefore,
    windows: windows({ "customer/86400": { count: 3, sum: 25800 }, "card/3600": { count: 2 } }),
  });
  assert.equal(verdict.action, "allow");
  assert.deepEqual(verdict.reasons, []);
});

test("PRC-3 default ruleset reviews card testing in 10 minutes and blocks it sustained over the hour", () => {
  const tx = makeTx({ amount: 300 });
  const burst = decide(rules, tx, {
    windows: windows({ "card/600": { count: 6 }, "card/3600": { count: 6 } }),
  });
  assert.equal(burst.action, "review");
  assert.equal(burst.reasons[0]?.detail, "card made 6 transactions in 10m (limit 4)");
  const sustained = decide(rules, tx, {
    windows: windows({ "card/600": { count: 12 }, "card/3600": { count: 12 } }),
  });
  assert.equal(sustained.action, "block");
  assert.deepEqual(
    sustained.reasons.map((r) => r.rule),
    ["card-testing-card-10m", "card-testing-card-1h"],
  );
});

test("PRC-3 default ruleset reviews account takeover: a country change within hours", () => {
  const fromBrazil = prior({
    count: 1,
    sameCurrencyCount: 1,
    sameCurrencySum: 5000,
    last: { eventTime: T0 - 100 * MINUTE, country: "BR" },
  });
  const verdict = decide(rules, makeTx(), { prior: { ...seenBefore, customer: fromBrazil } });
  assert.equal(verdict.action, "review");
  assert.deepEqual(
    verdict.reasons.map((r) => r.rule),
    ["impossible-travel-customer-3h"],
  );
});

test("PRC-3 default ruleset reviews a device cycling cards and blocks a device cycling many", () => {
  const few = decide(rules, makeTx(), {
    prior: seenBefore,
    windows: windows({ "device/3600": { distinctCards: 4 }, "device/86400": { distinctCards: 4 } }),
  });
  assert.equal(few.action, "review");
  const many = decide(rules, makeTx(), {
    prior: seenBefore,
    windows: windows({ "device/3600": { distinctCards: 7 }, "device/86400": { distinctCards: 7 } }),
  });
  assert.equal(many.action, "block");
});

test("PRC-3 default ruleset flags structuring just under JPY 1,000,000 and BRL 1,000,000 (R$10,000.00)", () => {
  for (const [currency, amount] of [
    ["JPY", 950000],
    ["BRL", 980000],
  ] as const) {
    const verdict = decide(rules, makeTx({ currency, amount }), {
      prior: seenBefore,
      windows: (q) =>
        q.minAmount !== undefined
          ? { count: 3 }
          : q.entity === "customer" && q.windowSeconds === 86400
            ? { count: 3, sum: amount * 3 }
            : {},
    });
    assert.equal(verdict.action, "block", currency);
    assert.ok(
      verdict.reasons.some((r) => r.rule === "structuring-customer-24h"),
      currency,
    );
  }
});

test("PRC-3 default ruleset reviews a high-value first purchase by a new customer with a new card", () => {
  const verdict = decide(rules, makeTx({ amount: 200000 }));
  assert.equal(verdict.action, "review");
  assert.deepEqual(
    verdict.reasons.map((r) => r.rule),
    ["new-customer-high-value", "new-card-high-value"],
  );
  assert.equal(decide(rules, makeTx({ amount: 200000 }), { prior: seenBefore }).action, "allow");
});

test("PRC-3 default ruleset reviews a spike against the customer's own history", () => {
  const small = prior({
    count: 3,
    sameCurrencyCount: 3,
    sameCurrencySum: 15000,
    last: { eventTime: T0 - 60 * MINUTE, country: "JP" },
  });
  const verdict = decide(rules, makeTx({ amount: 80000 }), {
    prior: { ...seenBefore, customer: small },
  });
  assert.equal(verdict.action, "review");
  assert.equal(
    verdict.reasons[0]?.detail,
    "amount 80000 JPY is 16.0x the customer's 24h mean 5000",
  );
});

test("PRC-3 default ruleset ships its block list switched off: documentation addresses are ordinary", () => {
  assert.equal(decide(rules, makeTx({ ipAddress: "192.0.2.44" })).action, "allow");
});
