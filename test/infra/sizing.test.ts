import assert from "node:assert/strict";
import { test } from "node:test";
import { memberClusterIds } from "../../infra/components/history-cache.ts";
import { PRESET_NAMES, PRESETS } from "../../infra/presets.ts";
import {
  CACHE_NODE_TYPES,
  cacheNodeTypeFor,
  HISTORY_BYTES_PER_TRANSACTION,
  HISTORY_TX_PER_SECOND_PER_SHARD,
  historyBytes,
  historyCacheShape,
  historyClusterLayout,
  kinesisShardCount,
  MAX_CLUSTER_NODES,
  MAX_PARALLELIZATION_FACTOR,
  PROCESSOR_TX_PER_SECOND_PER_INVOCATION,
  parallelizationFactor,
  processorInvocations,
  usableCacheBytes,
} from "../../infra/sizing.ts";
import { subnetPlan } from "../../infra/subnets.ts";

const shards = (
  peakTransactionsPerMinute: number,
  averageRecordBytes = 1024,
  headroom = 2,
  consumers = 1,
) => kinesisShardCount({ peakTransactionsPerMinute, averageRecordBytes, headroom, consumers });

test("STR-1 1000 transactions a minute need one shard", () => {
  assert.equal(shards(1000), 1);
  assert.equal(shards(1), 1);
});

test("STR-1 shards follow the binding limit: records/s, write bytes/s or shared read bytes/s", () => {
  // 120,000/min = 2,000/s, x2 headroom = 4,000 records/s: record limit gives 4.
  assert.equal(shards(120_000, 100), 4);
  // 60,000/min of 10 KiB records x2 = 20,000 KiB/s: write limit (1 MiB/s) gives 20.
  assert.equal(shards(60_000, 10 * 1024), 20);
  // Three consumers sharing reads of 1 MiB/s each beat the write limit: 3 MiB/s / 2 MiB/s -> 2.
  assert.equal(shards(30_720, 1024, 1, 1), 1);
  assert.equal(shards(30_720, 2048, 1, 3), 2);
  assert.equal(shards(30_000, 1024, 1, 0), 1, "no consumer still reads as one");
});

test("CAP-1 the 24 h history volume is the peak sustained all day times the bytes per transaction", () => {
  assert.equal(historyBytes(1000), 1000 * 60 * 24 * HISTORY_BYTES_PER_TRANSACTION);
  assert.ok(HISTORY_BYTES_PER_TRANSACTION >= 2034, "at least the measured 2,034 bytes");
});

test("CAP-1 the cache node is the smallest whose usable memory holds the history with headroom", () => {
  // At 2,100 bytes a transaction a day of 1,000/min is 2.8 GiB; usable memory is 75% of a node's.
  assert.equal(cacheNodeTypeFor(60, 2), "cache.t4g.micro", "0.34 GiB of 0.375 usable");
  assert.equal(cacheNodeTypeFor(100, 2), "cache.t4g.small", "0.56 GiB of 1.03 usable");
  assert.equal(cacheNodeTypeFor(700, 1), "cache.t4g.medium", "1.97 GiB of 2.32 usable");
  assert.equal(cacheNodeTypeFor(700, 2), "cache.r7g.large", "the headroom doubles it: 3.94 GiB");
  assert.equal(cacheNodeTypeFor(1000, 2), "cache.r7g.large", "5.6 GiB of 9.8 usable");
  assert.equal(cacheNodeTypeFor(3000, 2), "cache.r7g.xlarge", "16.9 GiB of 19.7 usable");
  for (const tpm of [60, 100, 700, 1000, 2000, 3000, 5000, 10_000, 14_000]) {
    const node = cacheNodeTypeFor(tpm, 2);
    assert.ok(usableCacheBytes(node) >= historyBytes(tpm) * 2, `${tpm}/min fits ${node}`);
    const smaller = CACHE_NODE_TYPES[CACHE_NODE_TYPES.findIndex((n) => n.nodeType === node) - 1];
    if (smaller)
      assert.ok(
        usableCacheBytes(smaller.nodeType) < historyBytes(tpm) * 2,
        `${smaller.nodeType} would not`,
      );
  }
  assert.throws(() => cacheNodeTypeFor(1_000_000, 2), /more than the largest node type/);
  assert.throws(
    () => usableCacheBytes("cache.m1.small"),
    /unknown cache node type "cache.m1.small"/,
  );
});

test("CCH-1 member cluster ids are <group>-001, <group>-002", () => {
  assert.deepEqual(memberClusterIds("history-cache-pr1", 3), [
    "history-cache-pr1-001",
    "history-cache-pr1-002",
    "history-cache-pr1-003",
  ]);
});

