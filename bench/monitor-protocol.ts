/** What bench/pipeline.ts and the monitor process it forks (bench/monitor-process.ts) say. */

/**
 * The monitor's card tokenization key: whoever builds history items for its store (the
 * hot-entity preload, bench/history-script.ts) tokenizes cards with it, so the entities match.
 */
export function benchTokenKey(): Buffer {
  return Buffer.alloc(32, 9);
}

export interface MonitorSettings {
  databaseUrl: string;
  redisUrl: string;
  /** PostgreSQL schema and Redis key prefix of this run alone, dropped at its end. */
  schema: string;
  prefix: string;
  merchantId: string;
  partitions: number;
  batchSize: number;
}

export type MonitorRequest =
  /** Starts a phase: counters and latencies from here on. */
  { type: "mark" } | { type: "progress" } | { type: "report" } | { type: "stop" };

export type MonitorReply =
  /** rssMb: what the monitor takes before any load (modules, pools, the tsx loader). */
  | { type: "ready"; url: string; key: string; rssMb: number }
  | { type: "marked" }
  | { type: "progress"; committed: number }
  | {
      type: "report";
      committed: number;
      /** Alerts the committed decisions raised since the mark. */
      alerts: number;
      /** SQL statements sent to PostgreSQL since the mark. */
      statements: number;
      /** Commands sent to Redis since the mark (a pipelined command counts as one). */
      commands: number;
      /** Acceptance (receivedAt) to committed decision, of the transactions since the mark. */
      latencyMs: Record<number, number>;
      peakRssMb: number;
      /** CPU (user and system) the monitor process used since the mark, in seconds. */
      cpuSeconds: number;
      /** The monitor's event-loop delay since the mark, in ms (perf_hooks). */
      loopDelayMs: { p50: number; p99: number };
      /** Event-loop utilisation since the mark, 0..1. */
      loopBusy: number;
    }
  | { type: "stopped"; peakRssMb: number };
