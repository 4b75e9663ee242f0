import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type StackView, T, type TxwatchPolicy } from "../../policy/model.ts";
import { checkStack, POLICIES } from "../../policy/policies.ts";
import {
  compliantStack,
  resource,
  TARGET_GROUP_ARN,
  URN,
  withName,
  withOptions,
  withoutResource,
  withProps,
  withReferences,
  withResource,
  withStatements,
} from "./fixtures.ts";

/**
 * One broken stack per sentence the pack can say, each breaking one thing of the compliant
 * stack (the policy tests assert each finding exactly; here only their shape matters).
 */
function brokenStacks(): [string, StackView][] {
  const s = compliantStack;
  return [
    ["stream encryptionType", withProps(s(), URN.stream, { encryptionType: "NONE" })],
    ["stream key", withProps(s(), URN.stream, { kmsKeyId: "alias/aws/kinesis" })],
    ["queue key", withProps(s(), URN.queue, { kmsMasterKeyId: undefined })],
    ["topic key", withProps(s(), URN.topic, { kmsMasterKeyId: undefined })],
    ["log group key", withProps(s(), URN.logGroup, { kmsKeyId: undefined })],
    ["secret key", withProps(s(), URN.secret, { kmsKeyId: undefined })],
    ["db storageEncrypted", withProps(s(), URN.db, { storageEncrypted: false })],
    ["db PI key", withProps(s(), URN.db, { performanceInsightsKmsKeyId: undefined })],
    ["cache at rest", withProps(s(), URN.cache, { atRestEncryptionEnabled: false })],
    ["cache key", withProps(s(), URN.cache, { kmsKeyId: undefined })],
    [
      "dynamo key",
      withResource(s(), resource(T.dynamoTable, "dedupe-pr42", { name: "dedupe-pr42" })),
    ],
    ["ecr key", withProps(s(), URN.ecr, { encryptionConfigurations: [] })],
    ["bucket no sse", withoutResource(s(), URN.dataEncryption)],
    [
      "bucket AES256",
      withProps(s(), URN.dataEncryption, {
        rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
      }),
    ],
    [
      "alb bucket kms",
      withProps(s(), URN.logsEncryption, {
        rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" } }],
      }),
    ],
    ["log destination no sse", withoutResource(s(), URN.accessLogsEncryption)],
    ["cache transit", withProps(s(), URN.cache, { transitEncryptionEnabled: false })],
    ["cache preferred", withProps(s(), URN.cache, { transitEncryptionMode: "preferred" })],
    ["db force_ssl", withProps(s(), URN.dbParams, { parameters: [] })],
    ["bucket TLS", withoutResource(s(), URN.dataPolicy)],
    ["db public", withProps(s(), URN.db, { publiclyAccessible: true })],
    ["public subnet", withProps(s(), URN.privateSubnet1, { mapPublicIpOnLaunch: true })],
    ["no access block", withoutResource(s(), URN.logsAccessBlock)],
    [
      "public acl",
      withResource(
        s(),
        resource(T.bucketAcl, "acl-pr42", { acl: "public-read" }, { bucket: [URN.dataBucket] }),
      ),
    ],
    [
      "anonymous policy",
      withStatements(s(), URN.logsPolicy, { Effect: "Allow", Principal: "*", Action: "s3:*" }),
    ],
    [
      "public plain http",
      withProps(s(), URN.httpRedirect, {
        defaultActions: [{ type: "forward", targetGroupArn: TARGET_GROUP_ARN }],
      }),
    ],
    [
      "plain http rule",
      withResource(
        s(),
        resource(
          T.listenerRule,
          "api-http-rule-pr42",
          { actions: [{ type: "forward", targetGroupArn: TARGET_GROUP_ARN }] },
          { listenerArn: [URN.httpRedirect] },
        ),
      ),
    ],
    ["ingress range", withProps(s(), URN.rdsFromApi, { cidrIpv4: "10.0.0.0/8" })],
    [
      "ingress no source",
      withReferences(
        withProps(s(), URN.rdsFromApi, { referencedSecurityGroupId: undefined }),
        URN.rdsFromApi,
        { referencedSecurityGroupId: undefined },
      ),
    ],
    [
      "iam",
      withStatements(s(), URN.processorPolicy, {
        Effect: "Allow",
        NotAction: "iam:PassRole",
        Action: "s3:*",
        NotResource: "arn:aws:s3:::x",
        Resource: "*",
      }),
    ],
    [
      "attachment",
      withProps(s(), URN.monitoringAttachment, {
        policyArn: "arn:aws:iam::aws:policy/AdministratorAccess",
      }),
    ],
    ["log retention", withProps(s(), URN.logGroup, { retentionInDays: 14 })],
    ["no access logging", withoutResource(s(), URN.dataLogging)],
    [
      "kms log destination",
      withProps(s(), URN.accessLogsEncryption, {
        rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" } }],
      }),
    ],
    ["db multiAz", withProps(s(), URN.db, { multiAz: false })],
    ["aurora reader", withoutResource(s(), URN.reader)],
    [
      "cache HA",
      withProps(s(), URN.cache, {
        automaticFailoverEnabled: false,
        multiAzEnabled: false,
        numCacheClusters: 1,
      }),
    ],
    ["backups", withProps(s(), URN.cluster, { backupRetentionPeriod: 0 })],
    ["stream retention", withProps(s(), URN.stream, { retentionPeriod: 12 })],
    ["protect", withOptions(s(), URN.vpc, { protect: true, retainOnDelete: true })],
    ["db delete", withProps(s(), URN.db, { deletionProtection: true, skipFinalSnapshot: false })],
    ["alb delete", withProps(s(), URN.alb, { enableDeletionProtection: true })],
    [
      "dynamo delete",
      withResource(
        s(),
        resource(T.dynamoTable, "dedupe-pr42", {
          name: "dedupe-pr42",
          serverSideEncryption: { enabled: true, kmsKeyArn: "arn:aws:kms:::key/x" },
          deletionProtectionEnabled: true,
        }),
      ),
    ],
    ["cache snapshot", withProps(s(), URN.cache, { finalSnapshotIdentifier: "final-pr42" })],
    ["bucket forceDestroy", withProps(s(), URN.dataBucket, { forceDestroy: false })],
    ["ecr forceDelete", withProps(s(), URN.ecr, { forceDelete: false })],
    ["kms window", withProps(s(), URN.key, { deletionWindowInDays: 30 })],
    ["suffix", withName(s(), URN.secret, "redis-auth")],
    ["tags", withProps(s(), URN.queue, { tags: { Environment: "pr42" } })],
    [
      "environment tag",
      withProps(s(), URN.queue, {
        tags: { Project: "txwatch", Environment: "dev", ManagedBy: "pulumi", Preset: "fastshop" },
      }),
    ],
  ];
}

