import type { PresetSettings } from "./presets.ts";

/**
 * Capacity math, pure so it can be tested on its own (STR-1, CCH-1, CAP-1, SCL-2, SCL-4).
 */

/** Kinesis per-shard limits (AWS Kinesis Data Streams quotas). */
export const SHARD_WRITE_RECORDS_PER_SECOND = 1000;
export const SHARD_WRITE_BYTES_PER_SECOND = 1024 * 1024;
export const SHARD_READ_BYTES_PER_SECOND = 2 * 1024 * 1024;

export interface ShardInput {
  peakTransactionsPerMinute: number;
  averageRecordBytes: number;
  /** Multiplier over the peak, so a burst or a replay does not throttle. */
  headroom: number;
  /** Shared-throughput consumers reading every record (the processor Lambda is one). */
  consumers: number;
}

/**
 * A shard takes 1,000 records/s or 1 MiB/s of writes and serves 2 MiB/s of reads shared by its
 * consumers; the count is the largest of the three needs. 1,000 tx/min is 16.7 records/s, about
 * 17 KiB/s at 1 KiB a record: even doubled for headroom, 3% of one shard, so 1 shard.
 */
export function kinesisShardCount(input: ShardInput): number {
  const recordsPerSecond = (input.peakTransactionsPerMinute / 60) * input.headroom;
  const bytesPerSecond = recordsPerSecond * input.averageRecordBytes;
  const byRecords = recordsPerSecond / SHARD_WRITE_RECORDS_PER_SECOND;
  const byWrites = bytesPerSecond / SHARD_WRITE_BYTES_PER_SECOND;
  const byReads = (bytesPerSecond * Math.max(1, input.consumers)) / SHARD_READ_BYTES_PER_SECOND;
  return Math.max(1, Math.ceil(Math.max(byRecords, byWrites, byReads)));
}

/**
 * Redis memory per transaction in the 24 h history: one sorted-set member in each of the four
 * entity sets (customer, card, device, IP; members longer than 64 bytes, as a transaction's
 * are with its card token, keep a set in skiplist encoding), the contents, aggregates and card
 * set busy entities keep, and the ingest claim with its expiry. Measured on Redis 7 with the
 * per-entity script (`bench/history-script.ts` prints the `used_memory` it held, 50,000
 * transactions of the benchmark's traffic over 20,000 customers): 2,034 bytes; the previous
 * single-script layout held 2,298 on the same traffic. Rounded up.
 */
export const HISTORY_BYTES_PER_TRANSACTION = 2100;

/** Bytes the 24 h history holds if the peak lasted all day (the safe upper bound). */
export function historyBytes(peakTransactionsPerMinute: number): number {
  return peakTransactionsPerMinute * 60 * 24 * HISTORY_BYTES_PER_TRANSACTION;
}

/** Graviton node types in ascending memory (GiB, as ElastiCache lists them). */
export const CACHE_NODE_TYPES: readonly { nodeType: string; memoryGiB: number }[] = [
  { nodeType: "cache.t4g.micro", memoryGiB: 0.5 },
  { nodeType: "cache.t4g.small", memoryGiB: 1.37 },
  { nodeType: "cache.t4g.medium", memoryGiB: 3.09 },
  { nodeType: "cache.r7g.large", memoryGiB: 13.07 },
  { nodeType: "cache.r7g.xlarge", memoryGiB: 26.32 },
  { nodeType: "cache.r7g.2xlarge", memoryGiB: 52.82 },
  { nodeType: "cache.r7g.4xlarge", memoryGiB: 105.81 },
];

/** ElastiCache keeps 25% of a node's memory for replication and snapshots by default. */
export const RESERVED_MEMORY_FRACTION = 0.25;

export function usableCacheBytes(nodeType: string): number {
  const node = CACHE_NODE_TYPES.find((n) => n.nodeType === nodeType);
  if (node === undefined) throw new Error(`unknown cache node type "${nodeType}"`);
  return node.memoryGiB * 1024 ** 3 * (1 - RESERVED_MEMORY_FRACTION);
}

/** The smallest node whose usable memory holds the 24 h history times the headroom (CAP-1). */
export function cacheNodeTypeFor(peakTransactionsPerMinute: number, headroom: number): string {
  const needed = historyBytes(peakTransactionsPerMinute) * headroom;
  const node = CACHE_NODE_TYPES.find((n) => usableCacheBytes(n.nodeType) >= needed);
  if (node === undefined) {
    throw new Error(
      `the 24 h history at ${peakTransactionsPerMinute} tx/min needs ${(needed / 1024 ** 3).toFixed(1)} GiB, more than the largest node type: set txwatch:cacheNodeType or lower txwatch:peakTransactionsPerMinute`,
    );
  }
  return node.nodeType;
}

/** The ParallelizationFactor range an event source mapping accepts (Lambda API: 1 to 10). */
export const MIN_PARALLELIZATION_FACTOR = 1;
export const MAX_PARALLELIZATION_FACTOR = 10;

/**
 * Transactions a second one processor invocation is counted on for (SCL-4). The benchmark's
 * processor decides and commits about 4,300 tx/s on 2 shared cores (docs/performance.md), but
 * there it pipelines several partitions at once next to its Redis and PostgreSQL. A Lambda
 * invocation handles one batch at a time, with its network round trips to ElastiCache and RDS
 * (one pipelined history call and one ledger transaction a batch) and, at 1,024 MB, about 0.6
 * of a vCPU: 500 is a conservative figure, not a measurement of Lambda.
 */
