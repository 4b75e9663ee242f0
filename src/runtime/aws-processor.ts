import { SNSClient } from "@aws-sdk/client-sns";
import { AlertHub } from "../alerts/hub.ts";
import type { AlertPublisher } from "../alerts/publisher.ts";
import { snsPublisher } from "../alerts/sns.ts";
import type { Config } from "../config.ts";
import { createLogger } from "../observability/logger.ts";
import type { ProcessorDeps } from "../processor/process-batch.ts";
import { openAwsStores } from "./aws-stores.ts";
import { openRuleset } from "./open.ts";

/**
 * What the stream processor runs on in Lambda (profile aws-processor): the ledger as the
 * application role, the Redis history, the configured ruleset, and alerts to SNS. SNS stays
 * awaited inside the batch: Lambda freezes the environment once the handler returns, so
 * anything left in the background could be lost.
 */
export async function openAwsProcessor(config: Config): Promise<ProcessorDeps> {
  const { ledger, history } = await openAwsStores(config);
  const ruleset = openRuleset(config);
  const topicArn = config.ALERT_TOPIC_ARN;
  const alerts: AlertPublisher =
    topicArn === undefined ? new AlertHub() : snsPublisher(new SNSClient({}), topicArn);
  return {
    history,
    ledger,
    ruleset: () => ruleset,
    alerts,
    log: createLogger(config.LOG_LEVEL),
    source: config.KINESIS_STREAM_NAME ?? "kinesis",
  };
}
