import assert from "node:assert/strict";
import { test } from "node:test";
import {
  bucket,
  input,
  list,
  ofType,
  one,
  PRESET_NAMES,
  planFor,
  SUFFIX,
  statements,
} from "./plan-fixture.ts";

const id = (name: string) => `${name}-${SUFFIX}-id`;
const arn = (service: string, name: string) =>
  `arn:aws:${service}:us-east-1:123456789012:${name}-${SUFFIX}`;

interface Container {
  image: string;
  portMappings: { containerPort: number }[];
  environment: { name: string; value: string }[];
  logConfiguration: { logDriver: string; options: Record<string, string> };
  readonlyRootFilesystem: boolean;
  user?: string;
  mountPoints?: unknown[];
}

for (const preset of PRESET_NAMES) {
  test(`CMP-1 ${preset}: the processor is a Node.js 22 arm64 Lambda in the private subnets with a 30-day log group`, async () => {
    const plan = await planFor(preset);
    const fn = one(plan, "aws:lambda/function:Function", `processor-${SUFFIX}`);
    assert.equal(fn.inputs.runtime, "nodejs22.x");
    assert.deepEqual(fn.inputs.architectures, ["arm64"]);
    assert.equal(fn.inputs.handler, "index.handler");
    assert.deepEqual(fn.inputs.vpcConfig, {
      subnetIds: [id("private-subnet-1"), id("private-subnet-2")],
      securityGroupIds: [id("processor-sg")],
    });
    const logGroup = ofType(plan, "aws:cloudwatch/logGroup:LogGroup").find(
      (g) => g.inputs.name === `/aws/lambda/processor-${SUFFIX}`,
    );
    assert.equal(logGroup?.inputs.retentionInDays, 30);
    assert.deepEqual(fn.inputs.loggingConfig, {
      logFormat: "JSON",
      logGroup: `/aws/lambda/processor-${SUFFIX}`,
    });
    const env = (fn.inputs.environment as { variables: Record<string, string> }).variables;
    assert.equal(env.KINESIS_STREAM_NAME, `transaction-stream-${SUFFIX}`);
    // REL-6: alerts reach SNS from the ledger, through the API tasks' outbox, not the Lambda.
    assert.equal(env.ALERT_TOPIC_ARN, undefined);
  });

  test(`CMP-1 ${preset}: a Kinesis event source mapping with batch size, batching window, bisect on error, partial batch responses, records never given up (REL-5) and an on-failure queue`, async () => {
    const plan = await planFor(preset);
    const mapping = one(plan, "aws:lambda/eventSourceMapping:EventSourceMapping");
    assert.equal(mapping.inputs.eventSourceArn, arn("kinesis", "transaction-stream"));
    assert.equal(mapping.inputs.functionName, arn("lambda", "processor"));
    assert.equal(mapping.inputs.batchSize, 500);
    assert.equal(mapping.inputs.maximumBatchingWindowInSeconds, 1);
    assert.equal(mapping.inputs.bisectBatchOnFunctionError, true);
    assert.deepEqual(mapping.inputs.functionResponseTypes, ["ReportBatchItemFailures"]);
    assert.equal(mapping.inputs.parallelizationFactor, 1);
    // REL-5: a refused record is quarantined by the function; anything else it fails is an
    // outage, retried until it ends, never skipped.
    assert.equal(mapping.inputs.maximumRetryAttempts, -1);
    assert.equal(mapping.inputs.maximumRecordAgeInSeconds, -1);
    assert.deepEqual(mapping.inputs.destinationConfig, {
      onFailure: { destinationArn: arn("sqs", "processor-dlq") },
    });
    const queue = one(plan, "aws:sqs/queue:Queue");
    assert.equal(queue.inputs.name, `processor-dlq-${SUFFIX}`);
  });

  test(`CMP-1 REL-6 ${preset}: the processor role reads only its stream, its secrets and its key, and may send to its queue (not to the alert topic)`, async () => {
    const plan = await planFor(preset);
    const policy = ofType(plan, "aws:iam/rolePolicy:RolePolicy").find(
      (p) => p.name === `processor-policy-${SUFFIX}`,
    );
    assert.ok(policy);
    const bySid = Object.fromEntries(statements(policy).map((s) => [s.Sid, s]));
    assert.deepEqual(list(bySid.ReadTheTransactionStream?.Resource ?? []), [
      arn("kinesis", "transaction-stream"),
    ]);
    assert.deepEqual(list(bySid.SendFailedBatchesToTheQueue?.Resource ?? []), [
      arn("sqs", "processor-dlq"),
    ]);
    assert.equal(bySid.PublishAlerts, undefined);
    assert.equal(
      statements(policy).some((s) => list(s.Action).some((a) => a.startsWith("sns:"))),
      false,
    );
    // The Redis token only: the ledger is reached as the application role with IAM tokens.
    assert.deepEqual(list(bySid.ReadConnectionSecrets?.Resource ?? []), [
      `arn:aws:secretsmanager:us-east-1:123456789012:redis-auth-${SUFFIX}`,
    ]);
    assert.deepEqual(list(bySid.ConnectAsTheApplicationRole?.Action ?? []), ["rds-db:connect"]);
    assert.ok(
      list(bySid.ManageVpcNetworkInterfaces?.Action ?? []).includes("ec2:CreateNetworkInterface"),
    );
  });

  test(`CMP-2 ${preset}: ECR repository, ECS cluster, an ARM64 Fargate task and a service in the private subnets behind the ALB`, async () => {
    const plan = await planFor(preset);
    const repo = one(plan, "aws:ecr/repository:Repository");
    assert.equal(repo.inputs.name, `api-${SUFFIX}`);
    const image = one(plan, "docker-build:index:Image");
    assert.deepEqual(image.inputs.platforms, ["linux/arm64"]);
    assert.equal(image.inputs.push, true);
    // AWS-1: a preview neither builds nor needs a Docker engine; `pulumi up` builds.
    assert.equal(image.inputs.buildOnPreview, false);
    assert.match(String((image.inputs.dockerfile as { location: string }).location), /Dockerfile$/);
    const cluster = one(plan, "aws:ecs/cluster:Cluster");
    assert.equal(cluster.inputs.name, `api-cluster-${SUFFIX}`);
    const task = one(plan, "aws:ecs/taskDefinition:TaskDefinition");
    assert.deepEqual(task.inputs.requiresCompatibilities, ["FARGATE"]);
    assert.deepEqual(task.inputs.runtimePlatform, {
      cpuArchitecture: "ARM64",
      operatingSystemFamily: "LINUX",
    });
    assert.equal(task.inputs.networkMode, "awsvpc");
    const [container] = JSON.parse(String(task.inputs.containerDefinitions)) as Container[];
    assert.match(
      container?.image ?? "",
      /dkr\.ecr\.us-east-1\.amazonaws\.com\/api-pr42:latest@sha256:/,
    );
    assert.deepEqual(
      container?.portMappings.map((p) => p.containerPort),
      [8080],
    );
    assert.equal(container?.readonlyRootFilesystem, true);
    assert.equal(container?.logConfiguration.logDriver, "awslogs");
    assert.equal(container?.logConfiguration.options["awslogs-group"], `/ecs/api-${SUFFIX}`);
    const service = one(plan, "aws:ecs/service:Service");
    assert.equal(service.inputs.launchType, "FARGATE");
    assert.deepEqual(service.inputs.networkConfiguration, {
      subnets: [id("private-subnet-1"), id("private-subnet-2")],
      securityGroups: [id("api-sg")],
      assignPublicIp: false,
    });
    assert.deepEqual(service.inputs.loadBalancers, [
      {
        targetGroupArn: arn("elasticloadbalancing", "api-tg"),
        containerName: "api",
        containerPort: 8080,
      },
    ]);
    const logGroup = ofType(plan, "aws:cloudwatch/logGroup:LogGroup").find(
      (g) => g.inputs.name === `/ecs/api-${SUFFIX}`,
    );
    assert.equal(logGroup?.inputs.retentionInDays, 30);
  });

  test(`CMP-2 AWS-5 ${preset}: without a certificate an internal ALB in the private subnets, /healthz target group, HTTP listener, access logs to the logs bucket`, async () => {
    const plan = await planFor(preset);
    const alb = one(plan, "aws:lb/loadBalancer:LoadBalancer");
    assert.equal(alb.inputs.internal, true);
    assert.deepEqual(alb.inputs.subnets, [id("private-subnet-1"), id("private-subnet-2")]);
    assert.deepEqual(alb.inputs.securityGroups, [id("alb-sg")]);
    // fastshop's specification puts everything at rest under the CMK; ALB logs need SSE-S3.
    assert.deepEqual(alb.inputs.accessLogs, {
      bucket: bucket("app-logs"),
      prefix: "alb",
      enabled: preset !== "fastshop",
    });
    const tg = one(plan, "aws:lb/targetGroup:TargetGroup");
    assert.equal(tg.inputs.targetType, "ip");
    assert.equal(tg.inputs.port, 8080);
    assert.equal((tg.inputs.healthCheck as { path: string }).path, "/healthz");
    const listener = one(plan, "aws:lb/listener:Listener");
    assert.equal(listener.inputs.port, 80);
    assert.deepEqual(listener.inputs.defaultActions, [
      { type: "forward", targetGroupArn: arn("elasticloadbalancing", "api-tg") },
    ]);
  });

  test(`CMP-2 AWS-3 REL-6 ${preset}: the task role writes to its stream, reads the Redis token and the card-token key, connects to the ledger as the application role only, and publishes to the alert topic only`, async () => {
    const plan = await planFor(preset);
    const policy = ofType(plan, "aws:iam/rolePolicy:RolePolicy").find(
      (p) => p.name === `api-task-policy-${SUFFIX}`,
    );
    assert.ok(policy);
    const bySid = Object.fromEntries(statements(policy).map((s) => [s.Sid, s]));
    assert.deepEqual(list(bySid.ProduceToTheStream?.Resource ?? []), [
      arn("kinesis", "transaction-stream"),
    ]);
    assert.deepEqual(list(bySid.ReadConnectionSecrets?.Resource ?? []), [
      `arn:aws:secretsmanager:us-east-1:123456789012:redis-auth-${SUFFIX}`,
      `arn:aws:secretsmanager:us-east-1:123456789012:token-key-${SUFFIX}`,
    ]);
    const resourceId =
      preset === "finserv"
        ? `cluster-LEDGER-CLUSTER-${SUFFIX.toUpperCase()}`
        : `db-LEDGER-DB-${SUFFIX.toUpperCase()}`;
    assert.deepEqual(list(bySid.ConnectAsTheApplicationRole?.Resource ?? []), [
      `arn:aws:rds-db:us-east-1:123456789012:dbuser:${resourceId}/txwatch_app`,
    ]);
    assert.deepEqual(list(bySid.PublishAlerts?.Action ?? []), ["sns:Publish"]);
    assert.deepEqual(list(bySid.PublishAlerts?.Resource ?? []), [arn("sns", "fraud-alerts")]);
    // The topic is under the stack key: publishing needs it, as reading the secrets does.
    assert.deepEqual(list(bySid.UseTheStackKey?.Action ?? []), [
      "kms:Decrypt",
      "kms:GenerateDataKey",
    ]);
    const task = one(plan, "aws:ecs/taskDefinition:TaskDefinition");
    const [container] = JSON.parse(String(task.inputs.containerDefinitions)) as Container[];
    const env = Object.fromEntries(container?.environment.map((e) => [e.name, e.value]) ?? []);
    assert.equal(env.ALERT_TOPIC_ARN, arn("sns", "fraud-alerts"));
    assert.equal(
      statements(policy).some((s) => list(s.Action).some((a) => a.startsWith("s3:"))),
      false,
    );
  });
}

