/**
 * One preset per customer specification (shared/specs/). A preset fixes sizes and options, never
 * the architecture: every preset deploys ingest, processing, history cache, ledger and monitoring.
 * Every field can be overridden by stack config under the same name (see config.ts).
 */
export const PRESET_NAMES = ["japancart", "fastshop", "finserv"] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

export type DatabaseEngine = "rds-postgres" | "aurora-postgres-serverless";
export type StreamMode = "PROVISIONED" | "ON_DEMAND";

export interface PresetSettings {
  /**
   * AWS region; the stack's `aws:region`, when set, is honoured the same way (both set and
   * different is refused). @default "us-east-1" (every specification asks for it)
   */
  region: string;
  /** VPC CIDR; subnets are carved from it as /20s. @default "10.0.0.0/16" (finserv requires it) */
  vpcCidr: string;
  /**
   * NAT gateways: 0 (AWS APIs through VPC interface endpoints) or 1. Each specification
   * constrains it: japancart 0, fastshop 0 or 1, finserv 1 (NAT_ALLOWED).
   */
  natGateways: number;
  /** Peak transactions per minute the stream and cache are sized for. */
  peakTransactionsPerMinute: number;
  /** Average size of one stream record in bytes (a transaction is ~0.6-1 KiB of JSON). */
  averageRecordBytes: number;
  /** Multiplier over peak load for shards and cache memory. @default 2 */
  headroom: number;
  /** PROVISIONED sizes shards from the load; ON_DEMAND lets Kinesis scale (and costs more at rest). */
  streamMode: StreamMode;
  /** Stream retention in hours, at least 24; 168 keeps a week for replay. @default 168 */
  streamRetentionHours: number;
  /** Redis node type; empty means sized from the 24 h history volume (sizing.ts). */
  cacheNodeType: string;
  /** Read replicas per shard, 1 to 5 (failover needs one; ElastiCache allows 5). @default 1 */
  cacheReplicas: number;
  /**
   * The history cache in ElastiCache cluster mode (SCL-2): shards sized from the history's
   * memory and throughput (sizing.ts), each with `cacheReplicas` replicas, and the monitor told
   * `REDIS_CLUSTER=true` with the configuration endpoint. Off in every preset: each one's
   * peak fits one shard (sizing gives one shard even in cluster mode). Switching an existing stack is AWS's one-way
   * migration, not a config flip: see docs/deploy.md. @default false
   */
  historyClusterMode: boolean;
  /** Which PostgreSQL holds the ledger. */
  databaseEngine: DatabaseEngine;
  /** PostgreSQL major version, pinned; minor versions upgrade automatically. @default "16" */
  databaseMajorVersion: string;
  /** RDS instance class (Graviton). Ignored for Aurora Serverless v2. */
  databaseInstanceClass: string;
  /** RDS storage in GiB (gp3). */
  databaseStorageGb: number;
  /** Aurora Serverless v2 minimum capacity per instance in ACUs (0.5 steps). */
  auroraMinCapacity: number;
  /** Aurora Serverless v2 maximum capacity per instance in ACUs. */
  auroraMaxCapacity: number;
  /** Automated backup retention in days, at least 1. */
  backupRetentionDays: number;
  /** Enhanced Monitoring interval in seconds (0 turns it off). @default 60 */
  monitoringIntervalSeconds: number;
  /**
   * Retention of every log group in days: one of the values CloudWatch Logs accepts. The policy
   * pack requires at least 30 (audit); shorter is for throwaway stacks. @default 30
   */
  logRetentionDays: number;
  /** Processor Lambda memory in MB (arm64; CPU scales with memory). */
  processorMemoryMb: number;
  /** Records per Lambda invocation (Kinesis allows 1 to 10000). */
  processorBatchSize: number;
  /** Seconds the event source mapping waits to fill a batch. */
  processorBatchingWindowSeconds: number;
  /** API tasks the service keeps running, at least 1. */
  apiDesiredCount: number;
  /** CPU units per Fargate task (1024 = 1 vCPU). */
  apiCpu: number;
  /** Memory per Fargate task in MiB. */
  apiMemoryMb: number;
  /**
   * ALB access logs to the `app-logs` bucket. ALB can only deliver them to an SSE-S3 bucket, so
   * where every byte at rest must be under the customer's key (fastshop) they are off and that
   * bucket uses the key too. @default true
   */
  albAccessLogs: boolean;
  /** A prebuilt API image; empty means build the repository's Dockerfile and push it to ECR. */
  apiImageUri: string;
  /**
   * ACM certificate for HTTPS on an internet-facing ALB (HTTP then redirects). Empty means the
   * ALB is internal, reachable only from the VPC and what is peered or connected to it, unless
   * `publicHttp` opts in. @default ""
   */
  certificateArn: string;
  /**
   * Without a certificate, put the ALB on the internet anyway, answering plain HTTP. Card
   * numbers and API keys would then cross the internet unencrypted: for a throwaway stack
   * behind its own TLS proxy only, and the policy pack refuses it. @default false
   */
  publicHttp: boolean;
  /**
   * Comma-separated IPv4 CIDRs, besides the VPC's own, that may reach an internal load balancer:
   * the networks connected to the VPC (a VPN, peering, a Transit Gateway) the API's clients are
   * on. Ignored when the load balancer faces the internet. @default ""
   */
  albIngressCidrs: string;
  /** An e-mail address subscribed to the alarm topic; empty means none. @default "" */
  alarmEmail: string;
  /**
   * More subscriptions to the alarm topic, comma-separated `protocol:endpoint` with protocol
   * `email`, `https` or `sqs` (e.g. `https:https://hooks.example.com/aws,sqs:arn:aws:sqs:…`).
   * @default ""
   */
  alarmSubscriptions: string;
  /**
   * Subscriptions to the fraud-alert topic the processor publishes every alert to, in the same
   * form: how alerts reach the analysts' tools on AWS. @default ""
   */
  alertSubscriptions: string;
  /**
   * Data at rest (stream, database, cache, buckets, queues, topics, log groups, images) under
   * the stack's customer-managed KMS key. `false` leaves each service's AWS-managed encryption,
   * for throwaway stacks: the secrets stay under the key, and the policy pack refuses it.
   * @default true (every specification asks for the customer's key)
   */
  customerManagedKey: boolean;
  /**
   * Comma-separated IPv4 CIDRs that may reach PostgreSQL on 5432 directly (an analysts' VPN).
   * Empty by default: only the processor and the API reach the database, by security group.
   * The policy pack refuses any CIDR on the data tier; set it only with the compliance team's
   * waiver. @default ""
   */
  databaseAccessCidrs: string;
}

