import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import {
  grantApplicationRole,
  openPostgresLedger,
  type SqlLedger,
} from "../../src/ledger/index.ts";
import { asSuperuser, DATABASE_URL, dropSchema, uniqueName } from "../support/services.ts";
import { alertDrafts, ledgerRecords, ledgerSuite, uniqueMerchant } from "./ledger.suite.ts";

/**
 * The real PostgreSQL on the machine (TEST_DATABASE_URL, or the local default). Every factory
 * call gets its own schema, dropped afterwards. If the server is unreachable the suite's
 * before() hook throws and every test fails: a ledger test must never pass by skipping.
 */
async function openInNewSchema(role?: string): Promise<{ ledger: SqlLedger; schema: string }> {
  const schema = uniqueName("txwatch_ledger_test");
  const ledger = await openPostgresLedger({
    connectionString: DATABASE_URL,
    pool: { connectionTimeoutMillis: 5_000, max: 5, ...(role && { options: `-c role=${role}` }) },
    schema,
  });
  return { ledger, schema };
}

ledgerSuite("PostgreSQL (pg)", async () => {
  const { ledger, schema } = await openInNewSchema();
  return {
    ledger,
    dispose: async () => {
      await ledger.close();
      await dropSchema(schema);
    },
  };
});

describe("PostgreSQL: the application's role", () => {
  const role = uniqueName("txwatch_app_test");
  const opened: { ledger: SqlLedger; schema: string }[] = [];
  after(async () => {
    for (const { ledger, schema } of opened.reverse()) {
      await ledger.close();
      await dropSchema(schema);
    }
    await asSuperuser(`DROP ROLE IF EXISTS ${role}`);
  });

  test("PRC-4 the app's role writes and reads the ledger but cannot UPDATE, DELETE or disable triggers", async () => {
    await asSuperuser(`CREATE ROLE ${role} NOLOGIN`);
    const owner = await openInNewSchema();
    opened.push(owner);
    await owner.ledger.migrate();
    await grantApplicationRole(owner.ledger.db, role);
    // Same schema, connections running as the role: what the deployed service gets.
    const app = await openPostgresLedger({
      connectionString: DATABASE_URL,
      pool: { connectionTimeoutMillis: 5_000, options: `-c role=${role}` },
      schema: owner.schema,
    });
    opened.push({ ledger: app, schema: owner.schema });

    const merchantId = uniqueMerchant();
    const records = ledgerRecords(merchantId, 2);
    const { inserted, alerts } = await app.commitBatch(records, records.flatMap(alertDrafts), []);
    assert.equal(inserted.length, 2);
    assert.equal((await app.transitionAlert(merchantId, alerts[0]!.id, "close", "ok")).kind, "ok");
    assert.ok(await app.getTransaction(merchantId, records[0]!.tx.transactionId));
    const { rows } = await app.db.query<{ who: string }>("SELECT current_user AS who");
    assert.equal(rows[0]!.who, role);

    for (const sql of [
      "UPDATE transactions SET amount = 1",
      "DELETE FROM decisions",
      "TRUNCATE transactions",
      "UPDATE alerts SET score = 0",
      "ALTER TABLE transactions DISABLE TRIGGER ALL",
      "INSERT INTO schema_migrations (name) VALUES ('99999999999999_fake')",
    ]) {
      await assert.rejects(app.db.query(sql), /permission denied|must be owner/, sql);
    }
    assert.deepEqual(await app.verifyChain().then(({ ok, checked }) => ({ ok, checked })), {
      ok: true,
      checked: 2,
    });
  });
});
