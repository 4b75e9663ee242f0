import {
  type KinesisClient,
  PutRecordsCommand,
  type PutRecordsRequestEntry,
} from "@aws-sdk/client-kinesis";
import { type BackoffPolicy, backoffDelay, sleep } from "./backoff.ts";
import { MAX_BYTES_PER_PUT, MAX_RECORDS_PER_PUT, recordBytes, recordProblem } from "./limits.ts";
import type { PutResult, StreamRecord } from "./types.ts";

export interface PutRetryOptions {
  /** Sends of one record before it is reported failed. @default 5 */
  maxAttempts?: number;
  /** Backoff between rounds that had failures. @default { baseMs: 50, maxMs: 1000 } */
  backoff?: BackoffPolicy;
  /** Told about whole-request errors that are retried or give up. */
  onError?: (error: unknown, context: string) => void;
}

/**
 * Errors no retry can fix (wrong stream, no permission, disabled key): fail fast, so the API
 * answers at once instead of after the whole backoff schedule.
 */
const PERMANENT_ERRORS = new Set([
  "ResourceNotFoundException",
  "InvalidArgumentException",
  "ValidationException",
  "AccessDeniedException",
  "KMSAccessDeniedException",
  "KMSDisabledException",
  "KMSInvalidStateException",
  "KMSNotFoundException",
  "KMSOptInRequired",
]);

interface Pending {
  index: number;
  attempts: number;
  bytes: number;
}

/**
 * PutRecords with retry of what the stream did not take (ING-2). Records go out in input order
 * in requests of <= 500 records and <= 5 MiB; entries that fail (per-entry ErrorCode, or the
 * whole request throwing) go back to the FRONT of the queue in input order, ahead of records
 * not yet sent, so a customer's later record is never sent before its earlier one is retried.
 * One limit remains, inherent to PutRecords: if Kinesis fails an entry but accepts a later one
 * of the same key in the same request, the retried entry lands after it. Throughput errors hit
 * the tail of a shard's entries, so this is rare; consumers stay correct as processing is
 * idempotent and rules use the transaction's own time.
 * Never throws: records still failed after `maxAttempts` are returned by index.
 */
export async function putRecordsWithRetry(
  client: KinesisClient,
  streamName: string,
  records: readonly StreamRecord[],
  options: PutRetryOptions = {},
): Promise<PutResult> {
  const maxAttempts = options.maxAttempts ?? 5;
  const backoff = options.backoff ?? { baseMs: 50, maxMs: 1000 };
  const failed: number[] = [];
  let queue: Pending[] = [];
  for (const [index, record] of records.entries()) {
    if (recordProblem(record) === undefined) {
      queue.push({ index, attempts: 0, bytes: recordBytes(record) });
    } else {
      failed.push(index); // oversize: no retry can help, and it must not sink its neighbours
    }
  }
  let failingRounds = 0;
  while (queue.length > 0) {
    const size = requestSize(queue);
    const request = queue.slice(0, size);
    queue = queue.slice(size);
    const entries: PutRecordsRequestEntry[] = request.map(({ index }) => ({
      PartitionKey: records[index]!.partitionKey,
      Data: records[index]!.data,
    }));
    let retry: Pending[];
    try {
      const output = await client.send(
        new PutRecordsCommand({ StreamName: streamName, Records: entries }),
      );
      // A missing or malformed result entry is treated as failed: resending risks a duplicate
      // (handled downstream), dropping risks losing an acknowledged record.
      retry = request.filter((_, i) => {
        const result = output.Records?.[i];
        return result?.ErrorCode !== undefined || result?.SequenceNumber === undefined;
      });
    } catch (error) {
      const permanent = PERMANENT_ERRORS.has((error as Error).name);
      options.onError?.(error, `PutRecords of ${request.length} records to ${streamName}`);
      if (permanent) {
        failed.push(...request.map((p) => p.index));
        continue;
      }
      retry = request;
    }
    const again: Pending[] = [];
    for (const pending of retry) {
      pending.attempts++;
      if (pending.attempts >= maxAttempts) failed.push(pending.index);
      else again.push(pending);
    }
    queue = [...again, ...queue];
    if (retry.length === 0) {
      failingRounds = 0;
    } else if (again.length > 0) {
      await sleep(backoffDelay(++failingRounds, backoff));
    }
  }
  return { failed: failed.sort((a, b) => a - b) };
}

/** How many records from the front of the queue fit one PutRecords request. */
function requestSize(queue: readonly Pending[]): number {
  let bytes = 0;
  let count = 0;
  for (const pending of queue) {
    if (count === MAX_RECORDS_PER_PUT || bytes + pending.bytes > MAX_BYTES_PER_PUT) break;
    bytes += pending.bytes;
    count++;
  }
  return count;
}
