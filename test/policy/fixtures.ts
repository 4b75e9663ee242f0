import { type CheckedResource, StackView, T } from "../../policy/model.ts";
import { TAGGABLE_TYPES } from "../../policy/taggable-types.ts";

/**
 * A small stack shaped like what the program registers (pulumi-aws v7 inputs, names
 * `{resource-type}-pr42`, standard tags), compliant with every policy of the pack. Each test
 * breaks one field of a fresh copy and asserts the exact findings.
 */

export const SUFFIX = "pr42";
export const PRESET = "fastshop";
export const ACCOUNT = "123456789012";
export const KEY_ARN = `arn:aws:kms:us-east-1:${ACCOUNT}:key/txwatch-key-${SUFFIX}`;

/** The URN a resource of `type` named `name` gets in the stack. */
export function urnOf(type: string, name: string): string {
  return `urn:pulumi:${SUFFIX}::txwatch::${type}::${name}`;
}

/** The tags the program's transformation adds to every taggable resource. */
export function tagsFor(name: string): Record<string, string> {
  return {
    Name: name,
    Project: "txwatch",
    Environment: SUFFIX,
    ManagedBy: "pulumi",
    Preset: PRESET,
  };
}

/** A resource as the engine reports it; taggable types get the standard tags. */
export function resource(
  type: string,
  name: string,
  props: Record<string, unknown> = {},
  references: Record<string, readonly string[]> = {},
): CheckedResource {
  return {
    urn: urnOf(type, name),
    type,
    name,
    props: TAGGABLE_TYPES.has(type) ? { ...props, tags: tagsFor(name) } : props,
    references,
  };
}

/** An IAM or bucket policy document, as the JSON string the program passes. */
export function policyJson(...statements: Record<string, unknown>[]): string {
  return JSON.stringify({ Version: "2012-10-17", Statement: statements });
}

const n = (base: string) => `${base}-${SUFFIX}`;
const id = (base: string) => `${n(base)}-id`;

