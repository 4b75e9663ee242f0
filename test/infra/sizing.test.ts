import assert from "node:assert/strict";
import { test } from "node:test";
import { memberClusterIds } from "../../infra/components/history-cache.ts";
import {
  CACHE_NODE_TYPES,
  cacheNodeTypeFor,
  HISTORY_BYTES_PER_TRANSACTION,
  historyBytes,
  kinesisShardCount,
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
  assert.ok(HISTORY_BYTES_PER_TRANSACTION >= 1132, "at least the measured 1,132 bytes");
});

test("CAP-1 the cache node is the smallest whose usable memory holds the history with headroom", () => {
  assert.equal(cacheNodeTypeFor(1000, 2), "cache.r7g.large");
  assert.equal(cacheNodeTypeFor(1000, 1), "cache.t4g.medium");
  assert.equal(cacheNodeTypeFor(100, 2), "cache.t4g.micro");
  assert.equal(cacheNodeTypeFor(3000, 2), "cache.r7g.large");
  for (const tpm of [100, 1000, 2000, 3000, 10_000, 20_000]) {
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

test("NET-1 subnets: a public and a private /20 per AZ, inside the VPC's /16", () => {
  assert.deepEqual(subnetPlan("10.0.0.0/16", "us-east-1"), [
    { az: "us-east-1a", publicCidr: "10.0.0.0/20", privateCidr: "10.0.128.0/20" },
    { az: "us-east-1b", publicCidr: "10.0.16.0/20", privateCidr: "10.0.144.0/20" },
  ]);
  assert.equal(subnetPlan("172.20.0.0/16", "sa-east-1")[1]?.privateCidr, "172.20.144.0/20");
});
