import assert from "node:assert/strict";
import { test } from "node:test";
import { SHARD_LEVEL_METRICS } from "../../infra/components/transaction-stream.ts";
import { historyBytes, usableCacheBytes } from "../../infra/sizing.ts";
import {
  bucket,
  list,
  ofType,
  one,
  PRESET_NAMES,
  planFor,
  SUFFIX,
  statements,
} from "./plan-fixture.ts";

const STREAM = "aws:kinesis/stream:Stream";
const CACHE = "aws:elasticache/replicationGroup:ReplicationGroup";
const keyArn = `arn:aws:kms:us-east-1:123456789012:key/txwatch-key-${SUFFIX}`;
const id = (name: string) => `${name}-${SUFFIX}-id`;

for (const preset of PRESET_NAMES) {
  test(`STR-1 ${preset}: transaction-stream-{suffix}, KMS-encrypted, 7-day retention, shard-level metrics, shards from the sized load`, async () => {
    const plan = await planFor(preset);
    const stream = one(plan, STREAM);
    assert.equal(stream.inputs.name, `transaction-stream-${SUFFIX}`);
    assert.equal(stream.inputs.encryptionType, "KMS");
    assert.equal(stream.inputs.kmsKeyId, keyArn);
    assert.equal(stream.inputs.retentionPeriod, 168);
    assert.deepEqual(stream.inputs.shardLevelMetrics, SHARD_LEVEL_METRICS);
    assert.deepEqual(stream.inputs.streamModeDetails, { streamMode: "PROVISIONED" });
    assert.equal(stream.inputs.shardCount, 1);
  });

  test(`CCH-1 ${preset}: Redis replication group, Multi-AZ with failover and a replica, encrypted at rest (CMK) and in transit, auth token, private, logs to CloudWatch`, async () => {
    const plan = await planFor(preset);
    const cache = one(plan, CACHE);
    assert.equal(cache.inputs.replicationGroupId, `history-cache-${SUFFIX}`);
    assert.equal(cache.inputs.engine, "redis");
    assert.equal(cache.inputs.multiAzEnabled, true);
    assert.equal(cache.inputs.automaticFailoverEnabled, true);
    assert.ok(Number(cache.inputs.numCacheClusters) >= 2);
    assert.equal(cache.inputs.atRestEncryptionEnabled, true);
    assert.equal(cache.inputs.kmsKeyId, keyArn);
    assert.equal(cache.inputs.transitEncryptionEnabled, true);
    // The token is registered as a secret: Pulumi encrypts it in state and masks it in output.
    assert.match(JSON.stringify(cache.inputs.authToken), /"value":"[^"]+"/);
    assert.equal(typeof cache.inputs.authToken, "object");
    assert.deepEqual(cache.inputs.securityGroupIds, [id("elasticache-sg")]);
    const subnets = one(plan, "aws:elasticache/subnetGroup:SubnetGroup");
    assert.deepEqual(subnets.inputs.subnetIds, [id("private-subnet-1"), id("private-subnet-2")]);
    assert.equal(cache.inputs.subnetGroupName, `cache-subnets-${SUFFIX}`);
    const logs = cache.inputs.logDeliveryConfigurations as {
      logType: string;
      destinationType: string;
      destination: string;
    }[];
    assert.deepEqual(logs.map((l) => l.logType).sort(), ["engine-log", "slow-log"]);
    for (const l of logs) {
      assert.equal(l.destinationType, "cloudwatch-logs");
      assert.ok(
        ofType(plan, "aws:cloudwatch/logGroup:LogGroup").some(
          (g) => g.inputs.name === l.destination,
        ),
      );
    }
    const params = one(plan, "aws:elasticache/parameterGroup:ParameterGroup");
    assert.deepEqual(params.inputs.parameters, [{ name: "maxmemory-policy", value: "noeviction" }]);
  });

  test(`CAP-1 ${preset}: the 24 h history at peak, with headroom, fits the sized cache node`, async () => {
    const plan = await planFor(preset);
    const { settings } = plan.config;
    const nodeType = String(one(plan, CACHE).inputs.nodeType);
    assert.ok(
      usableCacheBytes(nodeType) >=
        historyBytes(settings.peakTransactionsPerMinute) * settings.headroom,
    );
  });

  test(`STO-1 AWS-2 ${preset}: app-logs, processed-transactions and access-logs buckets: globally unique names, encrypted, public access blocked, TLS-only policy, versioning and lifecycle`, async () => {
    const plan = await planFor(preset);
    const names = ofType(plan, "aws:s3/bucket:Bucket")
      .map((b) => [b.name, b.inputs.bucket])
      .sort();
    assert.deepEqual(names, [
      [`access-logs-${SUFFIX}`, bucket("access-logs")],
      [`app-logs-${SUFFIX}`, bucket("app-logs")],
      [`processed-transactions-${SUFFIX}`, bucket("processed-transactions")],
    ]);
    for (const [logical, name] of names) {
      const on = (type: string) =>
        ofType(plan, type).find((r) => r.inputs.bucket === `${logical}-id`);
      const block = on("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock");
      for (const flag of [
        "blockPublicAcls",
        "blockPublicPolicy",
        "ignorePublicAcls",
        "restrictPublicBuckets",
      ]) {
        assert.equal(block?.inputs[flag], true, `${name} ${flag}`);
      }
      const sse = on(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
      );
      assert.ok(sse, `${name} encrypted`);
      assert.deepEqual(
        on("aws:s3/bucketVersioning:BucketVersioning")?.inputs.versioningConfiguration,
        { status: "Enabled" },
      );
      assert.ok(on("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"));
      const policy = on("aws:s3/bucketPolicy:BucketPolicy");
      assert.ok(policy);
      const deny = statements(policy).find((s) => s.Effect === "Deny");
      assert.deepEqual(deny?.Condition, { Bool: { "aws:SecureTransport": "false" } });
      assert.deepEqual(list(deny?.Resource ?? []), [
        `arn:aws:s3:::${name}`,
        `arn:aws:s3:::${name}/*`,
      ]);
    }
    const processed = ofType(
      plan,
      "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    ).find((r) => r.inputs.bucket === `processed-transactions-${SUFFIX}-id`);
    assert.deepEqual((processed?.inputs.rules as unknown[] | undefined)?.[0], {
      applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: keyArn },
      bucketKeyEnabled: true,
    });
  });
}

