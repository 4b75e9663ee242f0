import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ConfigError,
  readStackConfig,
  subscriptions,
  validateEnvironmentSuffix,
} from "../../infra/config.ts";
import { PRESETS } from "../../infra/presets.ts";

const read = (values: Record<string, string>) =>
  readStackConfig((k) => values[k], Object.keys(values));
const fails = (values: Record<string, string>, message: string) =>
  assert.throws(
    () => read(values),
    (e: unknown) => e instanceof ConfigError && e.message === message,
  );

test("GEN-1 an unknown preset fails naming the key and the allowed values", () => {
  fails(
    { preset: "acme", environmentSuffix: "pr1" },
    'txwatch:preset "acme" is unknown: use one of japancart, fastshop, finserv',
  );
  fails(
    { environmentSuffix: "pr1" },
    "txwatch:preset is required: one of japancart, fastshop, finserv",
  );
});

test("GEN-1 environmentSuffix is required and validated: lowercase letters, digits, single hyphens, at most 20 characters", () => {
  fails(
    { preset: "finserv" },
    "txwatch:environmentSuffix is required: set it with `pulumi config set environmentSuffix <suffix>` (lowercase letters, digits and single hyphens, at most 20 characters)",
  );
  for (const bad of ["Prod", "pr_1", "-pr1", "pr1-", "pr--1", "1pr", "pr 1"]) {
    assert.throws(
      () => validateEnvironmentSuffix(bad),
      new RegExp(
        `^ConfigError: txwatch:environmentSuffix "${bad}" is invalid: use lowercase letters, digits and single hyphens`,
      ),
    );
  }
  fails(
    { preset: "finserv", environmentSuffix: "a".repeat(21) },
    `txwatch:environmentSuffix "${"a".repeat(21)}" is 21 characters; at most 20 fit every AWS name limit (an ALB name is 32 characters)`,
  );
  for (const good of ["pr1", "staging-2", "a".repeat(20)])
    assert.equal(validateEnvironmentSuffix(good), good);
});

test("GEN-1 a NAT count that breaks the preset's constraint fails naming the key and the allowed values", () => {
  fails(
    { preset: "japancart", environmentSuffix: "pr1", natGateways: "1" },
    'txwatch:natGateways is 1, but preset "japancart" allows 0 (its specification fixes the egress)',
  );
  fails(
    { preset: "finserv", environmentSuffix: "pr1", natGateways: "0" },
    'txwatch:natGateways is 0, but preset "finserv" allows 1 (its specification fixes the egress)',
  );
  fails(
    { preset: "fastshop", environmentSuffix: "pr1", natGateways: "2" },
    'txwatch:natGateways is 2, but preset "fastshop" allows 0 or 1 (its specification fixes the egress)',
  );
});

test("GEN-1 every preset field can be overridden by stack config, typed and validated", () => {
  const config = read({
    preset: "japancart",
    environmentSuffix: "pr1",
    databaseInstanceClass: "db.r7g.large",
    backupRetentionDays: "14",
    headroom: "1.5",
  });
  assert.equal(config.settings.databaseInstanceClass, "db.r7g.large");
  assert.equal(config.settings.backupRetentionDays, 14);
  assert.equal(config.settings.headroom, 1.5);
  assert.ok(Object.isFrozen(config.settings));
  assert.equal(PRESETS.japancart.backupRetentionDays, 7, "the preset itself is untouched");
  assert.ok(Object.isFrozen(PRESETS.japancart));
  fails(
    { preset: "japancart", environmentSuffix: "pr1", backupRetentionDays: "7.5" },
    'txwatch:backupRetentionDays "7.5" is not an integer',
  );
  fails(
    { preset: "japancart", environmentSuffix: "pr1", headroom: "lots" },
    'txwatch:headroom "lots" is not a number',
  );
  fails(
    { preset: "japancart", environmentSuffix: "pr1", natGateway: "0" },
    `unknown config key txwatch:natGateway: use preset, environmentSuffix or one of ${Object.keys(PRESETS.japancart).join(", ")}`,
  );
});

