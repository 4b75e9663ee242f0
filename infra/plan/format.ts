import type { PlannedResource, StackPlan } from "./capture.ts";

/** Pulumi hands secret values to mocks wrapped under this signature key. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** Secrets never reach a plan's output, whatever their shape. */
export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (value !== null && typeof value === "object") {
    if (SECRET_SIG in value) return "[secret]";
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactSecrets(v)]));
  }
  return value;
}

/** The settings worth a glance per resource type; the JSON form has every input. */
const KEY_SETTINGS: Readonly<Record<string, readonly string[]>> = {
  "aws:ec2/vpc:Vpc": ["cidrBlock"],
  "aws:ec2/subnet:Subnet": ["cidrBlock", "availabilityZone"],
  "aws:ec2/vpcEndpoint:VpcEndpoint": ["serviceName", "vpcEndpointType"],
  "aws:kms/key:Key": ["enableKeyRotation", "deletionWindowInDays"],
  "aws:kinesis/stream:Stream": ["name", "shardCount", "retentionPeriod", "encryptionType"],
  "aws:elasticache/replicationGroup:ReplicationGroup": [
    "nodeType",
    "numCacheClusters",
    "clusterMode",
    "numNodeGroups",
    "replicasPerNodeGroup",
    "multiAzEnabled",
    "transitEncryptionEnabled",
  ],
  "aws:rds/instance:Instance": [
    "engine",
    "engineVersion",
    "instanceClass",
    "multiAz",
    "backupRetentionPeriod",
  ],
  "aws:rds/cluster:Cluster": [
    "engine",
    "engineVersion",
    "serverlessv2ScalingConfiguration",
    "backupRetentionPeriod",
  ],
  "aws:rds/clusterInstance:ClusterInstance": ["identifier", "instanceClass", "promotionTier"],
  "aws:lambda/function:Function": ["name", "runtime", "architectures", "memorySize"],
  "aws:lambda/eventSourceMapping:EventSourceMapping": [
    "batchSize",
    "parallelizationFactor",
    "bisectBatchOnFunctionError",
    "functionResponseTypes",
  ],
  "aws:ecs/taskDefinition:TaskDefinition": ["family", "cpu", "memory", "runtimePlatform"],
  "aws:ecs/service:Service": ["name", "desiredCount", "launchType"],
  "aws:lb/loadBalancer:LoadBalancer": ["name", "internal"],
  "aws:lb/listener:Listener": ["port", "protocol"],
  "aws:s3/bucket:Bucket": ["bucket"],
  "aws:cloudwatch/logGroup:LogGroup": ["name", "retentionInDays"],
  "aws:cloudwatch/metricAlarm:MetricAlarm": ["namespace", "metricName", "dimensions"],
  "aws:ec2/natGateway:NatGateway": ["connectivityType"],
};

function show(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function line(resource: PlannedResource): string {
  const keys = KEY_SETTINGS[resource.type] ?? [];
  const settings = keys
    .filter((k) => resource.inputs[k] !== undefined)
    .map((k) => `${k}=${show(redactSecrets(resource.inputs[k]))}`);
  return `  ${resource.name}${settings.length > 0 ? `  ${settings.join(" ")}` : ""}`;
}

/** The plan as text: a header, then resources grouped by type in registration order. */
export function formatPlan(plan: StackPlan): string {
  const { config } = plan;
  const byType = new Map<string, PlannedResource[]>();
  for (const r of plan.resources) byType.set(r.type, [...(byType.get(r.type) ?? []), r]);
  const out = [
    `txwatch plan: preset ${config.preset}, environmentSuffix ${config.environmentSuffix}, region ${config.settings.region}: ${plan.resources.length} resources`,
  ];
  for (const [type, resources] of byType) {
    out.push("", `${type} (${resources.length})`, ...resources.map(line));
  }
  out.push("", "outputs", ...Object.entries(plan.outputs).map(([k, v]) => `  ${k} = ${show(v)}`));
  return `${out.join("\n")}\n`;
}

/** The plan as JSON: every input, secrets redacted. */
export function planJson(plan: StackPlan): string {
  return `${JSON.stringify(
    {
      preset: plan.config.preset,
      environmentSuffix: plan.config.environmentSuffix,
      settings: plan.config.settings,
      resources: plan.resources.map((r) => ({
        type: r.type,
        name: r.name,
        inputs: redactSecrets(r.inputs),
      })),
      outputs: plan.outputs,
    },
    null,
    2,
  )}\n`;
}
