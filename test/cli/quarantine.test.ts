import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { openPostgresLedger, type SqlLedger } from "../../src/ledger/index.ts";
import { processBatch } from "../../src/processor/process-batch.ts";
import { parseAdminRequest } from "../../src/runtime/admin-socket.ts";
import { poisonDeps, REFUSE_POISON } from "../processor/poison-support.ts";
import { record } from "../processor/process-batch.suite.ts";
import { cleanEnv, runCli } from "../support/cli.ts";
import { TEST_PAN } from "../support/fixtures.ts";
import { DATABASE_URL, dropSchema, uniqueName } from "../support/services.ts";

/** REL-5: how an operator sees what was quarantined, against the real PostgreSQL. */
describe("txwatch quarantine (real PostgreSQL)", () => {
  const schema = uniqueName("txw_test");
  const env = cleanEnv({ DATABASE_URL, TXWATCH_DB_SCHEMA: schema });
  let ledger: SqlLedger;
  before(async () => {
    ledger = await openPostgresLedger({ connectionString: DATABASE_URL, schema });
    await ledger.migrate();
    await ledger.db.exec(REFUSE_POISON);
  });
  after(async () => {
    await ledger.close();
    await dropSchema(schema);
  });

  test("REL-5 lists the quarantined records newest first with source, sequence number and reason; payloads only with --json, card numbers masked", async () => {
    const p = poisonDeps(ledger, "local");
    const poison = record({ customerId: "c-cli", transactionId: "poison-cli" });
    const malformed = {
      ...record({ customerId: "c-cli" }),
      data: Buffer.from(`{"card":"${TEST_PAN}"`),
    };
    const result = await processBatch([record({ customerId: "c-cli" }), poison, malformed], p.deps);
    assert.deepEqual(result, { batchItemFailures: [] });

    const listed = await runCli(["quarantine"], env);
    assert.equal(listed.code, 0, listed.stderr);
    const lines = listed.stdout.trim().split("\n");
    assert.equal(lines.length, 2);
    assert.ok(lines.some((l) => l.includes(poison.sequenceNumber) && /SQLSTATE P0001/.test(l)));
    assert.ok(lines.some((l) => l.includes(malformed.sequenceNumber) && /not valid JSON/.test(l)));
    assert.ok(
      lines.every((l) => l.includes(" local ")),
      "the source is named",
    );
    assert.ok(!listed.stdout.includes("paymentMethod"), "no payload in the listing");

    const json = await runCli(["quarantine", "--json", "--limit", "1"], env);
    assert.equal(json.code, 0, json.stderr);
    const rows = JSON.parse(json.stdout) as { payload: string }[];
    assert.equal(rows.length, 1);
    assert.ok(typeof rows[0]!.payload === "string");
    assert.ok(!json.stdout.includes(TEST_PAN), "card numbers masked");

    const refused = await runCli(["quarantine", "--limit", "0"], env);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /--limit must be a whole number from 1 to 1000/);
  });

  test("REL-5 the running monitor's admin socket answers quarantine-list with a bounded limit", () => {
    assert.deepEqual(parseAdminRequest({ command: "quarantine-list", limit: 20 }), {
      command: "quarantine-list",
      limit: 20,
    });
    assert.throws(() => parseAdminRequest({ command: "quarantine-list", limit: 5000 }), /limit/);
    assert.throws(() => parseAdminRequest({ command: "quarantine-list" }), /limit is required/);
  });
});
