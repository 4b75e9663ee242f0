import { AlertHub } from "../alerts/hub.ts";
import { buildApp } from "../api/app.ts";
import { decodeTokenKey, loadConfig } from "../config.ts";
import { RedisHistoryStore } from "../history/index.ts";
import { openPostgresLedger } from "../ledger/index.ts";
import { createLogger } from "../observability/logger.ts";
import { createMetrics } from "../observability/metrics.ts";
import { KinesisStream, kinesisClientFrom } from "../stream/index.ts";
import { connectRedis, databasePoolConfig, tokenKeyText } from "./aws-connections.ts";

/**
 * The container entry on AWS (ECS Fargate behind the ALB, CMP-2): the API only. Processing runs
 * in the Lambda function fed by the Kinesis event source mapping.
 */
async function main(): Promise<void> {
  const config = loadConfig({ ...process.env, HOST: process.env.HOST ?? "0.0.0.0" });
  const log = createLogger(config.LOG_LEVEL);
  const ledger = await openPostgresLedger({ pool: databasePoolConfig() });
  await ledger.migrate();
  const history = new RedisHistoryStore(await connectRedis());
  const stream = new KinesisStream(
    kinesisClientFrom({
      region: config.AWS_REGION,
      ...(config.KINESIS_ENDPOINT && { endpoint: config.KINESIS_ENDPOINT }),
    }),
    config.KINESIS_STREAM_NAME ?? "transaction-stream",
  );
  const app = await buildApp({
    ledger,
    history,
    stream,
    tokenKey: decodeTokenKey(await tokenKeyText()),
    hub: new AlertHub(),
    metrics: createMetrics(),
    log,
    rateLimitPerMinute: config.TXWATCH_RATE_LIMIT,
    bodyLimitBytes: config.TXWATCH_BODY_LIMIT_BYTES,
  });
  await app.listen({ port: config.PORT, host: config.HOST });
  const stop = async () => {
    await app.close();
    await Promise.all([history.close(), ledger.close(), stream.close()]);
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop());
  process.once("SIGINT", () => void stop());
}

await main();
