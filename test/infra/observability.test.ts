import assert from "node:assert/strict";
import { test } from "node:test";
import { ofType, one, PRESET_NAMES, planFor, SUFFIX } from "./plan-fixture.ts";

const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";
const topicArn = `arn:aws:sns:us-east-1:123456789012:alarm-topic-${SUFFIX}`;

interface Alarm {
  namespace: string;
  metricName: string;
  dimensions: Record<string, string>;
  alarmActions: string[];
}

async function alarms(
  preset: (typeof PRESET_NAMES)[number],
  overrides?: Record<string, string>,
): Promise<Alarm[]> {
  const plan = await planFor(preset, overrides);
  return ofType(plan, ALARM).map((a) => a.inputs as unknown as Alarm);
}

function find(list: Alarm[], namespace: string, metricName: string): Alarm[] {
  return list.filter((a) => a.namespace === namespace && a.metricName === metricName);
}

for (const preset of PRESET_NAMES) {
  test(`OBS-1 ${preset}: every log group keeps 30 days and is encrypted with the stack key`, async () => {
    const plan = await planFor(preset);
    const groups = ofType(plan, "aws:cloudwatch/logGroup:LogGroup");
    const names = groups.map((g) => String(g.inputs.name));
    for (const expected of [
      `/aws/lambda/processor-${SUFFIX}`,
      `/ecs/api-${SUFFIX}`,
      `/txwatch/flow-logs-${SUFFIX}`,
    ]) {
      assert.ok(names.includes(expected), expected);
    }
    assert.ok(
      names.some((n) => n.startsWith("/aws/rds/")),
      "database logs",
    );
    assert.ok(
      names.some((n) => n.endsWith("/slow-log")),
      "cache logs",
    );
    for (const g of groups) {
      assert.equal(g.inputs.retentionInDays, 30, String(g.inputs.name));
      assert.match(String(g.inputs.kmsKeyId), /^arn:aws:kms:/);
    }
  });

  test(`OBS-2 ${preset}: stream, processor, queue and ALB alarms with the dimensions CloudWatch publishes, wired to the SNS topic`, async () => {
    const list = await alarms(preset);
    for (const a of list) assert.deepEqual(a.alarmActions, [topicArn]);
    const stream = { StreamName: `transaction-stream-${SUFFIX}` };
    assert.deepEqual(
      find(list, "AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds")[0]?.dimensions,
      stream,
    );
    assert.deepEqual(
      find(list, "AWS/Kinesis", "WriteProvisionedThroughputExceeded")[0]?.dimensions,
      stream,
    );
    const fn = { FunctionName: `processor-${SUFFIX}` };
    assert.deepEqual(find(list, "AWS/Lambda", "Errors")[0]?.dimensions, fn);
    assert.deepEqual(find(list, "AWS/Lambda", "Throttles")[0]?.dimensions, fn);
    assert.deepEqual(find(list, "AWS/SQS", "ApproximateNumberOfMessagesVisible")[0]?.dimensions, {
      QueueName: `processor-dlq-${SUFFIX}`,
    });
    // REL-5: the processor's own metric (src/handlers/lambda.ts), in its Powertools namespace.
    assert.deepEqual(find(list, "txwatch", "RecordsQuarantined")[0]?.dimensions, {
      service: "txwatch-processor",
    });
    // REL-6: Redis restarted empty and the history was rebuilt (src/runtime/aws-processor.ts).
    assert.deepEqual(find(list, "txwatch", "HistoryRebuilds")[0]?.dimensions, {
      service: "txwatch-processor",
    });
    const alb = `app/api-alb-${SUFFIX}/0123456789abcdef`;
    assert.deepEqual(find(list, "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count")[0]?.dimensions, {
      LoadBalancer: alb,
    });
    assert.deepEqual(find(list, "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count")[0]?.dimensions, {
      LoadBalancer: alb,
    });
    assert.deepEqual(find(list, "AWS/ApplicationELB", "UnHealthyHostCount")[0]?.dimensions, {
      LoadBalancer: alb,
      TargetGroup: `targetgroup/api-tg-${SUFFIX}/0123456789abcdef`,
    });
  });

  test(`OBS-2 ${preset}: Redis CPU, memory, evictions and replication lag alarms per member cluster id, never per replication group`, async () => {
    const list = await alarms(preset);
    const members = [`history-cache-${SUFFIX}-001`, `history-cache-${SUFFIX}-002`];
    for (const metric of ["EngineCPUUtilization", "DatabaseMemoryUsagePercentage", "Evictions"]) {
      assert.deepEqual(
        find(list, "AWS/ElastiCache", metric).map((a) => a.dimensions),
        members.map((CacheClusterId) => ({ CacheClusterId })),
        metric,
      );
    }
    // On every member: after a failover the first one is the replica.
    assert.deepEqual(
      find(list, "AWS/ElastiCache", "ReplicationLag").map((a) => a.dimensions),
      members.map((CacheClusterId) => ({ CacheClusterId })),
    );
    for (const a of find(list, "AWS/ElastiCache", "EngineCPUUtilization")) {
      assert.notEqual(a.dimensions.CacheClusterId, `history-cache-${SUFFIX}`);
      assert.equal(a.dimensions.ReplicationGroupId, undefined);
    }
  });

  test(`OBS-3 ${preset}: one dashboard of the pipeline, named for the stack, with stream, processor, cache and database widgets`, async () => {
    const plan = await planFor(preset);
    const dashboard = one(plan, "aws:cloudwatch/dashboard:Dashboard");
    assert.equal(dashboard.inputs.dashboardName, `txwatch-${SUFFIX}`);
    assert.equal(plan.outputs.dashboard_name, `txwatch-${SUFFIX}`);
    const body = JSON.parse(String(dashboard.inputs.dashboardBody)) as {
      widgets: { properties: { title: string; metrics: unknown[] } }[];
    };
    const text = JSON.stringify(body);
    for (const needle of [
      `transaction-stream-${SUFFIX}`,
      `processor-${SUFFIX}`,
      `history-cache-${SUFFIX}-001`,
      "AWS/RDS",
      "AWS/ApplicationELB",
    ]) {
      assert.ok(text.includes(needle), needle);
    }
    assert.equal(body.widgets.length, 5);
  });
}

