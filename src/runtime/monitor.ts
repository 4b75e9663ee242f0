import type { FastifyInstance } from "fastify";
import { buildApp } from "../api/app.ts";
import { createApiKey } from "../api/auth.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../observability/logger.ts";
import { processBatch } from "../processor/process-batch.ts";
import type { Consumer } from "../stream/types.ts";
import { serveAdminSocket } from "./admin-socket.ts";
import { openRuntime, type Runtime } from "./open.ts";

export const DEMO_MERCHANT = "demo";

export interface Monitor {
  url: string;
  runtime: Runtime;
  app: FastifyInstance;
  /** The demo merchant's key when this start created it (first start only), else undefined. */
  firstApiKey?: string;
  /** Stops taking requests, finishes the batch in flight, closes every dependency. */
  close(): Promise<void>;
}

/** API + processor in one process: what `txwatch start` runs (LOC-1, OPS-2). */
export async function startMonitor(config: Config, log: Logger): Promise<Monitor> {
  const runtime = await openRuntime(config, log);
  let consumer: Consumer | undefined;
  let app: FastifyInstance | undefined;
  try {
    let firstApiKey: string | undefined;
    if ((await runtime.ledger.countApiKeys(DEMO_MERCHANT)) === 0) {
      firstApiKey = await createApiKey(runtime.ledger, DEMO_MERCHANT);
    }
    app = await buildApp({
      ledger: runtime.ledger,
      history: runtime.history,
      stream: runtime.stream,
      tokenKey: runtime.tokenKey,
      hub: runtime.hub,
      metrics: runtime.metrics,
      log,
      rateLimitPerMinute: config.TXWATCH_RATE_LIMIT,
      bodyLimitBytes: config.TXWATCH_BODY_LIMIT_BYTES,
    });
    const ruleset = runtime.ruleset;
    consumer = runtime.stream.consume(
      (records) =>
        processBatch(records, {
          history: runtime.history,
          ledger: runtime.ledger,
          ruleset: () => ruleset,
          alerts: runtime.alerts,
          log,
          metrics: runtime.metrics,
          source: runtime.source,
        }),
      { batchSize: config.TXWATCH_BATCH_SIZE },
    );
    const url = await app.listen({ port: config.PORT, host: config.HOST });
    const closeAdmin =
      config.DATABASE_URL === undefined
        ? await serveAdminSocket(config.TXWATCH_DATA_DIR, runtime.ledger)
        : async () => {};
    const server = app;
    const running = consumer;
    return {
      url,
      runtime,
      app: server,
      ...(firstApiKey !== undefined && { firstApiKey }),
      async close() {
        await closeAdmin();
        await server.close();
        await running.stop();
        await runtime.close();
      },
    };
  } catch (error) {
    await app?.close();
    await consumer?.stop();
    await runtime.close();
    throw error;
  }
}