for (const preset of ["japancart", "fastshop"] as const) {
  test(`DB-1 ${preset}: RDS PostgreSQL pinned to its major version, Multi-AZ, private, encrypted with the CMK, backups with windows, monitoring, insights, log exports, TLS forced`, async () => {
    const plan = await planFor(preset);
    const db = one(plan, "aws:rds/instance:Instance");
    assert.equal(db.inputs.identifier, `ledger-db-${SUFFIX}`);
    assert.equal(db.inputs.engine, "postgres");
    assert.equal(db.inputs.engineVersion, "16");
    assert.equal(db.inputs.multiAz, true);
    assert.equal(db.inputs.publiclyAccessible, false);
    assert.equal(db.inputs.storageEncrypted, true);
    assert.equal(db.inputs.kmsKeyId, keyArn);
    assert.equal(db.inputs.backupRetentionPeriod, 7);
    assert.match(String(db.inputs.backupWindow), /^\d\d:\d\d-\d\d:\d\d$/);
    assert.match(String(db.inputs.maintenanceWindow), /^[a-z]{3}:\d\d:\d\d-[a-z]{3}:\d\d:\d\d$/);
    assert.equal(db.inputs.monitoringInterval, 60);
    assert.equal(
      db.inputs.monitoringRoleArn,
      `arn:aws:iam:us-east-1:123456789012:rds-monitoring-role-${SUFFIX}`,
    );
    assert.equal(db.inputs.performanceInsightsEnabled, true);
    assert.deepEqual(db.inputs.enabledCloudwatchLogsExports, ["postgresql", "upgrade"]);
    assert.deepEqual(db.inputs.vpcSecurityGroupIds, [id("rds-sg")]);
    assert.deepEqual(one(plan, "aws:rds/subnetGroup:SubnetGroup").inputs.subnetIds, [
      id("private-subnet-1"),
      id("private-subnet-2"),
    ]);
    const params = one(plan, "aws:rds/parameterGroup:ParameterGroup");
    assert.equal(params.inputs.family, "postgres16");
    assert.equal(db.inputs.parameterGroupName, params.inputs.name);
    assert.ok(
      (params.inputs.parameters as { name: string; value: string }[]).some(
        (p) => p.name === "rds.force_ssl" && p.value === "1",
      ),
    );
    assert.equal(ofType(plan, "aws:rds/cluster:Cluster").length, 0);
  });
}

