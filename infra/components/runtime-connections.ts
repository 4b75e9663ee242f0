import type * as pulumi from "@pulumi/pulumi";

/**
 * How the monitor's runtime finds its data stores on AWS (src/handlers/aws-connections.ts reads
 * these): addresses and secret ARNs only. Secrets themselves are fetched at run time (SEC-4).
 */
export interface RuntimeConnections {
  environment: Record<string, pulumi.Input<string>>;
  databaseSecretArn: pulumi.Input<string>;
  redisAuthSecretArn: pulumi.Input<string>;
}
