import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";

const CREDENTIALS = fileURLToPath(new URL("../../src/ledger/credentials.ts", import.meta.url));

/**
 * The pool seam's callback form (pg's pool.query connects through it with a callback of its
 * own, which calls the caller's). Run in a child process: what matters is how a throwing
 * callback reaches the process (an uncaught exception, as from pg.Pool's own callbacks, never
 * an unhandled rejection of the seam's promise) and that the callback is called once only.
 */
async function runScenario(
  scenario: "success-throws" | "error-throws",
): Promise<{ calls: string[]; uncaught: string[]; unhandled: string[] }> {
  const script = `
    const { reauthenticatingPool, credentialProvider } = await import(${JSON.stringify(CREDENTIALS)});
    const calls = [], uncaught = [], unhandled = [];
    process.on("uncaughtException", (e) => uncaught.push(e.message));
    process.on("unhandledRejection", (e) => unhandled.push(e.message));
    const client = { release() {} };
    const pool = {
      connect: ${JSON.stringify(scenario)} === "success-throws"
        ? async () => client
        : async () => { throw Object.assign(new Error("refused"), { code: "ECONNREFUSED" }); },
    };
    reauthenticatingPool(pool, credentialProvider(async () => "pw", { maxAgeMs: 1000 }));
    pool.connect((error, got) => {
      calls.push(error ? "error:" + error.message : "client:" + (got === client));
      throw new Error("the callback threw");
    });
    setTimeout(() => {
      process.stdout.write(JSON.stringify({ calls, uncaught, unhandled }));
    }, 100);
  `;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  assert.equal(code, 0, err);
  return JSON.parse(out) as { calls: string[]; uncaught: string[]; unhandled: string[] };
}

describe("reauthenticatingPool: connect(callback)", () => {
  test("AWS-3 a callback that throws on a client is an uncaught exception, not an unhandled rejection, and is called once", async () => {
    assert.deepEqual(await runScenario("success-throws"), {
      calls: ["client:true"],
      uncaught: ["the callback threw"],
      unhandled: [],
    });
  });

  test("AWS-3 a callback that throws on a connection error is an uncaught exception, not an unhandled rejection, and is called once", async () => {
    assert.deepEqual(await runScenario("error-throws"), {
      calls: ["error:refused"],
      uncaught: ["the callback threw"],
      unhandled: [],
    });
  });
});
