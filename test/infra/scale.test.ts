import assert from "node:assert/strict";
import { test } from "node:test";
import { readStackConfig } from "../../infra/config.ts";
import type { StackPlan } from "../../infra/plan/capture.ts";
import { formatPlan } from "../../infra/plan/format.ts";
import { checkPlan } from "../../infra/plan/policy-check.ts";
import { PRESETS } from "../../infra/presets.ts";
import { kinesisShardCount, parallelizationFactor } from "../../infra/sizing.ts";
import { CONFIG_VARIABLES, loadConfig } from "../../src/config.ts";
import { ofType, one, PRESET_NAMES, planFor, SUFFIX } from "./plan-fixture.ts";

const STREAM = "aws:kinesis/stream:Stream";
const MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping";
const CACHE = "aws:elasticache/replicationGroup:ReplicationGroup";
const PARAMS = "aws:elasticache/parameterGroup:ParameterGroup";
const GROUP = `history-cache-${SUFFIX}`;
const CONFIGURATION_ENDPOINT = `clustercfg.${GROUP}.cache.amazonaws.com`;
const PRIMARY_ENDPOINT = `master.${GROUP}.cache.amazonaws.com`;
const CLUSTER = { historyClusterMode: "true" };
/**
 * The node each preset's one shard gets: the smallest whose usable memory (75%) holds a day at
 * its peak times 2 at 2,100 bytes a transaction: 1,000/min is 5.6 GiB, an r7g.large (9.8 GiB
 * usable); 2,000 and 3,000/min are 11.3 and 16.9 GiB, an r7g.xlarge (19.7 GiB usable).
 */
const PRESET_NODE_TYPE: Record<(typeof PRESET_NAMES)[number], string> = {
  japancart: "cache.r7g.large",
  fastshop: "cache.r7g.xlarge",
  finserv: "cache.r7g.xlarge",
};

/** The environment of the processor Lambda and of the API container, by name. */
function environments(plan: StackPlan): Record<string, Record<string, string>> {
  const fn = one(plan, "aws:lambda/function:Function", `processor-${SUFFIX}`);
  const task = one(plan, "aws:ecs/taskDefinition:TaskDefinition");
  const [container] = JSON.parse(String(task.inputs.containerDefinitions)) as {
    environment: { name: string; value: string }[];
  }[];
  return {
    processor: (fn.inputs.environment as { variables: Record<string, string> }).variables,
    api: Object.fromEntries(container?.environment.map((e) => [e.name, e.value]) ?? []),
  };
}

/** What sizing gives a preset's settings, computed independently of the components. */
function sized(overrides: Partial<(typeof PRESETS)["japancart"]>, preset = "japancart" as const) {
  const s = { ...PRESETS[preset], ...overrides };
  const shards = kinesisShardCount({ ...s, consumers: 1 });
  return {
    shards,
    factor: parallelizationFactor({
      peakTransactionsPerMinute: s.peakTransactionsPerMinute,
      headroom: s.headroom,
      shards,
    }),
  };
}

for (const preset of PRESET_NAMES) {
  test(`SCL-4 ${preset}: the stream's shards and the event source mapping's parallelization factor come from sizing`, async () => {
    const plan = await planFor(preset);
    const expected = sized({}, preset as "japancart");
    assert.equal(one(plan, STREAM).inputs.shardCount, expected.shards);
    assert.equal(one(plan, MAPPING).inputs.parallelizationFactor, expected.factor);
    // Every preset's peak (at most 3,000/min, x2 = 100 tx/s) is one shard and one batch at a
    // time: 5% of a shard's 1,000 records/s and a fifth of one 500 tx/s invocation.
    assert.deepEqual(expected, { shards: 1, factor: 1 });
  });
}

// A day of history at these peaks outgrows one node: such a stack runs the cache in cluster mode.
const BIG = { ...CLUSTER, peakTransactionsPerMinute: "150000" };

test("SCL-4 a peak above one shard gets several shards, and the factor makes shards × factor invocations cover it; the plan shows both", async () => {
  // 150,000/min x2 = 5,000 records/s: 5 shards by the write limit; 10 invocations of 500 tx/s.
  const plan = await planFor("finserv", BIG);
  assert.equal(one(plan, STREAM).inputs.shardCount, 5);
  assert.equal(one(plan, MAPPING).inputs.parallelizationFactor, 2);
  const text = formatPlan(plan);
  assert.match(text, new RegExp(`transaction-stream-${SUFFIX} {2}name=\\S+ shardCount=5 `));
  assert.match(
    text,
    new RegExp(`processor-stream-mapping-${SUFFIX} {2}batchSize=500 parallelizationFactor=2 `),
  );
});

