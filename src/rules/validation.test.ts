import assert from "node:assert/strict";
import { test } from "node:test";
import { parseRuleset } from "./load-ruleset.ts";
import { RulesetError } from "./ruleset-error.ts";

type Json = Record<string, unknown>;

function baseDoc(): Json & { rules: Json[]; thresholds: Json } {
  return {
    name: "test",
    thresholds: { review: 50, block: 90 },
    rules: [
      { id: "high-amount", kind: "high_amount", minAmount: { JPY: 500000 }, score: 20 },
      { id: "shipping-mismatch", kind: "shipping_mismatch", score: 15 },
      {
        id: "velocity-card-10m",
        kind: "velocity",
        entity: "card",
        window: "10m",
        maxCount: 4,
        score: 40,
      },
    ],
  };
}

/**
 * Changes one thing in a valid document and returns the error's field and message. A patch
 * value of undefined removes the field (JSON.stringify drops it).
 */
function errorOf(change: { top?: Json; thresholds?: Json; rule?: [number, Json] }): {
  field: string | undefined;
  message: string;
} {
  const doc = { ...baseDoc(), ...change.top };
  doc.thresholds = { ...doc.thresholds, ...change.thresholds };
  if (change.rule) {
    const [i, patch] = change.rule;
    doc.rules[i] = { ...doc.rules[i], ...patch };
  }
  try {
    parseRuleset(JSON.stringify(doc), "json");
  } catch (error) {
    assert.ok(error instanceof RulesetError, `expected RulesetError, got ${String(error)}`);
    return { field: error.field, message: error.message };
  }
  assert.fail("the ruleset was accepted");
}

const VELOCITY = 'rule "velocity-card-10m" (rules[2])';

test("PRC-3 the valid base document used by these tests is accepted", () => {
  assert.equal(parseRuleset(JSON.stringify(baseDoc()), "json").name, "test");
});

test("PRC-3 a bad window names the rule and rules[i].window", () => {
  for (const window of ["2d", "25h", "0m", 10, "10 m"]) {
    assert.deepEqual(errorOf({ rule: [2, { window }] }), {
      field: "rules[2].window",
      message: `${VELOCITY}.window must be a duration like 30s, 10m, 1h (at most 24h)`,
    });
  }
});

test("PRC-3 duplicate rule ids are an error on the second one", () => {
  assert.deepEqual(errorOf({ rule: [2, { id: "high-amount" }] }), {
    field: "rules[2].id",
    message: 'rule "high-amount" (rules[2]).id duplicates rules[0]; rule ids must be unique',
  });
});

test("PRC-3 unknown fields are rejected in rules and at the top level", () => {
  assert.deepEqual(errorOf({ rule: [2, { maxcount: 3 }] }), {
    field: "rules[2].maxcount",
    message: `${VELOCITY}.maxcount is not a known field of a velocity rule`,
  });
  assert.deepEqual(errorOf({ rule: [0, { window: "1h" }] }), {
    field: "rules[0].window",
    message: 'rule "high-amount" (rules[0]).window is not a known field of a high_amount rule',
  });
  assert.deepEqual(errorOf({ top: { version: 2 } }), {
    field: "version",
    message: "version is not a known field",
  });
});

test("PRC-3 kind, score, entity, id and limit errors name the rule and field", () => {
  const kinds =
    "velocity, amount_spike, country_change, distinct_cards, structuring, list, new_entity_high_value, high_amount, shipping_mismatch";
  const cases: [Json, string, string][] = [
    [{ kind: "speed" }, "kind", `must be one of ${kinds}`],
    [{ kind: undefined }, "kind", `is required, one of ${kinds}`],
    [{ score: 101 }, "score", "must be an integer from 0 to 100"],
    [{ score: undefined }, "score", "is required"],
    [{ entity: "email" }, "entity", "must be one of customer, card, device, ip"],
    [{ enabled: "yes" }, "enabled", "must be true or false"],
    [
      { maxCount: undefined },
      "maxCount",
      "is required unless maxAmount is set (a velocity rule needs a limit)",
    ],
    [
      { maxAmount: { YEN: 5 } },
      "maxAmount.YEN",
      'must be an ISO 4217 currency code like JPY, or "*" for any other currency',
    ],
    [{ maxAmount: { JPY: 1.5 } }, "maxAmount.JPY", "must be an integer from 1 to 1000000000000"],
    [{ maxAmount: {} }, "maxAmount", "must name at least one currency (or *)"],
  ];
  for (const [patch, sub, predicate] of cases) {
    assert.deepEqual(errorOf({ rule: [2, patch] }), {
      field: `rules[2].${sub}`,
      message: `${VELOCITY}.${sub} ${predicate}`,
    });
  }
  assert.deepEqual(errorOf({ rule: [2, { id: "Velocity_Card" }] }), {
    field: "rules[2].id",
    message: 'rule "Velocity_Card" (rules[2]).id must be kebab-case, e.g. velocity-card-10m',
  });
});