test("CMP-2 AWS-5 with a certificate configured: an internet-facing ALB in the public subnets, HTTPS on 443 with a TLS 1.3 policy, HTTP redirects to it", async () => {
  const certificateArn = "arn:aws:acm:us-east-1:123456789012:certificate/abc";
  const plan = await planFor("finserv", { certificateArn });
  const alb = one(plan, "aws:lb/loadBalancer:LoadBalancer");
  assert.equal(alb.inputs.internal, false);
  assert.deepEqual(alb.inputs.subnets, [id("public-subnet-1"), id("public-subnet-2")]);
  const listeners = ofType(plan, "aws:lb/listener:Listener");
  const https = listeners.find((l) => l.inputs.port === 443);
  assert.equal(https?.inputs.protocol, "HTTPS");
  assert.equal(https?.inputs.certificateArn, certificateArn);
  assert.equal(https?.inputs.sslPolicy, "ELBSecurityPolicy-TLS13-1-2-2021-06");
  const http = listeners.find((l) => l.inputs.port === 80);
  assert.deepEqual(http?.inputs.defaultActions, [
    { type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } },
  ]);
});

test("CMP-2 an image URI from config: no ECR repository or build, the task runs that image", async () => {
  const apiImageUri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/txwatch:1.2.3";
  const plan = await planFor("japancart", { apiImageUri });
  assert.equal(ofType(plan, "aws:ecr/repository:Repository").length, 0);
  assert.equal(ofType(plan, "docker-build:index:Image").length, 0);
  const task = one(plan, "aws:ecs/taskDefinition:TaskDefinition");
  const [container] = JSON.parse(String(input(task, "containerDefinitions"))) as Container[];
  assert.equal(container?.image, apiImageUri);
});

