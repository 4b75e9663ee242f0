import {
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type KinesisClient,
  ListShardsCommand,
  type Shard,
  type ShardIteratorType,
} from "@aws-sdk/client-kinesis";
import { type BackoffPolicy, backoffDelay, sleep } from "./backoff.ts";
import { earliestFailure } from "./batch-result.ts";
import { Notifier } from "./notifier.ts";
import { type PartitionProgress, progressOf } from "./progress.ts";
import type { BatchHandler, ConsumedRecord, ConsumeOptions, Consumer } from "./types.ts";

export interface PollerSettings {
  /** Least time between GetRecords calls on one shard (Kinesis allows 5 per second). */
  minPollIntervalMs: number;
  /** How often the shard list is re-read to find shards created by resharding. */
  shardRefreshMs: number;
  retry: BackoffPolicy;
  onError: (error: unknown, context: string) => void;
  /** See PartitionProgress.stuck. */
  stuckAfterMs: number;
}

/** What progress() reports of one shard, as its loop learns it. */
interface ShardClock {
  /** When the oldest record not handled yet reached the stream (ms); undefined: caught up. */
  oldestAt?: number;
  /** When the loop last handled a record, or started. */
  advancedAt: number;
}

const DEFAULT_IDLE_MS = 1000;
const MAX_GET_RECORDS_LIMIT = 10_000;

/**
 * Polls every shard of a stream (one loop per shard) and feeds the handler, for running the
 * processor outside Lambda. Checkpoints (last handled sequence number per shard) live in the
 * map passed in, so a later poller on the same KinesisStream resumes where this one stopped.
 * A child shard from resharding starts only once its parents are drained, keeping key order.
 */
export class ShardPoller implements Consumer {
  private readonly controller = new AbortController();
  private readonly shardsDone = new Notifier();
  private readonly running: Promise<void>;
  /** The shards being read now. */
  private readonly clocks = new Map<string, ShardClock>();

  constructor(
    private readonly client: KinesisClient,
    private readonly streamName: string,
    private readonly handler: BatchHandler,
    private readonly options: ConsumeOptions,
    private readonly checkpoints: Map<string, string>,
    private readonly settings: PollerSettings,
  ) {
    this.running = this.supervise();
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await this.running;
  }

  private get signal(): AbortSignal {
    return this.controller.signal;
  }

  /**
   * Per shard being read: the age of its oldest record not handled yet, from the records'
   * arrival times and GetRecords' MillisBehindLatest, and whether it is stuck. Kinesis does not
   * say how many records are behind, so `records` is absent.
   */
  progress(): PartitionProgress[] {
    const now = Date.now();
    return [...this.clocks].map(([shardId, clock]) =>
      progressOf(
        shardId,
        undefined,
        clock.oldestAt,
        clock.advancedAt,
        now,
        this.settings.stuckAfterMs,
      ),
    );
  }

  private async supervise(): Promise<void> {
    const loops = new Map<string, Promise<void>>();
    const finished = new Set<string>();
    let failures = 0;
    while (!this.signal.aborted) {
      const seen = this.shardsDone.current;
      let shards: Shard[];
      try {
        shards = await this.listShards();
        failures = 0;
      } catch (error) {
        if (this.signal.aborted) break;
        this.settings.onError(error, `listing the shards of ${this.streamName}`);
        await sleep(backoffDelay(++failures, this.settings.retry), this.signal);
        continue;
      }
      const listed = new Set(shards.map((shard) => shard.ShardId));
      for (const shard of shards) {
        const id = shard.ShardId;
        if (id === undefined || loops.has(id)) continue;
        const parents = [shard.ParentShardId, shard.AdjacentParentShardId];
        // A parent gone from the list has aged out of retention: nothing left to wait for.
        if (parents.some((p) => p !== undefined && listed.has(p) && !finished.has(p))) continue;
        const loop = this.runShard(id).then((closed) => {
          if (closed) finished.add(id);
          else loops.delete(id);
          this.shardsDone.notify();
        });
        loops.set(id, loop);
      }
      await this.shardsDone.wait(seen, this.settings.shardRefreshMs, this.signal);
    }
    await Promise.all(loops.values());
  }

  private async listShards(): Promise<Shard[]> {
    const shards: Shard[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.client.send(
        new ListShardsCommand(
          nextToken === undefined ? { StreamName: this.streamName } : { NextToken: nextToken },
        ),
        { abortSignal: this.signal },
      );
      shards.push(...(page.Shards ?? []));
      nextToken = page.NextToken;
    } while (nextToken !== undefined);
    return shards;
  }

  /** Resolves true once the shard is closed and fully handled, false when stopped. */
  private async runShard(shardId: string): Promise<boolean> {
    this.clocks.set(shardId, { advancedAt: Date.now() });
    try {
      return await this.readShard(shardId, this.clocks.get(shardId)!);
    } finally {
      this.clocks.delete(shardId);
    }
  }

