import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { bundleProcessor, PROCESSOR_HANDLER } from "../../infra/build/processor-bundle.ts";

test("CMP-1 the processor bundle is one ES module exporting the Kinesis handler, with its migrations and default ruleset beside it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "txwatch-bundle-"));
  assert.equal(bundleProcessor(dir), dir);
  assert.equal(bundleProcessor(dir), dir, "built once per directory");
  assert.ok(existsSync(join(dir, "index.mjs")));
  assert.ok(existsSync(join(dir, "default-ruleset.yaml")));
  assert.ok(readdirSync(join(dir, "migrations")).some((f) => f.endsWith(".sql")));
  const mod = (await import(pathToFileURL(join(dir, "index.mjs")).href)) as Record<string, unknown>;
  assert.equal(PROCESSOR_HANDLER, "index.handler");
  assert.equal(typeof mod.handler, "function");
});