test("PRC-3 a rule that is not an object is named by its position", () => {
  const doc = baseDoc();
  doc.rules[1] = "shipping-mismatch" as unknown as Json;
  assert.throws(() => parseRuleset(JSON.stringify(doc), "json"), {
    field: "rules[1]",
    message: "rules[1] must be an object with id, kind and score",
  });
});

test("PRC-3 kind-specific fields are checked: list values, allow score, entities, band, multiplier", () => {
  const list = { kind: "list", list: "block", field: "ipAddress", score: 5 };
  const cases: [Json, string, string][] = [
    [
      { ...list, values: ["1.2.3.4", "1.2.3.0/33"] },
      "values[1]",
      "must be an IP address or an IPv4 CIDR like 203.0.113.0/24",
    ],
    [{ ...list, list: "allow", values: ["1.2.3.4"] }, "score", "must be 0 for an allow list"],
    [
      { ...list, field: "email", values: ["x"] },
      "field",
      "must be one of customerId, deviceId, ipAddress, cardBin, cardToken, country, shippingCountry",
    ],
    [
      { ...list, field: "country", values: ["jp"] },
      "values[0]",
      "must be an ISO 3166-1 alpha-2 code",
    ],
    [
      { kind: "distinct_cards", entity: "card", window: "1h", maxCards: 3, score: 5 },
      "entity",
      "must be one of device, ip",
    ],
    [
      { kind: "new_entity_high_value", entity: "ip", minAmount: { JPY: 1 }, score: 5 },
      "entity",
      "must be one of customer, card, device",
    ],
    [
      {
        kind: "structuring",
        threshold: { JPY: 9 },
        bandPercent: 100,
        window: "1h",
        minCount: 3,
        score: 5,
      },
      "bandPercent",
      "must be a number greater than 0 and less than 100, e.g. 10",
    ],
    [
      {
        kind: "amount_spike",
        entity: "card",
        multiplier: 1,
        minHistory: 3,
        minAmount: { JPY: 1 },
        score: 5,
      },
      "multiplier",
      "must be a number greater than 1 and less than 1000, e.g. 5",
    ],
    [
      { kind: "country_change", withinMinutes: 1441, score: 5 },
      "withinMinutes",
      "must be an integer from 1 to 1440",
    ],
  ];
  for (const [rule, sub, predicate] of cases) {
    const doc = baseDoc();
    doc.rules[1] = { id: "r", ...rule };
    assert.throws(() => parseRuleset(JSON.stringify(doc), "json"), {
      field: `rules[1].${sub}`,
      message: `rule "r" (rules[1]).${sub} ${predicate}`,
    });
  }
});

test("PRC-3 document-level errors name thresholds, name and rules", () => {
  const cases: [Parameters<typeof errorOf>[0], string, string][] = [
    [
      { thresholds: { block: 50 } },
      "thresholds.block",
      "must be greater than thresholds.review (50)",
    ],
    [{ thresholds: { review: undefined } }, "thresholds.review", "is required"],
    [
      { thresholds: { review: 0 } },
      "thresholds.review",
      "must be an integer from 1 to 100 (the score at which review starts)",
    ],
    [
      { top: { name: "" } },
      "name",
      "must be 1-64 characters of A-Z a-z 0-9 _ . - starting with a letter or digit",
    ],
    [{ top: { rules: [] } }, "rules", "must contain at least one rule"],
  ];
  for (const [change, field, predicate] of cases) {
    assert.deepEqual(errorOf(change), { field, message: `${field} ${predicate}` });
  }
});

test("PRC-3 unparseable text is a RulesetError naming the format", () => {
  const isValidation = (pattern: RegExp) => (e: unknown) =>
    e instanceof RulesetError && e.field === undefined && pattern.test(e.message);
  assert.throws(() => parseRuleset("{", "json"), isValidation(/^ruleset is not valid JSON: /));
  assert.throws(
    () => parseRuleset("a: 1\na: 2\n", "yaml"),
    isValidation(/^ruleset is not valid YAML: Map keys must be unique/),
  );
  assert.throws(
    () => parseRuleset("", "yaml"),
    isValidation(/^ruleset must be an object with name, thresholds and rules$/),
  );
});
