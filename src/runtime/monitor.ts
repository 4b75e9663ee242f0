import type { FastifyInstance } from "fastify";
import { createApiKey } from "../api/auth.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../observability/logger.ts";
import { serveAdminSocket } from "./admin-socket.ts";
import { openRuntime, type Runtime } from "./open.ts";
import { type Pipeline, startPipeline } from "./pipeline.ts";

export const DEMO_MERCHANT = "demo";

export interface Monitor {
  url: string;
  runtime: Runtime;
  app: FastifyInstance;
  /** The demo merchant's key when this start created it (once listening), else undefined. */
  firstApiKey?: string;
  /** Stops taking requests, finishes the batch in flight, closes every dependency. */
  close(): Promise<void>;
}

/** API + processor in one process: what `txwatch start` runs (LOC-1, OPS-2). */
export async function startMonitor(config: Config, log: Logger): Promise<Monitor> {
  const runtime = await openRuntime(config, log);
  let pipeline: Pipeline | undefined;
  let closeAdmin: (() => Promise<void>) | undefined;
  try {
    pipeline = await startPipeline(runtime, {
      rateLimitPerMinute: config.TXWATCH_RATE_LIMIT,
      bodyLimitBytes: config.TXWATCH_BODY_LIMIT_BYTES,
      batchSize: config.TXWATCH_BATCH_SIZE,
    });
    const url = await pipeline.app.listen({ port: config.PORT, host: config.HOST });
    closeAdmin =
      config.DATABASE_URL === undefined
        ? await serveAdminSocket(config.TXWATCH_DATA_DIR, runtime.ledger)
        : async () => {};
    // Last, once nothing else can fail: a key created by a start that then failed (a port in
    // use) would never be shown, and the next start, finding one, would print none.
    let firstApiKey: string | undefined;
    if ((await runtime.ledger.countApiKeys(DEMO_MERCHANT)) === 0) {
      firstApiKey = await createApiKey(runtime.ledger, DEMO_MERCHANT);
    }
    const running = pipeline;
    const stopAdmin = closeAdmin;
    return {
      url,
      runtime,
      app: running.app,
      ...(firstApiKey !== undefined && { firstApiKey }),
      async close() {
        await stopAdmin();
        await running.stop();
        await runtime.close();
      },
    };
  } catch (error) {
    await closeAdmin?.();
    await pipeline?.stop();
    await runtime.close();
    throw error;
  }
}
