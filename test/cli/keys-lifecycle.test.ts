import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { openPostgresLedger, type SqlLedger } from "../../src/ledger/index.ts";
import { cleanEnv, runCli } from "../support/cli.ts";
import { DATABASE_URL, dropSchema, uniqueName } from "../support/services.ts";

/** SEC-7 / SEC-8: `txwatch keys create | list | rotate | revoke` against the real PostgreSQL. */
describe("txwatch keys (real PostgreSQL)", () => {
  const schema = uniqueName("txw_keys");
  const env = cleanEnv({ DATABASE_URL, TXWATCH_DB_SCHEMA: schema });
  let ledger: SqlLedger | undefined;
  after(async () => {
    await ledger?.close();
    await dropSchema(schema);
  });

  test("SEC-8 keys create refuses a card number, an empty or a 65-character merchant, naming --merchant without echoing it, and stores nothing", async () => {
    for (const merchant of ["4111111111111111", "", "x".repeat(65)]) {
      const out = await runCli(["keys", "create", "--merchant", merchant], env);
      assert.equal(out.code, 2, out.stderr);
      assert.match(out.stderr, /--merchant/);
      assert.doesNotMatch(out.stdout + out.stderr, /4111/);
      assert.doesNotMatch(out.stdout, /API key:/);
    }
    const badExpiry = await runCli(
      ["keys", "create", "--merchant", "m", "--expires-in", "soon"],
      env,
    );
    assert.equal(badExpiry.code, 2);
    assert.match(badExpiry.stderr, /--expires-in must be a duration/);
    ledger = await openPostgresLedger({ connectionString: DATABASE_URL, schema });
    await ledger.migrate();
    const { rows } = await ledger.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM api_keys",
    );
    assert.equal(rows[0]!.n, 0);
  });

  test("SEC-7 keys create --expires-in, list, rotate and revoke; each event audited as cli", async () => {
    const created = await runCli(
      ["keys", "create", "--merchant", "fastshop", "--expires-in", "30d"],
      env,
    );
    assert.equal(created.code, 0, created.stderr);
    const key = /^API key: (txw_\S+)$/m.exec(created.stdout)![1]!;
    assert.match(created.stderr, /expires \d{4}-/);

    const rotated = await runCli(
      ["keys", "rotate", "--merchant", "fastshop", "--grace", "1h"],
      env,
    );
    assert.equal(rotated.code, 0, rotated.stderr);
    const newKey = /^API key: (txw_\S+)$/m.exec(rotated.stdout)![1]!;
    assert.notEqual(newKey, key);
    assert.match(rotated.stderr, /key \d+ works until \d{4}-/);

    const listed = await runCli(["keys", "list", "--merchant", "fastshop", "--json"], env);
    assert.equal(listed.code, 0, listed.stderr);
    const keys = JSON.parse(listed.stdout) as {
      id: string;
      expiresAt: string | null;
      revokedAt: string | null;
      active: boolean;
    }[];
    assert.equal(keys.length, 2);
    assert.ok(keys[0]!.expiresAt !== null && keys[0]!.revokedAt !== null && keys[0]!.active);
    assert.ok(keys[1]!.revokedAt === null && keys[1]!.active);
    for (const k of [key, newKey]) assert.ok(!listed.stdout.includes(k));
    const table = await runCli(["keys", "list", "--merchant", "fastshop"], env);
    assert.match(table.stdout, /^ID\s+CREATED\s+EXPIRES\s+REVOKED\s+STATE/m);

    const revoked = await runCli(["keys", "revoke", "--id", keys[0]!.id], env);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, new RegExp(`revoked key ${keys[0]!.id} of merchant "fastshop"`));
    const unknown = await runCli(["keys", "revoke", "--id", "987654"], env);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--id/);

    ledger ??= await openPostgresLedger({ connectionString: DATABASE_URL, schema });
    const events = await ledger.listApiKeyEvents("fastshop");
    assert.deepEqual(
      events.map((e) => [e.keyId, e.event, e.actor]),
      [
        [keys[0]!.id, "created", "cli"],
        [keys[1]!.id, "created", "cli"],
        [keys[0]!.id, "rotated", "cli"],
        [keys[0]!.id, "revoked", "cli"],
      ],
    );
  });
});
