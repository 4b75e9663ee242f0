import { constants } from "node:fs";
import { access } from "node:fs/promises";
import { BacklogClock } from "./backlog-clock.ts";
import { type BackoffPolicy, backoffDelay, sleep } from "./backoff.ts";
import { checkConsumeOptions, earliestFailure } from "./batch-result.ts";
import { CheckpointWriter } from "./checkpoint-writer.ts";
import { recordProblem } from "./limits.ts";
import { newInstanceId, openDurablePartitions } from "./local-log-layout.ts";
import type { FrameInput } from "./log-frame.ts";
import { type LogEntry, MemoryPartition, type PartitionLog } from "./log-partition.ts";
import { Notifier } from "./notifier.ts";
import { formatSequence, partitionOf } from "./partition.ts";
import { DEFAULT_STUCK_AFTER_MS, type PartitionProgress, progressOf } from "./progress.ts";
import type {
  BatchHandler,
  ConsumedRecord,
  ConsumeOptions,
  Consumer,
  PutResult,
  Stream,
  StreamRecord,
} from "./types.ts";

export interface LocalLogOptions {
  /** Partitions; one consumer loop each. @default 4 */
  partitions?: number;
  /** Durable when set (segments and checkpoints live here); memory-only when not. */
  dir?: string;
  /** A segment file rolls once it reaches this size. @default 64 MiB */
  segmentBytes?: number;
  /**
   * Records beyond this many unconsumed ones are refused (reported failed), so a stalled consumer
   * cannot exhaust memory. @default 1,000,000 memory-only, unlimited when durable
   */
  maxPendingRecords?: number;
  /**
   * Least time between the starts of two checkpoint writes of a partition, in ms: a crash
   * redelivers about this much of the records already handled, plus those of one write, which
   * processing tolerates. @default 100 when durable, 0 memory-only (nothing survives a crash)
   */
  checkpointIntervalMs?: number;
  /** Backoff between redeliveries of a failed batch. @default { baseMs: 100, maxMs: 5000 } */
  retry?: BackoffPolicy;
  /** Told about errors the stream recovers from itself (a failed append, a handler throw). */
  onError?: (error: unknown, context: string) => void;
  /**
   * A partition whose oldest unhandled record is this old, and whose consumer handled nothing
   * for as long, is reported stuck by progress() (REL-5). @default 60000
   */
  stuckAfterMs?: number;
}

const DEFAULT_IDLE_MS = 1000;
const DEFAULT_CHECKPOINT_INTERVAL_MS = 100;

interface WriteJob {
  byPartition: Map<number, { entries: FrameInput[]; indexes: number[] }>;
  failed: number[];
  done: () => void;
}

/**
 * The local all-in-one run's stream: an in-process partitioned log. partition = stable
 * hash(partitionKey) % N keeps one customer's records in order. Sequence numbers come from one
 * counter, so they grow within a partition and are unique across partitions, as on Kinesis.
 * Concurrent puts share one write and one fdatasync per partition (group commit).
 * One process per directory: the runtime's data-directory lock guarantees it.
 */
export class LocalLogStream implements Stream {
  readonly partitions: number;
  /** Persisted in the directory when durable, fresh per instance when memory-only. */
  readonly instanceId: string;
  private readonly logs: PartitionLog[];
  private readonly notifiers: Notifier[];
  private readonly clocks: BacklogClock[];
  private readonly stuckAfterMs: number;
  private readonly maxPending: number;
  private readonly retry: BackoffPolicy;
  private readonly onError: (error: unknown, context: string) => void;
  private readonly dir: string | undefined;
  private readonly checkpointIntervalMs: number;
  private nextSeq: number;
  private queue: WriteJob[] = [];
  private queuedRecords = 0;
  private draining: Promise<void> | undefined;
  private consumer: Consumer | undefined;
  private closed = false;

