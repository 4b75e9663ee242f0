import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { UNKNOWN } from "../../policy/model.ts";
import { streamRetention as policy } from "../../policy/policies/stream-retention.ts";
import { compliantStack, URN, withProps } from "./fixtures.ts";

describe("kinesis-retention-24-hours", () => {
  test("POL-1 STR-1 kinesis-retention: a compliant stack has no findings", () => {
    assert.deepEqual(policy.validate(compliantStack()), []);
  });

  test("POL-1 STR-1 kinesis-retention: a stream keeping 12 hours is reported", () => {
    const stack = withProps(compliantStack(), URN.stream, { retentionPeriod: 12 });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.stream,
        message:
          "Kinesis stream transaction-stream-pr42 must keep records at least 24 hours (retentionPeriod is 12).",
      },
    ]);
  });

  test("POL-1 STR-1 kinesis-retention: a stream keeping 23 hours (one short) is reported", () => {
    const stack = withProps(compliantStack(), URN.stream, { retentionPeriod: 23 });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.stream,
        message:
          "Kinesis stream transaction-stream-pr42 must keep records at least 24 hours (retentionPeriod is 23).",
      },
    ]);
  });

  test("POL-1 STR-1 kinesis-retention: 24 hours and longer pass", () => {
    for (const hours of [24, 168, 8760]) {
      const stack = withProps(compliantStack(), URN.stream, { retentionPeriod: hours });
      assert.deepEqual(policy.validate(stack), [], `retentionPeriod ${hours}`);
    }
  });

  test("POL-1 STR-1 kinesis-retention: retentionPeriod unset is the 24-hour default, which passes", () => {
    const stack = withProps(compliantStack(), URN.stream, { retentionPeriod: undefined });
    assert.deepEqual(policy.validate(stack), []);
  });

  test("POL-1 STR-1 kinesis-retention: a retention unknown during a preview is not a finding", () => {
    const stack = withProps(compliantStack(), URN.stream, { retentionPeriod: UNKNOWN });
    assert.deepEqual(policy.validate(stack), []);
  });
});
