import assert from "node:assert/strict";
import { test } from "node:test";
import { UNKNOWN } from "../../policy/model.ts";
import { destroyable } from "../../policy/policies/destroyable.ts";
import { encryptionAtRest } from "../../policy/policies/encryption-at-rest.ts";
import { environmentSuffix } from "../../policy/policies/environment-suffix.ts";
import { iamLeastPrivilege } from "../../policy/policies/iam-least-privilege.ts";
import { compliantStack, resource, URN, withProps, withResource } from "./fixtures.ts";

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

test("POL-1 GEN-2 a log group kept after destroy (skipDestroy) is reported", () => {
  const stack = withProps(compliantStack(), URN.logGroup, { skipDestroy: true });
  assert.deepEqual(destroyable.validate(stack), [
    {
      urn: URN.logGroup,
      message: "Log group processor-logs-pr42 must be deleted with the stack (skipDestroy false).",
    },
  ]);
});

test("POL-1 GEN-2 an empty finalSnapshotIdentifier leaves no snapshot and is not reported", () => {
  const stack = withProps(compliantStack(), URN.cache, { finalSnapshotIdentifier: "" });
  assert.deepEqual(destroyable.validate(stack), []);
});

test("POL-1 GEN-1 the VPC's adopted default security group keeps AWS's name, 'default'", () => {
  const adopted = resource("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "default-sg-pr42", {
    name: "default",
  });
  assert.deepEqual(environmentSuffix.validate(withResource(compliantStack(), adopted)), []);
});

test("POL-1 SEC-3 a *FullAccess managed policy is a whole service's wildcard and is reported", () => {
  const arn = "arn:aws:iam::aws:policy/AmazonS3FullAccess";
  const stack = withProps(compliantStack(), URN.monitoringAttachment, { policyArn: arn });
  assert.deepEqual(iamLeastPrivilege.validate(stack), [
    {
      urn: URN.monitoringAttachment,
      message: `Policy attachment rds-monitoring-policy-pr42 must not attach ${arn}; grant the actions the role needs.`,
    },
  ]);
});

test("POL-1 SEC-3 a role's inline policies and managed policy ARNs are judged like any policy", () => {
  const stack = withProps(compliantStack(), URN.processorRole, {
    inlinePolicies: [
      {
        name: "extra",
        policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Sid: "All", Effect: "Allow", Action: "s3:*", Resource: "*" }],
        }),
      },
    ],
    managedPolicyArns: [
      "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
      "arn:aws:iam::aws:policy/AdministratorAccess",
    ],
  });
  assert.deepEqual(
    iamLeastPrivilege.validate(stack).map((f) => f.message),
    [
      "IAM policy processor-role-pr42 (statement All) must name each action it allows, not s3:*.",
      'IAM policy processor-role-pr42 (statement All) must scope s3:* to resource ARNs, not "*" (only actions without resource-level permissions may use "*").',
      "Role processor-role-pr42 must not carry arn:aws:iam::aws:policy/AdministratorAccess in managedPolicyArns; grant the actions it needs.",
    ],
  );
});

test("POL-1 SEC-3 a role's inline policy unknown during a preview is judged later, not reported", () => {
  const stack = withProps(compliantStack(), URN.processorRole, {
    inlinePolicies: [{ name: "later", policy: UNKNOWN }],
  });
  assert.deepEqual(iamLeastPrivilege.validate(stack), []);
});
