import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./loopback.ts";

/**
 * A throwaway PostgreSQL cluster of the test's own, with password (scram-sha-256)
 * authentication: the machine's shared server trusts 127.0.0.1, so it never checks a password
 * and cannot prove anything about one. initdb refuses to run as root, so the cluster runs as
 * the `postgres` OS user; it is small and unsafe (fsync off) because it only lives for a test.
 */
export interface PrivatePostgres {
  host: string;
  port: number;
  /** The superuser `postgres` and its password. */
  superuser: { user: string; password: string };
  /** A postgres:// URL as the superuser, to database `postgres`. */
  url: string;
  /** Stops the server as a crash would (`-m immediate`), keeping the cluster to start again. */
  halt(): Promise<void>;
  /** Starts the halted server again, on the same port and settings. */
  resume(): Promise<void>;
  /** Stops the server and removes the cluster. */
  stop(): Promise<void>;
  /**
   * Synchronous last resort for an exit hook: ends the server by its postmaster's PID
   * (SIGQUIT, PostgreSQL's immediate shutdown) and removes the cluster.
   */
  abandon(): void;
}

function postgresBin(): string {
  const root = "/usr/lib/postgresql";
  const versions = readdirSync(root)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error(`no PostgreSQL under ${root}`);
  return join(root, versions[0]!, "bin");
}

/** uid/gid of the postgres OS user, from /etc/passwd (no shelling out to id). */
async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const { readFile } = await import("node:fs/promises");
  const line = (await readFile("/etc/passwd", "utf8"))
    .split("\n")
    .find((l) => l.startsWith("postgres:"));
  if (line === undefined) throw new Error("no postgres OS user to run the test cluster as");
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

function run(
  command: string,
  args: string[],
  owner: { uid: number; gid: number },
  cwd: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      uid: owner.uid,
      gid: owner.gid,
      cwd,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: cwd, LANG: "C.UTF-8" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(" ")} exited ${code}:\n${output}`));
    });
  });
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = postgresBin();
  const owner = await postgresUser();
  const dir = mkdtempSync(join(tmpdir(), "txwatch-pg-"));
  chownSync(dir, owner.uid, owner.gid);
  const data = join(dir, "data");
  const password = randomBytes(12).toString("hex");
  const pwfile = join(dir, "pwfile");
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  chownSync(pwfile, owner.uid, owner.gid);
  const port = await freePort();
  let started = false;
  const serverOptions = [
    `-p ${port}`,
    `-k ${dir}`,
    "-c listen_addresses=127.0.0.1",
    "-c fsync=off",
    "-c synchronous_commit=off",
    "-c full_page_writes=off",
    "-c shared_buffers=16MB",
    "-c max_connections=30",
  ].join(" ");
  const pgCtl = (args: string[]) => run(join(bin, "pg_ctl"), args, owner, dir);
  const start = async () => {
    await pgCtl([
      "start",
      "-D",
      data,
      "-l",
      join(dir, "log"),
      "-w",
      "-t",
      "60",
      "-o",
      serverOptions,
    ]);
    started = true;
  };
  const halt = async () => {
    if (started) await pgCtl(["stop", "-D", data, "-m", "immediate", "-w"]);
    started = false;
  };
  const stop = async () => {
    await halt();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await run(
      join(bin, "initdb"),
      [
        "-D",
        data,
        "-U",
        "postgres",
        "--auth=scram-sha-256",
        `--pwfile=${pwfile}`,
        "--no-sync",
        "--no-instructions",
        "-E",
        "UTF8",
      ],
      owner,
      dir,
    );
    await start();
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
  const abandon = () => {
    const pidFile = join(data, "postmaster.pid");
    if (existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
      if (Number.isInteger(pid) && pid > 0) {
        try {
          process.kill(pid, "SIGQUIT");
        } catch {
          // already gone
        }
      }
    }
    started = false;
    rmSync(dir, { recursive: true, force: true });
  };
  return {
    host: "127.0.0.1",
    port,
    superuser: { user: "postgres", password },
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    halt,
    resume: start,
    stop,
    abandon,
  };
}