/** A distinctive piece of every sentence template in policy/policies/*.ts (45 in all). */
const SENTENCES = [
  // encryption-at-rest
  "must be encrypted at rest with a customer-managed KMS key (",
  "must have a server-side encryption configuration with a customer-managed KMS key.",
  "receives ALB access logs and must use SSE-S3 (AES256)",
  "receives S3 server access logs and must have a server-side encryption configuration with SSE-S3",
  'must be encrypted with a customer-managed KMS key (sseAlgorithm "aws:kms", not',
  // encryption-in-transit
  'must require TLS (transitEncryptionMode "required", not "preferred").',
  "must encrypt in transit (transitEncryptionEnabled true).",
  "that sets rds.force_ssl to 1, so every connection is TLS.",
  "must have a bucket policy that denies every request without TLS",
  // no-public-data-stores
  "must not be publicly accessible (publiclyAccessible false).",
  "must hold only private subnets",
  "must block all public access",
  "must not grant a public ACL.",
  "must not allow anonymous access in its bucket policy",
  // no-public-plain-http
  "must not forward plain HTTP: set certificateArn to serve HTTPS",
  "must not forward: set certificateArn to serve HTTPS",
  // data-tier-ingress-from-security-groups
  "only from a security group, not from",
  // iam-least-privilege
  "must list the actions it allows, not NotAction.",
  "must name each action it allows, not",
  "must list the resources it applies to, not NotResource.",
  'to resource ARNs, not "*"',
  "grant the actions the role needs.",
  // log-retention-30-days
  "must keep logs at least 30 days",
  // s3-bucket-logging-enabled
  "must have server access logging (an aws.s3.BucketLogging",
  "receives S3 server access logs and must use SSE-S3 (AES256) default encryption",
  // multi-az-failover
  "must be Multi-AZ (multiAz true).",
  "must have a writer and at least one reader",
  "must fail over automatically (automaticFailoverEnabled true).",
  "must be Multi-AZ (multiAzEnabled true).",
  "must have at least one replica (numCacheClusters 2 or more).",
  // database-backups-enabled
  "must keep automated backups",
  // kinesis-retention-24-hours
  "must keep records at least 24 hours",
  // destroyable
  "must not be protected (protect)",
  "must not be retained on delete (retainOnDelete)",
  "must not have deletion protection (deletionProtection false).",
  "must skip the final snapshot on delete (skipFinalSnapshot true).",
  "must not have deletion protection (enableDeletionProtection false).",
  "must not have deletion protection (deletionProtectionEnabled false).",
  "must not leave a final snapshot on delete (no finalSnapshotIdentifier).",
  "must be deletable with its objects (forceDestroy true).",
  "must be deletable with its images (forceDelete true).",
  "must have a deletion window of 7 days",
  // environment-suffix-in-names
  "must carry the environment suffix",
  // required-tags
  "must carry the tag",
  'must carry Environment "pr42", the stack\'s suffix',
];

