import { type ChildProcess, spawn } from "node:child_process";
import { Socket } from "node:net";
import { sleep } from "./wait.ts";

/**
 * A throwaway redis-server of the test's own on a loopback port it chose (freePort), killed by
 * its PID. Without `dir` it keeps nothing (no RDB, no AOF): a restart comes back empty. With
 * `dir` and `appendonly` it writes an append-only file there (fsync every second), so a restart
 * on the same directory gets the data back, up to the last second before a kill -9.
 */
export interface RedisOptions {
  port: number;
  dir?: string;
  appendonly?: boolean;
  /** More server options, appended as given (e.g. cluster mode, redis-cluster.ts). */
  args?: string[];
}

export interface RedisServer {
  port: number;
  url: string;
  child: ChildProcess;
  pid: number;
}

function listening(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = new Socket();
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
    socket.connect(port, "127.0.0.1");
  });
}

export async function startRedis(options: RedisOptions | number): Promise<RedisServer> {
  const {
    port,
    dir,
    appendonly,
    args: extra = [],
  } = typeof options === "number" ? { port: options } : options;
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", ""];
  if (appendonly) {
    if (dir === undefined) throw new Error("an append-only Redis needs a dir");
    args.push("--appendonly", "yes", "--appendfsync", "everysec");
  } else args.push("--appendonly", "no");
  if (dir !== undefined) args.push("--dir", dir);
  args.push(...extra);
  const child = spawn("redis-server", args, { stdio: "ignore" });
  if (child.pid === undefined) throw new Error("redis-server did not start");
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (await listening(port)) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      if (child.exitCode === null) child.kill("SIGKILL");
      throw new Error(`redis-server on ${port} did not start`);
    }
    await sleep(50);
  }
  // An append-only Redis answers connections while it still loads its file; wait for PONG-able
  // state through the monitor's own client instead: a loading server refuses commands with a
  // LOADING error, which the monitor retries.
  return { port, url: `redis://127.0.0.1:${port}`, child, pid: child.pid };
}

/** Sends `signal` (SIGKILL: a crash; SIGTERM: a clean stop) to the server by its PID. */
export function killRedis(
  server: RedisServer | ChildProcess,
  signal: NodeJS.Signals = "SIGKILL",
): Promise<void> {
  const child = "child" in server ? server.child : server;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    if (child.pid !== undefined) process.kill(child.pid, signal);
  });
}
