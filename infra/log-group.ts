import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import type { StackContext } from "./context.ts";

/** Every log group: the stack's retention (30 days, OBS-1) and the customer key (SEC-1). */
export function encryptedLogGroup(
  context: StackContext,
  resourceName: string,
  logGroupName: pulumi.Input<string>,
  keyArn: pulumi.Input<string>,
  parent: pulumi.Resource,
): aws.cloudwatch.LogGroup {
  return new aws.cloudwatch.LogGroup(
    resourceName,
    {
      name: logGroupName,
      retentionInDays: context.settings.logRetentionDays,
      kmsKeyId: context.dataKey(keyArn),
    },
    { parent },
  );
}
