import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { redactSecrets } from "../../infra/plan/format.ts";
import {
  planAwsRegion,
  planConfigValues,
  runPlan,
  runPlanCheck,
} from "../../infra/plan/plan-command.ts";

interface JsonPlan {
  preset: string;
  environmentSuffix: string;
  settings: Record<string, unknown>;
  resources: { type: string; name: string; inputs: Record<string, unknown> }[];
  outputs: Record<string, unknown>;
}

test("GEN-1 txwatch plan --preset finserv runs offline: no Pulumi CLI, no AWS credentials, and prints the resources with their key settings", () => {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(AWS_|PULUMI_)/.test(k)),
  );
  const result = spawnSync(process.execPath, ["bin/txwatch.mjs", "plan", "--preset", "finserv"], {
    env: { ...env, PATH: "/usr/bin:/bin" },
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(result.status, 0, result.stderr);
  const out = result.stdout;
  assert.match(
    out,
    /^txwatch plan: preset finserv, environmentSuffix plan, region us-east-1: \d+ resources/,
  );
  assert.match(
    out,
    /transaction-stream-plan {2}name=transaction-stream-plan shardCount=1 retentionPeriod=168 encryptionType=KMS/,
  );
  assert.match(
    out,
    /ledger-writer-plan {2}identifier=ledger-writer-plan instanceClass=db\.serverless promotionTier=0/,
  );
  assert.match(out, /aws:ec2\/natGateway:NatGateway \(1\)/);
  assert.match(
    out,
    /processor-plan {2}name=processor-plan runtime=nodejs22\.x architectures=\["arm64"\]/,
  );
  assert.match(out, /\n {2}kinesis_stream_name = transaction-stream-plan\n/);
  assert.doesNotMatch(out, /offline-plan-placeholder/);
});

test("GEN-1 txwatch plan --json has every input with secrets redacted", async () => {
  const plan = JSON.parse(
    await runPlan({ preset: "japancart", environmentSuffix: "pr7", json: true }),
  ) as JsonPlan;
  assert.equal(plan.preset, "japancart");
  assert.equal(plan.environmentSuffix, "pr7");
  assert.equal(plan.settings.natGateways, 0);
  const cache = plan.resources.find(
    (r) => r.type === "aws:elasticache/replicationGroup:ReplicationGroup",
  );
  assert.equal(cache?.inputs.authToken, "[secret]");
  assert.equal(cache?.inputs.nodeType, "cache.r7g.large");
  assert.equal(plan.outputs.kinesis_stream_name, "transaction-stream-pr7");
  assert.doesNotMatch(JSON.stringify(plan), /offline-plan-placeholder/);
});

test("GEN-1 txwatch plan applies a stack file's txwatch: settings, then --set overrides, and refuses what the preset forbids", async () => {
  const dir = mkdtempSync(join(tmpdir(), "txwatch-plan-"));
  const file = join(dir, "Pulumi.mine.yaml");
  writeFileSync(
    file,
    "config:\n  aws:region: us-east-1\n  txwatch:preset: fastshop\n  txwatch:environmentSuffix: mine\n  txwatch:natGateways: 1\n  txwatch:streamRetentionHours: 48\n",
  );
  assert.deepEqual(planConfigValues({ stackConfig: file, set: ["txwatch:apiDesiredCount=3"] }), {
    environmentSuffix: "mine",
    preset: "fastshop",
    natGateways: "1",
    streamRetentionHours: "48",
    apiDesiredCount: "3",
  });
  const plan = JSON.parse(
    await runPlan({ stackConfig: file, set: ["apiDesiredCount=3"], json: true }),
  ) as JsonPlan;
  assert.equal(plan.resources.filter((r) => r.type === "aws:ec2/natGateway:NatGateway").length, 1);
  assert.equal(
    plan.resources.find((r) => r.type === "aws:kinesis/stream:Stream")?.inputs.retentionPeriod,
    48,
  );
  assert.equal(
    plan.resources.find((r) => r.type === "aws:ecs/service:Service")?.inputs.desiredCount,
    3,
  );
  await assert.rejects(
    runPlan({ stackConfig: file, preset: "japancart" }),
    /txwatch:natGateways is 1, but preset "japancart" allows 0/,
  );
  assert.throws(
    () => planConfigValues({ set: ["natGateways"] }),
    /--set "natGateways" must be key=value/,
  );
  writeFileSync(file, "");
  assert.deepEqual(planConfigValues({ stackConfig: file, preset: "finserv" }), {
    preset: "finserv",
  });
});

test("AWS-7 plan --stack-config requires txwatch:environmentSuffix exactly as the program does; a bare preset plans with the offline suffix", async () => {
  const dir = mkdtempSync(join(tmpdir(), "txwatch-plan-"));
  const file = join(dir, "Pulumi.nosuffix.yaml");
  writeFileSync(file, "config:\n  aws:region: us-east-1\n  txwatch:preset: japancart\n");
  await assert.rejects(
    runPlan({ stackConfig: file }),
    /^ConfigError: txwatch:environmentSuffix is required: set it with `pulumi config set environmentSuffix <suffix>`/,
  );
  await assert.rejects(
    runPlanCheck({ stackConfig: file }),
    /txwatch:environmentSuffix is required/,
  );
  const plan = JSON.parse(
    await runPlan({ stackConfig: file, environmentSuffix: "given", json: true }),
  ) as JsonPlan;
  assert.equal(plan.environmentSuffix, "given");
  assert.equal(planConfigValues({ preset: "japancart" }).environmentSuffix, "plan");
});

test("AWS-7 plan honours a stack file's aws:region, and refuses it when txwatch:region says another", async () => {
  const dir = mkdtempSync(join(tmpdir(), "txwatch-plan-"));
  const file = join(dir, "Pulumi.tokyo.yaml");
  writeFileSync(
    file,
    "config:\n  aws:region: ap-northeast-1\n  txwatch:preset: japancart\n  txwatch:environmentSuffix: tokyo\n",
  );
  assert.equal(planAwsRegion({ stackConfig: file }), "ap-northeast-1");
  assert.equal(planAwsRegion({ preset: "japancart" }), undefined);
  const plan = JSON.parse(await runPlan({ stackConfig: file, json: true })) as JsonPlan;
  assert.equal(plan.settings.region, "ap-northeast-1");
  // The AWS API endpoints the VPC reaches privately are Tokyo's.
  assert.match(JSON.stringify(plan.resources), /com\.amazonaws\.ap-northeast-1\.kinesis-streams/);
  assert.doesNotMatch(JSON.stringify(plan.resources), /com\.amazonaws\.us-east-1\./);
  await assert.rejects(
    runPlan({ stackConfig: file, set: ["region=eu-west-1"] }),
    /aws:region "ap-northeast-1" and txwatch:region "eu-west-1" differ/,
  );
});

test("PRIV-1 secrets are redacted wherever they sit in a plan", () => {
  const secret = {
    "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
    value: "hunter2",
  };
  assert.deepEqual(redactSecrets({ a: [secret, 1], b: { c: secret }, d: null }), {
    a: ["[secret]", 1],
    b: { c: "[secret]" },
    d: null,
  });
});

test("txwatch plan reaches infra/ through its one entry, which is the plan command itself", async () => {
  const entry = await import("../../infra/cli-entry.ts");
  assert.equal(entry.runPlan, runPlan);
  assert.equal(entry.runPlanCheck, runPlanCheck);
});
