import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { after, before, describe, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { KinesisClient } from "@aws-sdk/client-kinesis";
import { createApiKey } from "../../src/api/auth.ts";
import { seenKey } from "../../src/claims/index.ts";
import { openPostgresLedger, type SqlLedger } from "../../src/ledger/index.ts";
import { kinesisClientFrom } from "../../src/stream/index.ts";
import { wireTransaction } from "../support/fixtures.ts";
import { createKinesisStream, type Kinesalite, startKinesalite } from "../support/kinesalite.ts";
import { recordsOn } from "../support/kinesis-records.ts";
import {
  connectTestRedis,
  DATABASE_URL,
  deleteKeys,
  dropSchema,
  REDIS_URL,
  uniqueName,
} from "../support/services.ts";

const ENTRY = fileURLToPath(new URL("../../src/handlers/server.ts", import.meta.url));
const TOKEN_KEY = "ab".repeat(32);

/** The container's environment: only what the test gives it, over a clean base. */
function containerEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    if (/^(TXWATCH_|KINESIS_|DB_|REDIS_|DATABASE_|ALERT_|AWS_)/.test(name)) delete env[name];
  }
  return { ...env, PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info", ...extra };
}

interface Running {
  child: ChildProcess;
  /** Resolves with the URL once listening, or rejects with stderr when the process exits. */
  url: Promise<string>;
  exit: Promise<{ code: number | null; stderr: string }>;
}

function startContainer(env: NodeJS.ProcessEnv, preload: string[] = []): Running {
  const child = spawn(process.execPath, ["--import", "tsx", ...preload, ENTRY], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const exit = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.on("exit", (code) => resolve({ code, stderr })),
  );
  const url = new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (d) => {
      stdout += d;
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
      if (m) resolve(m[1]!);
    });
    void exit.then(({ code }) => reject(new Error(`exited ${code}: ${stderr}`)));
  });
  // Awaited only by tests that expect it to listen.
  url.catch(() => {});
  return { child, url, exit };
}

/** CMP-2 / OPS-1: the API container entry (src/handlers/server.ts) as ECS runs it. */
describe("API container entry (real PostgreSQL, Redis and Kinesis API)", () => {
  const schema = uniqueName("txw_test");
  const prefix = uniqueName("txwtest");
  const streamName = uniqueName("transaction-stream");
  let kinesalite: Kinesalite;
  let kinesis: KinesisClient;
  let ledger: SqlLedger;
  let key: string;
  before(async () => {
    kinesalite = await startKinesalite();
    kinesis = kinesisClientFrom({ region: "us-east-1", endpoint: kinesalite.endpoint });
    await createKinesisStream(kinesis, streamName, 1);
    ledger = await openPostgresLedger({ connectionString: DATABASE_URL, schema });
    await ledger.migrate();
    // The key exists only in this schema: the API can only accept it if it uses the schema.
    key = await createApiKey(ledger, "japancart");
  });
  after(async () => {
    await ledger.close();
    await dropSchema(schema);
    const redis = await connectTestRedis();
    await deleteKeys(redis, prefix);
    redis.disconnect();
    kinesis.destroy();
    await kinesalite.close();
  });

  const settings = () => ({
    DATABASE_URL,
    REDIS_URL,
    TXWATCH_DB_SCHEMA: schema,
    TXWATCH_REDIS_PREFIX: prefix,
    TXWATCH_TOKEN_KEY: TOKEN_KEY,
    KINESIS_STREAM_NAME: streamName,
    KINESIS_ENDPOINT: kinesalite.endpoint,
  });

  test("OPS-1 without KINESIS_STREAM_NAME the container refuses to start and names the key", async () => {
    const { KINESIS_STREAM_NAME: _omitted, ...rest } = settings();
    const running = startContainer(containerEnv(rest));
    const timer = setTimeout(() => running.child.kill("SIGKILL"), 30_000);
    try {
      const { code, stderr } = await running.exit;
      assert.equal(code, 1, stderr);
      assert.match(stderr, /KINESIS_STREAM_NAME is not set/);
      assert.ok(!stderr.includes(TOKEN_KEY), "no secret in the message");
      assert.doesNotMatch(stderr, /\n\s+at /, "one line, no stack trace");
    } finally {
      clearTimeout(timer);
    }
  });

  test("CMP-2 the container uses TXWATCH_DB_SCHEMA, TXWATCH_REDIS_PREFIX and KINESIS_STREAM_NAME", async () => {
    const running = startContainer(containerEnv(settings()));
    try {
      const url = await running.url;
      const tx = wireTransaction({ customerId: "cust-container" });
      const res = await fetch(`${url}/v1/transactions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify(tx),
      });
      assert.equal(res.status, 202, await res.clone().text());
      const records = (await recordsOn(kinesis, streamName)).map((r) => r.data.toString("utf8"));
      assert.equal(records.length, 1, "the transaction is on the configured stream");
      assert.ok(records[0]!.includes(String(tx.transactionId)));
      const redis = await connectTestRedis();
      try {
        // The key itself: one SCAN page may miss it when the shared Redis holds many keys.
        const claim = seenKey(prefix, "japancart", String(tx.transactionId));
        assert.equal(
          await redis.exists(claim),
          1,
          "the seen-id key is under the configured prefix",
        );
      } finally {
        redis.disconnect();
      }
    } finally {
      running.child.kill("SIGTERM");
      const { code } = await running.exit;
      assert.equal(code, 0, "SIGTERM stops it cleanly");
    }
  });

  test("OPS-1 a shutdown that fails is reported in one line and exits 1, not as an unhandled rejection", async () => {
    // The ledger's pool cannot be closed: pg's Pool.end rejects in the container's process.
    const pgEntry = pathToFileURL(createRequire(import.meta.url).resolve("pg")).href;
    const patch = `import pg from ${JSON.stringify(pgEntry)}; pg.Pool.prototype.end = async function () { throw new Error("pool end failed"); };`;
    const running = startContainer(containerEnv(settings()), [
      "--import",
      `data:text/javascript,${encodeURIComponent(patch)}`,
    ]);
    const timer = setTimeout(() => running.child.kill("SIGKILL"), 30_000);
    try {
      const url = await running.url;
      // The stop handlers are installed once the start resolves (after listening and the alert
      // feed's first read): a request answered, then a moment, and they are in place.
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
      await new Promise((r) => setTimeout(r, 500));
      running.child.kill("SIGTERM");
      const { code, stderr } = await running.exit;
      assert.equal(code, 1, stderr);
      assert.match(stderr, /^txwatch api: cannot stop cleanly: pool end failed\n$/m);
      assert.doesNotMatch(stderr, /\n\s+at /, "one line, no stack trace");
      assert.doesNotMatch(stderr, /unhandled|triggerUncaughtException/i);
    } finally {
      clearTimeout(timer);
    }
  });
});
