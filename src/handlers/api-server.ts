import type { FastifyInstance } from "fastify";
import { AlertHub } from "../alerts/hub.ts";
import { buildApp } from "../api/app.ts";
import { decodeTokenKey, loadConfig } from "../config.ts";
import { createLogger } from "../observability/logger.ts";
import { createMetrics } from "../observability/metrics.ts";
import { KinesisStream, kinesisClientFrom } from "../stream/index.ts";
import { openAwsStores, requiredStreamName, tokenKeyText } from "./aws-connections.ts";

export interface ApiServer {
  app: FastifyInstance;
  /** Closes the HTTP server, then the stream, history and ledger connections. */
  stop(): Promise<void>;
}

/**
 * The API of the container on AWS (ECS Fargate behind the ALB, CMP-2), configured exactly like
 * the Lambda processor (same schema, key prefix and stream), from process.env and Secrets
 * Manager. Processing runs in the Lambda function fed by the Kinesis event source mapping.
 */
export async function startApiServer(): Promise<ApiServer> {
  const config = loadConfig({ ...process.env, HOST: process.env.HOST ?? "0.0.0.0" });
  // Checked before connecting to anything, so a missing setting is the error that is reported.
  const streamName = requiredStreamName(config);
  const log = createLogger(config.LOG_LEVEL);
  const tokenKey = decodeTokenKey(await tokenKeyText());
  const { ledger, history } = await openAwsStores(config);
  const stream = new KinesisStream(
    kinesisClientFrom({
      region: config.AWS_REGION,
      ...(config.KINESIS_ENDPOINT && { endpoint: config.KINESIS_ENDPOINT }),
    }),
    streamName,
  );
  const closeStores = () => Promise.all([history.close(), ledger.close(), stream.close()]);
  try {
    await ledger.migrate();
    const app = await buildApp({
      ledger,
      history,
      stream,
      tokenKey,
      hub: new AlertHub(),
      metrics: createMetrics(),
      log,
      rateLimitPerMinute: config.TXWATCH_RATE_LIMIT,
      bodyLimitBytes: config.TXWATCH_BODY_LIMIT_BYTES,
    });
    await app.listen({ port: config.PORT, host: config.HOST });
    return {
      app,
      async stop() {
        await app.close();
        await closeStores();
      },
    };
  } catch (error) {
    await closeStores().catch(() => {});
    throw error;
  }
}
