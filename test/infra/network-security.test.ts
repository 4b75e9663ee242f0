import assert from "node:assert/strict";
import { test } from "node:test";
import { INTERFACE_ENDPOINT_SERVICES } from "../../infra/components/network.ts";
import {
  input,
  list,
  ofType,
  one,
  PRESET_NAMES,
  planFor,
  SUFFIX,
  statements,
} from "./plan-fixture.ts";

const SG = "aws:ec2/securityGroup:SecurityGroup";
const INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule";
const ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint";
const id = (name: string) => `${name}-${SUFFIX}-id`;

for (const preset of PRESET_NAMES) {
  test(`NET-1 ${preset}: VPC with DNS, two public and two private subnets across two AZs, and an internet gateway`, async () => {
    const plan = await planFor(preset);
    const vpc = one(plan, "aws:ec2/vpc:Vpc");
    assert.equal(vpc.inputs.cidrBlock, "10.0.0.0/16");
    assert.equal(vpc.inputs.enableDnsSupport, true);
    assert.equal(vpc.inputs.enableDnsHostnames, true);
    const subnets = ofType(plan, "aws:ec2/subnet:Subnet");
    assert.equal(subnets.length, 4);
    const pub = subnets.filter((s) => s.name.startsWith("public-"));
    const priv = subnets.filter((s) => s.name.startsWith("private-"));
    assert.deepEqual(pub.map((s) => s.inputs.availabilityZone).sort(), [
      "us-east-1a",
      "us-east-1b",
    ]);
    assert.deepEqual(priv.map((s) => s.inputs.availabilityZone).sort(), [
      "us-east-1a",
      "us-east-1b",
    ]);
    for (const s of subnets) assert.equal(s.inputs.mapPublicIpOnLaunch, false);
    assert.equal(ofType(plan, "aws:ec2/internetGateway:InternetGateway").length, 1);
    const igwRoute = ofType(plan, "aws:ec2/route:Route").find(
      (r) => r.inputs.gatewayId === id("igw"),
    );
    assert.equal(igwRoute?.inputs.destinationCidrBlock, "0.0.0.0/0");
    assert.equal(igwRoute?.inputs.routeTableId, id("public-rt"));
  });

  test(`NET-2 ${preset}: S3 and DynamoDB gateway endpoints on the private route table`, async () => {
    const plan = await planFor(preset);
    const gateways = ofType(plan, ENDPOINT).filter((e) => e.inputs.vpcEndpointType === "Gateway");
    assert.deepEqual(gateways.map((e) => e.inputs.serviceName).sort(), [
      "com.amazonaws.us-east-1.dynamodb",
      "com.amazonaws.us-east-1.s3",
    ]);
    for (const e of gateways) assert.deepEqual(e.inputs.routeTableIds, [id("private-rt")]);
  });

  test(`NET-3 ${preset}: VPC flow logs of all traffic to CloudWatch, and a default security group with no rules`, async () => {
    const plan = await planFor(preset);
    const flow = one(plan, "aws:ec2/flowLog:FlowLog");
    assert.equal(flow.inputs.trafficType, "ALL");
    assert.equal(flow.inputs.logDestinationType, "cloud-watch-logs");
    assert.match(String(flow.inputs.logDestination), /^arn:aws:logs:.*flow-logs/);
    assert.equal(flow.inputs.vpcId, id("transaction-vpc"));
    const sg = one(plan, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup");
    assert.deepEqual(sg.inputs.ingress, []);
    assert.deepEqual(sg.inputs.egress, []);
  });

  test(`SEC-2 ${preset}: database and cache accept only the processor and API groups; API tasks only the ALB; only the ALB is open`, async () => {
    const plan = await planFor(preset);
    const ingress = ofType(plan, INGRESS);
    const into = (group: string) => ingress.filter((r) => r.inputs.securityGroupId === id(group));
    const sources = (group: string) =>
      into(group)
        .map((r) => [r.inputs.referencedSecurityGroupId, r.inputs.fromPort])
        .sort();
    assert.deepEqual(sources("rds-sg"), [
      [id("api-sg"), 5432],
      [id("processor-sg"), 5432],
    ]);
    assert.deepEqual(sources("elasticache-sg"), [
      [id("api-sg"), 6379],
      [id("processor-sg"), 6379],
    ]);
    assert.deepEqual(sources("api-sg"), [[id("alb-sg"), 8080]]);
    assert.deepEqual(into("processor-sg"), []);
    for (const rule of ingress) {
      const open = rule.inputs.cidrIpv4 !== undefined || rule.inputs.cidrIpv6 !== undefined;
      if (open) {
        assert.equal(
          rule.inputs.securityGroupId,
          id("alb-sg"),
          `${rule.name} opens a non-ALB group`,
        );
        assert.ok([80, 443].includes(Number(rule.inputs.fromPort)));
      }
    }
    // The data tier sends nothing anywhere: no egress rules on its groups.
    const egress = ofType(plan, EGRESS).map((r) => r.inputs.securityGroupId);
    assert.ok(!egress.includes(id("rds-sg")) && !egress.includes(id("elasticache-sg")));
    assert.equal(ofType(plan, SG).filter((g) => g.inputs.ingress !== undefined).length, 0);
  });

  test(`SEC-1 ${preset}: one customer-managed key with rotation, usable by CloudWatch Logs, on every store, stream, queue, topic, secret and log group`, async () => {
    const plan = await planFor(preset);
    const key = one(plan, "aws:kms/key:Key");
    const keyArn = `arn:aws:kms:us-east-1:123456789012:key/txwatch-key-${SUFFIX}`;
    assert.equal(key.inputs.enableKeyRotation, true);
    const logs = statements(key).find((s) =>
      JSON.stringify(s.Principal).includes("logs.us-east-1.amazonaws.com"),
    );
    assert.ok(logs, "the key policy lets CloudWatch Logs use the key");
    assert.ok(list(logs.Action).includes("kms:GenerateDataKey*"));
    assert.match(
      JSON.stringify(logs.Condition),
      /arn:aws:logs:us-east-1:123456789012:log-group:\*/,
    );
    const uses: [string, string][] = [
      ["aws:kinesis/stream:Stream", "kmsKeyId"],
      ["aws:elasticache/replicationGroup:ReplicationGroup", "kmsKeyId"],
      ["aws:sqs/queue:Queue", "kmsMasterKeyId"],
      ["aws:sns/topic:Topic", "kmsMasterKeyId"],
      ["aws:secretsmanager/secret:Secret", "kmsKeyId"],
      ["aws:cloudwatch/logGroup:LogGroup", "kmsKeyId"],
      ["aws:lambda/function:Function", "kmsKeyArn"],
    ];
    for (const [type, field] of uses) {
      const resources = ofType(plan, type);
      assert.ok(resources.length > 0, type);
      for (const r of resources) assert.equal(r.inputs[field], keyArn, `${r.name}.${field}`);
    }
    const db = [
      ...ofType(plan, "aws:rds/instance:Instance"),
      ...ofType(plan, "aws:rds/cluster:Cluster"),
    ];
    for (const r of db) {
      assert.equal(r.inputs.kmsKeyId, keyArn);
      assert.equal(r.inputs.masterUserSecretKmsKeyId, keyArn);
    }
    const ecr = ofType(plan, "aws:ecr/repository:Repository")[0];
    assert.deepEqual(ecr?.inputs.encryptionConfigurations, [
      { encryptionType: "KMS", kmsKey: keyArn },
    ]);
  });

  test(`SEC-4 AWS-3 ${preset}: the master password is RDS-managed (rotating) and only the admin function reads it; the Redis token and the card-token key live in Secrets Manager, and the runtime gets ARNs, never values`, async () => {
    const plan = await planFor(preset);
    const db = [
      ...ofType(plan, "aws:rds/instance:Instance"),
      ...ofType(plan, "aws:rds/cluster:Cluster"),
    ];
    assert.equal(db.length, 1);
    assert.equal(db[0]?.inputs.manageMasterUserPassword, true);
    assert.equal(db[0]?.inputs.password, undefined);
    assert.equal(db[0]?.inputs.masterPassword, undefined);
    const secrets = ofType(plan, "aws:secretsmanager/secret:Secret")
      .map((s) => s.inputs.name)
      .sort();
    assert.deepEqual(secrets, [`redis-auth-${SUFFIX}`, `token-key-${SUFFIX}`]);
    const variables = (name: string) =>
      (
        one(plan, "aws:lambda/function:Function", `${name}-${SUFFIX}`).inputs.environment as {
          variables: Record<string, string>;
        }
      ).variables;
    const env = variables("processor");
    assert.equal(env.DB_SECRET_ARN, undefined, "the processor never sees the master secret");
    assert.equal(env.DB_USER, "txwatch_app");
    assert.equal(env.DB_AUTH, "iam");
    assert.match(env.REDIS_AUTH_SECRET_ARN ?? "", /^arn:aws:secretsmanager:.*redis-auth/);
    const admin = variables("ledger-admin");
    assert.match(admin.DB_SECRET_ARN ?? "", /^arn:aws:secretsmanager:.*rds!/);
    assert.equal(admin.DB_USER, "txwatch_admin");
    assert.equal(admin.DB_AUTH, "secret");
    const adminPolicy = one(plan, "aws:iam/rolePolicy:RolePolicy", `ledger-admin-policy-${SUFFIX}`);
    assert.deepEqual(
      statements(adminPolicy)
        .filter((s) => s.Sid === "ReadConnectionSecrets")
        .flatMap((s) => list(s.Resource)),
      [admin.DB_SECRET_ARN],
    );
    const task = one(plan, "aws:ecs/taskDefinition:TaskDefinition");
    const [container] = JSON.parse(String(task.inputs.containerDefinitions)) as {
      environment: { name: string; value: string }[];
      secrets?: unknown;
    }[];
    const containerEnv = Object.fromEntries(
      (container?.environment ?? []).map((e) => [e.name, e.value]),
    );
    assert.match(
      containerEnv.TXWATCH_TOKEN_KEY_SECRET_ARN ?? "",
      /^arn:aws:secretsmanager:.*token-key/,
    );
    assert.equal(containerEnv.DB_SECRET_ARN, undefined);
    assert.equal(containerEnv.DB_USER, "txwatch_app");
    assert.equal(containerEnv.DB_AUTH, "iam");
    assert.equal(
      container?.secrets,
      undefined,
      "nothing injected: the app reads secrets at run time",
    );
    const taskPolicy = one(plan, "aws:iam/rolePolicy:RolePolicy", `api-task-policy-${SUFFIX}`);
    const readable = statements(taskPolicy).find((s) => s.Sid === "ReadConnectionSecrets");
    assert.equal(list(readable?.Resource ?? []).length, 2);
    const plain = JSON.stringify([env, container?.environment]);
    assert.doesNotMatch(plain, /offline-plan-placeholder/, "no secret value in an environment");
    assert.doesNotMatch(plain, /PASSWORD|TOKEN_KEY"/);
  });
}

test("NET-2 japancart: no NAT gateway; interface endpoints for every AWS API private compute calls, reachable only from the compute groups", async () => {
  const plan = await planFor("japancart");
  assert.equal(ofType(plan, "aws:ec2/natGateway:NatGateway").length, 0);
  assert.equal(
    ofType(plan, "aws:ec2/route:Route").filter((r) => r.inputs.natGatewayId !== undefined).length,
    0,
  );
  const interfaces = ofType(plan, ENDPOINT).filter((e) => e.inputs.vpcEndpointType === "Interface");
  assert.deepEqual(
    interfaces
      .map((e) => String(e.inputs.serviceName).replace("com.amazonaws.us-east-1.", ""))
      .sort(),
    [...INTERFACE_ENDPOINT_SERVICES].sort(),
  );
  for (const service of [
    "kinesis-streams",
    "secretsmanager",
    "logs",
    "monitoring",
    "kms",
    "ecr.api",
    "ecr.dkr",
    "sns",
    "sts",
  ]) {
    assert.ok((INTERFACE_ENDPOINT_SERVICES as readonly string[]).includes(service), service);
  }
  for (const e of interfaces) {
    assert.equal(e.inputs.privateDnsEnabled, true);
    assert.deepEqual(e.inputs.subnetIds, [id("private-subnet-1"), id("private-subnet-2")]);
  }
  const rules = ofType(plan, INGRESS).filter(
    (r) => r.inputs.securityGroupId === id("endpoints-sg"),
  );
  assert.deepEqual(rules.map((r) => r.inputs.referencedSecurityGroupId).sort(), [
    id("api-sg"),
    id("processor-sg"),
  ]);
});

test("NET-2 finserv: exactly one NAT gateway, in a public subnet, default route of the private subnets; no interface endpoints", async () => {
  const plan = await planFor("finserv");
  const nat = one(plan, "aws:ec2/natGateway:NatGateway");
  assert.equal(nat.inputs.subnetId, id("public-subnet-1"));
  const route = ofType(plan, "aws:ec2/route:Route").find(
    (r) => r.inputs.natGatewayId === id("nat-1"),
  );
  assert.equal(route?.inputs.routeTableId, id("private-rt"));
  assert.equal(route?.inputs.destinationCidrBlock, "0.0.0.0/0");
  assert.equal(
    ofType(plan, ENDPOINT).filter((e) => e.inputs.vpcEndpointType === "Interface").length,
    0,
  );
});

test("NET-2 fastshop: one NAT gateway when configured (allowed by its specification)", async () => {
  const plan = await planFor("fastshop", { natGateways: "1" });
  assert.equal(ofType(plan, "aws:ec2/natGateway:NatGateway").length, 1);
  assert.equal(input(one(plan, "aws:ec2/eip:Eip"), "domain"), "vpc");
});
