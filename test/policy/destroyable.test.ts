import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { T, UNKNOWN } from "../../policy/model.ts";
import { destroyable as policy } from "../../policy/policies/destroyable.ts";
import { compliantStack, resource, URN, withOptions, withProps, withResource } from "./fixtures.ts";

const table = (deletionProtectionEnabled: boolean) =>
  resource(T.dynamoTable, "dedupe-pr42", {
    name: "dedupe-pr42",
    billingMode: "PAY_PER_REQUEST",
    hashKey: "id",
    deletionProtectionEnabled,
  });

describe("destroyable", () => {
  test("POL-1 GEN-2 destroyable: a compliant stack has no findings", () => {
    assert.deepEqual(policy.validate(compliantStack()), []);
  });

  test("POL-1 GEN-2 destroyable: a protected resource is reported", () => {
    const stack = withOptions(compliantStack(), URN.stream, { protect: true });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.stream,
        message:
          "Resource transaction-stream-pr42 must not be protected (protect), so the stack can be destroyed.",
      },
    ]);
  });

  test("POL-1 GEN-2 destroyable: a protected component is reported too", () => {
    const stack = withOptions(compliantStack(), URN.storageComponent, { protect: true });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.storageComponent,
        message:
          "Resource storage-pr42 must not be protected (protect), so the stack can be destroyed.",
      },
    ]);
  });

  test("POL-1 GEN-2 destroyable: a resource retained on delete is reported", () => {
    const stack = withOptions(compliantStack(), URN.secret, { retainOnDelete: true });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.secret,
        message:
          "Resource redis-auth-pr42 must not be retained on delete (retainOnDelete), so destroying the stack removes it.",
      },
    ]);
  });

  test("POL-1 GEN-2 destroyable: protect false and retainOnDelete false pass", () => {
    const stack = withOptions(compliantStack(), URN.db, { protect: false, retainOnDelete: false });
    assert.deepEqual(policy.validate(stack), []);
  });

  test("POL-1 GEN-2 destroyable: an RDS instance with deletion protection is reported", () => {
    const stack = withProps(compliantStack(), URN.db, { deletionProtection: true });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.db,
        message:
          "Database ledger-db-pr42 must not have deletion protection (deletionProtection false).",
      },
    ]);
  });

  test("POL-1 GEN-2 destroyable: an Aurora cluster with deletion protection is reported", () => {
    const stack = withProps(compliantStack(), URN.cluster, { deletionProtection: true });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.cluster,
        message:
          "Database ledger-cluster-pr42 must not have deletion protection (deletionProtection false).",
      },
    ]);
  });

  test("POL-1 GEN-2 destroyable: an RDS instance that takes a final snapshot is reported", () => {
    const stack = withProps(compliantStack(), URN.db, { skipFinalSnapshot: false });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.db,
        message:
          "Database ledger-db-pr42 must skip the final snapshot on delete (skipFinalSnapshot true).",
      },
    ]);
  });

  test("POL-1 GEN-2 destroyable: an Aurora cluster with skipFinalSnapshot unset (snapshot taken) is reported", () => {
    const stack = withProps(compliantStack(), URN.cluster, { skipFinalSnapshot: undefined });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.cluster,
        message:
          "Database ledger-cluster-pr42 must skip the final snapshot on delete (skipFinalSnapshot true).",
      },
    ]);
  });

  test("POL-1 GEN-2 destroyable: a load balancer with deletion protection is reported", () => {
    const stack = withProps(compliantStack(), URN.alb, { enableDeletionProtection: true });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.alb,
        message:
          "Load balancer api-alb-pr42 must not have deletion protection (enableDeletionProtection false).",
      },
    ]);
  });

  test("POL-1 GEN-2 destroyable: a DynamoDB table with deletion protection is reported", () => {
    const stack = withResource(compliantStack(), table(true));
    assert.deepEqual(policy.validate(stack), [
      {
        urn: table(true).urn,
        message:
          "DynamoDB table dedupe-pr42 must not have deletion protection (deletionProtectionEnabled false).",
      },
    ]);
  });

  test("POL-1 GEN-2 destroyable: a DynamoDB table without deletion protection passes", () => {
    const stack = withResource(compliantStack(), table(false));
    assert.deepEqual(policy.validate(stack), []);
  });

  test("POL-1 GEN-2 destroyable: Redis that leaves a final snapshot is reported", () => {
    const stack = withProps(compliantStack(), URN.cache, {
      finalSnapshotIdentifier: "history-cache-final-pr42",
    });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.cache,
        message:
          "Redis replication group history-cache-pr42 must not leave a final snapshot on delete (no finalSnapshotIdentifier).",
      },
    ]);
  });

  test("POL-1 GEN-2 destroyable: a bucket that cannot be deleted with its objects is reported", () => {
    const stack = withProps(compliantStack(), URN.dataBucket, { forceDestroy: false });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.dataBucket,
        message:
          "S3 bucket processed-transactions-pr42 must be deletable with its objects (forceDestroy true).",
      },
    ]);
  });

  test("POL-1 GEN-2 destroyable: a bucket with forceDestroy unset is reported", () => {
    const stack = withProps(compliantStack(), URN.logsBucket, { forceDestroy: undefined });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.logsBucket,
        message: "S3 bucket app-logs-pr42 must be deletable with its objects (forceDestroy true).",
      },
    ]);
  });

  test("POL-1 GEN-2 destroyable: an ECR repository that cannot be deleted with its images is reported", () => {
    const stack = withProps(compliantStack(), URN.ecr, { forceDelete: false });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.ecr,
        message: "ECR repository api-pr42 must be deletable with its images (forceDelete true).",
      },
    ]);
  });

  test("POL-1 GEN-2 destroyable: a KMS key on the 30-day default deletion window is reported", () => {
    for (const deletionWindowInDays of [30, undefined]) {
      const stack = withProps(compliantStack(), URN.key, { deletionWindowInDays });
      assert.deepEqual(
        policy.validate(stack),
        [
          {
            urn: URN.key,
            message:
              "KMS key txwatch-key-pr42 must have a deletion window of 7 days (deletionWindowInDays), so a destroyed stack leaves no key behind for long.",
          },
        ],
        `deletionWindowInDays ${deletionWindowInDays}`,
      );
    }
  });

  test("POL-1 GEN-2 destroyable: deletion protection unknown during a preview is not a finding", () => {
    const cases: [string, string, Record<string, unknown>][] = [
      ["db deletionProtection", URN.db, { deletionProtection: UNKNOWN }],
      ["alb enableDeletionProtection", URN.alb, { enableDeletionProtection: UNKNOWN }],
      ["cache finalSnapshotIdentifier", URN.cache, { finalSnapshotIdentifier: UNKNOWN }],
    ];
    const found = Object.fromEntries(
      cases.map(([what, urn, patch]) => [
        what,
        policy.validate(withProps(compliantStack(), urn, patch)),
      ]),
    );
    assert.deepEqual(found, Object.fromEntries(cases.map(([what]) => [what, []])));
  });

  test("POL-1 GEN-2 destroyable: a required setting unknown during a preview is not a finding", () => {
    const cases: [string, string, Record<string, unknown>][] = [
      ["db skipFinalSnapshot", URN.db, { skipFinalSnapshot: UNKNOWN }],
      ["bucket forceDestroy", URN.dataBucket, { forceDestroy: UNKNOWN }],
      ["ecr forceDelete", URN.ecr, { forceDelete: UNKNOWN }],
      ["key deletionWindowInDays", URN.key, { deletionWindowInDays: UNKNOWN }],
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
