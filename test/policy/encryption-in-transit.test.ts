import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { UNKNOWN } from "../../policy/model.ts";
import { encryptionInTransit as policy } from "../../policy/policies/encryption-in-transit.ts";
import {
  compliantStack,
  denyInsecureTransport,
  URN,
  withoutResource,
  withProps,
  withReferences,
  withStatements,
} from "./fixtures.ts";

const DB_TLS =
  "Database ledger-db-pr42 must use a parameter group (parameterGroupName) that sets rds.force_ssl to 1, so every connection is TLS.";
const CLUSTER_TLS =
  "Database ledger-cluster-pr42 must use a parameter group (dbClusterParameterGroupName) that sets rds.force_ssl to 1, so every connection is TLS.";
const DATA_BUCKET_TLS =
  "S3 bucket processed-transactions-pr42 must have a bucket policy that denies every request without TLS (aws:SecureTransport false).";

describe("encryption-in-transit", () => {
  test("POL-1 STO-1 CCH-1 DB-1 encryption-in-transit: a compliant stack has no findings", () => {
    assert.deepEqual(policy.validate(compliantStack()), []);
  });

  test("POL-1 STO-1 CCH-1 DB-1 encryption-in-transit: Redis without in-transit encryption is reported", () => {
    const stack = withProps(compliantStack(), URN.cache, { transitEncryptionEnabled: false });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.cache,
        message:
          "Redis replication group history-cache-pr42 must encrypt in transit (transitEncryptionEnabled true).",
      },
    ]);
  });

  test("POL-1 STO-1 CCH-1 DB-1 encryption-in-transit: Redis with transitEncryptionEnabled unset (off) is reported", () => {
    const stack = withProps(compliantStack(), URN.cache, { transitEncryptionEnabled: undefined });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.cache,
        message:
          "Redis replication group history-cache-pr42 must encrypt in transit (transitEncryptionEnabled true).",
      },
    ]);
  });

  test("POL-1 STO-1 CCH-1 DB-1 encryption-in-transit: Redis that only prefers TLS is reported", () => {
    const stack = withProps(compliantStack(), URN.cache, { transitEncryptionMode: "preferred" });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.cache,
        message:
          'Redis replication group history-cache-pr42 must require TLS (transitEncryptionMode "required", not "preferred").',
      },
    ]);
  });

  test("POL-1 STO-1 CCH-1 DB-1 encryption-in-transit: Redis with transitEncryptionMode required passes", () => {
    const stack = withProps(compliantStack(), URN.cache, { transitEncryptionMode: "required" });
    assert.deepEqual(policy.validate(stack), []);
  });

  test("POL-1 STO-1 CCH-1 DB-1 encryption-in-transit: an RDS parameter group with rds.force_ssl 0 is reported", () => {
    const stack = withProps(compliantStack(), URN.dbParams, {
      parameters: [
        { name: "rds.force_ssl", value: "0" },
        { name: "log_min_duration_statement", value: "1000" },
      ],
    });
    assert.deepEqual(policy.validate(stack), [{ urn: URN.db, message: DB_TLS }]);
  });

  test("POL-1 STO-1 CCH-1 DB-1 encryption-in-transit: an RDS parameter group without rds.force_ssl is reported", () => {
    const stack = withProps(compliantStack(), URN.dbParams, {
      parameters: [{ name: "log_min_duration_statement", value: "1000" }],
    });
    assert.deepEqual(policy.validate(stack), [{ urn: URN.db, message: DB_TLS }]);
  });

  test("POL-1 STO-1 CCH-1 DB-1 encryption-in-transit: an RDS instance on the default parameter group is reported", () => {
    let stack = withProps(compliantStack(), URN.db, { parameterGroupName: undefined });
    stack = withReferences(stack, URN.db, { parameterGroupName: undefined });
    assert.deepEqual(policy.validate(stack), [{ urn: URN.db, message: DB_TLS }]);
  });

  test("POL-1 STO-1 CCH-1 DB-1 encryption-in-transit: rds.force_ssl given as the number 1 passes", () => {
    const stack = withProps(compliantStack(), URN.dbParams, {
      parameters: [{ name: "rds.force_ssl", value: 1 }],
    });
    assert.deepEqual(policy.validate(stack), []);
  });

  test("POL-1 STO-1 CCH-1 DB-1 encryption-in-transit: an Aurora cluster parameter group with rds.force_ssl 0 is reported", () => {
    const stack = withProps(compliantStack(), URN.clusterParams, {
      parameters: [{ name: "rds.force_ssl", value: "0" }],
    });
    assert.deepEqual(policy.validate(stack), [{ urn: URN.cluster, message: CLUSTER_TLS }]);
  });

  test("POL-1 STO-1 CCH-1 DB-1 encryption-in-transit: an Aurora cluster on the default cluster parameter group is reported", () => {
    let stack = withProps(compliantStack(), URN.cluster, {
      dbClusterParameterGroupName: undefined,
    });
    stack = withReferences(stack, URN.cluster, { dbClusterParameterGroupName: undefined });
    assert.deepEqual(policy.validate(stack), [{ urn: URN.cluster, message: CLUSTER_TLS }]);
  });

  test("POL-1 STO-1 CCH-1 DB-1 encryption-in-transit: a bucket without a bucket policy is reported", () => {
    const stack = withoutResource(compliantStack(), URN.dataPolicy);
    assert.deepEqual(policy.validate(stack), [{ urn: URN.dataBucket, message: DATA_BUCKET_TLS }]);
  });

  test("POL-1 STO-1 CCH-1 DB-1 encryption-in-transit: a bucket policy that denies only when SecureTransport is true is reported", () => {
    const stack = withStatements(compliantStack(), URN.dataPolicy, {
      ...denyInsecureTransport("processed-transactions-pr42"),
      Condition: { Bool: { "aws:SecureTransport": "true" } },
    });
    assert.deepEqual(policy.validate(stack), [{ urn: URN.dataBucket, message: DATA_BUCKET_TLS }]);
  });

  test("POL-1 STO-1 CCH-1 DB-1 encryption-in-transit: a bucket policy that denies only some actions without TLS is reported", () => {
    const stack = withStatements(compliantStack(), URN.dataPolicy, {
      ...denyInsecureTransport("processed-transactions-pr42"),
      Action: ["s3:GetObject"],
    });
    assert.deepEqual(policy.validate(stack), [{ urn: URN.dataBucket, message: DATA_BUCKET_TLS }]);
  });

  test("POL-1 STO-1 CCH-1 DB-1 encryption-in-transit: a bucket policy that allows instead of denying is reported", () => {
    const stack = withStatements(compliantStack(), URN.dataPolicy, {
      ...denyInsecureTransport("processed-transactions-pr42"),
      Effect: "Allow",
    });
    assert.deepEqual(policy.validate(stack), [{ urn: URN.dataBucket, message: DATA_BUCKET_TLS }]);
  });

  test("POL-1 STO-1 CCH-1 DB-1 encryption-in-transit: the TLS deny with Action * and a boolean false passes", () => {
    const stack = withStatements(compliantStack(), URN.dataPolicy, {
      ...denyInsecureTransport("processed-transactions-pr42"),
      Action: "*",
      Condition: { Bool: { "aws:SecureTransport": false } },
    });
    assert.deepEqual(policy.validate(stack), []);
  });

  test("POL-1 STO-1 CCH-1 DB-1 encryption-in-transit: values unknown during a preview are never a finding", () => {
    const cases: [string, string, Record<string, unknown>][] = [
      ["cache transitEncryptionEnabled", URN.cache, { transitEncryptionEnabled: UNKNOWN }],
      ["db parameterGroupName", URN.db, { parameterGroupName: UNKNOWN }],
      [
        "cluster dbClusterParameterGroupName",
        URN.cluster,
        { dbClusterParameterGroupName: UNKNOWN },
      ],
      ["db parameters", URN.dbParams, { parameters: UNKNOWN }],
      [
        "db force_ssl value",
        URN.dbParams,
        { parameters: [{ name: "rds.force_ssl", value: UNKNOWN }] },
      ],
      ["cluster parameters", URN.clusterParams, { parameters: UNKNOWN }],
      ["bucket policy", URN.dataPolicy, { policy: UNKNOWN }],
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