test("SCL-2 CCH-1 in cluster mode member cluster ids are <group>-<shard 0001>-<member 001>", () => {
  assert.deepEqual(memberClusterIds("history-cache-pr1", 2, 2), [
    "history-cache-pr1-0001-001",
    "history-cache-pr1-0001-002",
    "history-cache-pr1-0002-001",
    "history-cache-pr1-0002-002",
  ]);
});

const factor = (peakTransactionsPerMinute: number, shards: number, headroom = 2) =>
  parallelizationFactor({ peakTransactionsPerMinute, headroom, shards });

test("SCL-4 the parallelization factor is 1 to 10, as Lambda allows", () => {
  assert.equal(PROCESSOR_TX_PER_SECOND_PER_INVOCATION, 500);
  assert.equal(factor(1, 1), 1, "a trickle still gets one batch per shard");
  assert.equal(factor(0, 1), 1);
  assert.equal(factor(10_000_000, 1), MAX_PARALLELIZATION_FACTOR, "capped at 10");
  assert.equal(factor(10_000_000, 0), MAX_PARALLELIZATION_FACTOR, "no shard counts as one");
  for (const tpm of [1, 1000, 15_000, 30_000, 60_000, 150_000, 1_000_000, 1e9]) {
    for (const shards of [1, 2, 4, 16]) {
      const f = factor(tpm, shards);
      assert.ok(Number.isInteger(f) && f >= 1 && f <= 10, `${tpm}/min on ${shards}: ${f}`);
    }
  }
});

test("SCL-4 shards × factor invocations cover the peak times the headroom, with the fewest per shard", () => {
  // 30,000/min x2 = 1,000 tx/s = 2 invocations of 500: one shard runs 2 batches at once.
  assert.equal(processorInvocations(30_000, 2), 2);
  assert.equal(factor(30_000, 1), 2);
  assert.equal(factor(30_000, 2), 1);
  // 150,000/min x2 = 5,000 tx/s = 10 invocations: 4 shards need 3 each (12 >= 10), not 2 (8).
  assert.equal(factor(150_000, 4), 3);
  for (const tpm of [1000, 30_000, 90_000, 150_000, 240_000]) {
    for (const shards of [1, 2, 3, 4, 8]) {
      const f = factor(tpm, shards);
      const needed = processorInvocations(tpm, 2);
      if (f < MAX_PARALLELIZATION_FACTOR) assert.ok(shards * f >= needed, `${tpm} on ${shards}`);
      if (f > 1) assert.ok(shards * (f - 1) < needed, `${tpm} on ${shards}: ${f} is the least`);
    }
  }
});

test("SCL-4 the factor never falls as the peak or the headroom grows, never rises with more shards", () => {
  const peaks = [1, 500, 1000, 5000, 30_000, 31_000, 60_000, 90_000, 200_000, 600_000, 1e7];
  for (const shards of [1, 2, 3, 5]) {
    for (let i = 1; i < peaks.length; i++) {
      assert.ok(factor(peaks[i]!, shards) >= factor(peaks[i - 1]!, shards), `${peaks[i]}`);
    }
  }
  for (const tpm of peaks) {
    assert.ok(factor(tpm, 1, 3) >= factor(tpm, 1, 2));
    for (let shards = 2; shards <= 8; shards++) {
      assert.ok(factor(tpm, shards) <= factor(tpm, shards - 1), `${tpm} on ${shards}`);
    }
  }
});

test("SCL-4 on shards sized by the write limit the factor is at most 2 (500 tx/s an invocation, 1,000 records/s a shard)", () => {
  for (const tpm of [1000, 30_000, 60_000, 61_000, 120_000, 600_000, 3_000_000]) {
    const shards = writeSizedShards(tpm);
    assert.ok(factor(tpm, shards) <= 2, `${tpm}/min on ${shards} shards`);
  }
});

function writeSizedShards(tpm: number): number {
  return kinesisShardCount({
    peakTransactionsPerMinute: tpm,
    averageRecordBytes: 100,
    headroom: 2,
    consumers: 1,
  });
}

test("SCL-4 every preset: 1 shard and a factor of 1, by the numbers (its peak x2 is at most 100 tx/s)", () => {
  for (const preset of PRESET_NAMES) {
    const s = PRESETS[preset];
    const streamShards = kinesisShardCount({ ...s, consumers: 1 });
    assert.equal(streamShards, 1, preset);
    assert.equal(factor(s.peakTransactionsPerMinute, streamShards, s.headroom), 1, preset);
  }
});

const layout = (peakTransactionsPerMinute: number, nodeType = "", replicas = 1, headroom = 2) =>
  historyClusterLayout({ peakTransactionsPerMinute, headroom, nodeType, replicas });

