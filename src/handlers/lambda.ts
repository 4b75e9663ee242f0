import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from "aws-lambda";
import { loadConfig } from "../config.ts";
import {
  PROCESSOR_METRICS_NAMESPACE,
  PROCESSOR_SERVICE,
  RECORDS_FAILED_METRIC,
  RECORDS_PROCESSED_METRIC,
  RECORDS_QUARANTINED_METRIC,
} from "../observability/cloudwatch-metrics.ts";
import { type ProcessorDeps, processBatch } from "../processor/process-batch.ts";
import { openAwsProcessor } from "../runtime/aws-processor.ts";
import type { ConsumedRecord } from "../stream/types.ts";

const powertoolsLogger = new Logger({ serviceName: PROCESSOR_SERVICE });
const metrics = new Metrics({
  namespace: PROCESSOR_METRICS_NAMESPACE,
  serviceName: PROCESSOR_SERVICE,
});

/** Built once per execution environment and reused across invocations. */
let depsPromise: Promise<ProcessorDeps> | undefined;

/** Resets the cached dependencies (tests open and close them per case). */
export async function resetForTests(): Promise<void> {
  const deps = await depsPromise;
  depsPromise = undefined;
  if (deps) {
    await deps.history.close();
    await deps.ledger.close();
  }
}

export function recordsOf(event: KinesisStreamEvent): ConsumedRecord[] {
  return event.Records.map((r) => ({
    sequenceNumber: r.kinesis.sequenceNumber,
    // eventID is "<shardId>:<sequenceNumber>"; the shard goes into quarantine rows' source.
    origin: r.eventID.split(":")[0]!,
    partitionKey: r.kinesis.partitionKey,
    data: Buffer.from(r.kinesis.data, "base64"),
  }));
}

/**
 * Kinesis event source mapping -> processBatch (PRC-1, CMP-1). Partial batch responses
 * (ReportBatchItemFailures) name the failed sequence numbers; when every record failed the
 * handler throws instead, so the mapping retries and bisects the batch as configured.
 */
export async function handler(event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse> {
  depsPromise ??= openAwsProcessor(loadConfig(process.env)).catch((error: unknown) => {
    depsPromise = undefined;
    throw error;
  });
  const deps = await depsPromise;
  const records = recordsOf(event);
  let quarantined = 0;
  const response = await processBatch(records, {
    ...deps,
    // REL-5: the alarm on RECORDS_QUARANTINED_METRIC pages someone for each record set aside.
    onQuarantined: (_kind, count) => {
      quarantined += count;
    },
  });
  const failed = response.batchItemFailures.length;
  metrics.addMetric(RECORDS_PROCESSED_METRIC, MetricUnit.Count, records.length - failed);
  metrics.addMetric(RECORDS_FAILED_METRIC, MetricUnit.Count, failed);
  metrics.addMetric(RECORDS_QUARANTINED_METRIC, MetricUnit.Count, quarantined);
  metrics.publishStoredMetrics();
  if (records.length > 0 && failed === records.length) {
    powertoolsLogger.error("every record of the batch failed", { records: records.length });
    throw new Error(`all ${records.length} records failed; the batch will be retried`);
  }
  return response;
}
