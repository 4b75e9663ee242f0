import {
  DescribeStreamSummaryCommand,
  KinesisClient,
  type KinesisClientConfig,
} from "@aws-sdk/client-kinesis";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import type { BackoffPolicy } from "./backoff.ts";
import { checkConsumeOptions } from "./batch-result.ts";
import { ShardPoller } from "./kinesis-poller.ts";
import { type PutRetryOptions, putRecordsWithRetry } from "./kinesis-producer.ts";
import { DEFAULT_STUCK_AFTER_MS, type PartitionProgress } from "./progress.ts";
import type {
  BatchHandler,
  ConsumeOptions,
  Consumer,
  PutResult,
  Stream,
  StreamRecord,
} from "./types.ts";

export interface KinesisClientSettings {
  region: string;
  /** A Kinesis-compatible endpoint (kinesalite, LocalStack); AWS's own when omitted. */
  endpoint?: string;
  credentials?: KinesisClientConfig["credentials"];
}

/** Emulators accept any key; without one the SDK would hunt for credentials (and IMDS) first. */
const EMULATOR_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };

function isLoopback(endpoint: string): boolean {
  const host = new URL(endpoint).hostname;
  return host === "localhost" || host === "[::1]" || host.startsWith("127.");
}

/**
 * A KinesisClient for AWS, or for an emulator when `endpoint` is set. The SDK's default handler
 * speaks HTTP/2 (for SubscribeToShard); emulators such as kinesalite speak HTTP/1.1 only, and
 * this code never subscribes, so an explicit endpoint gets the HTTP/1.1 handler.
 */
export function kinesisClientFrom(settings: KinesisClientSettings): KinesisClient {
  if (settings.endpoint === undefined) {
    return new KinesisClient({
      region: settings.region,
      ...(settings.credentials && { credentials: settings.credentials }),
    });
  }
  const useEmulatorKey =
    settings.credentials === undefined &&
    process.env.AWS_ACCESS_KEY_ID === undefined &&
    isLoopback(settings.endpoint);
  const credentials = useEmulatorKey ? EMULATOR_CREDENTIALS : settings.credentials;
  return new KinesisClient({
    region: settings.region,
    endpoint: settings.endpoint,
    requestHandler: new NodeHttpHandler({ connectionTimeout: 5000, requestTimeout: 30_000 }),
    ...(credentials && { credentials }),
  });
}

export interface KinesisStreamOptions {
  put?: PutRetryOptions;
  /** Least time between GetRecords calls per shard (Kinesis allows 5/s). @default 200 */
  minPollIntervalMs?: number;
  /** How often the consumer re-lists shards to pick up resharding. @default 30000 */
  shardRefreshMs?: number;
  /** Backoff between redeliveries and read retries. @default { baseMs: 100, maxMs: 5000 } */
  retry?: BackoffPolicy;
  /** Told about errors the stream recovers from itself (retried requests, handler throws). */
  onError?: (error: unknown, context: string) => void;
  /** See PartitionProgress.stuck. @default 60000 */
  stuckAfterMs?: number;
}

/**
 * The Stream port over Kinesis (AWS SDK v3). The stream owns the client: close() destroys it.
 * On AWS the processor is fed by Lambda's event source mapping; consume() is for running the
 * processor elsewhere (a container, a laptop against kinesalite) and keeps checkpoints in memory.
 */
export class KinesisStream implements Stream {
  private readonly checkpoints = new Map<string, string>();
  private readonly consumers = new Set<Consumer>();
  private readonly pollers = new Set<ShardPoller>();

  constructor(
    readonly client: KinesisClient,
    readonly streamName: string,
    private readonly options: KinesisStreamOptions = {},
  ) {}

  put(records: StreamRecord[]): Promise<PutResult> {
    const onError = this.options.put?.onError ?? this.options.onError;
    return putRecordsWithRetry(this.client, this.streamName, records, {
      ...this.options.put,
      ...(onError && { onError }),
    });
  }

  consume(handler: BatchHandler, options: ConsumeOptions): Consumer {
    // Two pollers would share the checkpoints and hand each shard's records out twice at once.
    if (this.consumers.size > 0) throw new Error("this Kinesis stream already has a consumer");
    checkConsumeOptions(options);
    const poller = new ShardPoller(
      this.client,
      this.streamName,
      handler,
      options,
      this.checkpoints,
      {
        minPollIntervalMs: this.options.minPollIntervalMs ?? 200,
        shardRefreshMs: this.options.shardRefreshMs ?? 30_000,
        retry: this.options.retry ?? { baseMs: 100, maxMs: 5000 },
        onError: this.options.onError ?? (() => {}),
        stuckAfterMs: this.options.stuckAfterMs ?? DEFAULT_STUCK_AFTER_MS,
      },
    );
    const consumer: Consumer = {
      stop: async () => {
        await poller.stop();
        this.consumers.delete(consumer);
        this.pollers.delete(poller);
      },
    };
    this.consumers.add(consumer);
    this.pollers.add(poller);
    return consumer;
  }

  /** The shards this process's consumer reads; none without one (Lambda consumes on AWS). */
  progress(): PartitionProgress[] {
    return [...this.pollers].flatMap((poller) => poller.progress());
  }

  /** Readiness: the stream exists and takes writes. */
  async ping(): Promise<void> {
    const output = await this.client.send(
      new DescribeStreamSummaryCommand({ StreamName: this.streamName }),
    );
    const status = output.StreamDescriptionSummary?.StreamStatus;
    if (status !== "ACTIVE" && status !== "UPDATING") {
      throw new Error(`Kinesis stream ${this.streamName} is ${status ?? "in an unknown state"}`);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.consumers].map((consumer) => consumer.stop()));
    this.client.destroy();
  }
}
