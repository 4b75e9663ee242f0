/**
 * Capacity math, pure so it can be tested on its own (STR-1, CCH-1, CAP-1).
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
 * Redis memory per transaction in the 24 h history: one sorted-set entry in each of the four
 * entity sets (customer, card, device, IP), the per-transaction record key that makes redelivery
 * count once, the ingest claim with its expiry, and the running aggregates busy entities keep.
 * Measured on Redis 7 with the real history script (`used_memory` delta, 50,000 transactions):
 * 1,041-1,132 bytes over 20,000 customers; about 1,375 when every customer is busy (1,000
 * customers), which the peak-all-day volume and the headroom cover. Rounded up.
 */
export const HISTORY_BYTES_PER_TRANSACTION = 1200;

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