test("SCL-4 an ON_DEMAND stream, whose shards Kinesis changes, is counted as one shard: the factor alone covers the peak, up to 10", async () => {
  const plan = await planFor("japancart", {
    ...BIG,
    streamMode: "ON_DEMAND",
    peakTransactionsPerMinute: "120000",
  });
  assert.equal(one(plan, STREAM).inputs.shardCount, undefined);
  // 120,000/min x2 = 4,000 tx/s = 8 invocations of 500.
  assert.equal(one(plan, MAPPING).inputs.parallelizationFactor, 8);
  const capped = await planFor("japancart", {
    ...BIG,
    streamMode: "ON_DEMAND",
    peakTransactionsPerMinute: "600000",
  });
  assert.equal(one(capped, MAPPING).inputs.parallelizationFactor, 10);
});

for (const preset of PRESET_NAMES) {
  test(`SCL-2 ${preset}: as shipped the history cache is not in cluster mode: REDIS_HOST is the primary endpoint and REDIS_CLUSTER is unset`, async () => {
    const plan = await planFor(preset);
    const cache = one(plan, CACHE);
    assert.equal(cache.inputs.numCacheClusters, 2);
    for (const key of ["clusterMode", "numNodeGroups", "replicasPerNodeGroup"]) {
      assert.equal(cache.inputs[key], undefined, key);
    }
    assert.equal(one(plan, PARAMS).name, `cache-params-${SUFFIX}`);
    for (const [name, env] of Object.entries(environments(plan))) {
      assert.equal(env.REDIS_HOST, PRIMARY_ENDPOINT, name);
      assert.equal(env.REDIS_CLUSTER, undefined, name);
    }
    assert.equal(plan.outputs.redis_endpoint, PRIMARY_ENDPOINT);
  });

  test(`SCL-2 CCH-1 ${preset}: historyClusterMode deploys cluster mode: sized node groups with a replica each, failover, Multi-AZ, TLS, AUTH and the CMK as before`, async () => {
    const plan = await planFor(preset, CLUSTER);
    const cache = one(plan, CACHE);
    assert.equal(cache.inputs.replicationGroupId, GROUP);
    assert.equal(cache.inputs.clusterMode, "enabled");
    assert.equal(cache.inputs.numNodeGroups, 1, "every preset's peak fits one shard");
    assert.equal(cache.inputs.replicasPerNodeGroup, 1);
    // numCacheClusters conflicts with node groups (ElastiCache: not used with node groups).
    assert.equal(cache.inputs.numCacheClusters, undefined);
    assert.equal(cache.inputs.nodeType, PRESET_NODE_TYPE[preset]);
    assert.equal(cache.inputs.automaticFailoverEnabled, true);
    assert.equal(cache.inputs.multiAzEnabled, true);
    assert.equal(cache.inputs.transitEncryptionEnabled, true);
    assert.equal(cache.inputs.atRestEncryptionEnabled, true);
    assert.equal(
      cache.inputs.kmsKeyId,
      `arn:aws:kms:us-east-1:123456789012:key/txwatch-key-${SUFFIX}`,
    );
    assert.equal(typeof cache.inputs.authToken, "object", "the auth token, a secret");
    assert.equal(cache.inputs.authTokenUpdateStrategy, "ROTATE");
    assert.equal(cache.inputs.snapshotRetentionLimit, 1);
    assert.equal(cache.inputs.engineVersion, "7.1");
  });

  test(`SCL-2 ${preset}: in cluster mode the parameter group is redis7 with cluster-enabled yes and still noeviction, a group of its own`, async () => {
    const plan = await planFor(preset, CLUSTER);
    const params = one(plan, PARAMS);
    assert.equal(params.name, `cache-cluster-params-${SUFFIX}`);
    assert.equal(params.inputs.family, "redis7");
    assert.deepEqual(params.inputs.parameters, [
      { name: "maxmemory-policy", value: "noeviction" },
      { name: "cluster-enabled", value: "yes" },
    ]);
    assert.equal(one(plan, CACHE).inputs.parameterGroupName, `cache-cluster-params-${SUFFIX}`);
  });

  test(`SCL-2 ${preset}: in cluster mode the processor and the API get REDIS_HOST = the configuration endpoint and REDIS_CLUSTER=true; redis_endpoint is that endpoint`, async () => {
    const plan = await planFor(preset, CLUSTER);
    const envs = environments(plan);
    assert.deepEqual(Object.keys(envs).sort(), ["api", "processor"]);
    for (const [name, env] of Object.entries(envs)) {
      assert.equal(env.REDIS_HOST, CONFIGURATION_ENDPOINT, name);
      assert.equal(env.REDIS_CLUSTER, "true", name);
      assert.equal(env.REDIS_PORT, "6379", name);
      assert.match(String(env.REDIS_AUTH_SECRET_ARN), /redis-auth/, name);
    }
    assert.equal(plan.outputs.redis_endpoint, CONFIGURATION_ENDPOINT);
    // The jobs never reach Redis.
    for (const job of ["ledger-admin", "ledger-archive"]) {
      const fn = one(plan, "aws:lambda/function:Function", `${job}-${SUFFIX}`);
      const env = (fn.inputs.environment as { variables: Record<string, string> }).variables;
      assert.equal(env.REDIS_CLUSTER, undefined, job);
    }
  });

  test(`SCL-2 POL-2 ${preset}: cluster mode passes the policy pack`, async () => {
    assert.deepEqual(checkPlan(await planFor(preset, CLUSTER)), []);
  });
}

