import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import type { Subscription } from "./config.ts";
import type { StackContext } from "./context.ts";

/**
 * Subscribes the endpoints from stack config to a topic (AWS-4). E-mail and HTTPS endpoints
 * confirm by themselves (SNS sends a confirmation); an SQS queue must let the topic send to it
 * and, when the topic is encrypted, the queue's key must let SNS use it: that is the queue
 * owner's policy, not this stack's.
 */
export function subscribe(
  context: StackContext,
  type: string,
  topic: aws.sns.Topic,
  list: readonly Subscription[],
  parent: pulumi.Resource,
): aws.sns.TopicSubscription[] {
  return list.map(
    ({ protocol, endpoint }, i) =>
      new aws.sns.TopicSubscription(
        context.name(`${type}-${protocol}-${i + 1}`),
        {
          topic: topic.arn,
          protocol,
          endpoint,
          // Alerts are JSON documents: SQS and HTTPS subscribers get them as published.
          ...(protocol !== "email" && { rawMessageDelivery: true }),
        },
        { parent },
      ),
  );
}