export const PROCESSOR_TX_PER_SECOND_PER_INVOCATION = 500;

export interface ParallelizationInput {
  peakTransactionsPerMinute: number;
  /** Multiplier over the peak, as for shards. */
  headroom: number;
  /**
   * The stream's shards; each gets `factor` concurrent invocations. An ON_DEMAND stream's shards
   * are Kinesis's to change: counted as 1, the factor alone covers the peak (up to 10).
   */
  shards: number;
}

/** Concurrent processor invocations the peak times the headroom needs. */
export function processorInvocations(peakTransactionsPerMinute: number, headroom: number): number {
  const perSecond = (peakTransactionsPerMinute / 60) * headroom;
  return Math.max(1, Math.ceil(perSecond / PROCESSOR_TX_PER_SECOND_PER_INVOCATION));
}

/**
 * The event source mapping's ParallelizationFactor (SCL-4): concurrent batches per shard, so that
 * shards × factor invocations cover the peak with headroom; 1 to 10, as Lambda allows. With the
 * shards sized by the write limit (1,000 records/s a shard) and 500 tx/s an invocation it is at
 * most 2; it only reaches 10 for a stream given fewer shards than its load needs. Per-customer
 * order holds at any factor: the partition key is the customer, and Lambda keeps in-order
 * processing per partition key when it processes several batches of a shard at once.
 */
export function parallelizationFactor(input: ParallelizationInput): number {
  const needed = processorInvocations(input.peakTransactionsPerMinute, input.headroom);
  const perShard = Math.ceil(needed / Math.max(1, input.shards));
  return Math.min(MAX_PARALLELIZATION_FACTOR, Math.max(MIN_PARALLELIZATION_FACTOR, perShard));
}

/**
 * Transactions a second one Redis shard (a primary and its replicas) is counted on for (SCL-2).
 * The history scripts alone reach 4,657 tx/s on one Redis core in the benchmark's ceiling
 * (docs/performance.md, "Redis alone"); the primary also runs the ingest claims and feeds its
 * replicas, so a shard is counted for about two thirds of that.
 */
export const HISTORY_TX_PER_SECOND_PER_SHARD = 3000;

/**
 * Nodes one cluster-mode replication group may have (shards × (1 + replicas)): 500 with engine
 * 5.0.6 or later, after a quota increase from the default of 90 ("Nodes per cluster per
 * instance type", ElastiCache's CreateReplicationGroup reference).
 */
export const MAX_CLUSTER_NODES = 500;

export interface HistoryClusterInput {
  peakTransactionsPerMinute: number;
  headroom: number;
  /** A pinned node type; empty means sized here. */
  nodeType: string;
  /** Replicas per shard (each shard's failover needs one). */
  replicas: number;
}

export interface HistoryClusterLayout {
  nodeType: string;
  /** Node groups (numNodeGroups). */
  shards: number;
}

/**
 * The history cache in cluster mode (SCL-2): as many shards as the larger of two needs, memory
 * (the 24 h history at peak all day times the headroom, over one node's usable memory; hash-
 * tagged keys spread entities over the slots) and throughput (peak × headroom over
 * HISTORY_TX_PER_SECOND_PER_SHARD). Unpinned, the node type is the smallest that holds a
 * shard's share of the history once throughput has fixed the shards; past the largest type, the
 * largest, with more shards.
 */
export function historyClusterLayout(input: HistoryClusterInput): HistoryClusterLayout {
  const needed = historyBytes(input.peakTransactionsPerMinute) * input.headroom;
  const perSecond = (input.peakTransactionsPerMinute / 60) * input.headroom;
  const byThroughput = Math.max(1, Math.ceil(perSecond / HISTORY_TX_PER_SECOND_PER_SHARD));
  let nodeType = input.nodeType;
  if (nodeType === "") {
    const fits = CACHE_NODE_TYPES.find(
      (n) => usableCacheBytes(n.nodeType) >= needed / byThroughput,
    );
    nodeType = (fits ?? CACHE_NODE_TYPES[CACHE_NODE_TYPES.length - 1]!).nodeType;
  }
  const byMemory = Math.ceil(needed / usableCacheBytes(nodeType));
  const shards = Math.max(1, byThroughput, byMemory);
  const nodes = shards * (1 + input.replicas);
  if (nodes > MAX_CLUSTER_NODES) {
    throw new Error(
      `the 24 h history at ${input.peakTransactionsPerMinute} tx/min needs ${shards} shards of ${nodeType} with ${input.replicas} replica(s) each, ${nodes} nodes: more than the ${MAX_CLUSTER_NODES} a cluster can have`,
    );
  }
  return { nodeType, shards };
}

/**
 * The node type and, in cluster mode, the shards of the history cache, from the settings: the
 * one place HistoryCache and config validation take them from. Throws, as the functions
 * above do, when no layout fits.
 */
export function historyCacheShape(
  settings: Pick<
    PresetSettings,
    | "cacheNodeType"
    | "peakTransactionsPerMinute"
    | "headroom"
    | "cacheReplicas"
    | "historyClusterMode"
  >,
): { nodeType: string; shards?: number } {
  if (!settings.historyClusterMode) {
    return {
      nodeType:
        settings.cacheNodeType ||
        cacheNodeTypeFor(settings.peakTransactionsPerMinute, settings.headroom),
    };
  }
  return historyClusterLayout({
    peakTransactionsPerMinute: settings.peakTransactionsPerMinute,
    headroom: settings.headroom,
    nodeType: settings.cacheNodeType,
    replicas: settings.cacheReplicas,
  });
}
