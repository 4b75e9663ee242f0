import { PublishBatchCommand, type SNSClient } from "@aws-sdk/client-sns";
import type { Alert } from "../ledger/types.ts";
import {
  type AlertChannel,
  type AlertOutcome,
  errorReason,
  type SendResult,
} from "../outbox/alert-channel.ts";

/** PublishBatch takes ten entries at most. */
const SNS_BATCH = 10;

/**
 * Errors of a whole PublishBatch that retrying the same request cannot fix: its content is at
 * fault. Anything else (throttling, SNS or KMS unavailable, the network, but also a missing
 * topic or permission: a deployment to fix) is tried again, for as long as the alerts' max age.
 */
const REFUSED_REQUEST = new Set([
  "InvalidParameterException",
  "InvalidParameterValueException",
  "ValidationException",
  "BatchRequestTooLongException",
  "BatchEntryIdsNotDistinctException",
  "EmptyBatchRequestException",
  "InvalidBatchEntryIdException",
  "TooManyEntriesInBatchRequestException",
]);

/**
 * The SNS topic as an outbox channel (REL-6, AWS): up to ten alerts per PublishBatch, each
 * entry's answer its own (an entry SNS blames on the sender is refused, any other failed
 * entry is tried again). Each message is the alert as JSON, with its id, merchant and rule as
 * message attributes too (for subscription filters and deduplication).
 */
export function snsChannel(
  client: Pick<SNSClient, "send">,
  topicArn: string,
  options: { timeoutMs?: number } = {},
): AlertChannel {
  return {
    name: "sns",
    maxBatch: SNS_BATCH,
    timeoutMs: options.timeoutMs ?? 10_000,
    async send(alerts: Alert[], signal: AbortSignal): Promise<SendResult> {
      if (alerts.length > SNS_BATCH) throw new Error(`at most ${SNS_BATCH} alerts per request`);
      try {
        const out = await client.send(
          new PublishBatchCommand({
            TopicArn: topicArn,
            PublishBatchRequestEntries: alerts.map((alert, j) => ({
              Id: String(j),
              Subject: `txwatch ${alert.action}: ${alert.rule}`.slice(0, 100),
              Message: JSON.stringify(alert),
              MessageAttributes: {
                alertId: { DataType: "String", StringValue: alert.id },
                merchantId: { DataType: "String", StringValue: alert.merchantId },
                rule: { DataType: "String", StringValue: alert.rule },
              },
            })),
          }),
          { abortSignal: signal },
        );
        const failed = new Map((out.Failed ?? []).map((f) => [f.Id, f]));
        const succeeded = new Set((out.Successful ?? []).map((s) => s.Id));
        const outcomes = alerts.map((_, j): AlertOutcome => {
          const failure = failed.get(String(j));
          if (failure !== undefined) {
            const reason = `SNS ${failure.Code ?? "error"}`;
            return failure.SenderFault === true
              ? { kind: "refused", reason }
              : { kind: "failed", reason };
          }
          return succeeded.has(String(j))
            ? { kind: "delivered" }
            : { kind: "failed", reason: "SNS gave no answer for the entry" };
        });
        return { kind: "each", outcomes };
      } catch (error) {
        const name = error instanceof Error ? error.name : "";
        return REFUSED_REQUEST.has(name)
          ? { kind: "refused", reason: `SNS ${name}` }
          : { kind: "failed", reason: errorReason("SNS", error) };
      }
    },
  };
}
