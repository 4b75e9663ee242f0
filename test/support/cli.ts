import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const BIN = fileURLToPath(new URL("../../bin/txwatch.mjs", import.meta.url));

/** The environment of a fresh machine: no service URLs, whatever the developer has set. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of [
    "REDIS_URL",
    "DATABASE_URL",
    "TXWATCH_DB_SCHEMA",
    "TXWATCH_RULESET",
    "TXWATCH_TOKEN_KEY",
    "PORT",
    "TXWATCH_STREAM",
  ])
    delete env[name];
  return { ...env, LOG_LEVEL: "warn", ...extra };
}

export interface Output {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 60_000,
): Promise<Output> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`txwatch ${args.join(" ")} timed out; stderr: ${stderr}`));
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface Started {
  child: ChildProcess;
  url: string;
  apiKey?: string;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `txwatch start` and resolves once it prints its URL. */
export function startCli(env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<Started> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, "start"], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let resolved = false;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`txwatch start did not come up; output: ${out}`));
    }, timeoutMs);
    const exited = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
    const onData = (d: Buffer) => {
      out += d;
      const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
      const ready = url !== undefined && /ruleset: /.test(out);
      if (ready && !resolved) {
        // The key line follows the banner in the same write burst; give it a moment.
        setTimeout(() => {
          resolved = true;
          clearTimeout(timer);
          const apiKey = /^API key: (\S+)$/m.exec(out)?.[1];
          resolve({
            child,
            url,
            ...(apiKey !== undefined && { apiKey }),
            output: () => out,
            async stop(signal = "SIGTERM") {
              child.kill(signal);
              return exited;
            },
          });
        }, 100);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("close", (code) => {
      if (!resolved) {
        clearTimeout(timer);
        reject(new Error(`txwatch start exited with ${code}: ${out}`));
      }
    });
  });
}
