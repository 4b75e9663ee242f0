import type { FastifyInstance } from "fastify";
import { AlertHub } from "../alerts/hub.ts";
import { buildApp } from "../api/app.ts";
import { decodeTokenKey, loadConfig } from "../config.ts";
import { ApiError } from "../errors.ts";
import { createLogger } from "../observability/logger.ts";
import { createMetrics } from "../observability/metrics.ts";
import type { AlertOutbox } from "../outbox/alert-outbox.ts";
import { startConfiguredOutbox } from "../outbox/configured-outbox.ts";
import { type LedgerAlertFeed, startLedgerAlertFeed } from "../outbox/ledger-alert-feed.ts";
import { KinesisStream, kinesisClientFrom } from "../stream/index.ts";
import { openAwsStores, requiredStreamName, tokenKeyText } from "./aws-stores.ts";

export interface ApiServer {
  app: FastifyInstance;
  /** Closes the HTTP server, then the stream, claims, history and ledger connections. */
  stop(): Promise<void>;
}

/**
 * The API of the container on AWS (ECS Fargate behind the ALB, CMP-2), configured exactly like
 * the Lambda processor (same schema, key prefix and stream), from process.env and Secrets
 * Manager. Processing runs in the Lambda function fed by the Kinesis event source mapping.
 * It connects as the application role and never migrates: the owner step does
 * (src/handlers/admin.ts, AWS-3). It also delivers the ledger's alerts to SNS (ALERT_TOPIC_ARN)
 * and the webhook when one is configured (the alert outbox, REL-6): every task runs the
 * outbox, and a lease on each channel's cursor lets one task at a time deliver it.
 */
export async function startApiServer(): Promise<ApiServer> {
  const config = loadConfig({ ...process.env, HOST: process.env.HOST ?? "0.0.0.0" });
  // Checked before connecting to anything, so a missing setting is the error that is reported.
  const streamName = requiredStreamName(config);
  const log = createLogger(config.LOG_LEVEL);
  const tokenKey = decodeTokenKey(await tokenKeyText(config));
  const { ledger, history, claims } = await openAwsStores(config, log);
  let stream: KinesisStream | undefined;
  const closeStores = () =>
    settleAll([
      // First, while the Redis client it shares with the history is open: its liveness mark goes.
      () => claims.close(),
      () => history.close(),
      () => ledger.close(),
      async () => stream?.close(),
    ]);
  let app: FastifyInstance | undefined;
  let alertFeed: LedgerAlertFeed | undefined;
  let outbox: AlertOutbox | undefined;
  try {
    stream = new KinesisStream(
      kinesisClientFrom({
        region: config.AWS_REGION,
        ...(config.KINESIS_ENDPOINT && { endpoint: config.KINESIS_ENDPOINT }),
      }),
      streamName,
    );
    const hub = new AlertHub();
    const metrics = createMetrics();
    app = await buildApp(
      {
        ledger,
        history,
        claims,
        stream,
        tokenKey,
        hub,
        metrics,
        log,
        rateLimitPerMinute: config.TXWATCH_RATE_LIMIT,
        bodyLimitBytes: config.TXWATCH_BODY_LIMIT_BYTES,
      },
      // Behind the load balancer: the client is the address it appends to X-Forwarded-For, so
      // failed authentications are counted per client, not all as the load balancer's.
      { trustedProxyHops: 1 },
    );
    refuseMetricsThroughTheLoadBalancer(app);
    await app.listen({ port: config.PORT, host: config.HOST });
    // Alerts are raised in the Lambda: the live streams hear them from the ledger (AWS-4).
    alertFeed = await startLedgerAlertFeed({ ledger, hub, log });
    outbox = await startConfiguredOutbox(config, {
      ledger,
      log,
      metrics,
      channels: ["sns", "webhook"],
    });
  } catch (error) {
    // Whatever was made is closed, the app too (its onClose hooks), then the error is the
    // caller's: a port in use must not leave connections keeping the process alive.
    const made = app;
    const feed = alertFeed;
    await settleAll([async () => feed?.stop(), async () => made?.close(), closeStores]).catch(
      () => {},
    );
    throw error;
  }
  const started = { app, alertFeed, outbox };
  return {
    app: started.app,
    // Every step is tried even when one fails (a ledger that cannot close must not leave Redis
    // open); the first failure is then thrown. The outbox stops first and hands its leases
    // over, so another task delivers at once.
    stop: () =>
      settleAll([
        async () => started.outbox?.stop(),
        () => started.alertFeed.stop(),
        () => started.app.close(),
        closeStores,
      ]),
  };
}

/**
 * `/metrics` stays inside the VPC (AWS-5). The load balancer refuses the path, but compares it
 * as written, while the router decodes it (`/%6detrics` is the same route): so the route itself
 * refuses what came through the load balancer, which always adds X-Forwarded-For. A scraper in
 * the VPC reaches the task directly and sends none.
 */
export function refuseMetricsThroughTheLoadBalancer(app: FastifyInstance): void {
  app.addHook("onRequest", async (request) => {
    if (
      request.routeOptions.url === "/metrics" &&
      request.headers["x-forwarded-for"] !== undefined
    ) {
      throw new ApiError("TXW_ERR_NOT_FOUND", "no such route");
    }
  });
}

/** Runs the steps in order, each whatever the previous did; rejects with the first failure. */
async function settleAll(steps: (() => Promise<unknown>)[]): Promise<void> {
  let failure: { error: unknown } | undefined;
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      failure ??= { error };
    }
  }
  if (failure !== undefined) throw failure.error;
}
