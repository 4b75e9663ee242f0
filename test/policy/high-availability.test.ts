import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { UNKNOWN } from "../../policy/model.ts";
import { highAvailability as policy } from "../../policy/policies/high-availability.ts";
import { compliantStack, URN, withoutResource, withProps } from "./fixtures.ts";

const NO_REPLICA =
  "Redis replication group history-cache-pr42 must have at least one replica (numCacheClusters 2 or more).";

describe("multi-az-failover", () => {
  test("POL-1 CCH-1 DB-1 multi-az-failover: a compliant stack has no findings", () => {
    assert.deepEqual(policy.validate(compliantStack()), []);
  });

  test("POL-1 CCH-1 DB-1 multi-az-failover: a single-AZ RDS instance is reported", () => {
    const stack = withProps(compliantStack(), URN.db, { multiAz: false });
    assert.deepEqual(policy.validate(stack), [
      { urn: URN.db, message: "Database ledger-db-pr42 must be Multi-AZ (multiAz true)." },
    ]);
  });

  test("POL-1 CCH-1 DB-1 multi-az-failover: an RDS instance with multiAz unset (single-AZ) is reported", () => {
    const stack = withProps(compliantStack(), URN.db, { multiAz: undefined });
    assert.deepEqual(policy.validate(stack), [
      { urn: URN.db, message: "Database ledger-db-pr42 must be Multi-AZ (multiAz true)." },
    ]);
  });

  test("POL-1 CCH-1 DB-1 multi-az-failover: an Aurora cluster with only a writer is reported", () => {
    const stack = withoutResource(compliantStack(), URN.reader);
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.cluster,
        message:
          "Aurora cluster ledger-cluster-pr42 must have a writer and at least one reader in another Availability Zone (it has 1 instance).",
      },
    ]);
  });

  test("POL-1 CCH-1 DB-1 multi-az-failover: an Aurora cluster without instances is reported", () => {
    const stack = withoutResource(withoutResource(compliantStack(), URN.reader), URN.writer);
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.cluster,
        message:
          "Aurora cluster ledger-cluster-pr42 must have a writer and at least one reader in another Availability Zone (it has 0 instances).",
      },
    ]);
  });

  test("POL-1 CCH-1 DB-1 multi-az-failover: Redis without automatic failover is reported", () => {
    const stack = withProps(compliantStack(), URN.cache, { automaticFailoverEnabled: false });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.cache,
        message:
          "Redis replication group history-cache-pr42 must fail over automatically (automaticFailoverEnabled true).",
      },
    ]);
  });

  test("POL-1 CCH-1 DB-1 multi-az-failover: Redis that is not Multi-AZ is reported", () => {
    const stack = withProps(compliantStack(), URN.cache, { multiAzEnabled: false });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.cache,
        message:
          "Redis replication group history-cache-pr42 must be Multi-AZ (multiAzEnabled true).",
      },
    ]);
  });

  test("POL-1 CCH-1 DB-1 multi-az-failover: Redis with one cache cluster (no replica) is reported", () => {
    const stack = withProps(compliantStack(), URN.cache, { numCacheClusters: 1 });
    assert.deepEqual(policy.validate(stack), [{ urn: URN.cache, message: NO_REPLICA }]);
  });

  test("POL-1 CCH-1 DB-1 multi-az-failover: Redis with neither numCacheClusters nor replicas (one node) is reported", () => {
    const stack = withProps(compliantStack(), URN.cache, { numCacheClusters: undefined });
    assert.deepEqual(policy.validate(stack), [{ urn: URN.cache, message: NO_REPLICA }]);
  });

  test("POL-1 CCH-1 DB-1 multi-az-failover: cluster-mode Redis with a replica per node group passes", () => {
    const stack = withProps(compliantStack(), URN.cache, {
      numCacheClusters: undefined,
      numNodeGroups: 2,
      replicasPerNodeGroup: 1,
    });
    assert.deepEqual(policy.validate(stack), []);
  });

  test("POL-1 SCL-2 multi-az-failover: cluster-mode Redis without a replica per node group is reported", () => {
    const stack = withProps(compliantStack(), URN.cache, {
      numCacheClusters: undefined,
      clusterMode: "enabled",
      numNodeGroups: 3,
      replicasPerNodeGroup: 0,
    });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.cache,
        message:
          "Redis replication group history-cache-pr42 must have at least one replica in every shard (replicasPerNodeGroup 1 or more).",
      },
    ]);
  });

  test("POL-1 SCL-2 multi-az-failover: cluster-mode Redis without automatic failover is reported (ElastiCache requires it of cluster mode)", () => {
    const stack = withProps(compliantStack(), URN.cache, {
      numCacheClusters: undefined,
      clusterMode: "enabled",
      numNodeGroups: 2,
      replicasPerNodeGroup: 1,
      automaticFailoverEnabled: undefined,
    });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.cache,
        message:
          "Redis replication group history-cache-pr42 must fail over automatically (automaticFailoverEnabled true).",
      },
    ]);
  });

  test("POL-1 CCH-1 DB-1 multi-az-failover: values unknown during a preview are never a finding", () => {
    const cases: [string, string, Record<string, unknown>][] = [
      ["db multiAz", URN.db, { multiAz: UNKNOWN }],
      ["cache automaticFailoverEnabled", URN.cache, { automaticFailoverEnabled: UNKNOWN }],
      ["cache multiAzEnabled", URN.cache, { multiAzEnabled: UNKNOWN }],
      ["cache numCacheClusters", URN.cache, { numCacheClusters: UNKNOWN }],
    ];
    const found = Object.fromEntries(
      cases.map(([what, urn, patch]) => [
        what,
        policy.validate(withProps(compliantStack(), urn, patch)),
      ]),
    );
    assert.deepEqual(found, Object.fromEntries(cases.map(([what]) => [what, []])));
  });
});
