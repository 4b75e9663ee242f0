/**
 * How long the API container entry takes from `node` to `/healthz` 200: the bundle the image
 * runs (`node server.mjs`, what Fargate starts on every task launch and scale-out) against the
 * TypeScript entry compiled at run time by tsx, on the real PostgreSQL and Redis. Also the size
 * of each bundle. Kinesis is not reached before the first request, so no stream is needed.
 *
 *   npm run bench:start [-- --runs N]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { bundleLambda, bundleServer } from "../scripts/bundle.mjs";

const { values } = parseArgs({ options: { runs: { type: "string", default: "5" } } });
const runs = Number(values.runs);

const env: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  NODE_ENV: "production",
  PORT: "0",
  HOST: "127.0.0.1",
  DATABASE_URL: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test",
  REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
  TXWATCH_REDIS_PREFIX: "txwbench",
  TXWATCH_TOKEN_KEY: "ab".repeat(32),
  KINESIS_STREAM_NAME: "bench",
  KINESIS_ENDPOINT: "http://127.0.0.1:1",
  AWS_REGION: "us-east-1",
  AWS_ACCESS_KEY_ID: "bench",
  AWS_SECRET_ACCESS_KEY: "bench",
};

/** Milliseconds from spawn to the first `/healthz` 200. */
function timeToHealthy(args: string[]): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "ignore"] });
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`no /healthz within 60 s: ${out}`));
    }, 60_000);
    const onData = async (chunk: Buffer) => {
      out += chunk;
      const url = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
      if (url === undefined) return;
      child.stdout.off("data", onData);
      for (;;) {
        const ok = await fetch(`${url}/healthz`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) break;
      }
      const ms = performance.now() - started;
      clearTimeout(timer);
      child.once("exit", () => resolve(ms));
      child.kill("SIGTERM");
    };
    child.stdout.on("data", onData);
  });
}

function bytes(dir: string): number {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((f) => statSync(join(dir, f)))
    .filter((s) => s.isFile())
    .reduce((sum, s) => sum + s.size, 0);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

const dir = mkdtempSync(join(tmpdir(), "txwatch-bench-start-"));
try {
  const server = bundleServer(join(dir, "server"));
  const lambda = bundleLambda(join(dir, "lambda"));
  const entries = {
    "bundle (node server.mjs)": [join(server, "server.mjs")],
    "tsx (node --import tsx server.ts)": ["--import", "tsx", "src/handlers/server.ts"],
  };
  const times: Record<string, number[]> = Object.fromEntries(
    Object.keys(entries).map((name) => [name, []]),
  );
  for (let i = 0; i < runs; i++) {
    // Alternating, so a slower minute of the machine weighs on both alike.
    for (const [name, args] of Object.entries(entries)) {
      times[name]?.push(await timeToHealthy(args));
    }
  }
  console.log(`API container start to /healthz 200, ${runs} runs each (median, min-max):`);
  for (const [name, ms] of Object.entries(times)) {
    console.log(
      `  ${name.padEnd(36)} ${median(ms).toFixed(0)} ms (${Math.min(...ms).toFixed(0)}-${Math.max(...ms).toFixed(0)})`,
    );
  }
  const mb = (n: number) => `${(n / 1024 ** 2).toFixed(1)} MB`;
  console.log(
    `bundles: container ${mb(bytes(server))}, Lambda archive ${mb(bytes(lambda))} (3 functions)`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
