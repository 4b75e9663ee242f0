import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
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

const NAMED_INPUTS = [
  "name",
  "bucket",
  "identifier",
  "clusterIdentifier",
  "replicationGroupId",
  "dashboardName",
];

for (const preset of PRESET_NAMES) {
  test(`GEN-1 ${preset}: every resource and every physical name is {resource-type}-{environmentSuffix}`, async () => {
    const plan = await planFor(preset);
    assert.ok(plan.resources.length > 100);
    for (const r of plan.resources) {
      if (r.type.startsWith("pulumi:providers:")) continue;
      assert.ok(r.name.includes(SUFFIX), `${r.type} ${r.name} lacks the suffix`);
      for (const key of NAMED_INPUTS) {
        const value = r.inputs[key];
        if (typeof value === "string") {
          assert.ok(
            value.includes(SUFFIX),
            `${r.type} ${r.name}: ${key} "${value}" lacks the suffix`,
          );
        }
      }
      assert.doesNotMatch(
        JSON.stringify(r.inputs),
        /[-_"](dev|prod)[-_"]/,
        `${r.name} hard-codes an environment`,
      );
    }
  });

  test(`GEN-1 ${preset}: region us-east-1 by default on the stack's provider`, async () => {
    const plan = await planFor(preset);
    assert.equal(one(plan, "pulumi:providers:aws").inputs.region, "us-east-1");
  });

  test(`GEN-2 ${preset}: destroyable: no deletion protection, final snapshots skipped, buckets and registries force-deleted, 7-day key window`, async () => {
    const plan = await planFor(preset);
    for (const r of plan.resources) {
      assert.notEqual(r.inputs.deletionProtection, true, r.name);
      assert.notEqual(r.inputs.enableDeletionProtection, true, r.name);
    }
    for (const db of [
      ...ofType(plan, "aws:rds/instance:Instance"),
      ...ofType(plan, "aws:rds/cluster:Cluster"),
    ]) {
      assert.equal(db.inputs.skipFinalSnapshot, true);
      assert.equal(db.inputs.deletionProtection, false);
    }
    for (const b of ofType(plan, "aws:s3/bucket:Bucket")) assert.equal(b.inputs.forceDestroy, true);
    for (const r of ofType(plan, "aws:ecr/repository:Repository"))
      assert.equal(r.inputs.forceDelete, true);
    assert.equal(
      one(plan, "aws:lb/loadBalancer:LoadBalancer").inputs.enableDeletionProtection,
      false,
    );
    assert.equal(one(plan, "aws:kms/key:Key").inputs.deletionWindowInDays, 7);
    for (const s of ofType(plan, "aws:secretsmanager/secret:Secret"))
      assert.equal(s.inputs.recoveryWindowInDays, 0);
    assert.equal(one(plan, "aws:kinesis/stream:Stream").inputs.enforceConsumerDeletion, true);
  });

  test(`GEN-3 ${preset}: Project, Environment, ManagedBy and Preset tags on every taggable resource`, async () => {
    const plan = await planFor(preset);
    const { TAGGABLE_TYPES } = await import("../../policy/taggable-types.ts");
    let tagged = 0;
    for (const r of plan.resources.filter((x) => TAGGABLE_TYPES.has(x.type))) {
      assert.deepEqual(
        { ...(r.inputs.tags as Record<string, string>), Name: undefined },
        {
          Project: "txwatch",
          Environment: SUFFIX,
          ManagedBy: "pulumi",
          Preset: preset,
          Name: undefined,
        },
        `${r.type} ${r.name}`,
      );
      tagged++;
    }
    assert.ok(tagged > 80);
  });

  test(`GEN-4 ${preset}: the stack outputs carry the exact names the customers' tooling reads`, async () => {
    const plan = await planFor(preset);
    assert.deepEqual(Object.keys(plan.outputs).sort(), [
      "access_logs_bucket",
      "admin_function_name",
      "alarm_topic_arn",
      "alb_dns_name",
      "alert_topic_arn",
      "api_url",
      "app_logs_bucket",
      "dashboard_name",
      "db_secret_arn",
      "elasticache_security_group_id",
      "kinesis_stream_arn",
      "kinesis_stream_name",
      "processed_data_bucket",
      "processor_function_name",
      "rds_endpoint",
      "rds_port",
      "rds_security_group_id",
      "redis_endpoint",
      "redis_port",
      "vpc_id",
    ]);
    assert.equal(plan.outputs.kinesis_stream_name, `transaction-stream-${SUFFIX}`);
    assert.equal(plan.outputs.redis_port, 6379);
    assert.equal(plan.outputs.rds_port, 5432);
    assert.equal(plan.outputs.app_logs_bucket, bucket("app-logs"));
    assert.equal(plan.outputs.processed_data_bucket, bucket("processed-transactions"));
    assert.equal(plan.outputs.access_logs_bucket, bucket("access-logs"));
    assert.equal(plan.outputs.admin_function_name, `ledger-admin-${SUFFIX}`);
    assert.equal(plan.outputs.api_url, `http://api-alb-${SUFFIX}.us-east-1.elb.amazonaws.com`);
    assert.equal(plan.outputs.processor_function_name, `processor-${SUFFIX}`);
    assert.equal(plan.outputs.rds_security_group_id, `rds-sg-${SUFFIX}-id`);
    assert.equal(plan.outputs.elasticache_security_group_id, `elasticache-sg-${SUFFIX}-id`);
    assert.match(String(plan.outputs.db_secret_arn), /^arn:aws:secretsmanager:/);
    assert.match(String(plan.outputs.redis_endpoint), /history-cache/);
  });

  test(`SEC-3 ${preset}: no IAM action "*" or "service:*"; "*" resources only for actions AWS cannot scope`, async () => {
    const plan = await planFor(preset);
    const unscopable = new Set([
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeSubnets",
      "ecr:GetAuthorizationToken",
    ]);
    const policies = ofType(plan, "aws:iam/rolePolicy:RolePolicy");
    // API execution and task, processor, ledger admin, ledger archive.
    assert.equal(policies.length, 6);
    for (const p of policies) {
      for (const s of statements(p)) {
        for (const action of list(s.Action)) {
          assert.notEqual(action, "*", p.name);
          assert.doesNotMatch(action, /^[a-z0-9-]+:\*$/, `${p.name}: ${action}`);
        }
        if (list(s.Resource).includes("*")) {
          for (const action of list(s.Action))
            assert.ok(unscopable.has(action), `${p.name}: ${action} on "*"`);
        }
        for (const resource of list(s.Resource)) assert.match(resource, /^(\*|arn:aws:)/);
      }
    }
  });
}

test("GEN-5 infra/ is strict TypeScript without `any`", () => {
  const tsconfig = JSON.parse(readFileSync("tsconfig.json", "utf8")) as {
    compilerOptions: { strict: boolean };
    include: string[];
  };
  assert.equal(tsconfig.compilerOptions.strict, true);
  assert.ok(tsconfig.include.includes("infra"));
  const files = readdirSync("infra", { recursive: true, encoding: "utf8" }).filter((f) =>
    f.endsWith(".ts"),
  );
  assert.ok(files.length > 10);
  for (const file of files) {
    const code = readFileSync(join("infra", file), "utf8");
    assert.doesNotMatch(code, /(:\s*any\b|\bas any\b|<any>|\bany\[\])/, `infra/${file} uses any`);
  }
});
