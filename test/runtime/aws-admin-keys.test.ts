import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { loadConfig } from "../../src/config.ts";
import { openPostgresLedger } from "../../src/ledger/index.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { type AdminEvent, adminHandler } from "../../src/runtime/aws-admin.ts";
import { DATABASE_URL, dropSchema, uniqueName } from "../support/services.ts";

/** SEC-7 / SEC-8: the AWS admin function's key commands, against the real PostgreSQL. */
describe("the admin function's key commands", () => {
  const schema = uniqueName("txwatch_admin_keys");
  const logged: string[] = [];
  const handler = adminHandler({
    config: () => loadConfig({ DATABASE_URL, TXWATCH_DB_SCHEMA: schema, LOG_LEVEL: "info" }),
    log: createLogger("info", { write: (line: string) => void logged.push(line) }),
  });
  after(() => dropSchema(schema));

  test("SEC-7 list-keys, rotate-key and revoke-key mirror the CLI: the new key in the response, never in a log, each event audited as aws-admin", async () => {
    const ledger = await openPostgresLedger({ connectionString: DATABASE_URL, schema });
    try {
      await ledger.migrate();
      const created = await handler({
        command: "create-key",
        merchantId: "japancart",
        expiresIn: "30d",
      });
      assert.ok(created.command === "create-key" && created.expiresAt !== null);
      const rotated = await handler({
        command: "rotate-key",
        merchantId: "japancart",
        grace: "2h",
      });
      assert.ok(rotated.command === "rotate-key");
      assert.match(rotated.apiKey, /^txw_[A-Za-z0-9_-]{43}$/);
      assert.deepEqual(
        rotated.rotated.map((k) => k.id),
        [created.keyId],
      );
      const listed = await handler({ command: "list-keys", merchantId: "japancart" });
      assert.ok(listed.command === "list-keys");
      assert.deepEqual(
        listed.keys.map((k) => [k.id, k.active]),
        [
          [created.keyId, true],
          [rotated.keyId, true],
        ],
      );
      const revoked = await handler({ command: "revoke-key", keyId: created.keyId });
      assert.ok(revoked.command === "revoke-key" && revoked.revoked);
      for (const line of logged) {
        assert.ok(!line.includes(created.apiKey) && !line.includes(rotated.apiKey), line);
      }
      assert.deepEqual(
        (await ledger.listApiKeyEvents("japancart")).map((e) => [e.keyId, e.event, e.actor]),
        [
          [created.keyId, "created", "aws-admin"],
          [rotated.keyId, "created", "aws-admin"],
          [created.keyId, "rotated", "aws-admin"],
          [created.keyId, "revoked", "aws-admin"],
        ],
      );
    } finally {
      await ledger.close();
    }
  });

  test("SEC-8 the admin function refuses a card number as merchantId and bad key ids or durations, naming the field, before connecting", async () => {
    const offline = adminHandler({
      config: () => {
        throw new Error("must not connect");
      },
      log: createLogger("silent"),
    });
    for (const [event, field] of [
      [{ command: "list-keys", merchantId: "4111111111111111" }, "merchantId"],
      [{ command: "rotate-key", merchantId: "m", grace: "forever" }, "grace"],
      [{ command: "create-key", merchantId: "m", expiresIn: "0s" }, "expiresIn"],
      [{ command: "revoke-key", keyId: "abc" }, "keyId"],
      [{ command: "revoke-key" }, "keyId"],
    ] as [AdminEvent, string][]) {
      await assert.rejects(offline(event), (error: Error & { field?: string }) => {
        assert.equal(error.field, field);
        assert.doesNotMatch(error.message, /4111/);
        return true;
      });
    }
  });
});
