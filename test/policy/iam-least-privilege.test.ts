import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { T, UNKNOWN } from "../../policy/model.ts";
import {
  iamLeastPrivilege as policy,
  UNSCOPABLE_ACTIONS,
} from "../../policy/policies/iam-least-privilege.ts";
import {
  compliantStack,
  KEY_ARN,
  PROCESSOR_STATEMENTS,
  policyJson,
  resource,
  URN,
  withProps,
  withResource,
  withStatements,
} from "./fixtures.ts";

const WHERE = "IAM policy processor-policy-pr42";

/** The processor's statements with the one named `sid` replaced by `change(statement)`. */
function changed(
  sid: string,
  change: (statement: Record<string, unknown>) => Record<string, unknown>,
): Record<string, unknown>[] {
  assert.ok(
    PROCESSOR_STATEMENTS.some((s) => s.Sid === sid),
    `no statement ${sid}`,
  );
  return PROCESSOR_STATEMENTS.map((s) => (s.Sid === sid ? change({ ...s }) : { ...s }));
}

const finding = (message: string) => [{ urn: URN.processorPolicy, message }];

describe("iam-least-privilege", () => {
  test("POL-1 SEC-3 iam-least-privilege: a compliant stack has no findings", () => {
    assert.deepEqual(policy.validate(compliantStack()), []);
  });

  test("POL-1 SEC-3 iam-least-privilege: NotAction is reported", () => {
    const stack = withStatements(
      compliantStack(),
      URN.processorPolicy,
      ...changed("UseTheStackKey", ({ Action, ...s }) => ({ ...s, NotAction: Action })),
    );
    assert.deepEqual(
      policy.validate(stack),
      finding(
        `${WHERE} (statement UseTheStackKey) must list the actions it allows, not NotAction.`,
      ),
    );
  });

  test("POL-1 SEC-3 iam-least-privilege: a service:* action is reported", () => {
    const stack = withStatements(
      compliantStack(),
      URN.processorPolicy,
      ...changed("ReadTheTransactionStream", (s) => ({ ...s, Action: ["kinesis:*"] })),
    );
    assert.deepEqual(
      policy.validate(stack),
      finding(
        `${WHERE} (statement ReadTheTransactionStream) must name each action it allows, not kinesis:*.`,
      ),
    );
  });

  test("POL-1 SEC-3 iam-least-privilege: several wildcard actions are named in one sentence", () => {
    const stack = withStatements(
      compliantStack(),
      URN.processorPolicy,
      ...changed("UseTheStackKey", (s) => ({ ...s, Action: ["kms:*", "kms:Decrypt", "*"] })),
    );
    assert.deepEqual(
      policy.validate(stack),
      finding(`${WHERE} (statement UseTheStackKey) must name each action it allows, not kms:*, *.`),
    );
  });

  test("POL-1 SEC-3 iam-least-privilege: a partial wildcard such as kinesis:Get* is not a service-wide wildcard", () => {
    const stack = withStatements(
      compliantStack(),
      URN.processorPolicy,
      ...changed("ReadTheTransactionStream", (s) => ({ ...s, Action: ["kinesis:Get*"] })),
    );
    assert.deepEqual(policy.validate(stack), []);
  });

  test("POL-1 SEC-3 iam-least-privilege: NotResource is reported", () => {
    const stack = withStatements(
      compliantStack(),
      URN.processorPolicy,
      ...changed("UseTheStackKey", ({ Resource, ...s }) => ({ ...s, NotResource: Resource })),
    );
    assert.deepEqual(
      policy.validate(stack),
      finding(
        `${WHERE} (statement UseTheStackKey) must list the resources it applies to, not NotResource.`,
      ),
    );
  });

  test('POL-1 SEC-3 iam-least-privilege: scopable actions on Resource "*" are reported', () => {
    const stack = withStatements(
      compliantStack(),
      URN.processorPolicy,
      ...changed("UseTheStackKey", (s) => ({ ...s, Resource: "*" })),
    );
    assert.deepEqual(
      policy.validate(stack),
      finding(
        `${WHERE} (statement UseTheStackKey) must scope kms:Decrypt, kms:GenerateDataKey to resource ARNs, not "*" (only actions without resource-level permissions may use "*").`,
      ),
    );
  });

  test('POL-1 SEC-3 iam-least-privilege: with Resource "*", only the scopable actions are named', () => {
    const stack = withStatements(
      compliantStack(),
      URN.processorPolicy,
      ...changed("DescribeVpcNetworkInterfaces", (s) => ({
        ...s,
        Action: ["ec2:DescribeNetworkInterfaces", "ec2:CreateNetworkInterface"],
      })),
    );
    assert.deepEqual(
      policy.validate(stack),
      finding(
        `${WHERE} (statement DescribeVpcNetworkInterfaces) must scope ec2:CreateNetworkInterface to resource ARNs, not "*" (only actions without resource-level permissions may use "*").`,
      ),
    );
  });

  test('POL-1 SEC-3 iam-least-privilege: Resource "*" is allowed for every action in UNSCOPABLE_ACTIONS', () => {
    const stack = withStatements(compliantStack(), URN.processorPolicy, ...PROCESSOR_STATEMENTS, {
      Sid: "Unscopable",
      Effect: "Allow",
      Action: [...UNSCOPABLE_ACTIONS],
      Resource: ["*"],
    });
    assert.deepEqual(policy.validate(stack), []);
  });

  test('POL-1 SEC-3 iam-least-privilege: Action "*" on Resource "*" is reported twice', () => {
    const stack = withStatements(compliantStack(), URN.processorPolicy, {
      Effect: "Allow",
      Action: "*",
      Resource: "*",
    });
    assert.deepEqual(policy.validate(stack), [
      { urn: URN.processorPolicy, message: `${WHERE} must name each action it allows, not *.` },
      {
        urn: URN.processorPolicy,
        message: `${WHERE} must scope * to resource ARNs, not "*" (only actions without resource-level permissions may use "*").`,
      },
    ]);
  });

  test("POL-1 SEC-3 iam-least-privilege: Deny statements are not grants", () => {
    const stack = withStatements(compliantStack(), URN.processorPolicy, ...PROCESSOR_STATEMENTS, {
      Effect: "Deny",
      NotAction: "kms:Decrypt",
      NotResource: KEY_ARN,
    });
    assert.deepEqual(policy.validate(stack), []);
  });

  test("POL-1 SEC-3 iam-least-privilege: a policy document given as an object is read too", () => {
    const stack = withProps(compliantStack(), URN.processorPolicy, {
      policy: JSON.parse(
        policyJson(...changed("UseTheStackKey", (s) => ({ ...s, Action: "kms:*" }))),
      ),
    });
    assert.deepEqual(
      policy.validate(stack),
      finding(`${WHERE} (statement UseTheStackKey) must name each action it allows, not kms:*.`),
    );
  });

  for (const type of [T.iamPolicy, T.iamUserPolicy, T.iamGroupPolicy]) {
    test(`POL-1 SEC-3 iam-least-privilege: a ${type} with a wildcard action is reported`, () => {
      const extra = resource(type, "extra-policy-pr42", {
        name: "extra-policy-pr42",
        policy: policyJson({ Effect: "Allow", Action: "s3:*", Resource: "arn:aws:s3:::x-pr42" }),
      });
      const stack = withResource(compliantStack(), extra);
      assert.deepEqual(policy.validate(stack), [
        {
          urn: extra.urn,
          message: "IAM policy extra-policy-pr42 must name each action it allows, not s3:*.",
        },
      ]);
    });
  }

  for (const arn of [
    "arn:aws:iam::aws:policy/AdministratorAccess",
    "arn:aws:iam::aws:policy/PowerUserAccess",
    "arn:aws:iam::aws:policy/IAMFullAccess",
  ]) {
    test(`POL-1 SEC-3 iam-least-privilege: attaching ${arn} is reported`, () => {
      const stack = withProps(compliantStack(), URN.monitoringAttachment, { policyArn: arn });
      assert.deepEqual(policy.validate(stack), [
        {
          urn: URN.monitoringAttachment,
          message: `Policy attachment rds-monitoring-policy-pr42 must not attach ${arn}; grant the actions the role needs.`,
        },
      ]);
    });
  }

  test("POL-1 SEC-3 iam-least-privilege: values unknown during a preview are never a finding", () => {
    const cases: [string, string, Record<string, unknown>][] = [
      ["role policy document", URN.processorPolicy, { policy: UNKNOWN }],
      ["attachment policyArn", URN.monitoringAttachment, { policyArn: UNKNOWN }],
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
