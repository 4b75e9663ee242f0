import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Cluster, Redis } from "ioredis";
import { freePort } from "./loopback.ts";
import { killRedis, type RedisServer, startRedis } from "./redis-server.ts";
import { sleep } from "./wait.ts";

/**
 * A real Redis Cluster of the test's own (SCL-2): three primaries, no replicas, on loopback
 * ports it chose (freePort), in a temporary directory; stop() kills the servers by their PIDs
 * and removes the directory. Starts in about 2.5 s (a primary reports cluster_state:ok only 2 s
 * after its start, Redis's CLUSTER_WRITABLE_DELAY).
 */
export interface RedisClusterUnderTest {
  /** The primaries' client ports. */
  ports: number[];
  /** The same, as ioredis's Cluster takes its seed nodes. */
  nodes: { host: string; port: number }[];
  pids: number[];
  /**
   * A new ioredis Cluster client of the three nodes, auto-pipelining per node (as the runtime's
   * is); it fails fast instead of retrying forever once the cluster is gone. stop() disconnects
   * the clients still open.
   */
  connect(): Cluster;
  stop(): Promise<void>;
}

const HOST = "127.0.0.1";
const PRIMARIES = 3;
const ATTEMPTS = 3;
const READY_TIMEOUT_MS = 10_000;
const SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/** Distinct ports free a moment ago; a server taking one meanwhile fails the attempt. */
async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: READY_TIMEOUT_MS }, (error, stdout, stderr) => {
      if (error === null) resolve(stdout);
      else reject(new Error(`${command} ${args.join(" ")}: ${error.message}\n${stdout}${stderr}`));
    });
  });
}

/** CLUSTER INFO of one node as fields, or undefined while it cannot answer. */
async function clusterInfo(port: number): Promise<Map<string, string> | undefined> {
  const redis = new Redis({
    host: HOST,
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on("error", () => {});
  try {
    await redis.connect();
    const text = (await redis.call("CLUSTER", "INFO")) as string;
    return new Map(
      text
        .split("\r\n")
        .filter((line) => line.includes(":"))
        .map((line) => line.split(":", 2) as [string, string]),
    );
  } catch {
    return undefined;
  } finally {
    redis.disconnect();
  }
}

/** Until every node says cluster_state:ok, knows all the primaries and serves every slot. */
async function untilClusterOk(ports: number[]): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const infos = await Promise.all(ports.map(clusterInfo));
    const ok = infos.every(
      (info) =>
        info?.get("cluster_state") === "ok" &&
        info.get("cluster_known_nodes") === String(ports.length) &&
        info.get("cluster_slots_ok") === "16384",
    );
    if (ok) return;
    if (Date.now() > deadline) {
      const states = infos.map((info, i) => `${ports[i]}: ${info?.get("cluster_state")}`);
      throw new Error(`the Redis Cluster did not become ok (${states.join(", ")})`);
    }
    await sleep(50);
  }
}

async function startOnce(dir: string): Promise<{ servers: RedisServer[]; ports: number[] }> {
  // Each node's cluster bus gets a port of its own (cluster-port): the default, port + 10000,
  // would be past 65535 for most ephemeral ports.
  const free = await freePorts(PRIMARIES * 2);
  const ports = free.slice(0, PRIMARIES);
  const started = await Promise.allSettled(
    ports.map((port, i) =>
      startRedis({
        port,
        dir,
        args: [
          "--cluster-enabled",
          "yes",
          "--cluster-port",
          String(free[PRIMARIES + i]),
          "--cluster-config-file",
          join(dir, `nodes-${port}.conf`),
        ],
      }),
    ),
  );
  const servers = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  try {
    const failed = started.find((s) => s.status === "rejected");
    if (failed !== undefined) throw failed.reason;
    await run("redis-cli", [
      "--cluster",
      "create",
      ...ports.map((port) => `${HOST}:${port}`),
      "--cluster-replicas",
      "0",
      "--cluster-yes",
    ]);
    await untilClusterOk(ports);
    // A port taken by another process between freePort and the start: not our server.
    for (const server of servers) {
      if (server.child.exitCode !== null) throw new Error(`redis-server on ${server.port} exited`);
    }
    return { servers, ports };
  } catch (error) {
    await Promise.all(servers.map((server) => killRedis(server)));
    throw error;
  }
}

export async function startRedisCluster(): Promise<RedisClusterUnderTest> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), "txwatch-redis-cluster-"));
    try {
      return underTest(dir, await startOnce(dir));
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      lastError = error;
    }
  }
  throw lastError;
}

function underTest(
  dir: string,
  { servers, ports }: { servers: RedisServer[]; ports: number[] },
): RedisClusterUnderTest {
  const nodes = ports.map((port) => ({ host: HOST, port }));
  const clients = new Set<Cluster>();
  // A test process that ends without stop() (a failed before(), an uncaught error, a Ctrl-C or
  // a SIGTERM) leaves no servers or directory behind; a signal is then raised again, to end the
  // process as it would have. Only a SIGKILL of the test process leaves them.
  const kill = () => {
    for (const server of servers) {
      if (server.child.exitCode === null && server.child.signalCode === null) {
        process.kill(server.pid, "SIGKILL");
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    kill();
    detach();
    process.kill(process.pid, signal);
  };
  const detach = () => {
    process.removeListener("exit", kill);
    for (const signal of SIGNALS) process.removeListener(signal, onSignal);
  };
  process.once("exit", kill);
  for (const signal of SIGNALS) process.once(signal, onSignal);
  return {
    ports,
    nodes,
    pids: servers.map((server) => server.pid),
    connect() {
      const cluster = new Cluster(nodes, {
        enableAutoPipelining: true,
        // A stopped cluster fails the test's commands instead of holding them forever.
        clusterRetryStrategy: () => null,
        redisOptions: { maxRetriesPerRequest: 1 },
      });
      cluster.on("error", () => {});
      cluster.once("end", () => clients.delete(cluster));
      clients.add(cluster);
      return cluster;
    },
    async stop() {
      for (const client of clients) client.disconnect();
      clients.clear();
      await Promise.all(servers.map((server) => killRedis(server)));
      detach();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