/** The URNs of the compliant stack's resources, for the tests to address. */
export const URN = {
  provider: urnOf("pulumi:providers:aws", n("aws")),
  storageComponent: urnOf("txwatch:platform:Storage", n("storage")),
  key: urnOf(T.kmsKey, n("txwatch-key")),
  vpc: urnOf("aws:ec2/vpc:Vpc", n("transaction-vpc")),
  igw: urnOf(T.internetGateway, n("igw")),
  natEip: urnOf("aws:ec2/eip:Eip", n("nat-eip-1")),
  nat: urnOf("aws:ec2/natGateway:NatGateway", n("nat-1")),
  publicSubnet1: urnOf(T.subnet, n("public-subnet-1")),
  publicSubnet2: urnOf(T.subnet, n("public-subnet-2")),
  privateSubnet1: urnOf(T.subnet, n("private-subnet-1")),
  privateSubnet2: urnOf(T.subnet, n("private-subnet-2")),
  publicRouteTable: urnOf(T.routeTable, n("public-rt")),
  privateRouteTable: urnOf(T.routeTable, n("private-rt")),
  publicRoute: urnOf(T.route, n("public-default-route")),
  privateRoute: urnOf(T.route, n("private-default-route")),
  publicAssociation1: urnOf(T.routeTableAssociation, n("public-rta-1")),
  publicAssociation2: urnOf(T.routeTableAssociation, n("public-rta-2")),
  privateAssociation1: urnOf(T.routeTableAssociation, n("private-rta-1")),
  privateAssociation2: urnOf(T.routeTableAssociation, n("private-rta-2")),
  albSg: urnOf(T.securityGroup, n("alb-sg")),
  apiSg: urnOf(T.securityGroup, n("api-sg")),
  rdsSg: urnOf(T.securityGroup, n("rds-sg")),
  cacheSg: urnOf(T.securityGroup, n("elasticache-sg")),
  albHttpsIn: urnOf(T.vpcIngressRule, n("alb-443-ipv4-in")),
  apiFromAlb: urnOf(T.vpcIngressRule, n("api-from-alb")),
  rdsFromApi: urnOf(T.vpcIngressRule, n("rds-from-api")),
  cacheFromApi: urnOf(T.vpcIngressRule, n("elasticache-from-api")),
  logGroup: urnOf(T.logGroup, n("processor-logs")),
  stream: urnOf(T.kinesisStream, n("transaction-stream")),
  queue: urnOf(T.sqsQueue, n("processor-dlq")),
  topic: urnOf(T.snsTopic, n("fraud-alerts")),
  secret: urnOf(T.secret, n("redis-auth")),
  dbParams: urnOf(T.dbParameterGroup, n("ledger-params")),
  dbSubnets: urnOf(T.dbSubnetGroup, n("ledger-subnets")),
  db: urnOf(T.dbInstance, n("ledger-db")),
  clusterParams: urnOf(T.clusterParameterGroup, n("ledger-cluster-params")),
  cluster: urnOf(T.dbCluster, n("ledger-cluster")),
  writer: urnOf(T.clusterInstance, n("ledger-writer")),
  reader: urnOf(T.clusterInstance, n("ledger-reader")),
  cacheParams: urnOf("aws:elasticache/parameterGroup:ParameterGroup", n("cache-params")),
  cacheSubnets: urnOf(T.cacheSubnetGroup, n("cache-subnets")),
  cache: urnOf(T.replicationGroup, n("history-cache")),
  dataBucket: urnOf(T.bucket, n("processed-transactions")),
  dataEncryption: urnOf(T.bucketEncryption, n("processed-transactions-encryption")),
  dataAccessBlock: urnOf(T.bucketPublicAccessBlock, n("processed-transactions-public-access")),
  dataPolicy: urnOf(T.bucketPolicy, n("processed-transactions-policy")),
  logsBucket: urnOf(T.bucket, n("app-logs")),
  logsEncryption: urnOf(T.bucketEncryption, n("app-logs-encryption")),
  logsAccessBlock: urnOf(T.bucketPublicAccessBlock, n("app-logs-public-access")),
  logsPolicy: urnOf(T.bucketPolicy, n("app-logs-policy")),
  accessLogsBucket: urnOf(T.bucket, n("access-logs")),
  accessLogsEncryption: urnOf(T.bucketEncryption, n("access-logs-encryption")),
  dataLogging: urnOf(T.bucketLogging, n("processed-transactions-access-logging")),
  logsLogging: urnOf(T.bucketLogging, n("app-logs-access-logging")),
  alb: urnOf(T.loadBalancer, n("api-alb")),
  targetGroup: urnOf("aws:lb/targetGroup:TargetGroup", n("api-tg")),
  httpsListener: urnOf(T.listener, n("api-https")),
  httpRedirect: urnOf(T.listener, n("api-http-redirect")),
  privatePaths: urnOf(T.listenerRule, n("api-https-private-paths")),
  ecr: urnOf(T.ecrRepository, n("api")),
  processorRole: urnOf("aws:iam/role:Role", n("processor-role")),
  processorPolicy: urnOf(T.iamRolePolicy, n("processor-policy")),
  monitoringRole: urnOf("aws:iam/role:Role", n("rds-monitoring-role")),
  monitoringAttachment: urnOf(T.iamPolicyAttachment, n("rds-monitoring-policy")),
} as const;

/** The API's target group, which a forwarding action names. */
export const TARGET_GROUP_ARN = `arn:aws:elasticloadbalancing:us-east-1:${ACCOUNT}:${n("api-tg")}`;

/** The statement that keeps a bucket TLS-only (STO-1), as the program writes it. */
export function denyInsecureTransport(bucket: string): Record<string, unknown> {
  return {
    Sid: "DenyInsecureTransport",
    Effect: "Deny",
    Principal: "*",
    Action: "s3:*",
    Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
    Condition: { Bool: { "aws:SecureTransport": "false" } },
  };
}

