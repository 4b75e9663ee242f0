import { PublishBatchCommand, type SNSClient } from "@aws-sdk/client-sns";
import type { Alert } from "../ledger/types.ts";
import type { AlertPublisher } from "./publisher.ts";

/** Publishes alerts to an SNS topic (AWS), ten per PublishBatch call (the API's limit). */
export function snsPublisher(client: SNSClient, topicArn: string): AlertPublisher {
  return {
    async publish(alerts: Alert[]) {
      for (let i = 0; i < alerts.length; i += 10) {
        const chunk = alerts.slice(i, i + 10);
        const out = await client.send(
          new PublishBatchCommand({
            TopicArn: topicArn,
            PublishBatchRequestEntries: chunk.map((alert, j) => ({
              Id: String(j),
              Subject: `txwatch ${alert.action}: ${alert.rule}`.slice(0, 100),
              Message: JSON.stringify(alert),
              MessageAttributes: {
                merchantId: { DataType: "String", StringValue: alert.merchantId },
                rule: { DataType: "String", StringValue: alert.rule },
              },
            })),
          }),
        );
        if ((out.Failed?.length ?? 0) > 0) {
          throw new Error(`SNS refused ${out.Failed!.length} alert(s): ${out.Failed![0]!.Code}`);
        }
      }
    },
  };
}
