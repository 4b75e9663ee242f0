import type { BatchResponse, ConsumedRecord, ConsumeOptions } from "./types.ts";

/**
 * Index of the earliest record the handler reported failed, or -1 when all succeeded.
 * As Lambda does for Kinesis, an identifier that names no record of the batch fails the whole
 * batch (index 0): guessing would risk skipping a record that was never processed.
 */
export function earliestFailure(
  records: readonly ConsumedRecord[],
  response: BatchResponse | undefined,
): number {
  const failures = response?.batchItemFailures ?? [];
  if (failures.length === 0) return -1;
  const indexOf = new Map(records.map((record, i) => [record.sequenceNumber, i]));
  let earliest = records.length;
  for (const failure of failures) {
    const index = indexOf.get(failure.itemIdentifier);
    if (index === undefined) return 0;
    earliest = Math.min(earliest, index);
  }
  return earliest;
}

/** A batch size below 1 would make every read come back empty and the consumer spin idle. */
export function checkConsumeOptions(options: ConsumeOptions): void {
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
    throw new RangeError(`batchSize must be a positive integer, got ${options.batchSize}`);
  }
  if (options.idleMs !== undefined && !(options.idleMs >= 0)) {
    throw new RangeError(`idleMs must be >= 0, got ${options.idleMs}`);
  }
}