/** The processor's inline policy: scoped statements and one unscopable `Resource: "*"`. */
export const PROCESSOR_STATEMENTS: readonly Record<string, unknown>[] = [
  {
    Sid: "ReadTheTransactionStream",
    Effect: "Allow",
    Action: [
      "kinesis:DescribeStream",
      "kinesis:DescribeStreamSummary",
      "kinesis:GetRecords",
      "kinesis:GetShardIterator",
      "kinesis:ListShards",
      "kinesis:SubscribeToShard",
    ],
    Resource: `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/${n("transaction-stream")}`,
  },
  {
    Sid: "UseTheStackKey",
    Effect: "Allow",
    Action: ["kms:Decrypt", "kms:GenerateDataKey"],
    Resource: KEY_ARN,
  },
  {
    Sid: "ManageVpcNetworkInterfaces",
    Effect: "Allow",
    Action: ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface"],
    Resource: [
      `arn:aws:ec2:us-east-1:${ACCOUNT}:network-interface/*`,
      `arn:aws:ec2:us-east-1:${ACCOUNT}:subnet/*`,
      `arn:aws:ec2:us-east-1:${ACCOUNT}:security-group/*`,
    ],
  },
  {
    Sid: "DescribeVpcNetworkInterfaces",
    Effect: "Allow",
    Action: ["ec2:DescribeNetworkInterfaces"],
    Resource: "*",
  },
];

