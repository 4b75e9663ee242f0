import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { cleanEnv, runCli, startCli } from "../support/cli.ts";
import { DATABASE_URL, dropSchema, uniqueName } from "../support/services.ts";

test("LOC-1 with DATABASE_URL a second monitor on the same data dir is refused: the local stream has one owner", {
  timeout: 120_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "txwatch-shared-"));
  const schema = uniqueName("txw_test");
  const env = cleanEnv({
    TXWATCH_DATA_DIR: dir,
    PORT: "0",
    DATABASE_URL,
    TXWATCH_DB_SCHEMA: schema,
  });
  const first = await startCli(env);
  try {
    const second = await runCli(["start"], env);
    assert.notEqual(second.code, 0, `the second start ran: ${second.stdout}`);
    assert.match(second.stderr, /in use by txwatch \(pid \d+\)/);
    // The remedy that applies: its own directory, not the PostgreSQL it already uses.
    assert.match(second.stderr, /give this monitor its own TXWATCH_DATA_DIR/);
    assert.doesNotMatch(second.stderr, /point both at PostgreSQL/);
    const ready = await fetch(`${first.url}/readyz`);
    assert.equal(ready.status, 200, "the first monitor is untouched");
  } finally {
    assert.equal(await first.stop("SIGTERM"), 0);
    rmSync(dir, { recursive: true, force: true });
    await dropSchema(schema);
  }
});