test("SCL-2 cluster-mode shards are the larger of memory (history over a node's usable memory) and throughput (3,000 tx/s a shard)", () => {
  assert.equal(HISTORY_TX_PER_SECOND_PER_SHARD, 3000);
  // Every preset's peak fits one shard: 1,000/min x2 (5.6 GiB) an r7g.large (9.8 GiB usable),
  // 2,000 and 3,000/min x2 (11.3 and 16.9 GiB) an r7g.xlarge (19.7 GiB usable).
  assert.deepEqual(layout(1000), { nodeType: "cache.r7g.large", shards: 1 });
  assert.deepEqual(layout(2000), { nodeType: "cache.r7g.xlarge", shards: 1 });
  assert.deepEqual(layout(3000), { nodeType: "cache.r7g.xlarge", shards: 1 });
  // Memory: 12,000/min x2 is 67.6 GiB: one r7g.4xlarge (79.4 GiB usable), or 7 pinned r7g.large.
  assert.deepEqual(layout(12_000), { nodeType: "cache.r7g.4xlarge", shards: 1 });
  assert.equal(layout(12_000, "cache.r7g.large").shards, 7);
  assert.equal(layout(12_000, "cache.r7g.4xlarge").shards, 1);
  // Throughput: 180,000/min x2 = 6,000 tx/s is 2 shards even on the largest node.
  assert.ok(layout(180_000, "cache.r7g.4xlarge").shards >= 2);
  // Past the largest node, more shards of it.
  const big = layout(100_000);
  assert.equal(big.nodeType, "cache.r7g.4xlarge");
  assert.equal(big.shards, Math.ceil((historyBytes(100_000) * 2) / usableCacheBytes(big.nodeType)));
});

test("SCL-2 cluster-mode layout: every shard's share fits its node, the shards carry the throughput, and nothing shrinks as the peak grows", () => {
  let previous = 0;
  for (const tpm of [100, 1000, 3000, 10_000, 40_000, 100_000, 250_000, 500_000]) {
    const { nodeType, shards } = layout(tpm);
    const needed = historyBytes(tpm) * 2;
    assert.ok(usableCacheBytes(nodeType) * shards >= needed, `${tpm}: memory`);
    assert.ok(shards * HISTORY_TX_PER_SECOND_PER_SHARD >= (tpm / 60) * 2, `${tpm}: throughput`);
    assert.ok(usableCacheBytes(nodeType) * shards >= previous, `${tpm}: capacity never falls`);
    previous = usableCacheBytes(nodeType) * shards;
  }
  assert.ok(
    layout(20_000, "cache.r7g.large", 1).shards >= layout(10_000, "cache.r7g.large").shards,
  );
});

test("SCL-2 cluster-mode layout refuses more than 500 nodes, naming the count", () => {
  assert.equal(MAX_CLUSTER_NODES, 500);
  assert.throws(
    () => layout(2_000_000, "cache.t4g.micro", 1),
    /needs \d+ shards of cache\.t4g\.micro with 1 replica\(s\) each, \d+ nodes: more than the 500 a cluster can have/,
  );
  // 20,000/min x2 is 112.7 GiB: 110 t4g.small shards (1.03 GiB usable each), 660 nodes with 5
  // replicas each; 11,400/min x2 is 64.2 GiB, 63 shards.
  assert.throws(
    () => layout(20_000, "cache.t4g.small", 5),
    /needs 110 shards of cache\.t4g\.small with 5 replica\(s\) each, 660 nodes: more than the 500 a cluster can have/,
  );
  assert.equal(layout(11_400, "cache.t4g.small", 5).shards, 63, "63 x 6 = 378 nodes is allowed");
});

test("SCL-2 CAP-1 the cache shape: cluster mode off keeps the single node type, on sizes shards", () => {
  const base = { ...PRESETS.japancart };
  assert.deepEqual(historyCacheShape(base), { nodeType: "cache.r7g.large" });
  assert.deepEqual(historyCacheShape({ ...base, cacheNodeType: "cache.t4g.small" }), {
    nodeType: "cache.t4g.small",
  });
  assert.deepEqual(historyCacheShape({ ...base, historyClusterMode: true }), {
    nodeType: "cache.r7g.large",
    shards: 1,
  });
  assert.deepEqual(
    historyCacheShape({ ...base, historyClusterMode: true, cacheNodeType: "cache.t4g.small" }),
    { nodeType: "cache.t4g.small", shards: 6 },
  );
});

test("NET-1 subnets: a public and a private /20 per AZ, inside the VPC's /16", () => {
  assert.deepEqual(subnetPlan("10.0.0.0/16", "us-east-1"), [
    { az: "us-east-1a", publicCidr: "10.0.0.0/20", privateCidr: "10.0.128.0/20" },
    { az: "us-east-1b", publicCidr: "10.0.16.0/20", privateCidr: "10.0.144.0/20" },
  ]);
  assert.equal(subnetPlan("172.20.0.0/16", "sa-east-1")[1]?.privateCidr, "172.20.144.0/20");
});
