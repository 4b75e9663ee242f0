import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import pg from "pg";
import {
  ensureApplicationRole,
  openPostgresLedger,
  type SqlLedger,
} from "../../src/ledger/index.ts";
import { DATABASE_URL, dropSchema, uniqueName } from "../support/services.ts";
import { ledgerRecords, uniqueMerchant } from "./ledger.suite.ts";

/**
 * AWS-3 / PRC-4 on the real PostgreSQL: the owner migrates and makes the application role;
 * the service then LOGS IN as that role (its own connection, not SET ROLE) and can append to
 * and read the ledger, but can neither change ledger rows nor touch the triggers or tables.
 */
async function asSuperuser<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** DATABASE_URL with another user (the shared server trusts 127.0.0.1: no password needed). */
function urlAs(user: string): string {
  const url = new URL(DATABASE_URL);
  url.username = user;
  url.password = "";
  return url.toString();
}

describe("PostgreSQL: ensureApplicationRole", () => {
  const role = uniqueName("txwatch_app_test");
  const schema = uniqueName("txwatch_role_test");
  const opened: SqlLedger[] = [];
  after(async () => {
    for (const ledger of opened.reverse()) await ledger.close();
    await dropSchema(schema);
    await asSuperuser((c) => c.query(`DROP ROLE IF EXISTS ${role}`));
  });

  test("AWS-3 the owner's migrations make an application role that appends and reads but cannot UPDATE, DELETE, drop or disable triggers", async () => {
    const owner = await openPostgresLedger({ connectionString: DATABASE_URL, schema });
    opened.push(owner);
    const applied = await owner.migrate();
    assert.ok(applied.length > 0);
    // iamAuth on a server without rds_iam (not RDS): the grant is skipped, nothing fails.
    await ensureApplicationRole(owner.db, { role, iamAuth: true });
    // Twice is harmless (every deploy runs it): no error, the same privileges.
    await ensureApplicationRole(owner.db, { role, iamAuth: true });

    const attributes = await asSuperuser(async (c) => {
      const { rows } = await c.query(
        "SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles WHERE rolname = $1",
        [role],
      );
      return rows[0];
    });
    assert.deepEqual(attributes, {
      rolcanlogin: true,
      rolsuper: false,
      rolcreaterole: false,
      rolcreatedb: false,
      rolbypassrls: false,
    });
    const owned = await asSuperuser(async (c) => {
      const { rows } = await c.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = $1)",
        [role],
      );
      return rows[0]!.n;
    });
    assert.equal(owned, 0, "the application role owns nothing");

    // The service: a login as the role on the owner's schema.
    const app = await openPostgresLedger({
      connectionString: urlAs(role),
      pool: { connectionTimeoutMillis: 5_000, max: 2 },
      schema,
    });
    opened.push(app);
    const { rows: who } = await app.db.query<{ who: string }>("SELECT current_user AS who");
    assert.equal(who[0]!.who, role);

    const merchantId = uniqueMerchant();
    const records = ledgerRecords(merchantId, 3);
    const { inserted } = await app.commitBatch(records, [], []);
    assert.equal(inserted.length, 3);
    assert.ok(await app.getTransaction(merchantId, records[0]!.tx.transactionId));
    assert.deepEqual(await app.verifyChain().then(({ ok, checked }) => ({ ok, checked })), {
      ok: true,
      checked: 3,
    });

    for (const sql of [
      "UPDATE transactions SET amount = 1",
      "UPDATE decisions SET action = 'allow'",
      "DELETE FROM transactions",
      "DELETE FROM transaction_keys",
      "TRUNCATE decisions",
      "ALTER TABLE transactions DISABLE TRIGGER ledger_no_update_delete",
      "ALTER TABLE transactions DISABLE TRIGGER ALL",
      "DROP TRIGGER ledger_no_update_delete ON transactions",
      "DROP TRIGGER ledger_no_truncate ON decisions",
      "DROP TABLE transactions",
      "DROP TABLE decisions CASCADE",
      "ALTER TABLE transactions OWNER TO CURRENT_USER",
      "DELETE FROM schema_migrations",
      "SET session_replication_role = replica",
    ]) {
      await assert.rejects(app.db.query(sql), /permission denied|must be owner/, sql);
    }
    // Every row and every trigger is still there.
    const { rows: count } = await owner.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM transactions WHERE merchant_id = $1",
      [merchantId],
    );
    assert.equal(count[0]!.n, 3);
    const { rows: triggers } = await owner.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_trigger WHERE tgrelid = 'transactions'::regclass AND tgenabled <> 'D' AND NOT tgisinternal",
    );
    assert.ok(triggers[0]!.n >= 2);
    assert.deepEqual(await app.verifyChain().then(({ ok, checked }) => ({ ok, checked })), {
      ok: true,
      checked: 3,
    });
  });

  test("AWS-3 ensureApplicationRole makes the grants exact: privileges the role held beyond them (UPDATE, DELETE, TRUNCATE, CREATE, a column UPDATE) are revoked", async () => {
    const owner = await openPostgresLedger({ connectionString: DATABASE_URL, schema });
    opened.push(owner);
    await owner.migrate();
    await ensureApplicationRole(owner.db, { role, iamAuth: false });
    // Granted by hand, or by an older version of the grants.
    await owner.db.exec(`
      GRANT UPDATE, DELETE, TRUNCATE ON ${schema}.transactions TO ${role};
      GRANT DELETE ON ${schema}.alerts TO ${role};
      GRANT UPDATE (amount) ON ${schema}.transactions TO ${role};
      GRANT UPDATE (merchant_id) ON ${schema}.alerts TO ${role};
      GRANT CREATE ON SCHEMA ${schema} TO ${role};
    `);
    const privileges = async () => {
      const { rows } = await owner.db.query<Record<string, boolean>>(
        `SELECT
           has_table_privilege($1, $2 || '.transactions', 'UPDATE') AS tx_update,
           has_table_privilege($1, $2 || '.transactions', 'DELETE') AS tx_delete,
           has_table_privilege($1, $2 || '.transactions', 'TRUNCATE') AS tx_truncate,
           has_table_privilege($1, $2 || '.alerts', 'DELETE') AS alert_delete,
           has_column_privilege($1, $2 || '.transactions', 'amount', 'UPDATE') AS amount_update,
           has_column_privilege($1, $2 || '.alerts', 'merchant_id', 'UPDATE') AS alert_merchant_update,
           has_schema_privilege($1, $2, 'CREATE') AS schema_create,
           has_table_privilege($1, $2 || '.transactions', 'INSERT') AS tx_insert,
           has_table_privilege($1, $2 || '.transactions', 'SELECT') AS tx_select,
           has_column_privilege($1, $2 || '.alerts', 'status', 'UPDATE') AS alert_status_update,
           has_function_privilege($1, $2 || '.ledger_claim_and_lock(jsonb, integer, bigint, bigint)', 'EXECUTE') AS claim`,
        [role, schema],
      );
      return rows[0];
    };
    const granted = await privileges();
    assert.equal(granted!.tx_update, true, "the extra grants took");
    assert.equal(granted!.schema_create, true);

    await ensureApplicationRole(owner.db, { role, iamAuth: false });
    assert.deepEqual(await privileges(), {
      tx_update: false,
      tx_delete: false,
      tx_truncate: false,
      alert_delete: false,
      amount_update: false,
      alert_merchant_update: false,
      schema_create: false,
      // What the service needs is still there.
      tx_insert: true,
      tx_select: true,
      alert_status_update: true,
      claim: true,
    });
  });

  test("AWS-3 ensureApplicationRole refuses a role name that is not a plain identifier", async () => {
    const owner = await openPostgresLedger({ connectionString: DATABASE_URL, schema });
    opened.push(owner);
    await assert.rejects(
      ensureApplicationRole(owner.db, { role: "app; DROP TABLE transactions", iamAuth: false }),
      /role must match/,
    );
  });
});
