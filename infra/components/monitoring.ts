import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  HISTORY_REBUILDS_METRIC,
  PROCESSOR_METRICS_NAMESPACE,
  PROCESSOR_SERVICE,
  RECORDS_QUARANTINED_METRIC,
} from "../../src/observability/cloudwatch-metrics.ts";
import { subscriptions } from "../config.ts";
import type { StackContext } from "../context.ts";
import { policyDocument } from "../iam.ts";
import { subscribe } from "../subscriptions.ts";
import { dashboardBody } from "./dashboard-body.ts";

export interface MonitoringArgs {
  /** The stack's preset, settings and naming; required, so no component invents its own names. */
  context: StackContext;
  /** The stack's customer-managed key (SEC-1); required: nothing here is encrypted with an AWS-owned key. */
  keyArn: pulumi.Input<string>;
  /** The stream name the runtime reads as KINESIS_STREAM_NAME; required. */
  streamName: pulumi.Input<string>;
  /** The processor Lambda, the FunctionName dimension; required. */
  functionName: pulumi.Input<string>;
  /** The processor's failure queue, the QueueName dimension; required. */
  deadLetterQueueName: pulumi.Input<string>;
  /**
   * Redis member clusters (`<group>-001`, ..., or `<group>-0001-001`, ... in cluster mode):
   * Redis metrics exist only per member.
   */
  cacheClusterIds: string[];
  /** RDS `DBInstanceIdentifier` values (the instance `identifier`, not its Pulumi id). */
  databaseInstanceIds: string[];
  /** Aurora's `DBClusterIdentifier`, when the ledger is Aurora. */
  databaseClusterId: string | undefined;
  /** The ALB's `LoadBalancer` dimension (its ARN suffix, not its name); required. */
  loadBalancerArnSuffix: pulumi.Input<string>;
  /** The target group's `TargetGroup` dimension (its ARN suffix); required. */
  targetGroupArnSuffix: pulumi.Input<string>;
}

interface AlarmSpec {
  id: string;
  namespace: string;
  metricName: string;
  dimensions: Record<string, pulumi.Input<string>>;
  statistic: "Average" | "Maximum" | "Sum" | "Minimum";
  threshold: number;
  comparisonOperator:
    | "GreaterThanThreshold"
    | "LessThanThreshold"
    | "GreaterThanOrEqualToThreshold";
  description: string;
  periodSeconds?: number;
  evaluationPeriods?: number;
}

/** Free storage below this many bytes pages someone (RDS). */
export const FREE_STORAGE_ALARM_BYTES = 5 * 1024 ** 3;

/**
 * Alarms on every stage of the pipeline wired to an encrypted SNS topic, and one dashboard
 * (OBS-2, OBS-3). Dimensions are the ones CloudWatch actually publishes: StreamName,
 * FunctionName, QueueName, CacheClusterId per Redis member, DBInstanceIdentifier /
 * DBClusterIdentifier, and the ALB / target group ARN suffixes.
 */
export class Monitoring extends pulumi.ComponentResource {
  readonly alarmTopic: aws.sns.Topic;
  readonly dashboard: aws.cloudwatch.Dashboard;
  readonly alarms: aws.cloudwatch.MetricAlarm[] = [];

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("txwatch:platform:Monitoring", name, {}, opts);
    const { context } = args;
    const parent = { parent: this };
    this.alarmTopic = new aws.sns.Topic(
      context.name("alarm-topic"),
      { name: context.name("alarm-topic"), kmsMasterKeyId: context.dataKey(args.keyArn) },
      parent,
    );
    new aws.sns.TopicPolicy(
      context.name("alarm-topic-policy"),
      {
        arn: this.alarmTopic.arn,
        policy: policyDocument([
          {
            Sid: "CloudWatchAlarmsPublish",
            Effect: "Allow",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: "sns:Publish",
            Resource: this.alarmTopic.arn,
            Condition: { StringEquals: { "aws:SourceAccount": context.accountId } },
          },
        ]),
      },
      parent,
    );
    if (context.settings.alarmEmail !== "") {
      new aws.sns.TopicSubscription(
        context.name("alarm-email"),
        { topic: this.alarmTopic.arn, protocol: "email", endpoint: context.settings.alarmEmail },
        parent,
      );
    }
    subscribe(
      context,
      "alarm-topic",
      this.alarmTopic,
      subscriptions(context.settings, "alarmSubscriptions"),
      this,
    );
    for (const spec of alarmSpecs(args)) this.alarms.push(this.alarm(context, spec));
    this.dashboard = new aws.cloudwatch.Dashboard(
      context.name("txwatch-dashboard"),
      {
        dashboardName: context.name("txwatch"),
        dashboardBody: dashboardBody({ ...args, region: context.region }),
      },
      parent,
    );
    this.registerOutputs({ topicArn: this.alarmTopic.arn });
  }

  private alarm(context: StackContext, spec: AlarmSpec): aws.cloudwatch.MetricAlarm {
    return new aws.cloudwatch.MetricAlarm(
      context.name(spec.id),
      {
        name: context.name(spec.id),
        alarmDescription: spec.description,
        namespace: spec.namespace,
        metricName: spec.metricName,
        dimensions: spec.dimensions,
        statistic: spec.statistic,
        period: spec.periodSeconds ?? 60,
        evaluationPeriods: evaluationPeriods(spec),
        datapointsToAlarm: evaluationPeriods(spec),
        threshold: spec.threshold,
        comparisonOperator: spec.comparisonOperator,
        treatMissingData: "notBreaching",
        alarmActions: [this.alarmTopic.arn],
        okActions: [this.alarmTopic.arn],
      },
      { parent: this },
    );
  }
}

