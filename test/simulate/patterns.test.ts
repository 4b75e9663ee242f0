import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  LABELS,
  type Label,
  PATTERN_NAMES,
  type PatternName,
  type PlannedTx,
  PROFILES,
  planTraffic,
} from "../../src/simulate/index.ts";
import { parseTransactionInput } from "../../src/transaction/schema.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

function plan(currency: "JPY" | "BRL", total = 3000, fraudRatio = 0.2): PlannedTx[] {
  return [
    ...planTraffic({ seed: 9, currency, merchantId: "demo", namespace: "r1", total, fraudRatio }),
  ];
}

/** The bursts of one pattern, each as its transactions in send order. */
function bursts(txs: PlannedTx[], label: Label): PlannedTx[][] {
  const by = new Map<number, PlannedTx[]>();
  for (const tx of txs.filter((t) => t.label === label))
    by.set(tx.burst, [...(by.get(tx.burst) ?? []), tx]);
  return [...by.values()];
}

const span = (b: PlannedTx[]) => b.at(-1)!.offsetMs - b[0]!.offsetMs;
const cardOf = (t: PlannedTx) => t.body.paymentMethod.card?.number;
const same = <T>(xs: T[]) => new Set(xs).size === 1;

describe("simulate patterns", () => {
  for (const currency of ["JPY", "BRL"] as const) {
    test(`OPS-2 every generated ${currency} transaction passes the wire schema`, () => {
      const profile = PROFILES[currency];
      for (const [i, t] of plan(currency).entries()) {
        const wire = {
          transactionId: `r1-${i}`,
          occurredAt: `2026-11-21T09:30:00.000${profile.utcOffset}`,
          ...t.body,
        };
        const parsed = parseTransactionInput(wire);
        assert.ok(parsed.ok, `${t.label} #${i}: ${parsed.ok ? "" : parsed.error.message}`);
        assert.equal(t.body.currency, currency);
        assert.ok(t.offsetMs <= 0);
      }
    });
  }

  test("OPS-2 the plan is deterministic, exactly `total` long, and covers every label", () => {
    const a = plan("JPY", 1500, 0.05);
    assert.deepEqual(a, plan("JPY", 1500, 0.05));
    assert.equal(a.length, 1500);
    for (const label of LABELS)
      assert.ok(
        a.some((t) => t.label === label),
        `${label} missing`,
      );
    const fraudShare = a.filter((t) => t.label !== "normal").length / a.length;
    assert.ok(fraudShare > 0.05 && fraudShare < 0.4, `fraud share ${fraudShare}`);
    // Bursts are contiguous in send order, and their event times ascend.
    for (const label of PATTERN_NAMES) {
      for (const b of bursts(a, label)) {
        const first = a.indexOf(b[0]!);
        assert.deepEqual(a.slice(first, first + b.length), b);
        assert.ok(b.every((t, i) => i === 0 || t.offsetMs >= b[i - 1]!.offsetMs));
      }
    }
  });

  test("OPS-2 fraudRatio 0 sends only normal traffic; one pattern can be chosen", () => {
    assert.ok(
      [
        ...planTraffic({
          seed: 1,
          currency: "BRL",
          merchantId: "m",
          namespace: "n",
          total: 300,
          fraudRatio: 0,
        }),
      ].every((t) => t.label === "normal"),
    );
    const only = [
      ...planTraffic({
        seed: 1,
        currency: "BRL",
        merchantId: "m",
        namespace: "n",
        total: 300,
        fraudRatio: 0.5,
        patterns: ["structuring"],
      }),
    ];
    assert.deepEqual(new Set(only.map((t) => t.label)), new Set(["normal", "structuring"]));
  });

  const shapes: Record<PatternName, (b: PlannedTx[], currency: "JPY" | "BRL") => void> = {
    card_testing: (b, currency) => {
      assert.ok(b.length >= 6 && b.length <= 10);
      assert.ok(same(b.map(cardOf)) && cardOf(b[0]!) !== undefined, "one card");
      assert.ok(span(b) < MINUTE, `span ${span(b)} ms`);
      const tiny = currency === "JPY" ? 300 : 500;
      assert.ok(
        b.every((t) => t.body.amount <= tiny),
        "tiny charges",
      );
    },
    account_takeover: (b) => {
      const home = b.filter((t) => t.body.country === b[0]!.body.country);
      const away = b.filter((t) => t.body.country !== b[0]!.body.country);
      assert.ok(home.length >= 1 && away.length >= 1 && away.length <= 2);
      assert.ok(same(b.map((t) => t.body.customerId)));
      assert.deepEqual(b.slice(-away.length), away, "the takeover comes last");
      const lastHome = home.at(-1)!;
      assert.ok(
        away[0]!.offsetMs - lastHome.offsetMs <= 15 * MINUTE,
        "minutes after a home purchase",
      );
      assert.ok(
        away.every(
          (t) =>
            t.body.deviceId !== lastHome.body.deviceId &&
            t.body.ipAddress !== lastHome.body.ipAddress,
        ),
      );
      const homeMax = Math.max(...home.map((t) => t.body.amount));
      assert.ok(
        away.every((t) => t.body.amount > homeMax),
        "a higher amount",
      );
    },
    device_card_cycling: (b) => {
      assert.ok(same(b.map((t) => t.body.deviceId)));
      assert.ok(new Set(b.map(cardOf)).size >= 5, "5+ different cards");
      assert.ok(span(b) < HOUR);
    },
    structuring: (b, currency) => {
      const threshold = PROFILES[currency].structuringThreshold;
      assert.ok(b.length >= 3);
      assert.ok(same(b.map((t) => t.body.customerId)));
      for (const t of b)
        assert.ok(
          t.body.amount >= 0.9 * threshold && t.body.amount < threshold,
          `${t.body.amount}`,
        );
      // Within hours: spaced out like separate visits, all inside a few hours.
      assert.ok(span(b) <= 5 * HOUR, `span ${span(b)} ms`);
      assert.ok(b.every((t, i) => i === 0 || t.offsetMs - b[i - 1]!.offsetMs >= 15 * MINUTE));
    },
    new_customer_high_value: (b, currency) => {
      assert.equal(b.length, 1);
      const normalMax = PROFILES[currency].maxAmount;
      assert.ok(b[0]!.body.amount > normalMax, `${b[0]!.body.amount}`);
      assert.ok(b[0]!.body.amount < 0.9 * PROFILES[currency].structuringThreshold);
    },
    amount_spike: (b) => {
      assert.ok(b.length >= 4);
      assert.ok(same(b.map((t) => t.body.customerId)) && same(b.map(cardOf)));
      const before = b.slice(0, -1).map((t) => t.body.amount);
      assert.ok(b.at(-1)!.body.amount >= 10 * Math.max(...before), "10x+ the earlier purchases");
      assert.ok(span(b) < 24 * HOUR);
    },
  };

  for (const name of PATTERN_NAMES) {
    test(`OPS-2 ${name} bursts have the shape they claim`, () => {
      for (const currency of ["JPY", "BRL"] as const) {
        const txs = plan(currency);
        const found = bursts(txs, name);
        assert.ok(found.length >= 3, `${found.length} ${name} bursts`);
        for (const b of found) shapes[name](b, currency);
        // A pattern's actors are nobody else: normal traffic never shares their customer ids.
        const actors = new Set(found.flatMap((b) => b.map((t) => t.body.customerId)));
        assert.ok(
          txs.filter((t) => t.label === "normal").every((t) => !actors.has(t.body.customerId)),
        );
      }
    });
  }

  test("OPS-2 normal traffic stays in the merchant's home country and ordinary amounts", () => {
    const profile = PROFILES.JPY;
    const normal = plan("JPY").filter((t) => t.label === "normal");
    assert.ok(normal.every((t) => t.body.country === "JP" && t.offsetMs === 0));
    assert.ok(
      normal.every((t) => t.body.amount >= profile.minAmount && t.body.amount <= profile.maxAmount),
    );
    const methods = new Set(normal.map((t) => t.body.paymentMethod.type));
    assert.ok(methods.has("card") && methods.has("konbini"));
    assert.ok(new Set(plan("BRL").map((t) => t.body.paymentMethod.type)).has("pix"));
  });
});
