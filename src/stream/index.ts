export type { BackoffPolicy } from "./backoff.ts";
export { earliestFailure } from "./batch-result.ts";
export { type PutRetryOptions, putRecordsWithRetry } from "./kinesis-producer.ts";
export {
  type KinesisClientSettings,
  KinesisStream,
  type KinesisStreamOptions,
  kinesisClientFrom,
} from "./kinesis-stream.ts";
export {
  MAX_BYTES_PER_PUT,
  MAX_PARTITION_KEY_LENGTH,
  MAX_RECORD_BYTES,
  MAX_RECORDS_PER_PUT,
  recordProblem,
} from "./limits.ts";
export { type LocalLogOptions, LocalLogStream } from "./local-log.ts";
export { partitionOf } from "./partition.ts";
export { DEFAULT_STUCK_AFTER_MS, type PartitionProgress } from "./progress.ts";
export type * from "./types.ts";