  private async readShard(shardId: string, clock: ShardClock): Promise<boolean> {
    const idleMs = this.options.idleMs ?? DEFAULT_IDLE_MS;
    const limit = Math.min(this.options.batchSize, MAX_GET_RECORDS_LIMIT);
    let iterator: string | undefined;
    /** Where to restart after a failed batch: its earliest failed record. */
    let retryAt: string | undefined;
    let failures = 0;
    let lastPoll = 0;
    const backOff = () => sleep(backoffDelay(++failures, this.settings.retry), this.signal);
    while (!this.signal.aborted) {
      let output: GetRecordsCommandOutput;
      try {
        iterator ??= await this.iterator(shardId, retryAt);
        await sleep(lastPoll + this.settings.minPollIntervalMs - Date.now(), this.signal);
        if (this.signal.aborted) break;
        lastPoll = Date.now();
        output = await this.client.send(
          new GetRecordsCommand({ ShardIterator: iterator, Limit: limit }),
        );
      } catch (error) {
        if ((error as Error).name === "ExpiredIteratorException") {
          iterator = undefined; // re-get it from the checkpoint on the next turn
          continue;
        }
        if (this.signal.aborted) break;
        this.settings.onError(error, `reading shard ${shardId} of ${this.streamName}`);
        await backOff();
        continue;
      }
      // Stopping: leave these unhandled (not checkpointed) rather than start a new batch.
      if (this.signal.aborted) break;
      const readAt = Date.now();
      const behindMs = output.MillisBehindLatest ?? 0;
      // After this response, what waits is no older than its last record: MillisBehindLatest.
      const restAt = behindMs === 0 ? undefined : readAt - behindMs;
      const records = (output.Records ?? []).map(
        (record): ConsumedRecord => ({
          sequenceNumber: record.SequenceNumber!,
          origin: shardId,
          partitionKey: record.PartitionKey!,
          data: Buffer.from(record.Data!.buffer, record.Data!.byteOffset, record.Data!.byteLength),
        }),
      );
      if (records.length === 0) {
        clock.oldestAt = restAt;
        iterator = output.NextShardIterator;
        if (iterator === undefined) return true;
        // Behind the tip but handed nothing (a gap in the shard): read on without idling.
        if ((output.MillisBehindLatest ?? 0) === 0) await sleep(idleMs, this.signal);
        continue;
      }
      clock.oldestAt = arrivalOf(output, 0) ?? restAt ?? readAt;
      let failedAt: number;
      try {
        failedAt = earliestFailure(records, await this.handler(records));
      } catch (error) {
        this.settings.onError(error, `handling a batch of shard ${shardId}`);
        failedAt = 0;
      }
      const handled = failedAt === -1 ? records.length : failedAt;
      const lastHandled = records[handled - 1];
      if (lastHandled !== undefined) {
        this.checkpoints.set(shardId, lastHandled.sequenceNumber);
        clock.advancedAt = Date.now();
        clock.oldestAt = failedAt === -1 ? restAt : (arrivalOf(output, failedAt) ?? clock.oldestAt);
      }
      if (failedAt === -1) {
        retryAt = undefined;
        failures = 0;
        iterator = output.NextShardIterator;
        if (iterator === undefined) return true;
        continue;
      }
      retryAt = records[failedAt]!.sequenceNumber;
      iterator = undefined;
      await backOff();
    }
    return false;
  }

  /** AT the record to retry, else AFTER the checkpoint, else the oldest record kept. */
  private async iterator(shardId: string, retryAt: string | undefined): Promise<string> {
    const checkpoint = this.checkpoints.get(shardId);
    let type: ShardIteratorType = "TRIM_HORIZON";
    let from: string | undefined;
    if (retryAt !== undefined) {
      type = "AT_SEQUENCE_NUMBER";
      from = retryAt;
    } else if (checkpoint !== undefined) {
      type = "AFTER_SEQUENCE_NUMBER";
      from = checkpoint;
    }
    const output = await this.client.send(
      new GetShardIteratorCommand({
        StreamName: this.streamName,
        ShardId: shardId,
        ShardIteratorType: type,
        ...(from !== undefined && { StartingSequenceNumber: from }),
      }),
    );
    if (output.ShardIterator === undefined) throw new Error(`no iterator for shard ${shardId}`);
    return output.ShardIterator;
  }
}

/** When the `index`th record of a GetRecords response reached the stream (ms), if it says. */
function arrivalOf(output: GetRecordsCommandOutput, index: number): number | undefined {
  return output.Records?.[index]?.ApproximateArrivalTimestamp?.getTime();
}