for (const preset of ["japancart", "fastshop"] as const) {
  test(`OBS-2 ${preset}: database CPU, free storage and connection alarms on DBInstanceIdentifier = the instance identifier`, async () => {
    const list = await alarms(preset);
    const dims = { DBInstanceIdentifier: `ledger-db-${SUFFIX}` };
    for (const metric of ["CPUUtilization", "FreeStorageSpace", "DatabaseConnections"]) {
      assert.deepEqual(
        find(list, "AWS/RDS", metric).map((a) => a.dimensions),
        [dims],
        metric,
      );
    }
  });
}

test("OBS-2 finserv: Aurora alarms on DBClusterIdentifier, local storage per instance identifier", async () => {
  const list = await alarms("finserv");
  assert.deepEqual(
    find(list, "AWS/RDS", "CPUUtilization").map((a) => a.dimensions),
    [{ DBClusterIdentifier: `ledger-cluster-${SUFFIX}` }],
  );
  assert.deepEqual(
    find(list, "AWS/RDS", "DatabaseConnections").map((a) => a.dimensions),
    [{ DBClusterIdentifier: `ledger-cluster-${SUFFIX}` }],
  );
  assert.deepEqual(
    find(list, "AWS/RDS", "FreeLocalStorage").map((a) => a.dimensions),
    [
      { DBInstanceIdentifier: `ledger-writer-${SUFFIX}` },
      { DBInstanceIdentifier: `ledger-reader-${SUFFIX}` },
    ],
  );
});

test("OBS-2 an alarm e-mail from config subscribes to the alarm topic", async () => {
  const plan = await planFor("japancart", { alarmEmail: "oncall@example.com" });
  const sub = one(plan, "aws:sns/topicSubscription:TopicSubscription");
  assert.equal(sub.inputs.protocol, "email");
  assert.equal(sub.inputs.endpoint, "oncall@example.com");
  assert.equal(sub.inputs.topic, topicArn);
  const noEmail = await planFor("japancart");
  assert.equal(ofType(noEmail, "aws:sns/topicSubscription:TopicSubscription").length, 0);
});
