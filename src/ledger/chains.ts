import { partitionOf } from "../stream/partition.ts";

/**
 * Hash chains a ledger spreads its commits over (SCL-3). Batches of different chains commit
 * side by side; so the count bounds how many partitions (shards) commit at once.
 */
export const DEFAULT_LEDGER_CHAINS = 16;
/** Upper bound: every checkpoint records one head per chain ever used. */
export const MAX_LEDGER_CHAINS = 256;

/** How often a commit also writes a checkpoint of every chain's head (SCL-3). */
export interface CheckpointPolicy {
  /** A checkpoint is due once this many seqs were drawn since the last one. */
  everyRows: number;
  /** ... or this long after the last one, in ms. */
  everyMs: number;
}

/**
 * Rows committed after the last checkpoint could be cut from the end of their chain with only
 * the exactly-once keys to tell: a few seconds' worth. A checkpoint reads every chain's head,
 * a few index probes per chain: at this rate a negligible share of the commits.
 */
export const DEFAULT_CHECKPOINTS: CheckpointPolicy = { everyRows: 10_000, everyMs: 10_000 };

const TRAILING_NUMBER = /(\d+)$/;

export function assertChainCount(chains: number): void {
  if (!Number.isInteger(chains) || chains < 1 || chains > MAX_LEDGER_CHAINS) {
    throw new Error(`the chain count must be an integer in 1..${MAX_LEDGER_CHAINS}, got ${chains}`);
  }
}

/**
 * The chain the batches of a stream partition commit on: the partition's trailing number (the
 * local log's partition index in `<instance>:<n>`, the counter in a Kinesis shard id
 * `shardId-000000000007`) modulo the chain count, so that partitions 0..chains-1 (a stream's
 * shards before and after a reshard are numbered on) each get a chain of their own, where
 * hashing would put two of a handful on one chain more often than not. A name without a number
 * is hashed; no partition (a command, a test) is chain 0. Only the spread depends on this:
 * verify accepts any assignment, so changing the count or the naming later is safe.
 */
export function chainOf(partition: string | undefined, chains: number): number {
  assertChainCount(chains);
  if (partition === undefined || partition === "") return 0;
  const number = TRAILING_NUMBER.exec(partition)?.[1];
  if (number === undefined) return partitionOf(partition, chains);
  return Number(BigInt(number) % BigInt(chains));
}
