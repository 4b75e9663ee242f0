import assert from "node:assert/strict";
import { test } from "node:test";
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

// Settings that pass under mocks and fail on AWS: each has its own test (issue "The platform").

for (const preset of PRESET_NAMES) {
  test(`CCH-1 pitfall ${preset}: Multi-AZ comes with automatic failover and at least 2 cache clusters`, async () => {
    const cache = one(await planFor(preset), "aws:elasticache/replicationGroup:ReplicationGroup");
    assert.equal(cache.inputs.multiAzEnabled, true);
    assert.equal(cache.inputs.automaticFailoverEnabled, true);
    assert.ok(Number(cache.inputs.numCacheClusters) >= 2);
  });

  test(`CCH-1 pitfall ${preset}: the auth token comes with transit encryption and an authTokenUpdateStrategy (pulumi-aws v7)`, async () => {
    const cache = one(await planFor(preset), "aws:elasticache/replicationGroup:ReplicationGroup");
    assert.notEqual(cache.inputs.authToken, undefined);
    assert.equal(cache.inputs.transitEncryptionEnabled, true);
    assert.equal(cache.inputs.authTokenUpdateStrategy, "ROTATE");
  });

  test(`OBS-2 pitfall ${preset}: Redis alarms use member cluster ids <group>-001/-002, not the replication group id`, async () => {
    const plan = await planFor(preset);
    const group = String(
      one(plan, "aws:elasticache/replicationGroup:ReplicationGroup").inputs.replicationGroupId,
    );
    const ids = ofType(plan, "aws:cloudwatch/metricAlarm:MetricAlarm")
      .filter((a) => a.inputs.namespace === "AWS/ElastiCache")
      .map((a) => (a.inputs.dimensions as Record<string, string>).CacheClusterId);
    assert.ok(ids.length >= 7);
    for (const id of ids) assert.match(String(id), new RegExp(`^${group}-00[12]$`));
  });

  test(`SEC-1 pitfall ${preset}: the key policy admits logs.<region>.amazonaws.com, because log groups are encrypted with the key`, async () => {
    const plan = await planFor(preset);
    const key = one(plan, "aws:kms/key:Key");
    const principals = statements(key).map((s) => JSON.stringify(s.Principal));
    assert.ok(principals.some((p) => p.includes('"logs.us-east-1.amazonaws.com"')));
    assert.ok(
      ofType(plan, "aws:cloudwatch/logGroup:LogGroup").every(
        (g) => g.inputs.kmsKeyId !== undefined,
      ),
    );
  });

  test(`GEN-5 pitfall ${preset}: pulumi-aws v7 resource names: s3.Bucket (not BucketV2), FlowLog.logDestination`, async () => {
    const plan = await planFor(preset);
    assert.equal(ofType(plan, "aws:s3/bucketV2:BucketV2").length, 0);
    assert.equal(ofType(plan, "aws:s3/bucket:Bucket").length, 3);
    assert.ok(
      plan.resources.every((r) => !/V2$/.test(r.type)),
      "no deprecated V2 types",
    );
    const flow = one(plan, "aws:ec2/flowLog:FlowLog");
    assert.notEqual(flow.inputs.logDestination, undefined);
    assert.equal(flow.inputs.logGroupName, undefined);
  });

  test(`CMP-1 pitfall ${preset}: a Lambda in a VPC may create, describe and delete its ENIs`, async () => {
    const plan = await planFor(preset);
    const policy = ofType(plan, "aws:iam/rolePolicy:RolePolicy").find(
      (p) => p.name === `processor-policy-${SUFFIX}`,
    );
    assert.ok(policy);
    const actions = statements(policy).flatMap((s) => list(s.Action));
    for (const action of [
      "ec2:CreateNetworkInterface",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DeleteNetworkInterface",
    ]) {
      assert.ok(actions.includes(action), action);
    }
  });
}