test("GEN-1 POL-2 config refuses what AWS would refuse; compliance is the policy pack's judgement", () => {
  const base = { preset: "fastshop", environmentSuffix: "pr1" };
  fails(
    { ...base, logRetentionDays: "8" },
    'txwatch:logRetentionDays "8" is not allowed: use one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653',
  );
  // Valid for AWS, so accepted here; `txwatch plan --check` and the pack refuse it.
  assert.equal(read({ ...base, logRetentionDays: "7" }).settings.logRetentionDays, 7);
  fails(
    { ...base, databaseAccessCidrs: "10.1.0.0/16, 10.2.0.0/33" },
    'txwatch:databaseAccessCidrs entry "10.2.0.0/33" must be an IPv4 CIDR, e.g. 10.20.0.0/16',
  );
  fails(
    { ...base, databaseAccessCidrs: "office" },
    'txwatch:databaseAccessCidrs entry "office" must be an IPv4 CIDR, e.g. 10.20.0.0/16',
  );
  fails(
    { ...base, databaseAccessCidrs: "10.0.0.1/16" },
    'txwatch:databaseAccessCidrs entry "10.0.0.1/16" must be an IPv4 CIDR, e.g. 10.20.0.0/16',
  );
  assert.equal(
    read({ ...base, databaseAccessCidrs: "10.0.0.1/32,0.0.0.0/0" }).settings.databaseAccessCidrs,
    "10.0.0.1/32,0.0.0.0/0",
  );
  fails(
    { ...base, databaseAccessCidrs: "256.0.0.0/8" },
    'txwatch:databaseAccessCidrs entry "256.0.0.0/8" must be an IPv4 CIDR, e.g. 10.20.0.0/16',
  );
  assert.equal(
    read({ ...base, databaseAccessCidrs: " 10.1.0.0/16 ,, " }).settings.databaseAccessCidrs,
    " 10.1.0.0/16 ,, ",
  );
  assert.equal(read({ ...base, customerManagedKey: "false" }).settings.customerManagedKey, false);
  fails(
    { ...base, cacheReplicas: "0" },
    "txwatch:cacheReplicas is 0; it must be at least 1 (automatic failover needs a replica)",
  );
  fails(
    { ...base, streamRetentionHours: "12" },
    "txwatch:streamRetentionHours is 12; it must be at least 24 (the 24 h history is rebuilt from the stream)",
  );
  fails(
    { ...base, streamRetentionHours: "9000" },
    "txwatch:streamRetentionHours is 9000; Kinesis keeps at most 8760",
  );
  fails(
    { ...base, backupRetentionDays: "0" },
    "txwatch:backupRetentionDays is 0; it must be at least 1 (automated backups stay on)",
  );
  fails(
    { ...base, streamMode: "FAST" },
    'txwatch:streamMode "FAST" is not allowed: use one of PROVISIONED, ON_DEMAND',
  );
  fails(
    { ...base, databaseEngine: "mysql" },
    'txwatch:databaseEngine "mysql" is not allowed: use one of rds-postgres, aurora-postgres-serverless',
  );
  fails(
    { ...base, monitoringIntervalSeconds: "7" },
    'txwatch:monitoringIntervalSeconds "7" is not allowed: use one of 0, 1, 5, 10, 15, 30, 60',
  );
  fails(
    { ...base, vpcCidr: "10.0.0.0/24" },
    'txwatch:vpcCidr "10.0.0.0/24" must be an IPv4 /16, e.g. 10.0.0.0/16',
  );
  fails(
    { ...base, processorBatchSize: "0" },
    "txwatch:processorBatchSize is 0; Kinesis allows 1 to 10000",
  );
  fails(
    { ...base, auroraMinCapacity: "4", auroraMaxCapacity: "2" },
    "txwatch:auroraMaxCapacity (2) must be at least txwatch:auroraMinCapacity (4), which must not be negative",
  );
  fails(
    { ...base, databaseMajorVersion: "16.3" },
    'txwatch:databaseMajorVersion "16.3" must be a major version only, e.g. "16" (minor versions upgrade automatically)',
  );
  fails(
    { ...base, albAccessLogs: "yes" },
    'txwatch:albAccessLogs "yes" is not allowed: use true or false',
  );
  assert.equal(read({ ...base, albAccessLogs: "true" }).settings.albAccessLogs, true);
  fails(
    { ...base, cacheNodeType: "r7g.large" },
    'txwatch:cacheNodeType "r7g.large" must be an ElastiCache node type, e.g. cache.r7g.large',
  );
  assert.throws(
    () => read({ ...base, peakTransactionsPerMinute: "10000000" }),
    /^ConfigError: txwatch:cacheNodeType is unset and the 24 h history at 10000000 tx\/min needs/,
  );
  for (const field of [
    "apiDesiredCount",
    "headroom",
    "averageRecordBytes",
    "peakTransactionsPerMinute",
  ]) {
    assert.throws(
      () => read({ ...base, [field]: "0" }),
      new RegExp(`^ConfigError: txwatch:${field} is 0; it must be at least 1`),
    );
  }
});