  constructor(options: LocalLogOptions = {}) {
    this.partitions = options.partitions ?? 4;
    if (!Number.isInteger(this.partitions) || this.partitions < 1 || this.partitions > 999) {
      throw new Error(`partitions must be an integer from 1 to 999, got ${this.partitions}`);
    }
    this.dir = options.dir;
    this.retry = options.retry ?? { baseMs: 100, maxMs: 5000 };
    this.onError = options.onError ?? (() => {});
    this.checkpointIntervalMs =
      options.checkpointIntervalMs ??
      (options.dir === undefined ? 0 : DEFAULT_CHECKPOINT_INTERVAL_MS);
    if (options.dir === undefined) {
      this.logs = Array.from({ length: this.partitions }, () => new MemoryPartition());
      this.nextSeq = 0;
      this.instanceId = newInstanceId();
      this.maxPending = options.maxPendingRecords ?? 1_000_000;
    } else {
      const segmentBytes = options.segmentBytes ?? 64 * 1024 * 1024;
      const opened = openDurablePartitions(options.dir, this.partitions, segmentBytes);
      this.logs = opened.logs;
      this.nextSeq = opened.nextSeq;
      this.instanceId = opened.instanceId;
      this.maxPending = options.maxPendingRecords ?? Number.POSITIVE_INFINITY;
    }
    this.notifiers = this.logs.map(() => new Notifier());
    this.stuckAfterMs = options.stuckAfterMs ?? DEFAULT_STUCK_AFTER_MS;
    // Records recovered from disk carry no time: dated by the opening, their age is a floor.
    const openedAt = Date.now();
    this.clocks = this.logs.map((log) => {
      const clock = new BacklogClock(openedAt);
      if (log.pending() > 0) clock.appended(this.nextSeq - 1, openedAt);
      return clock;
    });
  }

  async put(records: StreamRecord[]): Promise<PutResult> {
    if (this.closed) throw new Error("the local stream is closed");
    const job: WriteJob = { byPartition: new Map(), failed: [], done: () => {} };
    let room = this.maxPending - this.lag() - this.queuedRecords;
    for (const [index, record] of records.entries()) {
      if (recordProblem(record) !== undefined || room <= 0) {
        job.failed.push(index);
        continue;
      }
      room--;
      const partition = partitionOf(record.partitionKey, this.partitions);
      let slot = job.byPartition.get(partition);
      if (slot === undefined) {
        slot = { entries: [], indexes: [] };
        job.byPartition.set(partition, slot);
      }
      slot.entries.push({
        seq: this.nextSeq++,
        partitionKey: record.partitionKey,
        data: record.data,
      });
      slot.indexes.push(index);
    }
    if (job.byPartition.size === 0) return { failed: job.failed };
    const written = new Promise<void>((resolve) => {
      job.done = resolve;
    });
    this.queuedRecords += records.length - job.failed.length;
    this.queue.push(job);
    this.draining ??= this.drain();
    await written;
    return { failed: job.failed.sort((a, b) => a - b) };
  }

