import type { StreamRecord } from "./types.ts";

/** Kinesis PutRecords limits. The local log enforces the same ones so local runs fail alike. */
export const MAX_RECORDS_PER_PUT = 500;
export const MAX_BYTES_PER_PUT = 5 * 1024 * 1024;
/** Per record, partition key included (the Kinesis quota counts both). */
export const MAX_RECORD_BYTES = 1024 * 1024;
export const MAX_PARTITION_KEY_LENGTH = 256;

/** Bytes a record counts against the per-record and per-request quotas. */
export function recordBytes(record: StreamRecord): number {
  return Buffer.byteLength(record.partitionKey, "utf8") + record.data.length;
}

/** Why no stream would ever accept this record, or undefined if it is fine. */
export function recordProblem(record: StreamRecord): string | undefined {
  const keyLength = record.partitionKey.length;
  if (keyLength < 1 || keyLength > MAX_PARTITION_KEY_LENGTH) {
    return `partition key must be 1-${MAX_PARTITION_KEY_LENGTH} characters`;
  }
  const bytes = recordBytes(record);
  if (bytes > MAX_RECORD_BYTES) {
    return `record is ${bytes} bytes with its partition key; the limit is ${MAX_RECORD_BYTES}`;
  }
  return undefined;
}
