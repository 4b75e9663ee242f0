import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Cluster } from "ioredis";
import { type RedisClusterUnderTest, startRedisCluster } from "../support/redis-cluster.ts";

/** The local cluster the SCL-2 tests run on is a real one: sharded, and strict about slots. */
describe("SCL-2 the local Redis Cluster harness", () => {
  let cluster: RedisClusterUnderTest;
  let client: Cluster;

  before(async () => {
    cluster = await startRedisCluster();
    client = cluster.connect();
  });

  after(async () => {
    await cluster?.stop();
  });

  test("SCL-2 three primaries on loopback serve all 16384 slots between them", async () => {
    assert.equal(cluster.nodes.length, 3);
    assert.deepEqual(
      cluster.nodes.map((node) => node.port),
      cluster.ports,
    );
    const slots = await client.cluster("SLOTS");
    const owners = new Set(slots.map(([, , primary]) => `${primary?.[0]}:${primary?.[1]}`));
    assert.deepEqual(
      [...owners].sort(),
      cluster.ports.map((port) => `127.0.0.1:${port}`).sort(),
      "each primary serves slots",
    );
    const covered = slots.reduce((n, [from, to]) => n + (to - from + 1), 0);
    assert.equal(covered, 16384);
    assert.equal(client.nodes("master").length, 3);
    for (const node of client.nodes("master")) {
      const info = (await node.call("CLUSTER", "INFO")) as string;
      assert.match(info, /cluster_state:ok/);
    }
  });

  test("SCL-2 a multi-key command or script across slots fails (CROSSSLOT); hash-tagged keys succeed", async () => {
    const [a, b] = ["claim:a", "claim:b"];
    assert.notEqual(await client.cluster("KEYSLOT", a), await client.cluster("KEYSLOT", b));
    // The servers refuse it, whichever is asked (a plain connection to each primary)...
    for (const node of client.nodes("master")) {
      await assert.rejects(node.mset(a, "1", b, "2"), /CROSSSLOT/);
      await assert.rejects(node.eval("return redis.call('GET', KEYS[2])", 2, a, b), /CROSSSLOT/);
    }
    // ...and so does the Cluster client, before sending (its pipelines are per slot).
    await assert.rejects(client.mset(a, "1", b, "2"), /CROSSSLOT|same slot/);
    await assert.rejects(
      client.eval("return redis.call('GET', KEYS[2])", 2, a, b),
      /CROSSSLOT|same slot/,
    );

    const [ta, tb] = ["{claim}:a", "{claim}:b"];
    assert.equal(await client.cluster("KEYSLOT", ta), await client.cluster("KEYSLOT", tb));
    assert.equal(await client.mset(ta, "1", tb, "2"), "OK");
    assert.equal(await client.eval("return redis.call('GET', KEYS[2])", 2, ta, tb), "2");
    await client.del(ta, tb);
  });

  test("SCL-2 stop() kills the servers by their PIDs", async () => {
    const { pids } = cluster;
    await cluster.stop();
    for (const pid of pids) {
      assert.throws(() => process.kill(pid, 0), { code: "ESRCH" }, `redis-server ${pid} lives`);
    }
  });
});
