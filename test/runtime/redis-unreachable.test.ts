import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { createApiKey } from "../../src/api/auth.ts";
import { openPostgresLedger, type SqlLedger } from "../../src/ledger/index.ts";
import { parseTransactionInput } from "../../src/transaction/schema.ts";
import { tokenizeTransaction } from "../../src/transaction/tokenize.ts";
import { cleanEnv } from "../support/cli.ts";
import { wireTransaction } from "../support/fixtures.ts";
import { kinesisEvent } from "../support/kinesis-records.ts";
import { freePort } from "../support/loopback.ts";
import { DATABASE_URL, dropSchema, uniqueName } from "../support/services.ts";

/** How long each process runs against the unreachable Redis, from opening its client. */
const WATCH_MS = 2000;

const module = (path: string) => pathToFileURL(join(import.meta.dirname, "../..", path)).href;

/**
 * What each child does once its entry is open: asks the API what needs Redis (a readiness check,
 * a transaction's status, an ingest), then waits out the rest of WATCH_MS while ioredis keeps
 * reconnecting. Answers are not the point: only what the process prints is.
 */
const EXERCISE = `
async function exercise(url, key) {
  const auth = { authorization: "Bearer " + key, "content-type": "application/json" };
  await fetch(url + "/readyz").catch(() => {});
  await fetch(url + "/v1/transactions/tx-unknown-1", { headers: auth }).catch(() => {});
  await fetch(url + "/v1/transactions", { method: "POST", headers: auth, body: process.env.TEST_TX }).catch(() => {});
}
const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
`;

/** `txwatch start`'s composition (startMonitor), on PostgreSQL, with Redis at a closed port. */
const LOCAL = `${EXERCISE}
const { startMonitor } = await import(${JSON.stringify(module("src/runtime/monitor.ts"))});
const { loadConfig } = await import(${JSON.stringify(module("src/config.ts"))});
const { createLogger } = await import(${JSON.stringify(module("src/observability/logger.ts"))});
const config = loadConfig(process.env);
const started = Date.now();
const monitor = await startMonitor(config, createLogger(config.LOG_LEVEL));
await exercise(monitor.url, monitor.firstApiKey);
await sleep(${WATCH_MS} - (Date.now() - started));
await monitor.close();
process.exit(0);
`;

/** The API container on AWS (src/handlers/server.ts runs startApiServer). */
const AWS_API = `${EXERCISE}
const { startApiServer } = await import(${JSON.stringify(module("src/runtime/aws-api.ts"))});
const started = Date.now();
const server = await startApiServer();
await exercise("http://127.0.0.1:" + process.env.PORT, process.env.TEST_KEY);
await sleep(${WATCH_MS} - (Date.now() - started));
await server.stop();
process.exit(0);
`;

/** The processor Lambda's handler, invoked with one transaction as the event source would. */
const LAMBDA = `
const { handler } = await import(${JSON.stringify(module("src/handlers/lambda.ts"))});
const started = Date.now();
// Every record fails while Redis is unreachable: the handler throws so the mapping retries.
await handler(JSON.parse(process.env.TEST_EVENT)).catch(() => {});
await new Promise((r) => setTimeout(r, Math.max(0, ${WATCH_MS} - (Date.now() - started))));
// A Lambda environment is frozen, never closed: nothing here would end the process.
process.exit(0);
`;

/** Runs one entry in its own process and answers everything it printed, stdout and stderr. */
function run(code: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "--eval", code],
      { env, stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (exit) => {
      clearTimeout(timer);
      resolve({ code: exit, out });
    });
  });
}

/**
 * Every line is one JSON object (pino's, or Powertools' in the Lambda): no raw "[ioredis]
 * Unhandled error event" stack, nothing else outside a JSON logger. The history store going
 * down is one line, however many times ioredis fails to reconnect meanwhile.
 */
function assertOnlyJson(name: string, out: string): void {
  assert.doesNotMatch(out, /\[ioredis\]|Unhandled error event/, `${name}:\n${out}`);
  const lines = out.split("\n").filter((l) => l.trim() !== "");
  assert.ok(lines.length > 0, `${name} logged nothing`);
  const parsed: Record<string, unknown>[] = [];
  for (const line of lines) {
    try {
      parsed.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      assert.fail(`${name} printed a line outside the JSON log: ${line}`);
    }
  }
  const down = parsed.filter((l) => l.dependency === "history" && l.state === "down");
  assert.equal(down.length, 1, `${name}: one line for the history going down\n${out}`);
}

describe("an unreachable Redis, in every entry that connects to it", { timeout: 90_000 }, () => {
  const schema = uniqueName("txw_test");
  const localSchema = uniqueName("txw_test");
  let ledger: SqlLedger;
  let key: string;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    ledger = await openPostgresLedger({ connectionString: DATABASE_URL, schema });
    await ledger.migrate();
    key = await createApiKey(ledger, "japancart");
    dir = mkdtempSync(join(tmpdir(), "txwatch-redis-down-"));
    env = cleanEnv({
      DATABASE_URL,
      TXWATCH_DB_SCHEMA: schema,
      // Nothing listens there: every connection attempt is refused at once.
      REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
      TXWATCH_TOKEN_KEY: "ab".repeat(32),
      KINESIS_STREAM_NAME: "transaction-stream-unused",
      KINESIS_ENDPOINT: `http://127.0.0.1:${await freePort()}`,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      HOST: "127.0.0.1",
      LOG_LEVEL: "info",
      // The AWS SDK warns (outside any logger) that it will need Node 22, which the image and
      // the Lambda run; this machine's Node may be older, and that warning is not the point.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      TEST_KEY: key,
      TEST_TX: JSON.stringify(wireTransaction()),
    });
  });
  after(async () => {
    await ledger.close();
    await dropSchema(schema);
    await dropSchema(localSchema);
    rmSync(dir, { recursive: true, force: true });
  });

  test("OPS-4 the local monitor, the API container and the Lambda print nothing outside the JSON log while Redis is unreachable", async () => {
    const parsed = parseTransactionInput(wireTransaction());
    assert.ok(parsed.ok);
    // On the stream a transaction is tokenized already (the API did it).
    const tx = tokenizeTransaction(parsed.value, Buffer.alloc(32, 0xab));
    // The local monitor makes its own key, and keeps its token key in the data directory.
    const { TXWATCH_TOKEN_KEY: _awsOnly, ...localEnv } = env;
    const [local, api, lambda] = await Promise.all([
      run(LOCAL, {
        ...localEnv,
        TXWATCH_DB_SCHEMA: localSchema,
        TXWATCH_DATA_DIR: dir,
        PORT: "0",
      }),
      run(AWS_API, { ...env, PORT: String(await freePort()) }),
      run(LAMBDA, {
        ...env,
        TEST_EVENT: JSON.stringify(
          kinesisEvent([
            {
              sequenceNumber: "49590338271490256608559692538361571095921575989136588901",
              partitionKey: tx.customerId,
              data: Buffer.from(JSON.stringify({ v: 1, receivedAt: new Date().toISOString(), tx })),
            },
          ]),
        ),
      }),
    ]);
    for (const [name, result] of [
      ["local monitor", local],
      ["API container", api],
      ["Lambda", lambda],
    ] as const) {
      assert.equal(result.code, 0, `${name} exited ${result.code}:\n${result.out}`);
      assertOnlyJson(name, result.out);
    }
  });
});