for (const preset of ["japancart", "fastshop"] as const) {
  test(`DB-1 pitfall ${preset}: alarms use DBInstanceIdentifier = the instance identifier, not its Pulumi id`, async () => {
    const plan = await planFor(preset);
    const db = one(plan, "aws:rds/instance:Instance");
    const dims = ofType(plan, "aws:cloudwatch/metricAlarm:MetricAlarm")
      .filter((a) => a.inputs.namespace === "AWS/RDS")
      .map((a) => (a.inputs.dimensions as Record<string, string>).DBInstanceIdentifier);
    assert.equal(dims.length, 3);
    for (const d of dims) {
      assert.equal(d, db.inputs.identifier);
      assert.notEqual(d, `${db.name}-id`);
    }
  });

  test(`DB-1 pitfall ${preset}: only the major engine version is pinned; RDS manages the master password with the CMK; a parameter group forces TLS`, async () => {
    const plan = await planFor(preset);
    const db = one(plan, "aws:rds/instance:Instance");
    assert.match(String(db.inputs.engineVersion), /^\d+$/);
    assert.equal(db.inputs.autoMinorVersionUpgrade, true);
    assert.equal(db.inputs.manageMasterUserPassword, true);
    assert.match(String(db.inputs.masterUserSecretKmsKeyId), /^arn:aws:kms:/);
    const params = one(plan, "aws:rds/parameterGroup:ParameterGroup");
    assert.ok(
      (params.inputs.parameters as { name: string; value: string }[]).some(
        (p) => p.name === "rds.force_ssl" && p.value === "1",
      ),
    );
  });
}

test("DB-2 pitfall finserv: Aurora Serverless v2 needs db.serverless instances and the cluster's serverlessv2ScalingConfiguration", async () => {
  const plan = await planFor("finserv");
  const cluster = one(plan, "aws:rds/cluster:Cluster");
  assert.ok(cluster.inputs.serverlessv2ScalingConfiguration);
  assert.equal(cluster.inputs.engineMode, "provisioned");
  const instances = ofType(plan, "aws:rds/clusterInstance:ClusterInstance");
  assert.equal(instances.length, 2);
  for (const i of instances) assert.equal(i.inputs.instanceClass, "db.serverless");
});

test("NET-2 pitfall japancart: private Fargate without NAT has ECR api + dkr, CloudWatch Logs interface endpoints and the S3 gateway endpoint", async () => {
  const plan = await planFor("japancart");
  const endpoints = ofType(plan, "aws:ec2/vpcEndpoint:VpcEndpoint").map((e) => [
    e.inputs.serviceName,
    e.inputs.vpcEndpointType,
  ]);
  for (const [service, type] of [
    ["ecr.api", "Interface"],
    ["ecr.dkr", "Interface"],
    ["logs", "Interface"],
    ["s3", "Gateway"],
  ]) {
    assert.ok(
      endpoints.some(([s, t]) => s === `com.amazonaws.us-east-1.${service}` && t === type),
      `${service} ${type}`,
    );
  }
});

for (const preset of ["japancart", "finserv"] as const) {
  test(`STO-1 pitfall ${preset}: the ALB access-log bucket uses SSE-S3 (ALB cannot write with KMS) and admits the regional ELB account; ALB deletion protection off`, async () => {
    const plan = await planFor(preset);
    const sse = ofType(
      plan,
      "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    ).find((r) => r.inputs.bucket === `app-logs-${SUFFIX}-id`);
    assert.deepEqual((sse?.inputs.rules as unknown[] | undefined)?.[0], {
      applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" },
      bucketKeyEnabled: false,
    });
    const policy = ofType(plan, "aws:s3/bucketPolicy:BucketPolicy").find(
      (p) => p.inputs.bucket === `app-logs-${SUFFIX}-id`,
    );
    assert.ok(policy);
    const delivery = statements(policy).find((s) => s.Sid === "AlbAccessLogDelivery");
    assert.deepEqual(delivery?.Principal, { AWS: "arn:aws:iam::127311923021:root" });
    assert.deepEqual(list(delivery?.Resource ?? []), [
      `arn:aws:s3:::${bucket("app-logs")}/alb/AWSLogs/123456789012/*`,
    ]);
    assert.equal(
      one(plan, "aws:lb/loadBalancer:LoadBalancer").inputs.enableDeletionProtection,
      false,
    );
  });
}

test("STO-1 fastshop: with ALB access logs off, app-logs and processed-transactions are under the customer-managed key (its specification); only the S3 access-log destination is SSE-S3, the one encryption S3 log delivery accepts", async () => {
  const plan = await planFor("fastshop");
  const rules = Object.fromEntries(
    ofType(
      plan,
      "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    ).map((r) => [
      r.inputs.bucket,
      (r.inputs.rules as { applyServerSideEncryptionByDefault: { sseAlgorithm: string } }[])[0]
        ?.applyServerSideEncryptionByDefault.sseAlgorithm,
    ]),
  );
  assert.deepEqual(rules, {
    [`access-logs-${SUFFIX}-id`]: "AES256",
    [`app-logs-${SUFFIX}-id`]: "aws:kms",
    [`processed-transactions-${SUFFIX}-id`]: "aws:kms",
  });
  const policy = ofType(plan, "aws:s3/bucketPolicy:BucketPolicy").find(
    (p) => p.inputs.bucket === `app-logs-${SUFFIX}-id`,
  );
  assert.ok(policy);
  assert.equal(
    statements(policy).find((s) => s.Sid === "AlbAccessLogDelivery"),
    undefined,
  );
  assert.equal(
    (one(plan, "aws:lb/loadBalancer:LoadBalancer").inputs.accessLogs as { enabled: boolean })
      .enabled,
    false,
  );
});

