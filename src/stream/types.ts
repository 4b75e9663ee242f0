import type { PartitionProgress } from "./progress.ts";

/** A record to append: partition key = customer id (ING-2), data = JSON StreamEnvelope. */
export interface StreamRecord {
  partitionKey: string;
  data: Buffer;
}

/** A record as a consumer receives it. */
export interface ConsumedRecord {
  /** Unique and ordered within its shard/partition; the id reported in batchItemFailures. */
  sequenceNumber: string;
  /**
   * Where in the stream the record sits, beyond the stream's name: the local log's instance id
   * and partition, or the Kinesis shard id. Sequence numbers repeat across shards and across
   * local log directories; with this they name one record wherever several feed one ledger.
   */
  origin?: string;
  partitionKey: string;
  data: Buffer;
}

export interface BatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

export type BatchHandler = (records: ConsumedRecord[]) => Promise<BatchResponse>;

export interface PutResult {
  /** Indexes (into the put's input) of the records the stream did not accept after retries. */
  failed: number[];
}

export interface ConsumeOptions {
  /** Largest batch handed to the handler. */
  batchSize: number;
  /** How long an idle partition waits before polling again, in ms. */
  idleMs?: number;
}

export interface Consumer {
  /** Stops polling after the batch in flight has been handled. */
  stop(): Promise<void>;
}

/**
 * The stream port. Implementations: Kinesis, and an in-process partitioned log for the local
 * run. Delivery is at least once and in order per partition key. On a batch with failures the
 * consumer retries from the earliest failed record of each partition, as Kinesis + Lambda do.
 */
export interface Stream {
  /** Appends records; resolves once they are durably stored (accepted) or definitively failed. */
  put(records: StreamRecord[]): Promise<PutResult>;
  consume(handler: BatchHandler, options: ConsumeOptions): Consumer;
  /**
   * Each partition's backlog while this process consumes it (REL-5): the lag gauges and
   * readiness read it. Absent where no consumer of this process could tell (a producer only).
   */
  progress?(): PartitionProgress[];
  ping(): Promise<void>;
  close(): Promise<void>;
}