function bucketResources(base: string, sse: Record<string, unknown>): CheckedResource[] {
  const bucket = resource(T.bucket, n(base), { bucket: n(base), forceDestroy: true });
  const ref = { bucket: [bucket.urn] };
  return [
    bucket,
    resource(
      T.bucketEncryption,
      n(`${base}-encryption`),
      {
        bucket: id(base),
        rules: [{ applyServerSideEncryptionByDefault: sse, bucketKeyEnabled: true }],
      },
      sse.kmsMasterKeyId === undefined ? ref : { ...ref, rules: [URN.key] },
    ),
    resource(
      T.bucketPublicAccessBlock,
      n(`${base}-public-access`),
      {
        bucket: id(base),
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
      ref,
    ),
    resource(
      T.bucketPolicy,
      n(`${base}-policy`),
      { bucket: id(base), policy: policyJson(denyInsecureTransport(n(base))) },
      ref,
    ),
  ];
}

/** S3 server access logging of the bucket `base` into the access-logs bucket (AWS-5). */
function accessLogging(base: string): CheckedResource {
  return resource(
    T.bucketLogging,
    n(`${base}-access-logging`),
    { bucket: id(base), targetBucket: id("access-logs"), targetPrefix: `s3/${base}/` },
    { bucket: [urnOf(T.bucket, n(base))], targetBucket: [URN.accessLogsBucket] },
  );
}

/** A listener of the load balancer with its default actions. */
function listener(
  base: string,
  props: Record<string, unknown>,
  references: Record<string, readonly string[]> = {},
): CheckedResource {
  return resource(
    T.listener,
    n(base),
    {
      loadBalancerArn: `arn:aws:elasticloadbalancing:us-east-1:${ACCOUNT}:${n("api-alb")}`,
      ...props,
    },
    { loadBalancerArn: [URN.alb], ...references },
  );
}

function subnet(base: string, cidrBlock: string, availabilityZone: string): CheckedResource {
  return resource(
    T.subnet,
    n(base),
    { vpcId: id("transaction-vpc"), cidrBlock, availabilityZone, mapPublicIpOnLaunch: false },
    { vpcId: [URN.vpc] },
  );
}

function association(base: string, table: string, subnetBase: string): CheckedResource {
  return resource(
    T.routeTableAssociation,
    n(base),
    { routeTableId: id(table), subnetId: id(subnetBase) },
    { routeTableId: [urnOf(T.routeTable, n(table))], subnetId: [urnOf(T.subnet, n(subnetBase))] },
  );
}

function securityGroup(base: string, description: string): CheckedResource {
  return resource(
    T.securityGroup,
    n(base),
    { name: n(base), description, vpcId: id("transaction-vpc"), revokeRulesOnDelete: true },
    { vpcId: [URN.vpc] },
  );
}

function ingressFromGroup(
  base: string,
  port: number,
  target: string,
  source: string,
): CheckedResource {
  return resource(
    T.vpcIngressRule,
    n(base),
    {
      description: `${port} from ${base}`,
      fromPort: port,
      toPort: port,
      ipProtocol: "tcp",
      securityGroupId: id(target),
      referencedSecurityGroupId: id(source),
    },
    {
      securityGroupId: [urnOf(T.securityGroup, n(target))],
      referencedSecurityGroupId: [urnOf(T.securityGroup, n(source))],
    },
  );
}

function clusterInstance(base: string, promotionTier: number): CheckedResource {
  return resource(
    T.clusterInstance,
    n(base),
    {
      identifier: n(base),
      clusterIdentifier: id("ledger-cluster"),
      dbSubnetGroupName: n("ledger-subnets"),
      engine: "aurora-postgresql",
      engineVersion: "16.6",
      instanceClass: "db.serverless",
      promotionTier,
      publiclyAccessible: false,
      performanceInsightsEnabled: true,
      performanceInsightsKmsKeyId: KEY_ARN,
    },
    {
      clusterIdentifier: [URN.cluster],
      dbSubnetGroupName: [URN.dbSubnets],
      performanceInsightsKmsKeyId: [URN.key],
    },
  );
}

/** Every resource of the compliant stack, fresh objects on each call. */
export function compliantResources(): CheckedResource[] {
  const keyRef = { kmsKeyId: [URN.key] };
  const privateSubnets = {
    subnetIds: [URN.privateSubnet1, URN.privateSubnet2],
  };
  return [
    // Not cloud resources: no name in AWS, no tags.
    resource("pulumi:providers:aws", n("aws"), { region: "us-east-1" }),
    resource("txwatch:platform:Storage", n("storage")),

    resource(T.kmsKey, n("txwatch-key"), {
      description: `txwatch data at rest (${SUFFIX})`,
      deletionWindowInDays: 7,
      enableKeyRotation: true,
    }),

    // Network: public subnets route to the internet gateway, private ones through NAT.
    resource("aws:ec2/vpc:Vpc", n("transaction-vpc"), {
      cidrBlock: "10.0.0.0/16",
      enableDnsHostnames: true,
      enableDnsSupport: true,
    }),
    resource(T.internetGateway, n("igw"), { vpcId: id("transaction-vpc") }, { vpcId: [URN.vpc] }),
    subnet("public-subnet-1", "10.0.0.0/20", "us-east-1a"),
    subnet("public-subnet-2", "10.0.16.0/20", "us-east-1b"),
    subnet("private-subnet-1", "10.0.128.0/20", "us-east-1a"),
    subnet("private-subnet-2", "10.0.144.0/20", "us-east-1b"),
    resource("aws:ec2/eip:Eip", n("nat-eip-1"), { domain: "vpc" }),
    resource(
      "aws:ec2/natGateway:NatGateway",
      n("nat-1"),
      {
        allocationId: id("nat-eip-1"),
        connectivityType: "public",
        subnetId: id("public-subnet-1"),
      },
      { allocationId: [URN.natEip], subnetId: [URN.publicSubnet1] },
    ),
    resource(T.routeTable, n("public-rt"), { vpcId: id("transaction-vpc") }, { vpcId: [URN.vpc] }),
    resource(T.routeTable, n("private-rt"), { vpcId: id("transaction-vpc") }, { vpcId: [URN.vpc] }),
    resource(
      T.route,
      n("public-default-route"),
      { destinationCidrBlock: "0.0.0.0/0", gatewayId: id("igw"), routeTableId: id("public-rt") },
      { gatewayId: [URN.igw], routeTableId: [URN.publicRouteTable] },
    ),
    resource(
      T.route,
      n("private-default-route"),
      {
        destinationCidrBlock: "0.0.0.0/0",
        natGatewayId: id("nat-1"),
        routeTableId: id("private-rt"),
      },
      { natGatewayId: [URN.nat], routeTableId: [URN.privateRouteTable] },
    ),
    association("public-rta-1", "public-rt", "public-subnet-1"),
    association("public-rta-2", "public-rt", "public-subnet-2"),
    association("private-rta-1", "private-rt", "private-subnet-1"),
    association("private-rta-2", "private-rt", "private-subnet-2"),

    // Security groups: only the load balancer faces the internet.
    securityGroup("alb-sg", "Internet to the txwatch API load balancer"),
    securityGroup("api-sg", "txwatch API tasks"),
    securityGroup("rds-sg", "txwatch ledger database"),
    securityGroup("elasticache-sg", "txwatch history cache"),
    resource(
      T.vpcIngressRule,
      n("alb-443-ipv4-in"),
      {
        description: "HTTPS from the internet",
        cidrIpv4: "0.0.0.0/0",
        fromPort: 443,
        toPort: 443,
        ipProtocol: "tcp",
        securityGroupId: id("alb-sg"),
      },
      { securityGroupId: [URN.albSg] },
    ),
    ingressFromGroup("api-from-alb", 8080, "api-sg", "alb-sg"),
    ingressFromGroup("rds-from-api", 5432, "rds-sg", "api-sg"),
    ingressFromGroup("elasticache-from-api", 6379, "elasticache-sg", "api-sg"),

    // Stream, queue, topic, secret, logs.
    resource(
      T.logGroup,
      n("processor-logs"),
      { name: `/aws/lambda/${n("processor")}`, kmsKeyId: KEY_ARN, retentionInDays: 30 },
      keyRef,
    ),
    resource(
      T.kinesisStream,
      n("transaction-stream"),
      {
        name: n("transaction-stream"),
        encryptionType: "KMS",
        kmsKeyId: KEY_ARN,
        retentionPeriod: 168,
        shardCount: 1,
        enforceConsumerDeletion: true,
        streamModeDetails: { streamMode: "PROVISIONED" },
      },
      keyRef,
    ),
    resource(
      T.sqsQueue,
      n("processor-dlq"),
      {
        name: n("processor-dlq"),
        kmsMasterKeyId: KEY_ARN,
        kmsDataKeyReusePeriodSeconds: 300,
        messageRetentionSeconds: 1209600,
      },
      { kmsMasterKeyId: [URN.key] },
    ),
    resource(
      T.snsTopic,
      n("fraud-alerts"),
      { name: n("fraud-alerts"), kmsMasterKeyId: KEY_ARN },
      { kmsMasterKeyId: [URN.key] },
    ),
    resource(
      T.secret,
      n("redis-auth"),
      {
        name: n("redis-auth"),
        description: "Auth token of the txwatch history cache",
        kmsKeyId: KEY_ARN,
        recoveryWindowInDays: 0,
      },
      keyRef,
    ),

    // RDS PostgreSQL: TLS forced by its parameter group, in the private subnets.
    resource(T.dbParameterGroup, n("ledger-params"), {
      name: n("ledger-params"),
      family: "postgres16",
      description: "txwatch ledger: TLS only",
      parameters: [
        { name: "rds.force_ssl", value: "1" },
        { name: "log_min_duration_statement", value: "1000" },
      ],
    }),
    resource(
      T.dbSubnetGroup,
      n("ledger-subnets"),
      {
        name: n("ledger-subnets"),
        description: "private subnets",
        subnetIds: [id("private-subnet-1"), id("private-subnet-2")],
      },
      privateSubnets,
    ),
    resource(
      T.dbInstance,
      n("ledger-db"),
      {
        identifier: n("ledger-db"),
        engine: "postgres",
        engineVersion: "16",
        instanceClass: "db.t4g.medium",
        allocatedStorage: 50,
        dbName: "txwatch",
        username: "txwatch_admin",
        manageMasterUserPassword: true,
        masterUserSecretKmsKeyId: KEY_ARN,
        dbSubnetGroupName: n("ledger-subnets"),
        parameterGroupName: n("ledger-params"),
        vpcSecurityGroupIds: [id("rds-sg")],
        multiAz: true,
        publiclyAccessible: false,
        storageEncrypted: true,
        kmsKeyId: KEY_ARN,
        performanceInsightsEnabled: true,
        performanceInsightsKmsKeyId: KEY_ARN,
        backupRetentionPeriod: 7,
        backupWindow: "17:00-18:00",
        deletionProtection: false,
        skipFinalSnapshot: true,
      },
      {
        dbSubnetGroupName: [URN.dbSubnets],
        parameterGroupName: [URN.dbParams],
        vpcSecurityGroupIds: [URN.rdsSg],
        kmsKeyId: [URN.key],
        masterUserSecretKmsKeyId: [URN.key],
        performanceInsightsKmsKeyId: [URN.key],
      },
    ),

    // Aurora PostgreSQL: a writer and a reader.
    resource(T.clusterParameterGroup, n("ledger-cluster-params"), {
      name: n("ledger-cluster-params"),
      family: "aurora-postgresql16",
      description: "txwatch ledger: TLS only",
      parameters: [{ name: "rds.force_ssl", value: "1" }],
    }),
    resource(
      T.dbCluster,
      n("ledger-cluster"),
      {
        clusterIdentifier: n("ledger-cluster"),
        engine: "aurora-postgresql",
        engineMode: "provisioned",
        engineVersion: "16.6",
        databaseName: "txwatch",
        masterUsername: "txwatch_admin",
        manageMasterUserPassword: true,
        masterUserSecretKmsKeyId: KEY_ARN,
        dbClusterParameterGroupName: n("ledger-cluster-params"),
        dbSubnetGroupName: n("ledger-subnets"),
        vpcSecurityGroupIds: [id("rds-sg")],
        storageEncrypted: true,
        kmsKeyId: KEY_ARN,
        backupRetentionPeriod: 1,
        preferredBackupWindow: "17:00-18:00",
        serverlessv2ScalingConfiguration: { minCapacity: 0.5, maxCapacity: 8 },
        deletionProtection: false,
        skipFinalSnapshot: true,
      },
      {
        dbClusterParameterGroupName: [URN.clusterParams],
        dbSubnetGroupName: [URN.dbSubnets],
        vpcSecurityGroupIds: [URN.rdsSg],
        kmsKeyId: [URN.key],
        masterUserSecretKmsKeyId: [URN.key],
      },
    ),
    clusterInstance("ledger-writer", 0),
    clusterInstance("ledger-reader", 1),

    // ElastiCache Redis.
    resource("aws:elasticache/parameterGroup:ParameterGroup", n("cache-params"), {
      name: n("cache-params"),
      family: "redis7",
      description: "txwatch history: never evict",
      parameters: [{ name: "maxmemory-policy", value: "noeviction" }],
    }),
    resource(
      T.cacheSubnetGroup,
      n("cache-subnets"),
      {
        name: n("cache-subnets"),
        description: "private subnets",
        subnetIds: [id("private-subnet-1"), id("private-subnet-2")],
      },
      privateSubnets,
    ),
    resource(
      T.replicationGroup,
      n("history-cache"),
      {
        replicationGroupId: n("history-cache"),
        description: "txwatch 24-hour transaction history",
        engine: "redis",
        engineVersion: "7.1",
        nodeType: "cache.r7g.large",
        numCacheClusters: 2,
        automaticFailoverEnabled: true,
        multiAzEnabled: true,
        atRestEncryptionEnabled: true,
        kmsKeyId: KEY_ARN,
        transitEncryptionEnabled: true,
        parameterGroupName: n("cache-params"),
        subnetGroupName: n("cache-subnets"),
        securityGroupIds: [id("elasticache-sg")],
        snapshotRetentionLimit: 1,
        port: 6379,
      },
      {
        kmsKeyId: [URN.key],
        parameterGroupName: [URN.cacheParams],
        subnetGroupName: [URN.cacheSubnets],
        securityGroupIds: [URN.cacheSg],
      },
    ),

    // Buckets: processed data under the key; ALB access logs under SSE-S3, as ALB requires;
    // both log server access into access-logs, under SSE-S3 as S3 log delivery requires, which
    // does not log itself (AWS-5).
    ...bucketResources("processed-transactions", {
      sseAlgorithm: "aws:kms",
      kmsMasterKeyId: KEY_ARN,
    }),
    ...bucketResources("app-logs", { sseAlgorithm: "AES256" }),
    ...bucketResources("access-logs", { sseAlgorithm: "AES256" }),
    accessLogging("processed-transactions"),
    accessLogging("app-logs"),
    resource(
      T.loadBalancer,
      n("api-alb"),
      {
        name: n("api-alb"),
        loadBalancerType: "application",
        internal: false,
        dropInvalidHeaderFields: true,
        enableDeletionProtection: false,
        accessLogs: { bucket: n("app-logs"), enabled: true, prefix: "alb" },
        securityGroups: [id("alb-sg")],
        subnets: [id("public-subnet-1"), id("public-subnet-2")],
      },
      {
        accessLogs: [URN.logsBucket],
        securityGroups: [URN.albSg],
        subnets: [URN.publicSubnet1, URN.publicSubnet2],
      },
    ),
    // Internet-facing, so HTTPS forwards and plain HTTP only redirects to it (AWS-5).
    resource(
      "aws:lb/targetGroup:TargetGroup",
      n("api-tg"),
      {
        name: n("api-tg"),
        port: 8080,
        protocol: "HTTP",
        targetType: "ip",
        vpcId: id("transaction-vpc"),
      },
      { vpcId: [URN.vpc] },
    ),
    listener(
      "api-https",
      {
        port: 443,
        protocol: "HTTPS",
        sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
        certificateArn: `arn:aws:acm:us-east-1:${ACCOUNT}:certificate/api-${SUFFIX}`,
        defaultActions: [{ type: "forward", targetGroupArn: TARGET_GROUP_ARN }],
      },
      { defaultActions: [URN.targetGroup] },
    ),
    listener("api-http-redirect", {
      port: 80,
      protocol: "HTTP",
      defaultActions: [
        {
          type: "redirect",
          redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" },
        },
      ],
    }),
    resource(
      T.listenerRule,
      n("api-https-private-paths"),
      {
        listenerArn: `arn:aws:elasticloadbalancing:us-east-1:${ACCOUNT}:${n("api-https")}`,
        priority: 1,
        conditions: [{ pathPattern: { values: ["/metrics", "/metrics/*"] } }],
        actions: [{ type: "fixed-response", fixedResponse: { statusCode: "404" } }],
      },
      { listenerArn: [URN.httpsListener] },
    ),

    resource(
      T.ecrRepository,
      n("api"),
      {
        name: n("api"),
        encryptionConfigurations: [{ encryptionType: "KMS", kmsKey: KEY_ARN }],
        forceDelete: true,
        imageScanningConfiguration: { scanOnPush: true },
        imageTagMutability: "MUTABLE",
      },
      { encryptionConfigurations: [URN.key] },
    ),

    // IAM.
    resource("aws:iam/role:Role", n("processor-role"), {
      name: n("processor-role"),
      assumeRolePolicy: policyJson({
        Effect: "Allow",
        Principal: { Service: "lambda.amazonaws.com" },
        Action: "sts:AssumeRole",
      }),
    }),
    resource(
      T.iamRolePolicy,
      n("processor-policy"),
      {
        name: n("processor-policy"),
        role: id("processor-role"),
        policy: policyJson(...PROCESSOR_STATEMENTS),
      },
      { role: [URN.processorRole] },
    ),
    resource("aws:iam/role:Role", n("rds-monitoring-role"), {
      name: n("rds-monitoring-role"),
      assumeRolePolicy: policyJson({
        Effect: "Allow",
        Principal: { Service: "monitoring.rds.amazonaws.com" },
        Action: "sts:AssumeRole",
      }),
    }),
    resource(
      T.iamPolicyAttachment,
      n("rds-monitoring-policy"),
      {
        role: n("rds-monitoring-role"),
        policyArn: "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole",
      },
      { role: [URN.monitoringRole] },
    ),
  ];
}

/** The compliant stack, with the environment suffix the policies expect. */
export function compliantStack(): StackView {
  return new StackView(compliantResources(), SUFFIX);
}

/** The resource at `urn`; throws when the stack has none. */
export function resourceAt(stack: StackView, urn: string): CheckedResource {
  const found = stack.resources.find((r) => r.urn === urn);
  if (found === undefined) throw new Error(`no resource ${urn} in the stack`);
  return found;
}

/** A copy of the stack with the resource at `urn` replaced by `change(resource)`. */
export function update(
  stack: StackView,
  urn: string,
  change: (resource: CheckedResource) => CheckedResource,
): StackView {
  resourceAt(stack, urn);
  return new StackView(
    stack.resources.map((r) => (r.urn === urn ? change(r) : r)),
    stack.environmentSuffix,
  );
}

/** Sets or replaces the given props (`undefined` removes a prop, as if never set). */
export function withProps(
  stack: StackView,
  urn: string,
  patch: Record<string, unknown>,
): StackView {
  return update(stack, urn, (r) => {
    const props: Record<string, unknown> = { ...r.props, ...patch };
    for (const [key, value] of Object.entries(patch)) {
      if (value === undefined) delete props[key];
    }
    return { ...r, props };
  });
}

/** Sets or replaces the references of the given inputs (`undefined` removes one). */
export function withReferences(
  stack: StackView,
  urn: string,
  patch: Record<string, readonly string[] | undefined>,
): StackView {
  return update(stack, urn, (r) => {
    const references: Record<string, readonly string[]> = { ...r.references };
    for (const [key, value] of Object.entries(patch)) {
      if (value === undefined) delete references[key];
      else references[key] = value;
    }
    return { ...r, references };
  });
}

/** Sets resource options (protect, retainOnDelete) on one resource. */
export function withOptions(
  stack: StackView,
  urn: string,
  options: { protect?: boolean; retainOnDelete?: boolean },
): StackView {
  return update(stack, urn, (r) => ({ ...r, ...options }));
}

/** Gives one resource another logical name (its URN stays, as the tests address it by URN). */
export function withName(stack: StackView, urn: string, name: string): StackView {
  return update(stack, urn, (r) => ({ ...r, name }));
}

/** A copy of the stack with the resources added at the end. */
export function withResource(stack: StackView, ...added: CheckedResource[]): StackView {
  return new StackView([...stack.resources, ...added], stack.environmentSuffix);
}

/** A copy of the stack without the resource at `urn`. */
export function withoutResource(stack: StackView, urn: string): StackView {
  resourceAt(stack, urn);
  return new StackView(
    stack.resources.filter((r) => r.urn !== urn),
    stack.environmentSuffix,
  );
}

/** The same resources under another environment suffix (undefined: the caller cannot tell). */
export function withSuffix(stack: StackView, suffix: string | undefined): StackView {
  return new StackView(stack.resources, suffix);
}

/** Replaces the statements of an IAM or bucket policy. */
export function withStatements(
  stack: StackView,
  urn: string,
  ...statements: Record<string, unknown>[]
): StackView {
  return withProps(stack, urn, { policy: policyJson(...statements) });
}

/** The logical name of the resource at `urn` in the compliant stack. */
export function nameOf(urn: string): string {
  const name = urn.split("::").at(-1);
  if (name === undefined) throw new Error(`not a URN: ${urn}`);
  return name;
}
