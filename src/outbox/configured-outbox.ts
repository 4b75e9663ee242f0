import { SNSClient } from "@aws-sdk/client-sns";
import { snsChannel } from "../alerts/sns.ts";
import { webhookChannel } from "../alerts/webhook-delivery.ts";
import type { Config } from "../config.ts";
import type { AlertChannelName } from "../ledger/types.ts";
import type { Logger } from "../observability/logger.ts";
import type { AlertChannel } from "./alert-channel.ts";
import { type AlertOutbox, startAlertOutbox } from "./alert-outbox.ts";
import type { OutboxLedger, OutboxMetrics } from "./channel-worker.ts";

export interface ConfiguredOutboxDeps {
  ledger: OutboxLedger;
  log: Logger;
  metrics?: OutboxMetrics;
  /**
   * The channels this process may deliver, each when configured: the webhook with
   * ALERT_WEBHOOK_URL, SNS with ALERT_TOPIC_ARN.
   */
  channels: AlertChannelName[];
}

/**
 * The alert outbox of a process from its configuration (REL-6): started with the configured
 * channels among `channels`, or undefined when none is configured.
 */
export async function startConfiguredOutbox(
  config: Config,
  deps: ConfiguredOutboxDeps,
): Promise<AlertOutbox | undefined> {
  const channels: AlertChannel[] = [];
  if (deps.channels.includes("webhook") && config.ALERT_WEBHOOK_URL !== undefined) {
    channels.push(webhookChannel({ url: config.ALERT_WEBHOOK_URL }));
  }
  if (deps.channels.includes("sns") && config.ALERT_TOPIC_ARN !== undefined) {
    channels.push(snsChannel(new SNSClient({ region: config.AWS_REGION }), config.ALERT_TOPIC_ARN));
  }
  if (channels.length === 0) return undefined;
  return startAlertOutbox({
    ledger: deps.ledger,
    channels,
    log: deps.log,
    ...(deps.metrics !== undefined && { metrics: deps.metrics }),
    maxAgeMs: config.ALERT_DELIVERY_MAX_AGE_SECONDS * 1000,
    maxAttempts: config.ALERT_DELIVERY_MAX_ATTEMPTS,
  });
}
