import assert from "node:assert/strict";
import { isIPv4, isIPv6 } from "node:net";
import { describe, test } from "node:test";
import {
  createPopulation,
  luhnCheckDigit,
  makeCardNumber,
  mulberry32,
  Rng,
} from "../../src/simulate/index.ts";
import { luhnValid } from "../../src/transaction/schema.ts";

const options = { seed: 42, currency: "JPY", size: 400, namespace: "t1" } as const;

function isDocumentationIp(ip: string): boolean {
  if (isIPv4(ip)) return /^(203\.0\.113|198\.51\.100|192\.0\.2)\.\d{1,3}$/.test(ip);
  return isIPv6(ip) && /^2001:db8:/i.test(ip);
}

describe("simulate population", () => {
  test("OPS-2 mulberry32 is deterministic per seed and uniform enough", () => {
    const a = mulberry32(7);
    const b = mulberry32(7);
    const xs = Array.from({ length: 10_000 }, () => a());
    assert.deepEqual(
      Array.from({ length: 10_000 }, () => b()),
      xs,
    );
    assert.ok(xs.every((x) => x >= 0 && x < 1));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    assert.ok(Math.abs(mean - 0.5) < 0.02, `mean ${mean}`);
    assert.notDeepEqual(mulberry32(8)(), mulberry32(7)());
  });

  test("OPS-2 the population is deterministic per seed and namespace", () => {
    assert.deepEqual(createPopulation(options), createPopulation(options));
    assert.notDeepEqual(createPopulation({ ...options, seed: 43 }), createPopulation(options));
    // Another run id gives other customers, cards and devices: runs cannot see each other.
    const other = createPopulation({ ...options, namespace: "t2" });
    const cards = new Set(createPopulation(options).customers.flatMap((c) => c.cards));
    assert.ok(other.customers.every((c) => c.cards.every((n) => !cards.has(n))));
  });

  test("OPS-2 every card number is 16 digits, passes Luhn and has a test BIN", () => {
    for (const currency of ["JPY", "BRL"] as const) {
      const population = createPopulation({ ...options, currency });
      const numbers = population.customers.flatMap((c) => c.cards);
      assert.ok(numbers.length >= population.customers.length);
      for (const n of numbers) {
        assert.match(n, /^\d{16}$/);
        assert.ok(luhnValid(n), `${n} fails Luhn`);
        assert.ok(
          population.profile.bins.some((bin) => n.startsWith(bin)),
          n,
        );
      }
    }
    const rng = new Rng(1);
    for (let i = 0; i < 2000; i++) assert.ok(luhnValid(makeCardNumber(rng, "411111")));
    // The classic test numbers' check digits.
    assert.equal(luhnCheckDigit("411111111111111"), "1");
    assert.equal(luhnCheckDigit("510510510510510"), "0");
  });

  test("OPS-2 customers have a home country, 1-2 cards and devices, a documentation-range IP", () => {
    for (const [currency, home] of [
      ["JPY", "JP"],
      ["BRL", "BR"],
    ] as const) {
      const { customers } = createPopulation({ ...options, currency });
      for (const c of customers) {
        assert.equal(c.country, home);
        assert.ok(c.cards.length >= 1 && c.cards.length <= 2);
        assert.ok(c.devices.length >= 1 && c.devices.length <= 2);
        assert.ok(isDocumentationIp(c.ip), c.ip);
        assert.ok(!c.ip.startsWith("192.0.2."), "192.0.2.0/24 is on the default block list");
      }
      assert.ok(customers.some((c) => isIPv4(c.ip)) && customers.some((c) => isIPv6(c.ip)));
    }
  });

  test("OPS-2 typical amounts follow the merchant's distribution in minor units", () => {
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const jpy = createPopulation({ ...options, size: 2000 }).customers.map((c) => c.typicalAmount);
    const brl = createPopulation({ ...options, size: 2000, currency: "BRL" }).customers.map(
      (c) => c.typicalAmount,
    );
    assert.ok(median(jpy) > 3000 && median(jpy) < 9000, `JPY median ${median(jpy)}`);
    assert.ok(median(brl) > 6000 && median(brl) < 18000, `BRL median ${median(brl)}`);
    const inBand = jpy.filter((a) => a >= 1000 && a <= 30_000).length / jpy.length;
    assert.ok(inBand > 0.85, `only ${inBand} of JPY customers spend ¥1,000-¥30,000`);
  });

  test("OPS-2 activity is skewed: most buy once or twice, a few are very active", () => {
    const { customers } = createPopulation({ ...options, size: 2000 });
    const share = (pred: (n: number) => boolean) =>
      customers.filter((c) => pred(c.purchases)).length / customers.length;
    assert.ok(share((n) => n <= 2) > 0.8);
    assert.ok(share((n) => n >= 4) > 0.01);
    assert.ok(customers.every((c) => c.purchases >= 1 && c.purchases <= 4));
  });
});
