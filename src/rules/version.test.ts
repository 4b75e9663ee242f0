import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadRuleset, parseRuleset } from "./load-ruleset.ts";
import { RulesetError } from "./ruleset-error.ts";
import { canonicalJson } from "./ruleset-version.ts";

const YAML = `
name: shop
thresholds: { review: 50, block: 90 }
rules:
  - id: velocity-card-10m   # card testing
    kind: velocity
    entity: card
    window: 10m
    maxCount: 4
    maxAmount: { JPY: 300000, BRL: 300000, "*": 200000 }
    score: 40
  - id: travel
    kind: country_change
    withinMinutes: 180
    score: 60
`;

// The same document, keys in another order, defaults spelled out, the window in seconds.
const JSON_TEXT = JSON.stringify({
  rules: [
    {
      score: 40,
      maxAmount: { "*": 200000, BRL: 300000, JPY: 300000 },
      maxCount: 4,
      window: "600s",
      entity: "card",
      kind: "velocity",
      id: "velocity-card-10m",
      enabled: true,
    },
    { id: "travel", kind: "country_change", entity: "customer", withinMinutes: 180, score: 60 },
  ],
  thresholds: { block: 90, review: 50 },
  name: "shop",
});

test("PRC-3 version is rs- and 12 hex digits of the content hash", () => {
  assert.match(parseRuleset(YAML, "yaml").version, /^rs-[0-9a-f]{12}$/);
});

test("PRC-3 version is the same for the same ruleset in YAML and in JSON", () => {
  const fromYaml = parseRuleset(YAML, "yaml");
  const fromJson = parseRuleset(JSON_TEXT, "json");
  assert.equal(fromYaml.version, fromJson.version);
  assert.deepEqual(fromYaml.source, fromJson.source);
});

test("PRC-3 version changes when a threshold, a rule limit or enabled changes", () => {
  const base = parseRuleset(YAML, "yaml").version;
  const variants = [
    YAML.replace("review: 50", "review: 55"),
    YAML.replace("block: 90", "block: 91"),
    YAML.replace("maxCount: 4", "maxCount: 5"),
    YAML.replace('"*": 200000', '"*": 200001'),
    YAML.replace("withinMinutes: 180", "withinMinutes: 180\n    enabled: false"),
  ];
  const versions = variants.map((text) => parseRuleset(text, "yaml").version);
  for (const version of versions) assert.notEqual(version, base);
  assert.equal(new Set(versions).size, versions.length);
});

test("PRC-3 canonical JSON sorts keys at every level and keeps array order", () => {
  assert.equal(
    canonicalJson({ b: [2, { d: 1, c: null }], a: "x", u: undefined }),
    '{"a":"x","b":[2,{"c":null,"d":1}]}',
  );
});

test("PRC-3 loadRuleset chooses the format by extension and prefixes errors with the path", () => {
  const dir = mkdtempSync(join(tmpdir(), "txwatch-rules-"));
  writeFileSync(join(dir, "rules.yml"), YAML);
  writeFileSync(join(dir, "rules.json"), JSON_TEXT);
  writeFileSync(join(dir, "bad.yaml"), YAML.replace("window: 10m", "window: 2d"));
  writeFileSync(join(dir, "rules.txt"), YAML);
  assert.equal(
    loadRuleset(join(dir, "rules.yml")).version,
    loadRuleset(join(dir, "rules.json")).version,
  );
  assert.throws(() => loadRuleset(join(dir, "bad.yaml")), {
    name: "RulesetError",
    field: "rules[0].window",
    message: `${join(dir, "bad.yaml")}: rule "velocity-card-10m" (rules[0]).window must be a duration like 30s, 10m, 1h (at most 24h)`,
  });
  assert.throws(
    () => loadRuleset(join(dir, "rules.txt")),
    (e: unknown) =>
      e instanceof RulesetError && /must end in \.json, \.yaml or \.yml$/.test(e.message),
  );
});