test("DB-1 DB-2 AWS-2 the major version is one the program deploys; the minor is resolved at deploy time", () => {
  const config = read({ preset: "finserv", environmentSuffix: "pr1", databaseMajorVersion: "17" });
  assert.equal(config.settings.databaseMajorVersion, "17");
  fails(
    { preset: "finserv", environmentSuffix: "pr1", databaseMajorVersion: "9" },
    'txwatch:databaseMajorVersion "9" is not one the program deploys: use one of 15, 16, 17',
  );
  fails(
    { preset: "japancart", environmentSuffix: "pr1", databaseMajorVersion: "16.6" },
    'txwatch:databaseMajorVersion "16.6" must be a major version only, e.g. "16" (minor versions upgrade automatically)',
  );
});

test("AWS-7 aws:region in the stack is honoured, and refused naming both keys when txwatch:region says another", () => {
  const values = { preset: "japancart", environmentSuffix: "pr1" };
  const tokyo = readStackConfig((k) => (values as Record<string, string>)[k], [], "ap-northeast-1");
  assert.equal(tokyo.settings.region, "ap-northeast-1");
  assert.equal(
    readStackConfig((k) => (values as Record<string, string>)[k]).settings.region,
    "us-east-1",
  );
  const both = { ...values, region: "eu-west-1" };
  assert.throws(
    () =>
      readStackConfig(
        (k) => (both as Record<string, string>)[k],
        Object.keys(both),
        "ap-northeast-1",
      ),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.message ===
        'aws:region "ap-northeast-1" and txwatch:region "eu-west-1" differ: the stack deploys to one region, so set only one of them (or both to the same value)',
  );
  const same = readStackConfig(
    (k) => (both as Record<string, string>)[k],
    Object.keys(both),
    "eu-west-1",
  );
  assert.equal(same.settings.region, "eu-west-1");
  fails(
    { ...values, region: "Tokyo" },
    'txwatch:region "Tokyo" is not an AWS region name, e.g. us-east-1',
  );
});

test("AWS-4 alarm and alert subscriptions from config: email, https and sqs endpoints, each checked", () => {
  const config = read({
    preset: "finserv",
    environmentSuffix: "pr1",
    alarmEmail: "oncall@example.com",
    alarmSubscriptions:
      "https:https://hooks.example.com/aws, sqs:arn:aws:sqs:us-east-1:123456789012:alarms",
    alertSubscriptions: "email:fraud@example.com",
  });
  assert.deepEqual(subscriptions(config.settings, "alarmSubscriptions"), [
    { protocol: "https", endpoint: "https://hooks.example.com/aws" },
    { protocol: "sqs", endpoint: "arn:aws:sqs:us-east-1:123456789012:alarms" },
  ]);
  assert.deepEqual(subscriptions(config.settings, "alertSubscriptions"), [
    { protocol: "email", endpoint: "fraud@example.com" },
  ]);
  fails(
    { preset: "finserv", environmentSuffix: "pr1", alertSubscriptions: "sms:+15550100" },
    'txwatch:alertSubscriptions entry "sms:+15550100" must be protocol:endpoint with protocol email, https or sqs, e.g. email:soc@example.com',
  );
  fails(
    {
      preset: "finserv",
      environmentSuffix: "pr1",
      alarmSubscriptions: "https:http://plain.example.com",
    },
    'txwatch:alarmSubscriptions entry "https:http://plain.example.com" has an invalid https endpoint, e.g. https:https://hooks.example.com/aws',
  );
  fails(
    { preset: "finserv", environmentSuffix: "pr1", alarmSubscriptions: "sqs:alarms" },
    'txwatch:alarmSubscriptions entry "sqs:alarms" has an invalid sqs endpoint, e.g. sqs:arn:aws:sqs:us-east-1:123456789012:alerts',
  );
});

test("AWS-5 publicHttp is a boolean opt-in, off in every preset", () => {
  for (const preset of ["japancart", "fastshop", "finserv"]) {
    assert.equal(read({ preset, environmentSuffix: "pr1" }).settings.publicHttp, false);
  }
  assert.equal(
    read({ preset: "japancart", environmentSuffix: "pr1", publicHttp: "true" }).settings.publicHttp,
    true,
  );
  fails(
    { preset: "japancart", environmentSuffix: "pr1", publicHttp: "yes" },
    'txwatch:publicHttp "yes" is not allowed: use true or false',
  );
});

test("AWS-5 albIngressCidrs takes IPv4 CIDRs only, naming the bad entry", () => {
  fails(
    { preset: "japancart", environmentSuffix: "pr1", albIngressCidrs: "10.1.0.0/16,vpn" },
    'txwatch:albIngressCidrs entry "vpn" must be an IPv4 CIDR, e.g. 10.20.0.0/16',
  );
});
