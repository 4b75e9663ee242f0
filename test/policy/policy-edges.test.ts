import assert from "node:assert/strict";
import { test } from "node:test";
import { UNKNOWN } from "../../policy/model.ts";
import { encryptionAtRest } from "../../policy/policies/encryption-at-rest.ts";
import { iamLeastPrivilege } from "../../policy/policies/iam-least-privilege.ts";
import { compliantStack, URN, withProps } from "./fixtures.ts";

test("POL-1 SEC-1 an ECR repository whose encryption is unknown during a preview is judged later, not reported", () => {
  const stack = withProps(compliantStack(), URN.ecr, { encryptionConfigurations: UNKNOWN });
  assert.deepEqual(encryptionAtRest.validate(stack), []);
});

test("POL-1 SEC-3 a policy document that is not JSON has no statements to judge", () => {
  const stack = withProps(compliantStack(), URN.processorPolicy, { policy: "{not json" });
  assert.deepEqual(iamLeastPrivilege.validate(stack), []);
});

test("POL-1 SEC-1 an ECR repository with no encryption configuration (AES256 by default) is reported", () => {
  const stack = withProps(compliantStack(), URN.ecr, { encryptionConfigurations: undefined });
  assert.deepEqual(encryptionAtRest.validate(stack), [
    {
      urn: URN.ecr,
      message:
        "ECR repository api-pr42 must be encrypted at rest with a customer-managed KMS key (encryptionConfigurations KMS).",
    },
  ]);
});
