import assert from "node:assert/strict";
import { test } from "node:test";
import { decide, fired, MINUTE, makeTx, prior, rulesetOf, T0 } from "./test-fixtures.ts";

const spike = rulesetOf([
  {
    id: "amount-spike-customer",
    kind: "amount_spike",
    entity: "customer",
    multiplier: 5,
    minHistory: 3,
    minAmount: { JPY: 50000 },
    score: 50,
  },
]);
const threePriors = prior({
  count: 3,
  sameCurrencyCount: 3,
  sameCurrencySum: 90000,
});

test("PRC-3 amount_spike fires above multiplier x the customer's 24h mean", () => {
  const verdict = decide(spike, makeTx({ amount: 250000 }), { prior: { customer: threePriors } });
  assert.deepEqual(verdict.reasons, [
    {
      rule: "amount-spike-customer",
      score: 50,
      detail: "amount 250000 JPY is 8.3x the customer's 24h mean 30000",
    },
  ]);
});

test("PRC-3 amount_spike does not fire at exactly multiplier x the mean", () => {
  const history = { prior: { customer: threePriors } };
  assert.deepEqual(fired(spike, makeTx({ amount: 150000 }), history), []);
  assert.deepEqual(fired(spike, makeTx({ amount: 150001 }), history), ["amount-spike-customer"]);
});

test("PRC-3 amount_spike needs minHistory same-currency entries and minAmount", () => {
  const twoPriors = prior({ count: 5, sameCurrencyCount: 2, sameCurrencySum: 2000 });
  assert.deepEqual(
    fired(spike, makeTx({ amount: 900000 }), { prior: { customer: twoPriors } }),
    [],
  );
  const small = prior({ count: 3, sameCurrencyCount: 3, sameCurrencySum: 300 });
  assert.deepEqual(fired(spike, makeTx({ amount: 49999 }), { prior: { customer: small } }), []);
  assert.deepEqual(fired(spike, makeTx({ amount: 50000 }), { prior: { customer: small } }), [
    "amount-spike-customer",
  ]);
  const usd = makeTx({ currency: "USD", amount: 900000 });
  assert.deepEqual(fired(spike, usd, { prior: { customer: threePriors } }), []);
});

const travel = rulesetOf([
  { id: "impossible-travel", kind: "country_change", withinMinutes: 180, score: 60 },
]);

test("PRC-3 country_change fires when the previous payment came from another country too recently", () => {
  const last = { eventTime: T0 - 45 * MINUTE, country: "BR" };
  const verdict = decide(travel, makeTx(), { prior: { customer: prior({ count: 1, last }) } });
  assert.deepEqual(verdict.reasons, [
    {
      rule: "impossible-travel",
      score: 60,
      detail: "customer paid from BR 45 min before this payment from JP (limit 180 min)",
    },
  ]);
});

test("PRC-3 country_change does not fire at exactly withinMinutes or for the same country", () => {
  const at = { eventTime: T0 - 180 * MINUTE, country: "BR" };
  const justInside = { eventTime: T0 - 180 * MINUTE + 1, country: "BR" };
  const same = { eventTime: T0 - MINUTE, country: "JP" };
  assert.deepEqual(
    fired(travel, makeTx(), { prior: { customer: prior({ count: 1, last: at }) } }),
    [],
  );
  assert.deepEqual(
    fired(travel, makeTx(), { prior: { customer: prior({ count: 1, last: justInside }) } }),
    ["impossible-travel"],
  );
  assert.deepEqual(
    fired(travel, makeTx(), { prior: { customer: prior({ count: 1, last: same }) } }),
    [],
  );
});

test("PRC-3 country_change is skipped when either country is absent or there is no previous payment", () => {
  const last = { eventTime: T0 - MINUTE, country: "BR" };
  const history = { prior: { customer: prior({ count: 1, last }) } };
  assert.deepEqual(fired(travel, makeTx({ country: undefined }), history), []);
  const noCountry = { prior: { customer: prior({ count: 1, last: { eventTime: T0 - MINUTE } }) } };
  assert.deepEqual(fired(travel, makeTx(), noCountry), []);
  assert.deepEqual(fired(travel, makeTx()), []);
});

