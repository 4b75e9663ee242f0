import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { AlertHub } from "../alerts/hub.ts";
import type { Config } from "../config.ts";
import {
  HISTORY_REBUILDS_METRIC,
  PROCESSOR_METRICS_NAMESPACE,
  PROCESSOR_SERVICE,
} from "../observability/cloudwatch-metrics.ts";
import { createLogger } from "../observability/logger.ts";
import type { ProcessorDeps } from "../processor/process-batch.ts";
import { openAwsStores } from "./aws-stores.ts";
import { historyRebuildFrom } from "./history-rebuild.ts";
import { openRuleset } from "./open.ts";

/**
 * How long a batch may spend on a lost history before it is decided on what Redis holds: the
 * invocation is killed at 60 s (infra/components/stream-processor.ts), and this leaves the batch
 * time to be decided and the rebuild time to save its progress and free the lock, so the next
 * invocation goes on with it at once instead of after the lock's 30 s.
 */
export const LAMBDA_REBUILD_BUDGET_MS = 40_000;

/**
 * What the stream processor runs on in Lambda (profile aws-processor): the ledger as the
 * application role, the Redis history and the configured ruleset. It publishes alerts nowhere:
 * the API tasks deliver them to SNS from the ledger (the alert outbox, REL-6), so a batch never
 * waits for SNS and an alert SNS could not take is retried rather than lost.
 */
export async function openAwsProcessor(config: Config): Promise<ProcessorDeps> {
  const log = createLogger(config.LOG_LEVEL);
  const metrics = new Metrics({
    namespace: PROCESSOR_METRICS_NAMESPACE,
    serviceName: PROCESSOR_SERVICE,
  });
  const { ledger, history } = await openAwsStores(config, log, (ledger) => ({
    // Redis that comes back empty is rebuilt from the ledger by one invocation while the others
    // wait for it a bounded time (REL-6), a busy day over several invocations, each resuming
    // where the one before stopped; each loss is one metric data point, published at once.
    rebuild: historyRebuildFrom(ledger, {
      log,
      store: "redis",
      budgetMs: LAMBDA_REBUILD_BUDGET_MS,
      onLost: () => metrics.singleMetric().addMetric(HISTORY_REBUILDS_METRIC, MetricUnit.Count, 1),
    }),
  }));
  const ruleset = openRuleset(config);
  return {
    history,
    ledger,
    ruleset: () => ruleset,
    // The API tasks deliver alerts to SNS from the ledger (REL-6 outbox), not the processor.
    alerts: new AlertHub(),
    log,
    source: config.KINESIS_STREAM_NAME ?? "kinesis",
  };
}
