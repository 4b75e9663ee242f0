import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { AlertHub } from "../../src/alerts/hub.ts";
import { hashApiKey } from "../../src/api/auth.ts";
import { MemoryHistoryStore } from "../../src/history/index.ts";
import { openPostgresLedger } from "../../src/ledger/index.ts";
import type { Ledger } from "../../src/ledger/types.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { processBatch } from "../../src/processor/process-batch.ts";
import { defaultRuleset } from "../../src/rules/index.ts";
import { record } from "../processor/process-batch.suite.ts";
import { cleanEnv, runCli } from "../support/cli.ts";
import { DATABASE_URL, dropSchema, uniqueName } from "../support/services.ts";

/** OPS-2 / PRC-4: the ledger commands of the CLI against the real PostgreSQL. */
describe("txwatch migrate | keys create | verify-ledger | replay (real PostgreSQL)", () => {
  const schema = uniqueName("txw_test");
  const env = cleanEnv({ DATABASE_URL, TXWATCH_DB_SCHEMA: schema });
  let ledger: Ledger;
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "txwatch-cli-"));
  });
  after(async () => {
    await ledger?.close();
    await dropSchema(schema);
    rmSync(dir, { recursive: true, force: true });
  });

  test("OPS-2 migrate applies the migrations once, then reports up to date", async () => {
    const first = await runCli(["migrate"], env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^applied: \d{14}_/);
    const second = await runCli(["migrate"], env);
    assert.equal(second.stdout.trim(), "ledger is up to date");
  });

  test("ING-1 keys create prints a key once and stores only its hash", async () => {
    const out = await runCli(["keys", "create", "--merchant", "fastshop"], env);
    assert.equal(out.code, 0, out.stderr);
    const key = /^API key: (txw_\S+)$/m.exec(out.stdout)?.[1];
    assert.ok(key);
    ledger = await openPostgresLedger({ connectionString: DATABASE_URL, schema });
    assert.deepEqual((await ledger.findApiKey(hashApiKey(key)))?.merchantId, "fastshop");
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    const dump = await client.query(`SELECT * FROM "${schema}".api_keys`);
    await client.end();
    assert.ok(!JSON.stringify(dump.rows).includes(key), "the key itself is not stored");
  });

  test("PRC-4 verify-ledger passes on an intact ledger and detects an altered row", async () => {
    const ruleset = defaultRuleset();
    const batch = Array.from({ length: 6 }, (_, i) =>
      record({ customerId: `v-${i % 2}`, amount: 1000 + i }),
    );
    const deps = {
      history: new MemoryHistoryStore(),
      ledger,
      ruleset: () => ruleset,
      alerts: new AlertHub(),
      log: createLogger("silent"),
      source: "test",
    };
    assert.deepEqual(await processBatch(batch, deps), { batchItemFailures: [] });
    const ok = await runCli(["verify-ledger"], env);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(
      ok.stdout,
      /^ledger verified: 6 rows on 1 chain, 1 checkpoint, hash chains intact\n {2}chain 0: 6 rows, head seq 6\n {2}checkpoints: 1 checkpoint, the last #1 at \S+ covering 1 chain\n$/,
    );

    // Tamper as a superuser would, around the append-only triggers.
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    const target = batch[3]!.tx.transactionId;
    await client.query("BEGIN");
    await client.query("SET LOCAL session_replication_role = replica");
    await client.query(`UPDATE "${schema}".transactions SET amount = 1 WHERE transaction_id = $1`, [
      target,
    ]);
    await client.query("COMMIT");
    await client.end();
    const bad = await runCli(["verify-ledger"], env);
    assert.equal(bad.code, 1);
    assert.match(
      bad.stdout,
      new RegExp(
        `TAMPERED: chain 0, row seq \\d+ \\(japancart/${target}\\): row_hash does not match`,
      ),
    );
  });

  test("OPS-2 replay backtests another ruleset over the ledger and reports the changes", async () => {
    const strict = join(dir, "strict.yaml");
    writeFileSync(
      strict,
      'name: strict\nthresholds: { review: 10, block: 90 }\nrules:\n  - id: any-amount\n    kind: high_amount\n    minAmount: { "*": 1 }\n    score: 20\n',
    );
    const from = new Date(Date.now() - 3600_000).toISOString();
    const to = new Date(Date.now() + 3600_000).toISOString();
    const out = await runCli(
      ["replay", "--ruleset", strict, "--from", from, "--to", to, "--json"],
      env,
    );
    assert.equal(out.code, 0, out.stderr);
    const report = JSON.parse(out.stdout) as {
      transactions: number;
      changed: number;
      matrix: Record<string, Record<string, number>>;
      ruleHits: Record<string, { after: number }>;
    };
    assert.equal(report.transactions, 6);
    assert.equal(report.ruleHits["any-amount"]!.after, 6);
    assert.equal(
      report.matrix.allow!.review,
      report.changed,
      "every allowed transaction would now be reviewed",
    );
    const text = await runCli(["replay", "--ruleset", strict, "--from", from, "--to", to], env);
    assert.match(text.stdout, /decisions changed: \d+/);
    const badRange = await runCli(
      ["replay", "--ruleset", strict, "--from", "yesterday", "--to", to],
      env,
    );
    assert.equal(badRange.code, 2);
    assert.match(badRange.stderr, /--from must be an RFC 3339 timestamp/);
  });
});
