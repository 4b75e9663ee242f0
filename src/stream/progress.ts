/**
 * One partition's backlog as its consumer sees it (REL-5): what the lag gauges export and what
 * readiness reads. A partition is a local log partition or a Kinesis shard.
 */
export interface PartitionProgress {
  /** The local log's partition number ("0", "1", ...) or the Kinesis shard id. */
  partition: string;
  /** Records appended and not yet handled; absent where the stream cannot count them (Kinesis). */
  records?: number;
  /** Age of the oldest record not yet handled, in seconds; 0 when none waits. */
  oldestAgeSeconds: number;
  /**
   * Its oldest record has waited longer than the stream's threshold and the consumer has
   * handled nothing of it for as long: a record it cannot get past, or a consumer that stopped.
   * A long backlog that is being worked through is not stuck.
   */
  stuck: boolean;
}

/** Default threshold of `stuck`; the runtime sets TXWATCH_STUCK_AFTER_SECONDS. */
export const DEFAULT_STUCK_AFTER_MS = 60_000;

/**
 * @param oldestAt when the oldest record not yet handled was appended (ms), undefined if none
 * @param advancedAt when the consumer last handled a record of the partition, or started (ms)
 */
export function progressOf(
  partition: string,
  records: number | undefined,
  oldestAt: number | undefined,
  advancedAt: number,
  now: number,
  stuckAfterMs: number,
): PartitionProgress {
  const waitedMs = oldestAt === undefined ? 0 : Math.max(0, now - oldestAt);
  return {
    partition,
    ...(records !== undefined && { records }),
    oldestAgeSeconds: waitedMs / 1000,
    stuck: waitedMs >= stuckAfterMs && now - advancedAt >= stuckAfterMs,
  };
}
