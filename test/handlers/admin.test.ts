import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { hashApiKey } from "../../src/api/auth.ts";
import { loadConfig } from "../../src/config.ts";
import { APPLICATION_ROLE, loadMigrations, openPostgresLedger } from "../../src/ledger/index.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { ADMIN_COMMANDS, type AdminEvent, adminHandler } from "../../src/runtime/aws-admin.ts";
import { DATABASE_URL, dropSchema, uniqueName } from "../support/services.ts";

/**
 * The owner step (AWS-3, AWS-6): the admin Lambda's handler against the real PostgreSQL, in a
 * schema of its own (TXWATCH_DB_SCHEMA; DATABASE_URL stands in for the owner's secret).
 */
async function superuserQuery<T extends pg.QueryResultRow>(
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

describe("the admin function (owner step)", () => {
  const schema = uniqueName("txwatch_admin_test");
  const logged: string[] = [];
  const handler = adminHandler({
    config: () => loadConfig({ DATABASE_URL, TXWATCH_DB_SCHEMA: schema, LOG_LEVEL: "info" }),
    log: createLogger("info", { write: (line: string) => void logged.push(line) }),
  });
  let roleExisted = false;

  before(async () => {
    const rows = await superuserQuery("SELECT 1 FROM pg_roles WHERE rolname = $1", [
      APPLICATION_ROLE,
    ]);
    roleExisted = rows.length > 0;
  });
  after(async () => {
    await dropSchema(schema);
    // txwatch_app is cluster-wide: dropped only if this test made it and nothing else uses it.
    if (!roleExisted) {
      await superuserQuery(`DROP ROLE IF EXISTS ${APPLICATION_ROLE}`).catch(() => {});
    }
  });

  test("AWS-3 migrate applies the migrations and makes the application role; a second migrate applies nothing", async () => {
    const first = await handler({ command: "migrate" });
    assert.deepEqual(first, {
      command: "migrate",
      applied: loadMigrations().map((m) => m.name),
      role: APPLICATION_ROLE,
    });
    const second = await handler({ command: "migrate" });
    assert.deepEqual(second, { command: "migrate", applied: [], role: APPLICATION_ROLE });

    const [role] = await superuserQuery<{ login: boolean; superuser: boolean }>(
      "SELECT rolcanlogin AS login, rolsuper AS superuser FROM pg_roles WHERE rolname = $1",
      [APPLICATION_ROLE],
    );
    assert.deepEqual(role, { login: true, superuser: false });
    const privileges = await superuserQuery<{ privilege: string }>(
      "SELECT privilege_type AS privilege FROM information_schema.role_table_grants WHERE grantee = $1 AND table_schema = $2 AND table_name = 'transactions' ORDER BY 1",
      [APPLICATION_ROLE, schema],
    );
    assert.deepEqual(
      privileges.map((p) => p.privilege),
      ["INSERT", "SELECT"],
    );
  });

  test("AWS-6 create-key returns a key that authenticates as the merchant, and never logs it", async () => {
    await handler({ command: "migrate" });
    logged.length = 0;
    const written: string[] = [];
    const stdoutWrite = process.stdout.write;
    const stderrWrite = process.stderr.write;
    const capture =
      (stream: NodeJS.WriteStream, original: typeof process.stdout.write) =>
      (chunk: unknown, ...rest: unknown[]): boolean => {
        written.push(String(chunk));
        return (original as (...args: unknown[]) => boolean).call(stream, chunk, ...rest);
      };
    process.stdout.write = capture(process.stdout, stdoutWrite) as typeof process.stdout.write;
    process.stderr.write = capture(process.stderr, stderrWrite) as typeof process.stderr.write;
    let result: Awaited<ReturnType<typeof handler>>;
    try {
      result = await handler({ command: "create-key", merchantId: "japancart" });
    } finally {
      process.stdout.write = stdoutWrite;
      process.stderr.write = stderrWrite;
    }
    assert.equal(result.command, "create-key");
    assert.ok(result.command === "create-key");
    assert.equal(result.merchantId, "japancart");
    assert.match(result.apiKey, /^txw_[A-Za-z0-9_-]{43}$/);

    // The service's own lookup, as the application role (what the API does per request).
    const url = new URL(DATABASE_URL);
    url.username = APPLICATION_ROLE;
    const app = await openPostgresLedger({ connectionString: url.toString(), schema });
    try {
      const record = await app.findApiKey(hashApiKey(result.apiKey));
      assert.equal(record?.merchantId, "japancart");
      assert.equal(await app.findApiKey(hashApiKey(`${result.apiKey}x`)), null);
    } finally {
      await app.close();
    }

    assert.ok(
      logged.some((line) => line.includes("API key created") && line.includes("japancart")),
      "the creation is logged (so the capture works)",
    );
    for (const line of [...logged, ...written]) {
      assert.ok(!line.includes(result.apiKey), "the key is in a log line");
    }
  });

  test("AWS-6 create-key refuses a bad merchant id, naming merchantId", async () => {
    for (const merchantId of [undefined, "", "x".repeat(65), 42]) {
      await assert.rejects(
        handler({ command: "create-key", merchantId } as AdminEvent),
        (error: Error & { field?: string }) => {
          assert.equal(error.field, "merchantId");
          assert.match(error.message, /merchantId/);
          return true;
        },
      );
    }
  });

  test("AWS-3 an unknown command is refused, naming the allowed commands", async () => {
    for (const event of [{ command: "drop-everything" }, {}, { command: 1 }]) {
      await assert.rejects(handler(event as AdminEvent), (error: Error) => {
        for (const command of ADMIN_COMMANDS) assert.match(error.message, new RegExp(command));
        return true;
      });
    }
  });
});