test("SCL-2 a history too big for one node gets several shards, and every member of every shard its own alarms", async () => {
  // 20,000/min x2 = 112.7 GiB of history: 12 shards of r7g.large (9.8 GiB usable each).
  const plan = await planFor("japancart", {
    ...CLUSTER,
    peakTransactionsPerMinute: "20000",
    cacheNodeType: "cache.r7g.large",
    cacheReplicas: "2",
  });
  const cache = one(plan, CACHE);
  assert.equal(cache.inputs.numNodeGroups, 12);
  assert.equal(cache.inputs.replicasPerNodeGroup, 2);
  const alarms = ofType(plan, "aws:cloudwatch/metricAlarm:MetricAlarm").filter(
    (a) => a.inputs.namespace === "AWS/ElastiCache",
  );
  const members = new Set(
    alarms.map((a) => (a.inputs.dimensions as Record<string, string>).CacheClusterId),
  );
  assert.equal(members.size, 12 * 3);
  for (const id of members) {
    assert.match(String(id), new RegExp(`^${GROUP}-00(0[1-9]|1[0-2])-00[1-3]$`));
  }
  assert.equal(alarms.length, 12 * 3 * 4);
  assert.equal(new Set(alarms.map((a) => a.name)).size, alarms.length, "alarm names are unique");
  assert.ok(alarms.some((a) => a.name === `redis-memory-0012-003-${SUFFIX}`));
  assert.match(
    formatPlan(plan),
    new RegExp(
      `${GROUP} {2}nodeType=cache\\.r7g\\.large clusterMode=enabled numNodeGroups=12 replicasPerNodeGroup=2 multiAzEnabled=true`,
    ),
  );
});

test("SCL-2 cluster-mode config that AWS or sizing cannot take is refused before anything is registered", () => {
  const read = (values: Record<string, string>) => {
    const all = { preset: "finserv", environmentSuffix: SUFFIX, ...values };
    return () => readStackConfig((k) => all[k as keyof typeof all], Object.keys(all));
  };
  assert.throws(
    read({ cacheReplicas: "6" }),
    /^ConfigError: txwatch:cacheReplicas is 6; ElastiCache allows at most 5 replicas per shard$/,
  );
  assert.throws(
    read({ ...CLUSTER, cacheNodeType: "cache.m7g.large" }),
    /^ConfigError: txwatch:cacheNodeType "cache\.m7g\.large" has no memory figure in infra\/sizing\.ts, which txwatch:historyClusterMode sizes the shards from: use one of cache\.t4g\.micro, /,
  );
  assert.throws(
    read({ ...CLUSTER, peakTransactionsPerMinute: "2000000", cacheNodeType: "cache.t4g.micro" }),
    /^ConfigError: txwatch:historyClusterMode is on and the 24 h history at 2000000 tx\/min needs \d+ shards of cache\.t4g\.micro with 1 replica\(s\) each, \d+ nodes: more than the 500 a cluster can have$/,
  );
  // Cluster mode is what makes a history bigger than the largest node deployable.
  assert.throws(read({ peakTransactionsPerMinute: "100000" }), /cacheNodeType is unset/);
  assert.equal(
    read({ ...CLUSTER, peakTransactionsPerMinute: "100000" })().settings.historyClusterMode,
    true,
  );
});

test("SCL-2 AWS-7 in cluster mode the environment of the processor and the container is one src/config.ts accepts", async () => {
  const plan = await planFor("finserv", CLUSTER);
  for (const [name, env] of Object.entries(environments(plan))) {
    for (const key of Object.keys(env)) {
      if (key !== "POWERTOOLS_SERVICE_NAME") {
        assert.ok((CONFIG_VARIABLES as readonly string[]).includes(key), `${name}: ${key}`);
      }
    }
    const config = loadConfig(env) as Record<string, unknown>;
    assert.equal(config.REDIS_HOST, CONFIGURATION_ENDPOINT, name);
    assert.ok([true, "true"].includes(config.REDIS_CLUSTER as string | boolean), name);
  }
});
