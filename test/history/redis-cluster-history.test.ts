import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Cluster } from "ioredis";
import { RedisHistoryStore } from "../../src/history/index.ts";
import { entityKeys } from "../../src/history/keys.ts";
import type { HistoryRebuild } from "../../src/history/rebuild.ts";
import { type RedisClusterUnderTest, startRedisCluster } from "../support/redis-cluster.ts";
import { uniqueName } from "../support/services.ts";
import { historyItem as at, SECOND, T0, window, withCard } from "./history-fixtures.ts";
import { historyStoreSuite } from "./history-store.suite.ts";

/**
 * SCL-2: the history on a real three-primary Redis Cluster (redis-server --cluster-enabled yes,
 * joined with redis-cli --cluster create): the shared contract, small and busy, as on one Redis.
 */
let cluster: RedisClusterUnderTest;
before(async () => {
  cluster = await startRedisCluster();
});
after(async () => {
  await cluster?.stop();
});

function storeOnCluster(aggregateFrom?: number) {
  return async () => {
    const client = cluster.connect();
    const store = new RedisHistoryStore(client, uniqueName("txwc"), aggregateFrom);
    return { store, dispose: () => store.close() };
  };
}

historyStoreSuite("redis cluster", storeOnCluster());
historyStoreSuite("redis cluster with aggregates", storeOnCluster(1), { busy: true });

describe("redis cluster history store", () => {
  test("SCL-2 a batch's entities are spread over the three primaries, each call in its entity's slot", async () => {
    const client: Cluster = cluster.connect();
    const prefix = uniqueName("txwc");
    const store = new RedisHistoryStore(client, prefix, 1);
    try {
      const items = Array.from({ length: 60 }, (_, i) =>
        withCard(
          at(T0 + i * SECOND, {
            entities: { customer: `c${i}`, device: `d${i % 7}`, ip: `10.0.0.${i % 5}` },
            queries: [window("card", 600), window("ip", 3600)],
          }),
          `k${i % 11}`,
        ),
      );
      const results = await store.recordBatch(items, T0 + 60 * SECOND);
      assert.equal(results.at(-1)!.windows[1]!.count, 12, "10.0.0.4: the 12 of 60 on it");
      // Where the entities' keys live: every primary holds some, and each entity's keys one only.
      const holders = new Set<number>();
      const perEntity = new Map<string, Set<number>>();
      for (const node of client.nodes("master")) {
        for (const key of await node.keys(`${prefix}:*`)) {
          holders.add(node.options.port!);
          const entity = key.slice(0, key.lastIndexOf(":"));
          perEntity.set(entity, (perEntity.get(entity) ?? new Set()).add(node.options.port!));
        }
      }
      assert.ok(perEntity.size >= 60 + 7 + 5 + 11);
      for (const [entity, nodes] of perEntity)
        assert.equal(nodes.size, 1, `${entity} on ${[...nodes]}`);
      assert.ok(entityKeys(prefix, "m1", "customer", "c0").times.startsWith(`${prefix}:h:{`));
      assert.equal(holders.size, 3, `customer keys on ${[...holders].join(", ")}`);
    } finally {
      await store.close();
    }
  });

  test("SCL-2 REL-6 the generation marker, rebuild lock and progress work on a cluster", async () => {
    const client = cluster.connect();
    const prefix = uniqueName("txwc");
    const ledger = Array.from({ length: 5 }, (_, i) => withCard(at(T0 + i * SECOND), "card-r"));
    let rebuilt = 0;
    const rebuild: HistoryRebuild = {
      async replay(into, now) {
        await into.restore(ledger, now);
        return ledger.length;
      },
      events: { rebuilt: () => rebuilt++ },
    };
    const store = new RedisHistoryStore(client, prefix, undefined, { rebuild });
    try {
      const [r] = await store.recordBatch(
        [withCard(at(T0 + 6 * SECOND, { queries: [window("card", 600)] }), "card-r")],
        T0 + 10 * SECOND,
      );
      assert.equal(rebuilt, 1, "no marker: rebuilt from the ledger once");
      assert.equal(r!.windows[0]!.count, 6);
      assert.equal(r!.incomplete, undefined);
    } finally {
      await store.close();
    }
  });
});
