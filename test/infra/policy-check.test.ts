import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { readStackConfig } from "../../infra/config.ts";
import { planStack } from "../../infra/plan/capture.ts";
import { runPlanCheck } from "../../infra/plan/plan-command.ts";
import { checkPlan, formatViolations } from "../../infra/plan/policy-check.ts";
import { ofType, PRESET_NAMES, planFor, SUFFIX } from "./plan-fixture.ts";

const txwatch = (...args: string[]) =>
  spawnSync(process.execPath, ["bin/txwatch.mjs", ...args], { encoding: "utf8", timeout: 90_000 });

describe("txwatch plan --check: the policy pack over the offline plan", () => {
  for (const preset of PRESET_NAMES) {
    test(`POL-2 POL-1 ${preset}: the preset as shipped has zero violations`, async () => {
      const plan = await planFor(preset);
      assert.deepEqual(checkPlan(plan), []);
      assert.equal(
        formatViolations(plan, []),
        `txwatch plan --check: preset ${preset}, environmentSuffix ${SUFFIX}: ${plan.resources.length} resources, 0 violations\n`,
      );
    });
  }

  test("POL-2 SEC-1 turning off the customer-managed key is caught on every store, stream, queue, topic and log group", async () => {
    const plan = await planFor("fastshop", { customerManagedKey: "false" });
    const violations = checkPlan(plan);
    const at = (type: string, name: string) =>
      violations.filter((v) => v.urn === `${type}::${name}-${SUFFIX}`).map((v) => v.message);
    assert.ok(
      violations.every((v) =>
        ["encryption-at-rest-customer-key", "bucket-encryption-customer-key"].includes(v.policy),
      ),
    );
    for (const topic of ["alarm-topic", "fraud-alerts"]) {
      assert.deepEqual(at("aws:sns/topic:Topic", topic), [
        `SNS topic ${topic}-${SUFFIX} must be encrypted at rest with a customer-managed KMS key (kmsMasterKeyId).`,
      ]);
    }
    assert.deepEqual(at("aws:ecr/repository:Repository", "api"), [
      `ECR repository api-${SUFFIX} must be encrypted at rest with a customer-managed KMS key (encryptionConfigurations KMS).`,
    ]);
    assert.deepEqual(at("aws:kinesis/stream:Stream", "transaction-stream"), [
      `Kinesis stream transaction-stream-${SUFFIX} must be encrypted at rest with a customer-managed KMS key (kmsKeyId).`,
    ]);
    assert.deepEqual(at("aws:rds/instance:Instance", "ledger-db"), [
      `Database ledger-db-${SUFFIX} must be encrypted at rest with a customer-managed KMS key (kmsKeyId).`,
      `Database ledger-db-${SUFFIX} must be encrypted at rest with a customer-managed KMS key (performanceInsightsKmsKeyId).`,
    ]);
    assert.deepEqual(at("aws:s3/bucket:Bucket", "processed-transactions"), [
      `S3 bucket processed-transactions-${SUFFIX} must be encrypted with a customer-managed KMS key (sseAlgorithm "aws:kms", not "AES256").`,
    ]);
    assert.deepEqual(at("aws:sqs/queue:Queue", "processor-dlq"), [
      `SQS queue processor-dlq-${SUFFIX} must be encrypted at rest with a customer-managed KMS key (kmsMasterKeyId).`,
    ]);
    assert.deepEqual(at("aws:elasticache/replicationGroup:ReplicationGroup", "history-cache"), [
      `Redis replication group history-cache-${SUFFIX} must be encrypted at rest with a customer-managed KMS key (kmsKeyId).`,
    ]);
    // Every log group is named; the secrets keep the stack's key.
    const logGroups = ofType(plan, "aws:cloudwatch/logGroup:LogGroup");
    assert.equal(
      violations.filter((v) => v.urn.startsWith("aws:cloudwatch/logGroup:LogGroup::")).length,
      logGroups.length,
    );
    assert.equal(violations.filter((v) => v.urn.includes("secretsmanager")).length, 0);
  });

  test("POL-2 SEC-2 a security group opened to 0.0.0.0/0 on 5432 is caught with the data-tier sentence", async () => {
    const plan = await planFor("japancart", { databaseAccessCidrs: "0.0.0.0/0" });
    assert.deepEqual(checkPlan(plan), [
      {
        policy: "data-tier-ingress-from-security-groups",
        urn: `aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule::rds-from-cidr-1-${SUFFIX}`,
        message: `Security group rule rds-from-cidr-1-${SUFFIX} must admit the data tier (rds-sg-${SUFFIX}) only from a security group, not from 0.0.0.0/0.`,
      },
    ]);
    const rule = ofType(plan, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").find(
      (r) => r.name === `rds-from-cidr-1-${SUFFIX}`,
    );
    assert.deepEqual(
      { port: rule?.inputs.fromPort, to: rule?.inputs.toPort, cidr: rule?.inputs.cidrIpv4 },
      { port: 5432, to: 5432, cidr: "0.0.0.0/0" },
    );
  });

  test("POL-2 OBS-1 a 7-day log retention is caught on every log group", async () => {
    const plan = await planFor("finserv", { logRetentionDays: "7" });
    const violations = checkPlan(plan);
    const logGroups = ofType(plan, "aws:cloudwatch/logGroup:LogGroup");
    assert.ok(logGroups.length >= 6);
    assert.deepEqual(
      violations.map((v) => v.message).sort(),
      logGroups
        .map((g) => `Log group ${g.name} must keep logs at least 30 days (retentionInDays is 7).`)
        .sort(),
    );
    assert.ok(violations.every((v) => v.policy === "log-retention-30-days"));
  });

  test("POL-2 the report lists resource, policy and sentence; JSON carries the same", async () => {
    const text = await runPlanCheck({
      preset: "japancart",
      environmentSuffix: "audit",
      set: ["databaseAccessCidrs=0.0.0.0/0"],
    });
    assert.equal(text.violations, 1);
    const values: Record<string, string> = {
      preset: "japancart",
      environmentSuffix: "audit",
      databaseAccessCidrs: "0.0.0.0/0",
    };
    const resources = (await planStack(readStackConfig((k) => values[k]))).resources.length;
    assert.equal(
      text.report,
      [
        `txwatch plan --check: preset japancart, environmentSuffix audit: ${resources} resources, 1 violation`,
        "  aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule::rds-from-cidr-1-audit",
        "    [data-tier-ingress-from-security-groups] Security group rule rds-from-cidr-1-audit must admit the data tier (rds-sg-audit) only from a security group, not from 0.0.0.0/0.",
        "",
      ].join("\n"),
    );
    const json = await runPlanCheck({
      preset: "japancart",
      environmentSuffix: "audit",
      set: ["databaseAccessCidrs=0.0.0.0/0"],
      json: true,
    });
    assert.deepEqual(JSON.parse(json.report), {
      preset: "japancart",
      environmentSuffix: "audit",
      resources,
      violations: [
        {
          resource:
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule::rds-from-cidr-1-audit",
          policy: "data-tier-ingress-from-security-groups",
          message:
            "Security group rule rds-from-cidr-1-audit must admit the data tier (rds-sg-audit) only from a security group, not from 0.0.0.0/0.",
        },
      ],
    });
  });

  test("POL-2 the command exits 0 on a compliant stack file and 1 when its overrides break a policy", () => {
    const dir = mkdtempSync(join(tmpdir(), "txwatch-check-"));
    const file = join(dir, "Pulumi.staging.yaml");
    writeFileSync(
      file,
      "config:\n  txwatch:preset: fastshop\n  txwatch:environmentSuffix: staging\n  txwatch:logRetentionDays: 7\n",
    );
    const ok = txwatch("plan", "--preset", "fastshop", "--check");
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /preset fastshop, environmentSuffix plan: \d+ resources, 0 violations/);
    const broken = txwatch("plan", "--stack-config", file, "--check");
    assert.equal(broken.status, 1, broken.stderr);
    assert.match(broken.stdout, /environmentSuffix staging: \d+ resources, \d+ violations/);
    assert.match(
      broken.stdout,
      /\[log-retention-30-days\] Log group processor-logs-staging must keep logs at least 30 days \(retentionInDays is 7\)\./,
    );
    const fixed = txwatch(
      "plan",
      "--stack-config",
      file,
      "--set",
      "logRetentionDays=30",
      "--check",
    );
    assert.equal(fixed.status, 0, fixed.stdout);
  });
});
