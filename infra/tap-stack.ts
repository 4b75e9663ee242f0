import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { APPLICATION_ROLE } from "../src/ledger/roles.ts";
import { ApiService } from "./components/api-service.ts";
import { Encryption } from "./components/encryption.ts";
import { HistoryCache } from "./components/history-cache.ts";
import { DATABASE_NAME, LedgerDatabase } from "./components/ledger-database.ts";
import { LedgerJobs } from "./components/ledger-jobs.ts";
import { Monitoring } from "./components/monitoring.ts";
import { Network } from "./components/network.ts";
import { REDIS_PORT, SecurityGroups } from "./components/security-groups.ts";
import { Storage } from "./components/storage.ts";
import { StreamProcessor } from "./components/stream-processor.ts";
import { TransactionStream } from "./components/transaction-stream.ts";
import { type StackConfig, subscriptions } from "./config.ts";
import {
  createContext,
  type RuntimeConnections,
  type RuntimeEnvironment,
  type StackContext,
} from "./context.ts";
import { subscribe } from "./subscriptions.ts";

export interface TapStackArgs extends StackConfig {
  /** The AWS account, for ARNs in policies. @default the caller's (sts:GetCallerIdentity) */
  accountId?: pulumi.Input<string>;
  /** A prebuilt processor bundle directory. @default esbuild of src/handlers/lambda.ts */
  processorCodeDirectory?: string;
}

/** The stack outputs, under the names the customers' tooling reads (GEN-4). */
export interface TapStackOutputs {
  vpc_id: pulumi.Output<string>;
  kinesis_stream_name: pulumi.Output<string>;
  kinesis_stream_arn: pulumi.Output<string>;
  redis_endpoint: pulumi.Output<string>;
  redis_port: pulumi.Output<number>;
  rds_endpoint: pulumi.Output<string>;
  rds_port: pulumi.Output<number>;
  db_secret_arn: pulumi.Output<string>;
  elasticache_security_group_id: pulumi.Output<string>;
  rds_security_group_id: pulumi.Output<string>;
  alb_dns_name: pulumi.Output<string>;
  app_logs_bucket: pulumi.Output<string>;
  processed_data_bucket: pulumi.Output<string>;
  processor_function_name: pulumi.Output<string>;
  dashboard_name: pulumi.Output<string>;
  alarm_topic_arn: pulumi.Output<string>;
  /** Day two (AWS-6): beyond the names the customers' tooling reads. */
  api_url: pulumi.Output<string>;
  admin_function_name: pulumi.Output<string>;
  alert_topic_arn: pulumi.Output<string>;
  access_logs_bucket: pulumi.Output<string>;
}

/**
 * The whole of txwatch on AWS: network, key, stream, history cache, ledger database, stream
 * processor, API service, storage and monitoring, sized and switched by one preset.
 */
export class TapStack extends pulumi.ComponentResource {
  readonly outputs: TapStackOutputs;