/**
 * How many breaching minutes raise an alarm (AWS-4). A count (errors, throttles, evictions,
 * 5xx) alarms on one: the metric is only published in the minutes something happened, so "5
 * consecutive minutes" would let occasional failures pass unseen for ever. A level (CPU,
 * memory, lag, free storage) must hold for 5 minutes, so a spike does not page anyone.
 */
export function evaluationPeriods(
  spec: Pick<AlarmSpec, "statistic" | "evaluationPeriods">,
): number {
  return spec.evaluationPeriods ?? (spec.statistic === "Sum" ? 1 : 5);
}

/** Every alarm the pipeline needs, as data (tested on its own for dimensions). */
export function alarmSpecs(args: MonitoringArgs): AlarmSpec[] {
  const stream = { StreamName: args.streamName };
  const fn = { FunctionName: args.functionName };
  const specs: AlarmSpec[] = [
    {
      id: "kinesis-iterator-age",
      namespace: "AWS/Kinesis",
      metricName: "GetRecords.IteratorAgeMilliseconds",
      dimensions: stream,
      statistic: "Maximum",
      threshold: 60_000,
      comparisonOperator: "GreaterThanThreshold",
      description: "The processor is more than a minute behind the stream",
    },
    {
      id: "kinesis-write-throttled",
      namespace: "AWS/Kinesis",
      metricName: "WriteProvisionedThroughputExceeded",
      dimensions: stream,
      statistic: "Sum",
      threshold: 0,
      comparisonOperator: "GreaterThanThreshold",
      description: "Ingest is throttled by the stream: add shards",
    },
    {
      id: "kinesis-read-throttled",
      namespace: "AWS/Kinesis",
      metricName: "ReadProvisionedThroughputExceeded",
      dimensions: stream,
      statistic: "Sum",
      threshold: 0,
      comparisonOperator: "GreaterThanThreshold",
      description: "Stream reads are throttled",
    },
    {
      id: "processor-errors",
      namespace: "AWS/Lambda",
      metricName: "Errors",
      dimensions: fn,
      statistic: "Sum",
      threshold: 0,
      comparisonOperator: "GreaterThanThreshold",
      description: "The stream processor failed whole batches",
    },
    {
      id: "processor-throttles",
      namespace: "AWS/Lambda",
      metricName: "Throttles",
      dimensions: fn,
      statistic: "Sum",
      threshold: 0,
      comparisonOperator: "GreaterThanThreshold",
      description: "The stream processor is throttled",
    },
    {
      id: "processor-dlq-depth",
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: args.deadLetterQueueName },
      statistic: "Maximum",
      threshold: 0,
      comparisonOperator: "GreaterThanThreshold",
      description: "Batches gave up and wait in the failure queue",
      // A queue depth is a level, but any message in it is a lost batch to look at now.
      evaluationPeriods: 1,
    },
    {
      // REL-5: published by the processor (Powertools EMF, dimension `service`) per batch.
      id: "processor-quarantine",
      namespace: PROCESSOR_METRICS_NAMESPACE,
      metricName: RECORDS_QUARANTINED_METRIC,
      dimensions: { service: PROCESSOR_SERVICE },
      statistic: "Sum",
      threshold: 0,
      comparisonOperator: "GreaterThanThreshold",
      description: "Stream records were quarantined: malformed, or refused by the ledger for good",
    },
    {
      // REL-6: published by the processor (src/runtime/aws-processor.ts) once per loss.
      id: "processor-history-rebuilt",
      namespace: PROCESSOR_METRICS_NAMESPACE,
      metricName: HISTORY_REBUILDS_METRIC,
      dimensions: { service: PROCESSOR_SERVICE },
      statistic: "Sum",
      threshold: 0,
      comparisonOperator: "GreaterThanThreshold",
      description:
        "Redis lost the 24-hour history (restarted empty); the processor rebuilt it from the ledger",
    },
    {
      id: "alb-5xx",
      namespace: "AWS/ApplicationELB",
      metricName: "HTTPCode_Target_5XX_Count",
      dimensions: { LoadBalancer: args.loadBalancerArnSuffix },
      statistic: "Sum",
      threshold: 10,
      comparisonOperator: "GreaterThanThreshold",
      description: "The API answers 5xx",
    },
    {
      id: "alb-elb-5xx",
      namespace: "AWS/ApplicationELB",
      metricName: "HTTPCode_ELB_5XX_Count",
      dimensions: { LoadBalancer: args.loadBalancerArnSuffix },
      statistic: "Sum",
      threshold: 10,
      comparisonOperator: "GreaterThanThreshold",
      description: "The load balancer answers 5xx (no healthy task?)",
    },
    {
      id: "alb-unhealthy-targets",
      namespace: "AWS/ApplicationELB",
      metricName: "UnHealthyHostCount",
      dimensions: {
        LoadBalancer: args.loadBalancerArnSuffix,
        TargetGroup: args.targetGroupArnSuffix,
      },
      statistic: "Maximum",
      threshold: 0,
      comparisonOperator: "GreaterThanThreshold",
      description: "An API task fails its /healthz check",
    },
  ];
  for (const clusterId of args.cacheClusterIds) {
    const dims = { CacheClusterId: clusterId };
    // `001`, or in cluster mode `0001-001` (shard and member), so names stay unique.
    const tag = clusterId.slice(args.context.settings.historyClusterMode ? -8 : -3);
    specs.push(
      cacheAlarm(
        `redis-cpu-${tag}`,
        "EngineCPUUtilization",
        dims,
        80,
        "Redis engine CPU above 80%",
      ),
      cacheAlarm(
        `redis-memory-${tag}`,
        "DatabaseMemoryUsagePercentage",
        dims,
        80,
        "Redis memory above 80%: the 24 h history outgrows the node",
      ),
      cacheAlarm(`redis-evictions-${tag}`, "Evictions", dims, 0, "Redis evicted keys", "Sum"),
      // Every member: after a failover the first one is the replica.
      cacheAlarm(
        `redis-replication-lag-${tag}`,
        "ReplicationLag",
        dims,
        5,
        "Replica more than 5 s behind",
      ),
    );
  }
  const aurora = args.databaseClusterId !== undefined;
  const databaseDims = aurora
    ? [{ DBClusterIdentifier: args.databaseClusterId as string }]
    : args.databaseInstanceIds.map((id) => ({ DBInstanceIdentifier: id }));
  for (const dims of databaseDims) {
    specs.push(
      dbAlarm(
        "db-cpu",
        "CPUUtilization",
        dims,
        80,
        "GreaterThanThreshold",
        "Database CPU above 80%",
      ),
      dbAlarm(
        "db-connections",
        "DatabaseConnections",
        dims,
        200,
        "GreaterThanThreshold",
        "Database connections above 200",
      ),
    );
  }
  // Aurora storage grows by itself; what can run out is each instance's local (temp) storage.
  const storageMetric = aurora ? "FreeLocalStorage" : "FreeStorageSpace";
  args.databaseInstanceIds.forEach((id, i) => {
    specs.push(
      dbAlarm(
        args.databaseInstanceIds.length > 1 ? `db-free-storage-${i + 1}` : "db-free-storage",
        storageMetric,
        { DBInstanceIdentifier: id },
        FREE_STORAGE_ALARM_BYTES,
        "LessThanThreshold",
        "Database free storage below 5 GiB",
      ),
    );
  });
  return specs;
}

function cacheAlarm(
  id: string,
  metricName: string,
  dimensions: Record<string, string>,
  threshold: number,
  description: string,
  statistic: AlarmSpec["statistic"] = "Average",
): AlarmSpec {
  return {
    id,
    namespace: "AWS/ElastiCache",
    metricName,
    dimensions,
    statistic,
    threshold,
    comparisonOperator: "GreaterThanThreshold",
    description,
  };
}

function dbAlarm(
  id: string,
  metricName: string,
  dimensions: Record<string, string>,
  threshold: number,
  comparisonOperator: AlarmSpec["comparisonOperator"],
  description: string,
): AlarmSpec {
  return {
    id,
    namespace: "AWS/RDS",
    metricName,
    dimensions,
    statistic: comparisonOperator === "LessThanThreshold" ? "Minimum" : "Average",
    threshold,
    comparisonOperator,
    description,
  };
}