test("CMP-2 AWS-1 the Dockerfile bundles on the build host's platform, and the arm64 stage runs nothing: bundled JavaScript as a non-root user", async () => {
  const { readFileSync } = await import("node:fs");
  const dockerfile = readFileSync("Dockerfile", "utf8");
  const stages = dockerfile.split(/^FROM /m).slice(1);
  assert.equal(stages.length, 2);
  assert.match(stages[0] ?? "", /^--platform=\$BUILDPLATFORM /);
  assert.match(stages[0] ?? "", /scripts\/bundle\.mjs server/);
  const runtime = stages[1] ?? "";
  assert.doesNotMatch(runtime, /^--platform/);
  // No RUN: an x86 host builds the arm64 image without emulating a single instruction.
  assert.doesNotMatch(runtime, /^RUN /m);
  assert.match(runtime, /^USER (node|1000(:1000)?)$/m);
  assert.match(runtime, /^CMD \["node", "\/app\/server\.mjs"\]$/m);
  assert.doesNotMatch(dockerfile, /tsx/);
});

for (const preset of PRESET_NAMES) {
  test(`AWS-1 ${preset}: the API container runs as the image's non-root user on a read-only root filesystem with no volume or writable path`, async () => {
    const task = one(await planFor(preset), "aws:ecs/taskDefinition:TaskDefinition");
    const [container] = JSON.parse(String(task.inputs.containerDefinitions)) as Container[];
    assert.equal(container?.user, "1000:1000");
    assert.equal(container?.readonlyRootFilesystem, true);
    assert.equal(container?.mountPoints, undefined);
    assert.equal(task.inputs.volumes, undefined);
  });
}