for (const preset of PRESET_NAMES) {
  test(`SCL-2 pitfall ${preset}: cluster mode is what ElastiCache accepts: failover on, node groups instead of numCacheClusters, a replica per shard, a redis7 parameter group with cluster-enabled yes, no snapshotting cluster`, async () => {
    const plan = await planFor(preset, { historyClusterMode: "true" });
    const cache = one(plan, "aws:elasticache/replicationGroup:ReplicationGroup");
    // "AutomaticFailoverEnabled must be enabled for ... (cluster mode enabled) replication groups."
    assert.equal(cache.inputs.automaticFailoverEnabled, true);
    assert.equal(cache.inputs.multiAzEnabled, true);
    // numCacheClusters conflicts with numNodeGroups / replicasPerNodeGroup.
    assert.equal(cache.inputs.numCacheClusters, undefined);
    assert.ok(Number(cache.inputs.numNodeGroups) >= 1);
    assert.ok(Number(cache.inputs.replicasPerNodeGroup) >= 1);
    assert.ok(Number(cache.inputs.replicasPerNodeGroup) <= 5);
    assert.equal(cache.inputs.clusterMode, "enabled");
    // A cluster-mode group needs a parameter group with cluster-enabled yes, of the engine's
    // family (7.1 -> redis7).
    const params = one(plan, "aws:elasticache/parameterGroup:ParameterGroup");
    assert.equal(cache.inputs.parameterGroupName, params.inputs.name);
    assert.equal(params.inputs.family, `redis${String(cache.inputs.engineVersion).split(".")[0]}`);
    assert.ok(
      (params.inputs.parameters as { name: string; value: string }[]).some(
        (p) => p.name === "cluster-enabled" && p.value === "yes",
      ),
    );
    // "snapshotting_cluster_id ... cannot be set for Redis (cluster mode enabled)".
    assert.equal(cache.inputs.snapshottingClusterId, undefined);
    assert.equal(cache.inputs.finalSnapshotIdentifier, undefined);
  });

  test(`OBS-2 SCL-2 pitfall ${preset}: in cluster mode Redis alarms use member cluster ids <group>-0001-001/-002`, async () => {
    const plan = await planFor(preset, { historyClusterMode: "true" });
    const group = String(
      one(plan, "aws:elasticache/replicationGroup:ReplicationGroup").inputs.replicationGroupId,
    );
    const ids = ofType(plan, "aws:cloudwatch/metricAlarm:MetricAlarm")
      .filter((a) => a.inputs.namespace === "AWS/ElastiCache")
      .map((a) => (a.inputs.dimensions as Record<string, string>).CacheClusterId);
    assert.equal(ids.length, 8);
    for (const id of ids) assert.match(String(id), new RegExp(`^${group}-0001-00[12]$`));
  });
}
