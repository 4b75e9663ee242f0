import assert from "node:assert/strict";
import diagnostics from "node:diagnostics_channel";
import { createServer } from "node:net";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import pg from "pg";
import { openPostgresLedger, type SqlLedger } from "../../src/ledger/index.ts";
import { startApiServer } from "../../src/runtime/aws-api.ts";
import { DATABASE_URL, dropSchema, REDIS_URL, uniqueName } from "../support/services.ts";

const sockets = () =>
  process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap" || r === "TCPWrap").length;

/**
 * The API container's start-up on AWS (src/runtime/aws-api.ts), in this process: a start that
 * fails after the stores are open closes everything it made (the stores and the Fastify app)
 * and rejects with the error. No Kinesis call is made before listening.
 */
describe("startApiServer: a failed start", () => {
  const schema = uniqueName("txw_test");
  const applicationName = uniqueName("txwatch_api_start");
  let owner: SqlLedger;
  const saved = { ...process.env };
  before(async () => {
    owner = await openPostgresLedger({ connectionString: DATABASE_URL, schema });
    await owner.migrate();
  });
  after(async () => {
    process.env = saved;
    await owner.close();
    await dropSchema(schema);
  });

  test("AWS-4 listening on a port already in use: the error propagates, the app and the stores are closed, no connection is left open", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const address = blocker.address();
    assert.ok(address !== null && typeof address !== "string");
    try {
      const url = new URL(DATABASE_URL);
      url.searchParams.set("application_name", applicationName);
      process.env = {
        ...saved,
        DATABASE_URL: url.toString(),
        REDIS_URL,
        TXWATCH_DB_SCHEMA: schema,
        TXWATCH_REDIS_PREFIX: uniqueName("txwtest"),
        TXWATCH_TOKEN_KEY: "ab".repeat(32),
        KINESIS_STREAM_NAME: "transaction-stream-unused",
        KINESIS_ENDPOINT: "http://127.0.0.1:9",
        AWS_REGION: "us-east-1",
        PORT: String(address.port),
        HOST: "127.0.0.1",
        LOG_LEVEL: "silent",
      };
      // The app startApiServer builds, as Fastify announces each new instance.
      const apps: FastifyInstance[] = [];
      let appClosed = false;
      const onApp = (message: unknown) => {
        const app = (message as { fastify: FastifyInstance }).fastify;
        apps.push(app);
        app.addHook("onClose", async () => {
          appClosed = true;
        });
      };
      const baseline = sockets();
      diagnostics.subscribe("fastify.initialization", onApp);
      try {
        await assert.rejects(startApiServer(), (error: Error & { code?: string }) => {
          assert.equal(error.code, "EADDRINUSE");
          return true;
        });
      } finally {
        diagnostics.unsubscribe("fastify.initialization", onApp);
      }
      assert.equal(apps.length, 1, "one app was built");
      assert.ok(appClosed, "the app was closed (its onClose hooks ran)");

      // The ledger's pool and the Redis connection were closed: no socket of theirs is left.
      const deadline = Date.now() + 2000;
      while (sockets() > baseline && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(sockets(), baseline, "no socket left open by the failed start");
      const check = new pg.Client({ connectionString: DATABASE_URL });
      await check.connect();
      try {
        const { rows } = await check.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1",
          [applicationName],
        );
        assert.equal(rows[0]!.n, 0, "no database session of the API is left");
      } finally {
        await check.end();
      }
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });
});