  constructor(name: string, args: TapStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super("txwatch:platform:TapStack", name, {}, opts);
    const accountId = args.accountId ?? aws.getCallerIdentityOutput({}, { parent: this }).accountId;
    const context = createContext(args, accountId);
    const parent = { parent: this };

    const encryption = new Encryption(context.name("encryption"), { context }, parent);
    const keyArn = encryption.keyArn;
    const network = new Network(context.name("network"), { context, keyArn }, parent);
    const groups = new SecurityGroups(
      context.name("security-groups"),
      { context, vpcId: network.vpc.id },
      parent,
    );
    network.addInterfaceEndpoints(context, [groups.api.id, groups.processor.id]);
    const storage = new Storage(context.name("storage"), { context, keyArn }, parent);
    const stream = new TransactionStream(
      context.name("transaction-stream"),
      { context, keyArn },
      parent,
    );
    const cache = new HistoryCache(
      context.name("history-cache"),
      { context, keyArn, subnetIds: network.privateSubnetIds, securityGroupId: groups.cache.id },
      parent,
    );
    const database = new LedgerDatabase(
      context.name("ledger-database"),
      { context, keyArn, subnetIds: network.privateSubnetIds, securityGroupId: groups.database.id },
      parent,
    );

    // Cluster mode (SCL-2): the client told to speak the cluster protocol, with REDIS_HOST the
    // configuration endpoint (ElastiCache: a cluster-mode client connects through it).
    const redisCluster: RuntimeEnvironment = context.settings.historyClusterMode
      ? { REDIS_CLUSTER: "true" }
      : {};
    const connections: RuntimeConnections = {
      environment: {
        DB_HOST: database.endpoint.address,
        DB_PORT: database.endpoint.port.apply(String),
        DB_NAME: DATABASE_NAME,
        // The services are the application role, which owns nothing (AWS-3), with IAM tokens.
        DB_USER: APPLICATION_ROLE,
        DB_AUTH: "iam",
        REDIS_HOST: cache.endpointAddress,
        REDIS_PORT: String(REDIS_PORT),
        ...redisCluster,
        REDIS_AUTH_SECRET_ARN: cache.authSecret.arn,
        KINESIS_STREAM_NAME: stream.stream.name,
      },
      databaseSecretArn: database.endpoint.secretArn,
      redisAuthSecretArn: cache.authSecret.arn,
      databaseConnectArn: pulumi.interpolate`arn:aws:rds-db:${context.region}:${accountId}:dbuser:${database.endpoint.resourceId}/${APPLICATION_ROLE}`,
    };
    const jobs = new LedgerJobs(
      context.name("ledger-jobs"),
      {
        context,
        keyArn,
        subnetIds: network.privateSubnetIds,
        securityGroupId: groups.processor.id,
        defaultSecurityGroupId: network.defaultSecurityGroup.id,
        connections,
        archiveBucketName: storage.processedData.bucket,
        archiveBucketArn: storage.processedData.arn,
        // The owner step reaches the database through the network and its endpoints, once
        // every instance is up (an Aurora cluster's endpoint exists before its instances).
        dependsOn: [network, groups, ...database.endpoint.instances],
        ...(args.processorCodeDirectory !== undefined && {
          codeDirectory: args.processorCodeDirectory,
        }),
      },
      parent,
    );

    const alertTopic = new aws.sns.Topic(
      context.name("fraud-alerts"),
      { name: context.name("fraud-alerts"), kmsMasterKeyId: context.dataKey(keyArn) },
      parent,
    );
    subscribe(
      context,
      "fraud-alerts",
      alertTopic,
      subscriptions(context.settings, "alertSubscriptions"),
      this,
    );
    const processor = new StreamProcessor(
      context.name("stream-processor"),
      {
        context,
        keyArn,
        streamArn: stream.stream.arn,
        streamShards: stream.shardCount,
        subnetIds: network.privateSubnetIds,
        securityGroupId: groups.processor.id,
        defaultSecurityGroupId: network.defaultSecurityGroup.id,
        connections,
        dependsOn: [jobs.migration],
        ...(args.processorCodeDirectory !== undefined && {
          codeDirectory: args.processorCodeDirectory,
        }),
      },
      parent,
    );

    const tokenKey = this.tokenKeySecret(context, keyArn);
    const api = new ApiService(
      context.name("api-service"),
      {
        context,
        keyArn,
        vpcId: network.vpc.id,
        publicSubnetIds: network.publicSubnetIds,
        privateSubnetIds: network.privateSubnetIds,
        albSecurityGroupId: groups.alb.id,
        apiSecurityGroupId: groups.api.id,
        streamArn: stream.stream.arn,
        streamName: stream.stream.name,
        connections,
        tokenKeySecretArn: tokenKey.arn,
        alertTopicArn: alertTopic.arn,
        appLogsBucket: storage.appLogs.bucket,
        appLogsPolicy: storage.appLogsPolicy,
        dependsOn: [jobs.migration],
      },
      parent,
    );

    const monitoring = new Monitoring(
      context.name("monitoring"),
      {
        context,
        keyArn,
        streamName: stream.stream.name,
        functionName: processor.function.name,
        deadLetterQueueName: processor.deadLetterQueue.name,
        cacheClusterIds: cache.memberClusterIds,
        databaseInstanceIds: database.endpoint.instanceIdentifiers,
        databaseClusterId: database.endpoint.clusterIdentifier,
        loadBalancerArnSuffix: api.loadBalancer.arnSuffix,
        targetGroupArnSuffix: api.targetGroup.arnSuffix,
      },
      parent,
    );

    this.outputs = {
      vpc_id: network.vpc.id,
      kinesis_stream_name: stream.stream.name,
      kinesis_stream_arn: stream.stream.arn,
      redis_endpoint: cache.endpointAddress,
      redis_port: pulumi.output(REDIS_PORT),
      rds_endpoint: database.endpoint.address,
      rds_port: database.endpoint.port,
      db_secret_arn: database.endpoint.secretArn,
      elasticache_security_group_id: groups.cache.id,
      rds_security_group_id: groups.database.id,
      alb_dns_name: api.loadBalancer.dnsName,
      app_logs_bucket: storage.appLogs.bucket,
      processed_data_bucket: storage.processedData.bucket,
      processor_function_name: processor.function.name,
      dashboard_name: monitoring.dashboard.dashboardName,
      alarm_topic_arn: monitoring.alarmTopic.arn,
      api_url: pulumi.interpolate`${context.settings.certificateArn === "" ? "http" : "https"}://${api.loadBalancer.dnsName}`,
      admin_function_name: jobs.admin.name,
      alert_topic_arn: alertTopic.arn,
      access_logs_bucket: storage.accessLogs.bucket,
    };
    this.registerOutputs({ ...this.outputs });
  }

  /** The card-token HMAC key (PRIV-1): generated once, kept in Secrets Manager. */
  private tokenKeySecret(
    context: StackContext,
    keyArn: pulumi.Input<string>,
  ): aws.secretsmanager.Secret {
    const parent = { parent: this };
    const value = new random.RandomPassword(
      context.name("token-key-value"),
      { length: 64, special: false },
      parent,
    );
    const secret = new aws.secretsmanager.Secret(
      context.name("token-key"),
      {
        name: context.name("token-key"),
        description: "HMAC key that tokenizes card numbers at ingest",
        kmsKeyId: keyArn,
        recoveryWindowInDays: 0,
      },
      parent,
    );
    new aws.secretsmanager.SecretVersion(
      context.name("token-key-version"),
      { secretId: secret.id, secretString: value.result },
      parent,
    );
    return secret;
  }
}
