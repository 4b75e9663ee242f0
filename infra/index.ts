import * as pulumi from "@pulumi/pulumi";
import { readStackConfig } from "./config.ts";
import { buildStack } from "./program.ts";

/**
 * The Pulumi program (Pulumi.yaml `main`). Config is read and validated before any resource is
 * registered: a bad key fails `pulumi preview` with a message naming it.
 */
const config = new pulumi.Config("txwatch");
const present = Object.keys(pulumi.runtime.allConfig())
  .filter((key) => key.startsWith("txwatch:"))
  .map((key) => key.slice("txwatch:".length));
// The provider's own key, honoured rather than silently overridden by the program's provider.
const awsRegion = new pulumi.Config("aws").get("region");
const stack = buildStack(readStackConfig((key) => config.get(key), present, awsRegion));

export const {
  vpc_id,
  kinesis_stream_name,
  kinesis_stream_arn,
  redis_endpoint,
  redis_port,
  rds_endpoint,
  rds_port,
  db_secret_arn,
  elasticache_security_group_id,
  rds_security_group_id,
  alb_dns_name,
  app_logs_bucket,
  processed_data_bucket,
  processor_function_name,
  dashboard_name,
  alarm_topic_arn,
  api_url,
  admin_function_name,
  alert_topic_arn,
  access_logs_bucket,
} = stack.outputs;