const newEntity = rulesetOf([
  {
    id: "new-card-high-value",
    kind: "new_entity_high_value",
    entity: "card",
    minAmount: { JPY: 150000 },
    score: 25,
  },
]);

test("PRC-3 new_entity_high_value fires for a card with no prior entries paying minAmount", () => {
  const verdict = decide(newEntity, makeTx({ amount: 150000 }));
  assert.deepEqual(verdict.reasons, [
    {
      rule: "new-card-high-value",
      score: 25,
      detail: "card with no transactions in the last 24h pays 150000 JPY (limit 150000)",
    },
  ]);
});

test("PRC-3 new_entity_high_value does not fire below minAmount, with history, or without a card", () => {
  assert.deepEqual(fired(newEntity, makeTx({ amount: 149999 })), []);
  const seen = { prior: { card: prior({ count: 1 }) } };
  assert.deepEqual(fired(newEntity, makeTx({ amount: 500000 }), seen), []);
  assert.deepEqual(
    fired(newEntity, makeTx({ amount: 500000, paymentMethod: { type: "pix" } })),
    [],
  );
});

const high = rulesetOf([
  { id: "high-amount", kind: "high_amount", minAmount: { JPY: 500000, BRL: 500000 }, score: 20 },
]);

test("PRC-3 high_amount fires at minAmount and not one below", () => {
  assert.deepEqual(decide(high, makeTx({ amount: 500000 })).reasons, [
    { rule: "high-amount", score: 20, detail: "amount 500000 JPY is at or above 500000" },
  ]);
  assert.deepEqual(fired(high, makeTx({ amount: 499999 })), []);
  assert.deepEqual(fired(high, makeTx({ amount: 9_000_000, currency: "EUR" })), []);
});

const shipping = rulesetOf([{ id: "shipping-mismatch", kind: "shipping_mismatch", score: 15 }]);

test("PRC-3 shipping_mismatch fires when country and shippingCountry differ", () => {
  assert.deepEqual(decide(shipping, makeTx({ shippingCountry: "US" })).reasons, [
    { rule: "shipping-mismatch", score: 15, detail: "paid from JP, shipping to US" },
  ]);
  assert.deepEqual(fired(shipping, makeTx()), []);
  assert.deepEqual(fired(shipping, makeTx({ shippingCountry: undefined })), []);
});

const blockIps = rulesetOf([
  {
    id: "blocked-ips",
    kind: "list",
    list: "block",
    field: "ipAddress",
    values: ["198.51.100.9", "203.0.113.0/24"],
    score: 10,
  },
  {
    id: "blocked-bins",
    kind: "list",
    list: "block",
    field: "cardBin",
    values: ["400000"],
    score: 10,
  },
]);

test("PRC-3 list matches exact IPs and IPv4 CIDRs, and nothing outside them", () => {
  assert.deepEqual(decide(blockIps, makeTx({ ipAddress: "203.0.113.200" })).reasons, [
    {
      rule: "blocked-ips",
      score: 10,
      detail: "ipAddress 203.0.113.200 is on the block list (203.0.113.0/24)",
    },
  ]);
  assert.deepEqual(fired(blockIps, makeTx({ ipAddress: "198.51.100.9" })), ["blocked-ips"]);
  assert.deepEqual(fired(blockIps, makeTx({ ipAddress: "::ffff:203.0.113.1" })), ["blocked-ips"]);
  assert.deepEqual(fired(blockIps, makeTx({ ipAddress: "203.0.114.0" })), []);
  assert.deepEqual(fired(blockIps, makeTx({ ipAddress: "198.51.100.10" })), []);
  assert.deepEqual(fired(blockIps, makeTx({ ipAddress: "2001:db8::1" })), []);
});

test("PRC-3 list matches a card BIN exactly and skips a transaction without the field", () => {
  const card = { type: "card" as const, card: { token: "t", bin: "400000" } };
  assert.deepEqual(fired(blockIps, makeTx({ ipAddress: "10.0.0.1", paymentMethod: card })), [
    "blocked-bins",
  ]);
  assert.deepEqual(
    fired(blockIps, makeTx({ ipAddress: undefined, paymentMethod: { type: "cod" } })),
    [],
  );
});