const COMMON: PresetSettings = {
  region: "us-east-1",
  vpcCidr: "10.0.0.0/16",
  natGateways: 0,
  peakTransactionsPerMinute: 1000,
  averageRecordBytes: 1024,
  headroom: 2,
  streamMode: "PROVISIONED",
  streamRetentionHours: 168,
  cacheNodeType: "",
  cacheReplicas: 1,
  historyClusterMode: false,
  databaseEngine: "rds-postgres",
  databaseMajorVersion: "16",
  databaseInstanceClass: "db.t4g.medium",
  databaseStorageGb: 50,
  auroraMinCapacity: 0.5,
  auroraMaxCapacity: 8,
  backupRetentionDays: 7,
  monitoringIntervalSeconds: 60,
  logRetentionDays: 30,
  processorMemoryMb: 1024,
  processorBatchSize: 500,
  processorBatchingWindowSeconds: 1,
  apiDesiredCount: 2,
  apiCpu: 512,
  apiMemoryMb: 1024,
  albAccessLogs: true,
  apiImageUri: "",
  certificateArn: "",
  publicHttp: false,
  albIngressCidrs: "",
  alarmEmail: "",
  alarmSubscriptions: "",
  alertSubscriptions: "",
  customerManagedKey: true,
  databaseAccessCidrs: "",
};

export const PRESETS: Readonly<Record<PresetName, Readonly<PresetSettings>>> = Object.freeze({
  // 1000 tx/min peak, RDS Multi-AZ, no NAT gateway (AWS APIs through VPC endpoints).
  japancart: Object.freeze({ ...COMMON }),
  // LGPD: one customer-managed key for everything at rest; no NAT keeps data paths inside AWS.
  // ALB access logs would need an SSE-S3 bucket; the specification wants the CMK on everything.
  fastshop: Object.freeze({ ...COMMON, peakTransactionsPerMinute: 2000, albAccessLogs: false }),
  // Exactly one NAT gateway, Aurora Serverless v2 writer + reader, minimal (1 day) backups.
  finserv: Object.freeze({
    ...COMMON,
    natGateways: 1,
    peakTransactionsPerMinute: 3000,
    databaseEngine: "aurora-postgres-serverless",
    backupRetentionDays: 1,
  }),
});

/** The NAT gateway counts each specification allows. */
export const NAT_ALLOWED: Readonly<Record<PresetName, readonly number[]>> = Object.freeze({
  japancart: [0], // "No NAT Gateways"
  fastshop: [0, 1], // "NAT Gateway or VPC endpoints"
  finserv: [1], // "Only create 1 NAT Gateway"
});

/** The retention periods CloudWatch Logs accepts, in days. */
export const LOG_RETENTION_DAYS: readonly number[] = Object.freeze([
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
  3653,
]);

/** The PostgreSQL majors the program deploys (RDS and Aurora); the minor is AWS's default. */
export const DATABASE_MAJOR_VERSIONS: readonly string[] = Object.freeze(["15", "16", "17"]);