  /** Writes queued jobs in arrival (= sequence) order, batching all that wait into one sync. */
  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const jobs = this.queue.splice(0);
      const merged = new Map<number, FrameInput[]>();
      for (const job of jobs) {
        for (const [partition, slot] of job.byPartition) {
          const entries = merged.get(partition) ?? [];
          entries.push(...slot.entries);
          merged.set(partition, entries);
        }
      }
      const failedPartitions = new Set<number>();
      await Promise.all(
        [...merged].map(async ([partition, entries]) => {
          try {
            await this.logs[partition]!.append(entries);
          } catch (error) {
            failedPartitions.add(partition);
            this.onError(error, `appending to partition ${partition}`);
          }
        }),
      );
      for (const job of jobs) {
        for (const [partition, slot] of job.byPartition) {
          this.queuedRecords -= slot.indexes.length;
          if (failedPartitions.has(partition)) job.failed.push(...slot.indexes);
        }
        job.done();
      }
      const appendedAt = Date.now();
      for (const [partition, entries] of merged) {
        if (failedPartitions.has(partition)) continue;
        this.clocks[partition]!.appended(entries.at(-1)!.seq, appendedAt);
        this.notifiers[partition]!.notify();
      }
    }
    // Cleared with no await after the emptiness check, so no job can be left unwritten.
    this.draining = undefined;
  }

  consume(handler: BatchHandler, options: ConsumeOptions): Consumer {
    if (this.closed) throw new Error("the local stream is closed");
    // Two consumers would handle the same partition twice at once, breaking per-key order.
    if (this.consumer) throw new Error("the local stream already has a consumer; stop it first");
    checkConsumeOptions(options);
    const controller = new AbortController();
    const loops = Promise.all(
      this.logs.map((_, partition) =>
        this.runPartition(partition, handler, options, controller.signal),
      ),
    );
    const consumer: Consumer = {
      stop: async () => {
        controller.abort();
        await loops;
        if (this.consumer === consumer) this.consumer = undefined;
      },
    };
    this.consumer = consumer;
    return consumer;
  }

  /** Never rejects: every failure is reported, backed off and retried until stop. */
  private async runPartition(
    partition: number,
    handler: BatchHandler,
    options: ConsumeOptions,
    signal: AbortSignal,
  ): Promise<void> {
    const log = this.logs[partition]!;
    const notifier = this.notifiers[partition]!;
    const clock = this.clocks[partition]!;
    clock.started(Date.now());
    const idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
    let cursor = log.committed();
    const checkpoints = new CheckpointWriter(
      log,
      // The records were handled; a lost checkpoint only means they are redelivered.
      (error) => this.onError(error, `checkpointing partition ${partition}`),
      this.checkpointIntervalMs,
    );
    let failures = 0;
    const backOff = () => sleep(backoffDelay(++failures, this.retry), signal);
    while (!signal.aborted) {
      const seen = notifier.current;
      let batch: LogEntry[];
      try {
        batch = await log.read(cursor, options.batchSize);
      } catch (error) {
        this.onError(error, `reading partition ${partition}`);
        await backOff();
        continue;
      }
      if (signal.aborted) break; // stop() finishes the batch in flight, it starts no new one
      if (batch.length === 0) {
        await notifier.wait(seen, idleMs, signal);
        continue;
      }
      const origin = `${this.instanceId}:${partition}`;
      const records = batch.map((entry) => toConsumedRecord(entry, origin));
      let failedAt: number;
      try {
        failedAt = earliestFailure(records, await handler(records));
      } catch (error) {
        this.onError(error, `handling a batch of partition ${partition}`);
        failedAt = 0;
      }
      const handled = failedAt === -1 ? batch.length : failedAt;
      const lastHandled = batch[handled - 1];
      if (lastHandled !== undefined) {
        cursor = lastHandled.next;
        checkpoints.mark(cursor, lastHandled.seq, handled);
        clock.handled(lastHandled.seq, Date.now());
      }
      if (failedAt === -1) {
        failures = 0;
        continue;
      }
      cursor = batch[failedAt]!.at;
      await backOff();
    }
    // Stopped: the last position is on disk before close() can shut the partition.
    await checkpoints.flush();
  }

  /** Records appended and not yet handled successfully, over all partitions. */
  lag(): number {
    return this.logs.reduce((sum, log) => sum + log.pending(), 0);
  }

  /**
   * Per partition: the records appended and not yet handled (as checkpointed, which follows the
   * consumer within checkpointIntervalMs), the age of the oldest of them, and whether it is stuck.
   */
  progress(): PartitionProgress[] {
    const now = Date.now();
    return this.logs.map((log, partition) => {
      const clock = this.clocks[partition]!;
      const records = log.pending();
      const oldestAt = records === 0 ? undefined : clock.oldestAt();
      return progressOf(
        String(partition),
        records,
        oldestAt,
        clock.lastAdvance(),
        now,
        this.stuckAfterMs,
      );
    });
  }

  async ping(): Promise<void> {
    if (this.closed) throw new Error("the local stream is closed");
    if (this.dir !== undefined) await access(this.dir, constants.W_OK);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.consumer?.stop();
    await this.draining;
    await Promise.all(this.logs.map((log) => log.close()));
  }
}

function toConsumedRecord(entry: LogEntry, origin: string): ConsumedRecord {
  return {
    sequenceNumber: formatSequence(entry.seq),
    origin,
    partitionKey: entry.partitionKey,
    data: entry.data,
  };
}
