import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { UNKNOWN } from "../../policy/model.ts";
import { logRetention as policy } from "../../policy/policies/log-retention.ts";
import { compliantStack, URN, withProps } from "./fixtures.ts";

describe("log-retention-30-days", () => {
  test("POL-1 OBS-1 log-retention: a compliant stack has no findings", () => {
    assert.deepEqual(policy.validate(compliantStack()), []);
  });

  test("POL-1 OBS-1 log-retention: a log group kept 7 days is reported", () => {
    const stack = withProps(compliantStack(), URN.logGroup, { retentionInDays: 7 });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.logGroup,
        message:
          "Log group processor-logs-pr42 must keep logs at least 30 days (retentionInDays is 7).",
      },
    ]);
  });

  test("POL-1 OBS-1 log-retention: a log group kept 29 days (one short) is reported", () => {
    const stack = withProps(compliantStack(), URN.logGroup, { retentionInDays: 29 });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.logGroup,
        message:
          "Log group processor-logs-pr42 must keep logs at least 30 days (retentionInDays is 29).",
      },
    ]);
  });

  test("POL-1 OBS-1 log-retention: 30 days and longer pass", () => {
    for (const days of [30, 60, 365, 3653]) {
      const stack = withProps(compliantStack(), URN.logGroup, { retentionInDays: days });
      assert.deepEqual(policy.validate(stack), [], `retentionInDays ${days}`);
    }
  });

  test("POL-1 OBS-1 log-retention: retention 0 or unset means never expire, which passes", () => {
    for (const days of [0, undefined]) {
      const stack = withProps(compliantStack(), URN.logGroup, { retentionInDays: days });
      assert.deepEqual(policy.validate(stack), [], `retentionInDays ${days}`);
    }
  });

  test("POL-1 OBS-1 log-retention: a retention unknown during a preview is not a finding", () => {
    const stack = withProps(compliantStack(), URN.logGroup, { retentionInDays: UNKNOWN });
    assert.deepEqual(policy.validate(stack), []);
  });
});
