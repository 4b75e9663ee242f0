import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { T, UNKNOWN } from "../../policy/model.ts";
import { environmentSuffix as policy } from "../../policy/policies/environment-suffix.ts";
import {
  compliantStack,
  resource,
  URN,
  withName,
  withProps,
  withResource,
  withSuffix,
} from "./fixtures.ts";

const missing = (name: string, where: string, value: string, suffix = "pr42") =>
  `Resource ${name} must carry the environment suffix "${suffix}" in its ${where} ("${value}").`;

describe("environment-suffix-in-names", () => {
  test("POL-1 GEN-1 environment-suffix: a compliant stack has no findings", () => {
    assert.deepEqual(policy.validate(compliantStack()), []);
  });

  test("POL-1 GEN-1 environment-suffix: a logical name without the suffix is reported", () => {
    const stack = withName(compliantStack(), URN.stream, "transaction-stream");
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.stream,
        message: missing("transaction-stream", "logical name", "transaction-stream"),
      },
    ]);
  });

  const physical: [string, string, string, string][] = [
    ["name", URN.stream, "transaction-stream-pr42", "transaction-stream"],
    ["bucket", URN.dataBucket, "processed-transactions-pr42", "processed-transactions"],
    ["identifier", URN.db, "ledger-db-pr42", "ledger-db"],
    ["clusterIdentifier", URN.cluster, "ledger-cluster-pr42", "ledger-cluster"],
    ["replicationGroupId", URN.cache, "history-cache-pr42", "history-cache"],
  ];
  for (const [property, urn, name, value] of physical) {
    test(`POL-1 GEN-1 environment-suffix: a ${property} without the suffix is reported`, () => {
      const stack = withProps(compliantStack(), urn, { [property]: value });
      assert.deepEqual(policy.validate(stack), [{ urn, message: missing(name, property, value) }]);
    });
  }

  const added: [string, string][] = [
    ["aws:lambda/function:Function", "functionName"],
    ["aws:cloudwatch/dashboard:Dashboard", "dashboardName"],
    ["aws:cloudwatch/metricAlarm:MetricAlarm", "alarmName"],
  ];
  for (const [type, property] of added) {
    test(`POL-1 GEN-1 environment-suffix: a ${property} without the suffix is reported`, () => {
      const extra = resource(type, "extra-pr42", { [property]: "extra" });
      const stack = withResource(compliantStack(), extra);
      assert.deepEqual(policy.validate(stack), [
        { urn: extra.urn, message: missing("extra-pr42", property, "extra") },
      ]);
    });
  }

  test("POL-1 GEN-1 environment-suffix: the suffix must be a whole word, pr420 is not pr42", () => {
    const stack = withProps(compliantStack(), URN.queue, { name: "processor-dlq-pr420" });
    assert.deepEqual(policy.validate(stack), [
      { urn: URN.queue, message: missing("processor-dlq-pr42", "name", "processor-dlq-pr420") },
    ]);
  });

  test("POL-1 GEN-1 environment-suffix: a suffix inside a path name passes", () => {
    const stack = withProps(compliantStack(), URN.logGroup, {
      name: "/aws/lambda/processor-pr42/extra",
    });
    assert.deepEqual(policy.validate(stack), []);
  });

  test("POL-1 GEN-1 environment-suffix: a logical and a physical name without the suffix give two findings", () => {
    let stack = withName(compliantStack(), URN.topic, "fraud-alerts");
    stack = withProps(stack, URN.topic, { name: "fraud-alerts" });
    assert.deepEqual(policy.validate(stack), [
      { urn: URN.topic, message: missing("fraud-alerts", "logical name", "fraud-alerts") },
      { urn: URN.topic, message: missing("fraud-alerts", "name", "fraud-alerts") },
    ]);
  });

  test("POL-1 GEN-1 environment-suffix: providers and components have no name in AWS and are not checked", () => {
    let stack = withName(compliantStack(), URN.provider, "default");
    stack = withName(stack, URN.storageComponent, "storage");
    assert.deepEqual(policy.validate(stack), []);
  });

  test("POL-1 GEN-1 environment-suffix: without a configured suffix, each resource's Environment tag is the suffix", () => {
    const stack = withProps(withSuffix(compliantStack(), undefined), URN.queue, {
      name: "processor-dlq-dev",
    });
    assert.deepEqual(policy.validate(stack), [
      { urn: URN.queue, message: missing("processor-dlq-pr42", "name", "processor-dlq-dev") },
    ]);
  });

  test("POL-1 GEN-1 environment-suffix: without a configured suffix, an untagged resource is not checked", () => {
    const stack = withName(withSuffix(compliantStack(), undefined), URN.publicRoute, "route");
    assert.deepEqual(policy.validate(stack), []);
  });

  test("POL-1 GEN-1 environment-suffix: the configured suffix wins over the Environment tag", () => {
    const stack = withSuffix(
      withProps(compliantStack(), URN.queue, { name: "processor-dlq-pr43" }),
      "pr42",
    );
    assert.deepEqual(policy.validate(stack), [
      { urn: URN.queue, message: missing("processor-dlq-pr42", "name", "processor-dlq-pr43") },
    ]);
  });

  test("POL-1 GEN-1 environment-suffix: a name unknown during a preview is not a finding", () => {
    const stack = withProps(compliantStack(), URN.stream, { name: UNKNOWN });
    assert.deepEqual(policy.validate(stack), []);
  });

  test("POL-1 GEN-1 environment-suffix: a bucket policy's bucket input is the bucket's id, which carries the suffix", () => {
    const stack = compliantStack();
    const policyBucket = stack.resources.find((r) => r.urn === URN.dataPolicy)?.props.bucket;
    assert.equal(policyBucket, "processed-transactions-pr42-id");
    assert.deepEqual(policy.validate(withSuffix(stack, undefined)), []);
    assert.ok(stack.ofType(T.bucketPolicy).length === 3);
  });
});
