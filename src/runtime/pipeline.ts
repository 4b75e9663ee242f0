import type { FastifyInstance } from "fastify";
import { buildApp } from "../api/app.ts";
import type { ApiDeps } from "../api/types.ts";
import { registerStreamGauges } from "../observability/stream-gauges.ts";
import { type ProcessorDeps, processBatch } from "../processor/process-batch.ts";
import type { Consumer } from "../stream/types.ts";
import type { Runtime } from "./open.ts";

/**
 * What the pipeline runs on. A `Runtime` from openRuntime is one; the test harness and the
 * benchmark assemble theirs from their own ledger, history, claims and stream.
 */
export type PipelineRuntime = Pick<
  Runtime,
  | "ledger"
  | "history"
  | "claims"
  | "stream"
  | "tokenKey"
  | "hub"
  | "alerts"
  | "metrics"
  | "log"
  | "ruleset"
  | "source"
>;

export interface PipelineOptions {
  rateLimitPerMinute: number;
  bodyLimitBytes: number;
  /** Largest batch handed to processBatch. */
  batchSize: number;
  /** How long an idle partition waits before polling again, in ms (the stream's default). */
  idleMs?: number;
  /** false: API only, nothing consumes the stream. @default true */
  process?: boolean;
}

export interface Pipeline {
  /** The HTTP API, built but not listening: callers listen or inject. */
  app: FastifyInstance;
  api: ApiDeps;
  processor: ProcessorDeps;
  /** The stream consumer feeding processBatch; undefined with `process: false`. */
  consumer?: Consumer;
  /** Closes the API, then stops the consumer once its batch in flight is handled. */
  stop(): Promise<void>;
}

/**
 * The API in front of the stream and processBatch behind it: the one wiring that
 * `txwatch start`, the test harness and the benchmark share. It closes nothing it did not open:
 * the runtime's ledger, history, claims and stream stay the caller's.
 */
export async function startPipeline(
  runtime: PipelineRuntime,
  options: PipelineOptions,
): Promise<Pipeline> {
  const api: ApiDeps = {
    ledger: runtime.ledger,
    history: runtime.history,
    claims: runtime.claims,
    stream: runtime.stream,
    tokenKey: runtime.tokenKey,
    hub: runtime.hub,
    metrics: runtime.metrics,
    log: runtime.log,
    rateLimitPerMinute: options.rateLimitPerMinute,
    bodyLimitBytes: options.bodyLimitBytes,
  };
  const ruleset = runtime.ruleset;
  const processor: ProcessorDeps = {
    history: runtime.history,
    ledger: runtime.ledger,
    ruleset: () => ruleset,
    alerts: runtime.alerts,
    log: runtime.log,
    metrics: runtime.metrics,
    source: runtime.source,
  };
  const progress = runtime.stream.progress?.bind(runtime.stream);
  if (progress !== undefined) registerStreamGauges(runtime.metrics.registry, progress);
  const app = await buildApp(api);
  let consumer: Consumer | undefined;
  try {
    if (options.process !== false) {
      consumer = runtime.stream.consume((records) => processBatch(records, processor), {
        batchSize: options.batchSize,
        ...(options.idleMs !== undefined && { idleMs: options.idleMs }),
      });
    }
  } catch (error) {
    await app.close();
    throw error;
  }
  const running = consumer;
  return {
    app,
    api,
    processor,
    ...(running !== undefined && { consumer: running }),
    async stop() {
      await app.close();
      await running?.stop();
    },
  };
}
