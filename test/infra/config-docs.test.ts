import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { configReference, settingDescriptions } from "../../infra/config-docs.ts";
import { PRESETS } from "../../infra/presets.ts";

test("AWS-7 docs/config.md is generated from the config schema and current (npm run docs:config)", () => {
  assert.equal(readFileSync("docs/config.md", "utf8"), configReference());
});

test("AWS-7 every stack config key the program reads is documented, with each preset's value", () => {
  const doc = configReference();
  for (const key of ["preset", "environmentSuffix", ...Object.keys(PRESETS.japancart)]) {
    assert.match(doc, new RegExp(`^\\| \`${key}\` \\|`, "m"), key);
  }
  assert.match(
    doc,
    /^\| `databaseEngine` \| `rds-postgres` \| `rds-postgres` \| `aurora-postgres-serverless` \| Which PostgreSQL holds the ledger\. \|$/m,
  );
  assert.match(doc, /^\| `publicHttp` \| `false` \| `false` \| `false` \| .*refuses it\. \|$/m);
});

test("AWS-7 a setting without JSDoc fails the generation, naming it", () => {
  const source = `export interface PresetSettings {\n  /** Documented. @default 1 */\n  region: string;\n  vpcCidr: string;\n}\n`;
  const descriptions = settingDescriptions(source);
  assert.equal(descriptions.get("region"), "Documented.");
  assert.equal(descriptions.get("vpcCidr"), "");
  assert.throws(
    () => configReference(descriptions),
    /PresetSettings\.vpcCidr has no JSDoc: document it in infra\/presets\.ts/,
  );
});
