import assert from "node:assert/strict";
import { test } from "node:test";
import { HEALTH_CHECK_GRACE_SECONDS } from "../../infra/components/api-service.ts";
import { ARCHIVE_SCHEDULE, ownerStepDigest } from "../../infra/components/ledger-jobs.ts";
import { MAX_SUFFIX_LENGTH } from "../../infra/config.ts";
import { bucketName } from "../../infra/naming.ts";
import { CONFIG_VARIABLES, loadConfig } from "../../src/config.ts";
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

// What real AWS enforces and mocks accept anyway (issue "Works on AWS"): one test per pitfall.

const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";
const LOGGING = "aws:s3/bucketLogging:BucketLogging";
const id = (name: string) => `${name}-${SUFFIX}-id`;

for (const preset of PRESET_NAMES) {
  test(`AWS-2 ${preset}: the ALB enables access logs only after the bucket policy that lets ELB write exists`, async () => {
    const alb = one(await planFor(preset), "aws:lb/loadBalancer:LoadBalancer");
    assert.ok(alb.dependsOn?.includes(`app-logs-${SUFFIX}-policy`), String(alb.dependsOn));
  });

  test(`AWS-2 ${preset}: every Lambda function leaves its security group for the VPC's default one before it is deleted`, async () => {
    const functions = ofType(await planFor(preset), "aws:lambda/function:Function");
    assert.deepEqual(functions.map((f) => f.name).sort(), [
      `ledger-admin-${SUFFIX}`,
      `ledger-archive-${SUFFIX}`,
      `processor-${SUFFIX}`,
    ]);
    for (const fn of functions) {
      assert.equal(fn.inputs.replaceSecurityGroupsOnDestroy, true, fn.name);
      assert.deepEqual(fn.inputs.replacementSecurityGroupIds, [id("default-sg")], fn.name);
    }
  });

  test(`AWS-2 ${preset}: the ECS service waits for steady state, with a grace period longer than the health checks a new task needs`, async () => {
    const plan = await planFor(preset);
    const service = one(plan, "aws:ecs/service:Service");
    assert.equal(service.inputs.waitForSteadyState, true);
    const check = one(plan, "aws:lb/targetGroup:TargetGroup").inputs.healthCheck as {
      interval: number;
      healthyThreshold: number;
    };
    assert.equal(service.inputs.healthCheckGracePeriodSeconds, HEALTH_CHECK_GRACE_SECONDS);
    assert.ok(HEALTH_CHECK_GRACE_SECONDS > check.interval * check.healthyThreshold);
  });

  test(`AWS-3 ${preset}: the deployment migrates through the admin function once the database is up, before the API service and the stream mapping roll`, async () => {
    const plan = await planFor(preset);
    const migration = one(plan, "aws:lambda/invocation:Invocation");
    assert.equal(migration.name, `ledger-migration-${SUFFIX}`);
    assert.equal(migration.inputs.functionName, `ledger-admin-${SUFFIX}`);
    assert.deepEqual(JSON.parse(String(migration.inputs.input)), { command: "migrate" });
    // A new migration file or grant changes the trigger, so the next `pulumi up` runs it.
    assert.deepEqual(migration.inputs.triggers, { ownerStep: ownerStepDigest() });
    const instances = [
      ...ofType(plan, "aws:rds/instance:Instance"),
      ...ofType(plan, "aws:rds/clusterInstance:ClusterInstance"),
    ].map((r) => r.name);
    assert.ok(instances.length >= 1);
    for (const instance of instances) assert.ok(migration.dependsOn?.includes(instance), instance);
    for (const type of [
      "aws:ecs/service:Service",
      "aws:lambda/eventSourceMapping:EventSourceMapping",
    ]) {
      assert.ok(one(plan, type).dependsOn?.includes(migration.name), type);
    }
    // On an upgrade the mapping and the service exist already: the new code itself waits too.
    for (const name of ["processor", "ledger-archive"]) {
      const fn = one(plan, "aws:lambda/function:Function", `${name}-${SUFFIX}`);
      assert.ok(fn.dependsOn?.includes(migration.name), name);
    }
  });

  test(`AWS-3 ${preset}: IAM database authentication is on, and the services' roles may connect only as the application role`, async () => {
    const plan = await planFor(preset);
    const db = [
      ...ofType(plan, "aws:rds/instance:Instance"),
      ...ofType(plan, "aws:rds/cluster:Cluster"),
    ];
    assert.equal(db[0]?.inputs.iamDatabaseAuthenticationEnabled, true);
    for (const role of ["api-task", "processor", "ledger-archive"]) {
      const policy = one(plan, "aws:iam/rolePolicy:RolePolicy", `${role}-policy-${SUFFIX}`);
      const connect = statements(policy).filter((s) => list(s.Action).includes("rds-db:connect"));
      assert.equal(connect.length, 1, role);
      assert.match(
        list(connect[0]?.Resource ?? [])[0] ?? "",
        /^arn:aws:rds-db:us-east-1:123456789012:dbuser:(db|cluster)-[A-Z0-9-]+\/txwatch_app$/,
      );
    }
    const admin = one(plan, "aws:iam/rolePolicy:RolePolicy", `ledger-admin-policy-${SUFFIX}`);
    assert.equal(
      statements(admin).some((s) => list(s.Action).includes("rds-db:connect")),
      false,
    );
  });

  test(`AWS-4 ${preset}: count metrics alarm on one breaching minute; levels must hold for five`, async () => {
    const alarms = ofType(await planFor(preset), ALARM);
    const counts = alarms.filter((a) => a.inputs.statistic === "Sum");
    assert.ok(counts.length >= 7);
    for (const alarm of counts) {
      assert.equal(alarm.inputs.evaluationPeriods, 1, alarm.name);
      assert.equal(alarm.inputs.datapointsToAlarm, 1, alarm.name);
    }
    const cpu = alarms.find((a) => a.inputs.metricName === "CPUUtilization");
    assert.equal(cpu?.inputs.evaluationPeriods, 5);
    assert.equal(cpu?.inputs.datapointsToAlarm, 5);
    const dlq = alarms.find((a) => a.inputs.namespace === "AWS/SQS");
    assert.equal(dlq?.inputs.evaluationPeriods, 1);
  });

  test(`AWS-5 ${preset}: without a certificate the ALB admits only the VPC, and never forwards /metrics`, async () => {
    const plan = await planFor(preset);
    const albRules = ofType(
      plan,
      "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    ).filter((r) => r.inputs.securityGroupId === id("alb-sg"));
    assert.deepEqual(
      albRules.map((r) => [r.inputs.cidrIpv4, r.inputs.cidrIpv6, r.inputs.fromPort]),
      [["10.0.0.0/16", undefined, 80]],
    );
    const rule = one(plan, "aws:lb/listenerRule:ListenerRule");
    assert.equal(
      rule.inputs.listenerArn,
      `arn:aws:elasticloadbalancing:us-east-1:123456789012:api-http-${SUFFIX}`,
    );
    assert.equal(rule.inputs.priority, 1);
    assert.deepEqual(rule.inputs.conditions, [
      { pathPattern: { values: ["/metrics", "/metrics/*"] } },
    ]);
    const [action] = rule.inputs.actions as {
      type: string;
      fixedResponse: { statusCode: string };
    }[];
    assert.equal(action?.type, "fixed-response");
    assert.equal(action?.fixedResponse.statusCode, "404");
  });

  test(`AWS-5 ${preset}: S3 server access logging on every bucket but the log destination, which admits only S3 log delivery from this stack's buckets`, async () => {
    const plan = await planFor(preset);
    const loggings = ofType(plan, LOGGING);
    assert.deepEqual(
      loggings.map((l) => [l.inputs.bucket, l.inputs.targetBucket, l.inputs.targetPrefix]).sort(),
      [
        [id("app-logs"), id("access-logs"), "s3/app-logs/"],
        [id("processed-transactions"), id("access-logs"), "s3/processed-transactions/"],
      ],
    );
    for (const logging of loggings) {
      assert.deepEqual(logging.dependsOn, [`access-logs-${SUFFIX}-policy`]);
    }
    const policy = ofType(plan, "aws:s3/bucketPolicy:BucketPolicy").find(
      (p) => p.inputs.bucket === id("access-logs"),
    );
    assert.ok(policy);
    const delivery = statements(policy).find((s) => s.Sid === "S3ServerAccessLogDelivery");
    assert.deepEqual(delivery?.Principal, { Service: "logging.s3.amazonaws.com" });
    assert.deepEqual(list(delivery?.Resource ?? []), [
      `arn:aws:s3:::${bucket("access-logs")}/s3/*`,
    ]);
    assert.deepEqual(delivery?.Condition, {
      ArnLike: {
        "aws:SourceArn": [
          `arn:aws:s3:::${bucket("app-logs")}`,
          `arn:aws:s3:::${bucket("processed-transactions")}`,
        ],
      },
      StringEquals: { "aws:SourceAccount": "123456789012" },
    });
    const sse = ofType(
      plan,
      "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    ).find((r) => r.inputs.bucket === id("access-logs"));
    assert.deepEqual((sse?.inputs.rules as unknown[] | undefined)?.[0], {
      applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" },
      bucketKeyEnabled: false,
    });
  });

  test(`AWS-6 ${preset}: a daily function archives the ledger into the processed-transactions bucket, allowed to write only under its prefix`, async () => {
    const plan = await planFor(preset);
    const archive = one(plan, "aws:lambda/function:Function", `ledger-archive-${SUFFIX}`);
    assert.equal(archive.inputs.handler, "archive.handler");
    const env = (archive.inputs.environment as { variables: Record<string, string> }).variables;
    assert.equal(env.ARCHIVE_BUCKET, bucket("processed-transactions"));
    assert.equal(env.DB_USER, "txwatch_app");
    assert.equal(env.DB_AUTH, "iam");
    // The ledger only: no Redis, no secret to read.
    assert.equal(env.REDIS_HOST, undefined);
    assert.equal(env.REDIS_AUTH_SECRET_ARN, undefined);
    const rule = one(plan, "aws:cloudwatch/eventRule:EventRule");
    assert.equal(rule.inputs.scheduleExpression, ARCHIVE_SCHEDULE);
    const target = one(plan, "aws:cloudwatch/eventTarget:EventTarget");
    assert.equal(
      target.inputs.arn,
      `arn:aws:lambda:us-east-1:123456789012:ledger-archive-${SUFFIX}`,
    );
    const permission = one(plan, "aws:lambda/permission:Permission");
    assert.equal(permission.inputs.principal, "events.amazonaws.com");
    assert.equal(
      permission.inputs.sourceArn,
      `arn:aws:events:us-east-1:123456789012:ledger-archive-schedule-${SUFFIX}`,
    );
    const policy = one(plan, "aws:iam/rolePolicy:RolePolicy", `ledger-archive-policy-${SUFFIX}`);
    assert.equal(
      statements(policy).some((s) => list(s.Action).includes("secretsmanager:GetSecretValue")),
      false,
    );
    const s3 = statements(policy).filter((s) => list(s.Action).some((a) => a.startsWith("s3:")));
    assert.deepEqual(
      s3.map((s) => [list(s.Action), list(s.Resource)]),
      [
        [
          ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"],
          [`arn:aws:s3:::${bucket("processed-transactions")}/ledger-archive/*`],
        ],
        [["s3:ListBucket"], [`arn:aws:s3:::${bucket("processed-transactions")}`]],
      ],
    );
    const admin = one(plan, "aws:lambda/function:Function", `ledger-admin-${SUFFIX}`);
    assert.equal(admin.inputs.handler, "admin.handler");
  });
}

test("AWS-2 Aurora: the reader is created after the writer, and the engine version is AWS's default minor of the pinned major, read at deploy time", async () => {
  const plan = await planFor("finserv");
  const reader = one(plan, "aws:rds/clusterInstance:ClusterInstance", `ledger-reader-${SUFFIX}`);
  assert.ok(reader.dependsOn?.includes(`ledger-writer-${SUFFIX}`));
  const writer = one(plan, "aws:rds/clusterInstance:ClusterInstance", `ledger-writer-${SUFFIX}`);
  assert.equal(writer.dependsOn?.includes(`ledger-reader-${SUFFIX}`), false);
  assert.equal(writer.inputs.promotionTier, 0);
  const lookup = plan.invokes.filter(
    (i) => i.token === "aws:rds/getEngineVersion:getEngineVersion",
  );
  assert.deepEqual(
    lookup.map((i) => i.inputs),
    [{ engine: "aurora-postgresql", version: "16", defaultOnly: true, latest: true }],
  );
  // What the lookup found (the mocks answer "<major>.x"), not the major alone.
  assert.equal(one(plan, "aws:rds/cluster:Cluster").inputs.engineVersion, "16.x");
  const other = await planFor("finserv", { databaseMajorVersion: "17" });
  assert.equal(
    other.invokes.find((i) => i.token === "aws:rds/getEngineVersion:getEngineVersion")?.inputs
      .version,
    "17",
  );
});

test("AWS-2 bucket names are unique across accounts and regions, valid S3 names, and fit 63 characters at the longest suffix", () => {
  const suffix = "a".repeat(MAX_SUFFIX_LENGTH);
  const names = [
    bucketName("processed-transactions", suffix, "111111111111", "us-east-1"),
    bucketName("processed-transactions", suffix, "222222222222", "us-east-1"),
    bucketName("processed-transactions", suffix, "111111111111", "ap-northeast-1"),
  ];
  assert.equal(new Set(names).size, 3);
  for (const name of names) {
    assert.ok(name.length <= 63, name);
    assert.match(name, /^[a-z0-9][a-z0-9-]*[a-z0-9]$/);
    assert.ok(name.startsWith(`processed-transactions-${suffix}-`));
  }
  assert.equal(names[0], bucketName("processed-transactions", suffix, "111111111111", "us-east-1"));
});

test("AWS-4 subscriptions from stack config: the alarm topic and the fraud-alert topic get theirs", async () => {
  const plan = await planFor("japancart", {
    alarmEmail: "oncall@example.com",
    alarmSubscriptions: "https:https://hooks.example.com/aws",
    alertSubscriptions: "sqs:arn:aws:sqs:us-east-1:123456789012:alerts,email:fraud@example.com",
  });
  // The alarm e-mail keeps the name it always had, so an existing confirmed subscription stays.
  assert.equal(
    one(plan, "aws:sns/topicSubscription:TopicSubscription", `alarm-email-${SUFFIX}`).inputs
      .endpoint,
    "oncall@example.com",
  );
  const subs = ofType(plan, "aws:sns/topicSubscription:TopicSubscription").map((s) => [
    s.inputs.topic,
    s.inputs.protocol,
    s.inputs.endpoint,
    s.inputs.rawMessageDelivery,
  ]);
  subs.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  const topic = (name: string) => `arn:aws:sns:us-east-1:123456789012:${name}-${SUFFIX}`;
  assert.deepEqual(subs, [
    [topic("alarm-topic"), "email", "oncall@example.com", undefined],
    [topic("alarm-topic"), "https", "https://hooks.example.com/aws", true],
    [topic("fraud-alerts"), "email", "fraud@example.com", undefined],
    [topic("fraud-alerts"), "sqs", "arn:aws:sqs:us-east-1:123456789012:alerts", true],
  ]);
  assert.equal(
    ofType(await planFor("japancart"), "aws:sns/topicSubscription:TopicSubscription").length,
    0,
  );
});

test("AWS-5 publicHttp opts an uncertified ALB onto the internet: public subnets, port 80 from anywhere, still no /metrics", async () => {
  const plan = await planFor("japancart", { publicHttp: "true" });
  const alb = one(plan, "aws:lb/loadBalancer:LoadBalancer");
  assert.equal(alb.inputs.internal, false);
  assert.deepEqual(alb.inputs.subnets, [id("public-subnet-1"), id("public-subnet-2")]);
  const albRules = ofType(plan, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    .filter((r) => r.inputs.securityGroupId === id("alb-sg"))
    .map((r) => [r.inputs.cidrIpv4 ?? r.inputs.cidrIpv6, r.inputs.fromPort]);
  assert.deepEqual(albRules, [
    ["0.0.0.0/0", 80],
    ["::/0", 80],
  ]);
  assert.equal(one(plan, "aws:lb/listenerRule:ListenerRule").inputs.priority, 1);
  assert.equal(plan.outputs.api_url, `http://api-alb-${SUFFIX}.us-east-1.elb.amazonaws.com`);
});

test("AWS-5 with a certificate: 80 and 443 from the internet, /metrics blocked on the HTTPS listener, and the plain-HTTP listener only redirects", async () => {
  const plan = await planFor("fastshop", {
    certificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/abc",
  });
  const ports = ofType(plan, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    .filter((r) => r.inputs.securityGroupId === id("alb-sg"))
    .map((r) => r.inputs.fromPort);
  assert.deepEqual(ports, [80, 443, 80, 443]);
  const rule = one(plan, "aws:lb/listenerRule:ListenerRule");
  assert.equal(
    rule.inputs.listenerArn,
    `arn:aws:elasticloadbalancing:us-east-1:123456789012:api-https-${SUFFIX}`,
  );
  assert.match(String(plan.outputs.api_url), /^https:\/\//);
});

test("AWS-5 albIngressCidrs admits the networks connected to the VPC to an internal load balancer, and nothing when it faces the internet", async () => {
  const plan = await planFor("japancart", { albIngressCidrs: "172.16.0.0/12, 192.168.10.0/24" });
  const sources = ofType(plan, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    .filter((r) => r.inputs.securityGroupId === id("alb-sg"))
    .map((r) => [r.inputs.cidrIpv4, r.inputs.fromPort]);
  assert.deepEqual(sources, [
    ["10.0.0.0/16", 80],
    ["172.16.0.0/12", 80],
    ["192.168.10.0/24", 80],
  ]);
  const publicPlan = await planFor("japancart", {
    albIngressCidrs: "172.16.0.0/12",
    certificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/abc",
  });
  assert.equal(
    ofType(publicPlan, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter(
      (r) => r.inputs.cidrIpv4 === "172.16.0.0/12",
    ).length,
    0,
  );
});

test("AWS-5 the access-log destination keeps a year of logs in S3 Standard: small objects, no Standard-IA minimum", async () => {
  const plan = await planFor("fastshop");
  const lifecycle = ofType(
    plan,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
  ).find((r) => r.inputs.bucket === id("access-logs"));
  assert.ok(lifecycle);
  const [rule, markers] = lifecycle.inputs.rules as Record<string, unknown>[];
  assert.deepEqual(rule?.expiration, { days: 365 });
  assert.equal(rule?.transitions, undefined);
  // The bucket is versioned: expired objects leave delete markers behind, removed by a rule of
  // their own.
  assert.deepEqual(markers?.expiration, { expiredObjectDeleteMarker: true });
});

for (const preset of PRESET_NAMES) {
  test(`AWS-7 ${preset}: the environment the program gives every function and the container is one src/config.ts accepts, with no variable it does not declare`, async () => {
    const plan = await planFor(preset);
    const declared = new Set<string>(CONFIG_VARIABLES);
    // Set by Lambda itself or read by Powertools, not by the monitor's configuration.
    const platform = new Set(["POWERTOOLS_SERVICE_NAME"]);
    const environments: [string, Record<string, string>][] = [
      ...ofType(plan, "aws:lambda/function:Function").map(
        (f) =>
          [f.name, (f.inputs.environment as { variables: Record<string, string> }).variables] as [
            string,
            Record<string, string>,
          ],
      ),
      [
        "api container",
        Object.fromEntries(
          (
            JSON.parse(
              String(
                one(plan, "aws:ecs/taskDefinition:TaskDefinition").inputs.containerDefinitions,
              ),
            ) as { environment: { name: string; value: string }[] }[]
          )[0]?.environment.map((e) => [e.name, e.value]) ?? [],
        ),
      ],
    ];
    assert.equal(environments.length, 4);
    for (const [name, env] of environments) {
      for (const key of Object.keys(env)) {
        if (!platform.has(key))
          assert.ok(declared.has(key), `${name}: ${key} is not in src/config.ts`);
      }
      const config = loadConfig(env);
      assert.equal(config.DB_HOST, env.DB_HOST, name);
    }
  });
}
