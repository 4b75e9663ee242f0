import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { bundleLambda, LAMBDA_HANDLERS } from "../../infra/build/processor-bundle.ts";

test("CMP-1 the Lambda bundle is one directory of ES modules (processor, admin, archive) each exporting its handler, with the migrations, default ruleset and history script beside them", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "txwatch-bundle-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.equal(bundleLambda(dir), dir);
  assert.equal(bundleLambda(dir), dir, "built once per directory");
  assert.deepEqual(
    { ...LAMBDA_HANDLERS },
    { processor: "index.handler", admin: "admin.handler", archive: "archive.handler" },
  );
  assert.ok(existsSync(join(dir, "default-ruleset.yaml")));
  assert.ok(existsSync(join(dir, "record-entity.lua")), "the history script, read at start");
  assert.ok(readdirSync(join(dir, "migrations")).some((f) => f.endsWith(".sql")));
  for (const handler of Object.values(LAMBDA_HANDLERS)) {
    const [file, exported] = handler.split(".") as [string, string];
    const path = join(dir, `${file}.mjs`);
    assert.ok(existsSync(path), `${file}.mjs is in the bundle`);
    const mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
    assert.equal(typeof mod[exported], "function", `${handler} is a function`);
  }
  assert.deepEqual(
    readdirSync(dir)
      .filter((f) => f.endsWith(".mjs"))
      .sort(),
    ["admin.mjs", "archive.mjs", "index.mjs"],
    "three entries, no shared chunks",
  );
});

test("CMP-1 node scripts/bundle.mjs (the Dockerfile's build step) names its usage when the bundle or the directory is missing", () => {
  const script = fileURLToPath(new URL("../../scripts/bundle.mjs", import.meta.url));
  for (const args of [[], ["server"], ["docker", "/tmp/x"], ["lambda", "a", "b"]]) {
    const run = spawnSync(process.execPath, [script, ...args], { encoding: "utf8" });
    assert.equal(run.status, 2, `${args.join(" ")}: ${run.stderr}`);
    assert.match(run.stderr, /usage: node scripts\/bundle\.mjs lambda\|server <outDir>/);
  }
});
