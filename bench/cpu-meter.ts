import { readdirSync, readFileSync } from "node:fs";
import type { Redis } from "ioredis";

/**
 * Where the machine's CPU goes during a phase: the monitor (its own count, over IPC), the load
 * generator (this process), Redis (INFO cpu) and PostgreSQL (every process named postgres,
 * from /proc, so only when it runs on this machine). On two cores they all compete, so the
 * microseconds each spends per transaction say what bounds throughput and latency.
 */
export interface CpuSample {
  /** Seconds of CPU, or undefined where it cannot be read. */
  generator: number;
  redis: number | undefined;
  postgres: number | undefined;
  /** Busy and total seconds of all cores, from /proc/stat. */
  machineBusy: number | undefined;
  machineTotal: number | undefined;
}

export interface CpuUse {
  /**
   * Microseconds of CPU per transaction. total: monitor, Redis and PostgreSQL (the work itself,
   * without the load generator), when all three could be read.
   */
  perTxUs: {
    monitor: number;
    generator: number;
    redis?: number;
    postgres?: number;
    total?: number;
  };
  /** Share of all the machine's cores that was busy, 0..1. */
  machineBusy?: number;
}

const TICKS_PER_SECOND = 100;

/** CPU seconds of every process named postgres on this machine (backends and the rest). */
export function postgresSeconds(): number | undefined {
  let ticks = 0;
  let found = false;
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      continue; // gone since the listing
    }
    const open = stat.indexOf("(");
    const close = stat.lastIndexOf(")");
    if (stat.slice(open + 1, close) !== "postgres") continue;
    const fields = stat.slice(close + 2).split(" ");
    // utime, stime, cutime and cstime: fields 14-17 of stat, 12th-15th after the name. The
    // postmaster's cutime and cstime hold the backends that exited, whose own entries are gone.
    ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    found = true;
  }
  return found ? ticks / TICKS_PER_SECOND : undefined;
}

function machineSeconds(): { busy: number; total: number } | undefined {
  try {
    const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0]!.split(/\s+/).slice(1);
    const ticks = cpu.map(Number);
    const total = ticks.reduce((a, b) => a + b, 0);
    const idle = ticks[3]! + ticks[4]!; // idle + iowait
    return { busy: (total - idle) / TICKS_PER_SECOND, total: total / TICKS_PER_SECOND };
  } catch {
    return undefined;
  }
}

/** CPU seconds of the Redis server, as its INFO says (all its threads). */
export async function redisSeconds(redis: Redis): Promise<number | undefined> {
  const info = await redis.info("cpu");
  const user = /used_cpu_user:([\d.]+)/.exec(info)?.[1];
  const sys = /used_cpu_sys:([\d.]+)/.exec(info)?.[1];
  return user === undefined || sys === undefined ? undefined : Number(user) + Number(sys);
}

export async function sampleCpu(redis: Redis, postgresIsLocal: boolean): Promise<CpuSample> {
  const machine = machineSeconds();
  const own = process.cpuUsage();
  return {
    generator: (own.user + own.system) / 1e6,
    redis: await redisSeconds(redis),
    postgres: postgresIsLocal ? postgresSeconds() : undefined,
    machineBusy: machine?.busy,
    machineTotal: machine?.total,
  };
}

/** CPU per transaction between two samples; monitorSeconds is the monitor's own count. */
export function cpuBetween(
  from: CpuSample,
  to: CpuSample,
  monitorSeconds: number,
  transactions: number,
): CpuUse {
  const us = (seconds: number) => Math.round((seconds * 1e6) / Math.max(1, transactions));
  const diff = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? undefined : b - a;
  const redis = diff(from.redis, to.redis);
  const postgres = diff(from.postgres, to.postgres);
  const busy = diff(from.machineBusy, to.machineBusy);
  const total = diff(from.machineTotal, to.machineTotal);
  const monitor = us(monitorSeconds);
  return {
    perTxUs: {
      monitor,
      generator: us(to.generator - from.generator),
      ...(redis !== undefined && { redis: us(redis) }),
      ...(postgres !== undefined && { postgres: us(postgres) }),
      ...(redis !== undefined &&
        postgres !== undefined && { total: monitor + us(redis) + us(postgres) }),
    },
    ...(busy !== undefined && total && { machineBusy: Number((busy / total).toFixed(3)) }),
  };
}

export function formatCpu(use: CpuUse): string {
  const parts = [
    `total ${use.perTxUs.total ?? "n/a"} (monitor ${use.perTxUs.monitor}`,
    `Redis ${use.perTxUs.redis ?? "n/a"}`,
    `PostgreSQL ${use.perTxUs.postgres ?? "n/a"})`,
    `load generator ${use.perTxUs.generator}`,
  ];
  const busy =
    use.machineBusy === undefined ? "" : `; machine ${Math.round(use.machineBusy * 100)}% busy`;
  return `${parts.join(", ")} µs${busy}`;
}