for (const preset of PRESET_NAMES) {
  test(`CMP-1 pitfall ${preset}: the Lambda environment holds no variable Lambda reserves (AWS_REGION and the like)`, async () => {
    const functions = ofType(await planFor(preset), "aws:lambda/function:Function");
    assert.equal(functions.length, 3);
    for (const fn of functions) {
      const env = (fn.inputs.environment as { variables: Record<string, string> }).variables;
      for (const name of Object.keys(env)) {
        assert.doesNotMatch(
          name,
          /^(_HANDLER|_X_AMZN_TRACE_ID|AWS_(REGION|DEFAULT_REGION|EXECUTION_ENV|LAMBDA_.*|ACCESS_KEY.*|SECRET_ACCESS_KEY|SESSION_TOKEN)|LAMBDA_(TASK_ROOT|RUNTIME_DIR))$/,
          name,
        );
      }
    }
  });

  test(`SEC-1 ${preset}: Fargate task storage is encrypted with the stack key, and Container Insights logs to a pre-created encrypted group`, async () => {
    const plan = await planFor(preset);
    const cluster = one(plan, "aws:ecs/cluster:Cluster");
    assert.deepEqual(cluster.inputs.configuration, {
      managedStorageConfiguration: {
        fargateEphemeralStorageKmsKeyId: `arn:aws:kms:us-east-1:123456789012:key/txwatch-key-${SUFFIX}`,
      },
    });
    const key = one(plan, "aws:kms/key:Key");
    const fargate = statements(key).filter((s) =>
      JSON.stringify(s.Principal).includes("fargate.amazonaws.com"),
    );
    assert.deepEqual(fargate.flatMap((s) => list(s.Action)).sort(), [
      "kms:CreateGrant",
      "kms:GenerateDataKeyWithoutPlaintext",
    ]);
    const insights = ofType(plan, "aws:cloudwatch/logGroup:LogGroup").find(
      (g) => g.inputs.name === `/aws/ecs/containerinsights/api-cluster-${SUFFIX}/performance`,
    );
    assert.equal(insights?.inputs.retentionInDays, 30);
  });
}
