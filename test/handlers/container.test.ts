import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { KinesisClient } from "@aws-sdk/client-kinesis";
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from "aws-lambda";
import { bundleLambda, REPOSITORY_ROOT } from "../../scripts/bundle.mjs";
import { createApiKey } from "../../src/api/auth.ts";
import { openPostgresLedger, type SqlLedger } from "../../src/ledger/index.ts";
import { kinesisClientFrom } from "../../src/stream/index.ts";
import { wireTransaction } from "../support/fixtures.ts";
import { createKinesisStream, type Kinesalite, startKinesalite } from "../support/kinesalite.ts";
import { kinesisEvent, recordsOn } from "../support/kinesis-records.ts";
import {
  connectTestRedis,
  DATABASE_URL,
  deleteKeys,
  dropSchema,
  REDIS_URL,
  uniqueName,
} from "../support/services.ts";

const BUNDLER = fileURLToPath(new URL("../../scripts/bundle.mjs", import.meta.url));
const TOKEN_KEY = "cd".repeat(32);
/** The unprivileged user the task runs as (here `nobody`, as root can switch to it). */
const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

/**
 * A directory the container must not be able to write: root-owned 0755 as ECS creates a task
 * volume, read by an unprivileged uid. Without root (no uid switch) the test runs the process as
 * this user instead, and 0555 denies the owner too.
 */
function unwritableDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, isRoot ? 0o755 : 0o555);
  return dir;
}

/** The image's /app: owned by root, readable by all, writable by nobody but root. */
function sealAsImage(dir: string): void {
  for (const name of readdirSync(dir, { recursive: true, encoding: "utf8" })) {
    const path = join(dir, name);
    if (isRoot) chownSync(path, 0, 0);
    chmodSync(path, statSync(path).isDirectory() ? 0o755 : 0o644);
  }
  if (isRoot) chownSync(dir, 0, 0);
  chmodSync(dir, isRoot ? 0o755 : 0o555);
}

/**
 * Files owned by `nobody` in the directories every user may write (the only places outside
 * the test's own directories the process could have written to as that user).
 */
function ownedByNobody(): string[] {
  const found = spawnSync(
    "find",
    ["/tmp", "/var/tmp", "/dev/shm", "-xdev", "-user", String(NOBODY), "-print"],
    { encoding: "utf8" },
  );
  return (found.stdout ?? "").split("\n").filter(Boolean).sort();
}

function listing(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).sort();
}