test("DB-2 finserv: Aurora PostgreSQL Serverless v2, one writer and one reader, private, encrypted, backups >= 1 day, log exports, TLS forced", async () => {
  const plan = await planFor("finserv");
  const cluster = one(plan, "aws:rds/cluster:Cluster");
  assert.equal(cluster.inputs.engine, "aurora-postgresql");
  assert.equal(cluster.inputs.engineMode, "provisioned");
  assert.deepEqual(cluster.inputs.serverlessv2ScalingConfiguration, {
    minCapacity: 0.5,
    maxCapacity: 8,
  });
  assert.equal(cluster.inputs.storageEncrypted, true);
  assert.equal(cluster.inputs.kmsKeyId, keyArn);
  assert.ok(Number(cluster.inputs.backupRetentionPeriod) >= 1);
  assert.deepEqual(cluster.inputs.enabledCloudwatchLogsExports, ["postgresql"]);
  assert.deepEqual(cluster.inputs.vpcSecurityGroupIds, [id("rds-sg")]);
  const instances = ofType(plan, "aws:rds/clusterInstance:ClusterInstance");
  assert.deepEqual(
    instances.map((i) => [i.inputs.identifier, i.inputs.promotionTier]),
    [
      [`ledger-writer-${SUFFIX}`, 0],
      [`ledger-reader-${SUFFIX}`, 1],
    ],
  );
  for (const i of instances) {
    assert.equal(i.inputs.instanceClass, "db.serverless");
    assert.equal(i.inputs.publiclyAccessible, false);
    assert.equal(i.inputs.clusterIdentifier, id("ledger-cluster"));
  }
  const params = one(plan, "aws:rds/clusterParameterGroup:ClusterParameterGroup");
  assert.equal(params.inputs.family, "aurora-postgresql16");
  assert.deepEqual(params.inputs.parameters, [{ name: "rds.force_ssl", value: "1" }]);
  assert.equal(cluster.inputs.dbClusterParameterGroupName, params.inputs.name);
  assert.equal(ofType(plan, "aws:rds/instance:Instance").length, 0);
});

test("STR-1 ON_DEMAND by config: no shard count, on-demand mode", async () => {
  const plan = await planFor("japancart", { streamMode: "ON_DEMAND" });
  const stream = one(plan, STREAM);
  assert.equal(stream.inputs.shardCount, undefined);
  assert.deepEqual(stream.inputs.streamModeDetails, { streamMode: "ON_DEMAND" });
});

test("STR-1 a larger peak from config gives more shards; retention is configurable", async () => {
  const plan = await planFor("japancart", {
    peakTransactionsPerMinute: "300000",
    streamRetentionHours: "24",
    cacheNodeType: "cache.r7g.4xlarge",
  });
  const stream = one(plan, STREAM);
  assert.equal(stream.inputs.shardCount, 10);
  assert.equal(stream.inputs.retentionPeriod, 24);
});

test("DB-1 Enhanced Monitoring off by config: no monitoring role, interval 0", async () => {
  const plan = await planFor("fastshop", { monitoringIntervalSeconds: "0" });
  const db = one(plan, "aws:rds/instance:Instance");
  assert.equal(db.inputs.monitoringInterval, 0);
  assert.equal(db.inputs.monitoringRoleArn, undefined);
  assert.equal(
    ofType(plan, "aws:iam/role:Role").filter((r) =>
      String(r.inputs.name).startsWith("rds-monitoring"),
    ).length,
    0,
  );
});

test("STO-1 in a region without a classic ELB log account, the log-delivery service principal writes the ALB logs", async () => {
  const plan = await planFor("japancart", { region: "eu-south-2" });
  const policy = ofType(plan, "aws:s3/bucketPolicy:BucketPolicy").find(
    (p) => p.inputs.bucket === `app-logs-${SUFFIX}-id`,
  );
  assert.ok(policy);
  const delivery = statements(policy).find((s) => s.Sid === "AlbAccessLogDelivery");
  assert.deepEqual(delivery?.Principal, {
    Service: "logdelivery.elasticloadbalancing.amazonaws.com",
  });
  assert.equal(one(plan, "pulumi:providers:aws").inputs.region, "eu-south-2");
});
