import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { StackContext } from "../context.ts";
import { encryptedLogGroup } from "../log-group.ts";
import { historyCacheShape } from "../sizing.ts";
import { REDIS_PORT } from "./security-groups.ts";

export interface HistoryCacheArgs {
  /** The stack's preset, settings and naming; required, so no component invents its own names. */
  context: StackContext;
  /** The stack's customer-managed key (SEC-1); required: nothing here is encrypted with an AWS-owned key. */
  keyArn: pulumi.Input<string>;
  /** Private subnets, one per AZ; required, so the data tier is never placed in a public subnet. */
  subnetIds: pulumi.Input<string>[];
  /** Its security group, whose rules admit only the callers (SEC-2); required. */
  securityGroupId: pulumi.Input<string>;
}

/** Redis engine version, pinned to the major.minor ElastiCache offers. @default "7.1" */
export const REDIS_ENGINE_VERSION = "7.1";

/**
 * ElastiCache member cluster ids: `<group>-001`, `<group>-002`, ... and in cluster mode, per
 * node group, `<group>-0001-001`, `<group>-0001-002`, `<group>-0002-001`, ... CloudWatch
 * publishes Redis metrics per member cluster, never per replication group, so alarms need these.
 */
export function memberClusterIds(
  replicationGroupId: string,
  clusters: number,
  shards?: number,
): string[] {
  const members = (prefix: string) =>
    Array.from({ length: clusters }, (_, i) => `${prefix}-${String(i + 1).padStart(3, "0")}`);
  if (shards === undefined) return members(replicationGroupId);
  return Array.from({ length: shards }, (_, s) =>
    members(`${replicationGroupId}-${String(s + 1).padStart(4, "0")}`),
  ).flat();
}

/**
 * The parameters of the cache's own parameter group: never evict, and in cluster mode
 * `cluster-enabled yes`, which ElastiCache requires of a cluster-mode group's parameter group
 * (the default `default.redis7.cluster.on` has it, but evicts).
 */
export function cacheParameters(clusterMode: boolean): { name: string; value: string }[] {
  return [
    { name: "maxmemory-policy", value: "noeviction" },
    ...(clusterMode ? [{ name: "cluster-enabled", value: "yes" }] : []),
  ];
}

/**
 * The 24 h history (CCH-1): a Redis replication group with a primary and >= 1 replica across two
 * AZs, automatic failover, encryption at rest (stack key) and in transit, an auth token kept in
 * Secrets Manager, slow and engine logs to CloudWatch, and `noeviction`, because an evicted
 * history key would silently weaken every velocity rule; a full cache must fail loudly instead.
 * With `historyClusterMode` (SCL-2) the same group runs in cluster mode: shards (node groups)
 * sized in sizing.ts, each a primary and `cacheReplicas` replicas, reached through the
 * configuration endpoint.
 */
export class HistoryCache extends pulumi.ComponentResource {
  readonly replicationGroup: aws.elasticache.ReplicationGroup;
  readonly replicationGroupId: string;
  readonly memberClusterIds: string[];
  readonly nodeType: string;
  /** Node groups in cluster mode; undefined with cluster mode disabled. */
  readonly shards: number | undefined;
  /**
   * Where the monitor connects: the primary endpoint, or in cluster mode the configuration
   * endpoint (cluster mode has no primary endpoint; clients discover the shards through it).
   */
  readonly endpointAddress: pulumi.Output<string>;
  readonly authSecret: aws.secretsmanager.Secret;

  constructor(name: string, args: HistoryCacheArgs, opts?: pulumi.ComponentResourceOptions) {
    super("txwatch:platform:HistoryCache", name, {}, opts);
    const { context, keyArn } = args;
    const { settings } = context;
    const parent = { parent: this };
    const clusterMode = settings.historyClusterMode;
    const shape = historyCacheShape(settings);
    this.nodeType = shape.nodeType;
    this.shards = shape.shards;
    this.replicationGroupId = context.name("history-cache");
    const clusters = 1 + settings.cacheReplicas;
    this.memberClusterIds = memberClusterIds(this.replicationGroupId, clusters, this.shards);

    const token = new random.RandomPassword(
      context.name("redis-auth-token"),
      { length: 64, special: false },
      parent,
    );
    this.authSecret = new aws.secretsmanager.Secret(
      context.name("redis-auth"),
      {
        name: context.name("redis-auth"),
        description: "Auth token of the txwatch history cache",
        kmsKeyId: keyArn,
        recoveryWindowInDays: 0,
      },
      parent,
    );
    new aws.secretsmanager.SecretVersion(
      context.name("redis-auth-version"),
      { secretId: this.authSecret.id, secretString: token.result },
      parent,
    );

    const subnetGroup = new aws.elasticache.SubnetGroup(
      context.name("cache-subnets"),
      {
        name: context.name("cache-subnets"),
        subnetIds: args.subnetIds,
        description: "private subnets",
      },
      parent,
    );
    // A group of its own in cluster mode: switching modes then makes a new parameter group
    // instead of changing `cluster-enabled` on the one a running group uses.
    const parametersName = context.name(clusterMode ? "cache-cluster-params" : "cache-params");
    const parameters = new aws.elasticache.ParameterGroup(
      parametersName,
      {
        name: parametersName,
        family: "redis7",
        description: clusterMode
          ? "txwatch history: never evict, cluster mode"
          : "txwatch history: never evict",
        parameters: cacheParameters(clusterMode),
      },
      parent,
    );
    const logDelivery = (["slow-log", "engine-log"] as const).map((logType) => {
      const group = encryptedLogGroup(
        context,
        context.name(`cache-${logType}`),
        `/txwatch/${context.name("history-cache")}/${logType}`,
        keyArn,
        this,
      );
      return {
        destination: group.name,
        destinationType: "cloudwatch-logs",
        logFormat: "json",
        logType,
      };
    });

    this.replicationGroup = new aws.elasticache.ReplicationGroup(
      this.replicationGroupId,
      {
        replicationGroupId: this.replicationGroupId,
        description: "txwatch 24-hour transaction history",
        engine: "redis",
        engineVersion: REDIS_ENGINE_VERSION,
        nodeType: this.nodeType,
        port: REDIS_PORT,
        // Cluster mode (SCL-2): ElastiCache requires automatic failover of a cluster-mode group
        // and a parameter group with cluster-enabled yes; Multi-AZ needs a replica per shard.
        ...(this.shards === undefined
          ? { numCacheClusters: clusters }
          : {
              clusterMode: "enabled",
              numNodeGroups: this.shards,
              replicasPerNodeGroup: settings.cacheReplicas,
            }),
        automaticFailoverEnabled: true,
        multiAzEnabled: true,
        atRestEncryptionEnabled: true,
        kmsKeyId: context.dataKey(keyArn),
        transitEncryptionEnabled: true,
        authToken: token.result,
        authTokenUpdateStrategy: "ROTATE",
        subnetGroupName: subnetGroup.name,
        securityGroupIds: [args.securityGroupId],
        parameterGroupName: parameters.name,
        logDeliveryConfigurations: logDelivery,
        snapshotRetentionLimit: 1,
        autoMinorVersionUpgrade: true,
        applyImmediately: true,
      },
      parent,
    );
    this.endpointAddress = clusterMode
      ? this.replicationGroup.configurationEndpointAddress
      : this.replicationGroup.primaryEndpointAddress;
    this.registerOutputs({ endpoint: this.endpointAddress });
  }
}