/** Sets variables for the in-process Lambda; the returned function puts the old values back. */
function withEnv(vars: Record<string, string>): () => void {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  return () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

interface LambdaModule {
  handler(event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse>;
  resetForTests(): Promise<void>;
}

/**
 * AWS-1: the API container as the Fargate task runs it. The image is the server bundle alone
 * (no node_modules, no TypeScript, no tsx) in a root-owned /app, started as `node
 * /app/server.mjs` by an unprivileged user whose every directory (cwd, HOME, TMPDIR, the bundle)
 * is read-only to it, with only the environment the task definition gives. Docker is not needed:
 * this is what the runtime stage of the Dockerfile holds.
 */
describe("API container image (bundled server.mjs, unprivileged, nothing writable)", () => {
  const schema = uniqueName("txw_test");
  const prefix = uniqueName("txwtest");
  const streamName = uniqueName("transaction-stream");
  const work: string[] = [];
  let appDir: string;
  let lambdaDir: string;
  let cwd: string;
  let tmp: string;
  let kinesalite: Kinesalite;
  let kinesis: KinesisClient;
  let ledger: SqlLedger;
  let key: string;
  let child: ChildProcess | undefined;
  let exited: Promise<number | null> | undefined;

  before(async () => {
    appDir = mkdtempSync(join(tmpdir(), "txwatch-app-"));
    lambdaDir = mkdtempSync(join(tmpdir(), "txwatch-lambda-"));
    work.push(appDir, lambdaDir);
    // Exactly the Dockerfile's build step: plain node (no tsx), the CLI of scripts/bundle.mjs.
    const built = spawnSync(process.execPath, [BUNDLER, "server", appDir], {
      cwd: REPOSITORY_ROOT,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      encoding: "utf8",
    });
    assert.equal(built.status, 0, built.stderr);
    assert.equal(bundleLambda(lambdaDir), lambdaDir);
    sealAsImage(appDir);
    cwd = unwritableDir("txwatch-cwd-");
    tmp = unwritableDir("txwatch-tmp-");
    work.push(cwd, tmp);

    kinesalite = await startKinesalite();
    kinesis = kinesisClientFrom({ region: "us-east-1", endpoint: kinesalite.endpoint });
    await createKinesisStream(kinesis, streamName, 1);
    // The container does not migrate on AWS (the admin step does): the schema is made first.
    ledger = await openPostgresLedger({ connectionString: DATABASE_URL, schema });
    await ledger.migrate();
    key = await createApiKey(ledger, "japancart");
  });

  after(async () => {
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid, "SIGKILL");
      await exited;
    }
    await ledger?.close();
    await dropSchema(schema);
    const redis = await connectTestRedis();
    await deleteKeys(redis, prefix);
    redis.disconnect();
    kinesis?.destroy();
    await kinesalite?.close();
    for (const dir of work) {
      chmodSync(dir, 0o755);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("AWS-1 the bundled API runs as an unprivileged user with nothing writable: /healthz 200, a transaction accepted and, once the bundled processor ran, decided", async () => {
    const bundleBefore = listing(appDir);
    const nobodysBefore = isRoot ? ownedByNobody() : [];
    assert.ok(bundleBefore.includes("server.mjs"));
    assert.ok(!bundleBefore.some((f) => f.includes("node_modules")), "no node_modules");
    assert.ok(!bundleBefore.some((f) => f.endsWith(".ts")), "no TypeScript");

    // Only what the task definition sets: no inherited NODE_OPTIONS (no tsx), nothing else.
    const env: NodeJS.ProcessEnv = {
      PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      HOME: cwd,
      TMPDIR: tmp,
      NODE_ENV: "production",
      PORT: "0",
      HOST: "127.0.0.1",
      LOG_LEVEL: "info",
      DATABASE_URL,
      TXWATCH_DB_SCHEMA: schema,
      REDIS_URL,
      TXWATCH_REDIS_PREFIX: prefix,
      TXWATCH_TOKEN_KEY: TOKEN_KEY,
      KINESIS_ENDPOINT: kinesalite.endpoint,
      KINESIS_STREAM_NAME: streamName,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
      AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      // Node hands its own NODE_V8_COVERAGE (set by c8 in `npm test`) to every child unless
      // the child's environment names it: the task has no coverage directory to write to.
      NODE_V8_COVERAGE: "",
    };
    const proc = spawn(process.execPath, [join(appDir, "server.mjs")], {
      cwd,
      env,
      ...(isRoot && { uid: NOBODY, gid: NOBODY }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = proc;
    let stdout = "";
    let stderr = "";
    proc.stdout!.on("data", (d) => (stdout += d));
    proc.stderr!.on("data", (d) => (stderr += d));
    exited = new Promise((resolve) => proc.on("exit", (code) => resolve(code)));

    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not listening: ${stderr}`)), 60_000);
      const look = () => {
        const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      };
      proc.stdout!.on("data", look);
      void exited!.then((code) => {
        clearTimeout(timer);
        reject(new Error(`exited ${code}: ${stderr}`));
      });
    });

    if (isRoot && existsSync(`/proc/${proc.pid}/status`)) {
      const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${proc.pid}/status`, "utf8"));
      assert.equal(Number(uid?.[1]), NOBODY, "the process runs as nobody");
    }

    let health = await fetch(`${url}/healthz`);
    for (let i = 0; health.status !== 200 && i < 50; i++) {
      await new Promise((r) => setTimeout(r, 100));
      health = await fetch(`${url}/healthz`);
    }
    assert.equal(health.status, 200, await health.text());

    const tx = wireTransaction({ customerId: "cust-aws-1" });
    const id = String(tx.transactionId);
    const posted = await fetch(`${url}/v1/transactions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify(tx),
    });
    assert.equal(posted.status, 202, await posted.clone().text());
    assert.deepEqual(await posted.json(), { transactionId: id, status: "accepted" });

    const pending = await fetch(`${url}/v1/transactions/${encodeURIComponent(id)}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    assert.equal(((await pending.json()) as { status: string }).status, "pending");

    // The processor Lambda, bundled the same way, on what the container put on the stream.
    const records = await recordsOn(kinesis, streamName);
    assert.equal(records.length, 1, "the transaction is on the stream");
    const restore = withEnv({
      DATABASE_URL,
      REDIS_URL,
      TXWATCH_DB_SCHEMA: schema,
      TXWATCH_REDIS_PREFIX: prefix,
      KINESIS_STREAM_NAME: streamName,
      LOG_LEVEL: "silent",
      POWERTOOLS_METRICS_DISABLED: "true",
    });
    try {
      const lambda = (await import(
        pathToFileURL(join(lambdaDir, "index.mjs")).href
      )) as LambdaModule;
      try {
        assert.deepEqual(await lambda.handler(kinesisEvent(records, streamName)), {
          batchItemFailures: [],
        });
      } finally {
        await lambda.resetForTests();
      }
    } finally {
      restore();
    }

    const got = await fetch(`${url}/v1/transactions/${encodeURIComponent(id)}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    assert.equal(got.status, 200, await got.clone().text());
    const body = (await got.json()) as { transactionId: string; status: string; decision?: object };
    assert.equal(body.transactionId, id);
    assert.equal(body.status, "decided");
    assert.equal(typeof body.decision, "object");
    assert.ok(body.decision !== null);

    // SIGTERM (what ECS sends) stops it cleanly.
    process.kill(proc.pid!, "SIGTERM");
    assert.equal(await exited, 0, stderr);

    assert.deepEqual(readdirSync(cwd), [], "nothing written in the working directory / HOME");
    assert.deepEqual(readdirSync(tmp), [], "nothing written in TMPDIR");
    assert.deepEqual(listing(appDir), bundleBefore, "nothing written beside the bundle");
    if (isRoot) assert.deepEqual(ownedByNobody(), nobodysBefore, "nothing written in /tmp either");
    assert.doesNotMatch(stderr, /error|EACCES|EROFS|EPERM|cannot/i, stderr);
    const errors = stdout
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { level?: number; msg?: string })
      .filter((line) => (line.level ?? 0) >= 50);
    assert.deepEqual(errors, [], "no error logged");
  });
});
