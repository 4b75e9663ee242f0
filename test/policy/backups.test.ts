import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { UNKNOWN } from "../../policy/model.ts";
import { backups as policy } from "../../policy/policies/backups.ts";
import { compliantStack, URN, withProps } from "./fixtures.ts";

describe("database-backups-enabled", () => {
  test("POL-1 DB-1 backups: a compliant stack has no findings", () => {
    assert.deepEqual(policy.validate(compliantStack()), []);
  });

  test("POL-1 DB-1 backups: an RDS instance with backups off (retention 0) is reported", () => {
    const stack = withProps(compliantStack(), URN.db, { backupRetentionPeriod: 0 });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.db,
        message:
          "Database ledger-db-pr42 must keep automated backups (backupRetentionPeriod of at least 1 day, not 0).",
      },
    ]);
  });

  test("POL-1 DB-1 backups: an RDS instance without a backup retention is reported", () => {
    const stack = withProps(compliantStack(), URN.db, { backupRetentionPeriod: undefined });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.db,
        message:
          "Database ledger-db-pr42 must keep automated backups (backupRetentionPeriod of at least 1 day, not unset).",
      },
    ]);
  });

  test("POL-1 DB-1 backups: an Aurora cluster with backups off is reported", () => {
    const stack = withProps(compliantStack(), URN.cluster, { backupRetentionPeriod: 0 });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.cluster,
        message:
          "Database ledger-cluster-pr42 must keep automated backups (backupRetentionPeriod of at least 1 day, not 0).",
      },
    ]);
  });

  test("POL-1 DB-1 backups: one day of backups is enough for the policy", () => {
    const stack = withProps(compliantStack(), URN.db, { backupRetentionPeriod: 1 });
    assert.deepEqual(policy.validate(stack), []);
  });

  test("POL-1 DB-1 backups: a retention unknown during a preview is not a finding", () => {
    for (const urn of [URN.db, URN.cluster]) {
      const stack = withProps(compliantStack(), urn, { backupRetentionPeriod: UNKNOWN });
      assert.deepEqual(policy.validate(stack), [], urn);
    }
  });
});