const KEBAB = /^[a-z0-9]+(-[a-z0-9]+)*$/;

describe("the policy pack", () => {
  test("POL-1 pack: every policy has a unique kebab-case name", () => {
    const names = POLICIES.map((p) => p.name);
    assert.equal(names.length, 15);
    assert.equal(new Set(names).size, names.length, `duplicate names in ${names.join(", ")}`);
    for (const name of names) assert.match(name, KEBAB);
  });

  test('POL-1 pack: every description starts "Checks whether "', () => {
    for (const policy of POLICIES) {
      assert.ok(
        policy.description.startsWith("Checks whether "),
        `${policy.name}: ${policy.description}`,
      );
    }
  });

  test("POL-1 pack: the compliant stack passes the whole pack", () => {
    assert.deepEqual(checkStack(compliantStack()), []);
  });

  test('POL-1 pack: every finding is a sentence that says what "must" be done', () => {
    const stacks = brokenStacks();
    const reportedBy = new Set<string>();
    const messages = new Set<string>();
    for (const [what, stack] of stacks) {
      const violations = checkStack(stack);
      assert.ok(violations.length > 0, `${what}: no finding`);
      for (const v of violations) {
        reportedBy.add(v.policy);
        messages.add(v.message);
        assert.ok(v.message.includes(" must "), `${what}: "${v.message}" has no " must "`);
        assert.ok(v.message.endsWith("."), `${what}: "${v.message}" does not end with "."`);
        assert.ok(
          stack.resources.some((r) => r.urn === v.urn),
          `${what}: unknown urn ${v.urn}`,
        );
      }
    }
    assert.deepEqual(
      [...reportedBy].sort(),
      POLICIES.map((p) => p.name).sort(),
      "every policy reports something",
    );
    const unsaid = SENTENCES.filter((fragment) => ![...messages].some((m) => m.includes(fragment)));
    assert.deepEqual(unsaid, [], "every sentence of the policy files is produced");
  });

  test("POL-1 pack: checkStack orders violations by policy, then resource, each naming its policy", () => {
    let stack = compliantStack();
    // Several policies, several resources each, registered out of URN order.
    stack = withProps(stack, URN.stream, { retentionPeriod: 1, kmsKeyId: undefined });
    stack = withProps(stack, URN.logsBucket, { forceDestroy: false });
    stack = withProps(stack, URN.dataBucket, { forceDestroy: false });
    stack = withProps(stack, URN.key, { deletionWindowInDays: 30 });
    stack = withProps(stack, URN.queue, { kmsMasterKeyId: undefined });
    stack = withProps(stack, URN.db, { multiAz: false, backupRetentionPeriod: 0 });
    stack = withName(stack, URN.topic, "fraud-alerts");
    const violations = checkStack(stack);

    const order = POLICIES.map((p) => p.name);
    const expected = POLICIES.flatMap((policy) =>
      policy
        .validate(stack)
        .map((f) => ({ policy: policy.name, ...f }))
        .sort((a, b) => a.urn.localeCompare(b.urn) || a.message.localeCompare(b.message)),
    );
    assert.deepEqual(violations, expected);
    assert.ok(new Set(violations.map((v) => v.policy)).size >= 5);
    for (let i = 1; i < violations.length; i++) {
      const a = violations[i - 1];
      const b = violations[i];
      assert.ok(a !== undefined && b !== undefined);
      const byPolicy = order.indexOf(a.policy) - order.indexOf(b.policy);
      assert.ok(byPolicy <= 0, `${a.policy} after ${b.policy}`);
      if (byPolicy === 0) assert.ok(a.urn.localeCompare(b.urn) <= 0, `${a.urn} after ${b.urn}`);
    }
    for (const v of violations) assert.ok(order.includes(v.policy));

    const destroyable = violations.filter((v) => v.policy === "destroyable").map((v) => v.urn);
    assert.deepEqual(destroyable, [URN.key, URN.logsBucket, URN.dataBucket].sort());
  });

  test("POL-1 pack: checkStack follows the order of the policies it is given", () => {
    const stack = withProps(compliantStack(), URN.stream, { retentionPeriod: 1, kmsKeyId: "" });
    const reversed: TxwatchPolicy[] = [...POLICIES].reverse();
    const policies = checkStack(stack, reversed).map((v) => v.policy);
    assert.deepEqual(policies, ["kinesis-retention-24-hours", "encryption-at-rest-customer-key"]);
    assert.deepEqual(checkStack(stack, []), []);
  });
});
