import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, describe, test } from "node:test";
import pg from "pg";
import {
  ensureApplicationRole,
  openPostgresLedger,
  type SqlLedger,
} from "../../src/ledger/index.ts";
import { DATABASE_URL, dropSchema, uniqueName } from "../support/services.ts";
import { uniqueMerchant } from "./ledger.suite.ts";

/**
 * SEC-7 on the real PostgreSQL: the key audit table under the application role's grants. The
 * service (the API refusing an expired key) appends and reads audit rows; nobody changes them.
 */
function urlAs(user: string): string {
  const url = new URL(DATABASE_URL);
  url.username = user;
  url.password = "";
  return url.toString();
}

describe("PostgreSQL: api_key_events under the application role", () => {
  const role = uniqueName("txwatch_app_keys");
  const schema = uniqueName("txwatch_keys_role");
  const opened: SqlLedger[] = [];
  after(async () => {
    for (const ledger of opened.reverse()) await ledger.close();
    await dropSchema(schema);
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    await client.query(`DROP ROLE IF EXISTS ${role}`).finally(() => client.end());
  });

  test("SEC-7 the application role may INSERT and SELECT key audit rows, never UPDATE, DELETE or TRUNCATE them", async () => {
    const owner = await openPostgresLedger({ connectionString: DATABASE_URL, schema });
    opened.push(owner);
    await owner.migrate();
    await ensureApplicationRole(owner.db, { role, iamAuth: false });
    const { rows: privileges } = await owner.db.query<{ privilege: string }>(
      `SELECT privilege_type AS privilege FROM information_schema.role_table_grants
       WHERE grantee = $1 AND table_schema = $2 AND table_name = 'api_key_events' ORDER BY 1`,
      [role, schema],
    );
    assert.deepEqual(
      privileges.map((p) => p.privilege),
      ["INSERT", "SELECT"],
    );

    const merchantId = uniqueMerchant();
    const hash = createHash("sha256").update(randomBytes(8)).digest("hex");
    const key = await owner.insertApiKey(merchantId, hash, {
      actor: "aws-admin",
      expiresAt: new Date(Date.now() - 1000).toISOString(),
    });
    const app = await openPostgresLedger({
      connectionString: urlAs(role),
      pool: { connectionTimeoutMillis: 5_000, max: 2 },
      schema,
    });
    opened.push(app);
    assert.equal((await app.resolveApiKey(hash))?.state, "expired");
    await app.recordExpiredKeyUse(key.id);
    assert.ok(Number(await app.apiKeyGeneration()) >= 0);
    assert.deepEqual(
      (await app.listApiKeyEvents(merchantId)).map((e) => [e.event, e.actor]),
      [
        ["created", "aws-admin"],
        ["expired_refused", "api"],
      ],
    );
    for (const sql of [
      "UPDATE api_key_events SET actor = 'cli'",
      "DELETE FROM api_key_events",
      "TRUNCATE api_key_events",
      "ALTER TABLE api_key_events DISABLE TRIGGER ledger_no_update_delete",
    ]) {
      await assert.rejects(app.db.query(sql), /permission denied|must be owner/, sql);
    }
    assert.equal((await owner.listApiKeyEvents(merchantId)).length, 2);
  });
});
