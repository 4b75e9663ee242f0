import {
  type CheckedResource,
  eachOf,
  isKnown,
  label,
  list,
  type PolicyStatement,
  statementsOf,
  T,
  type TxwatchPolicy,
} from "../model.ts";

/**
 * Actions that have no resource-level permissions in AWS, so `"Resource": "*"` is their only
 * scope (Service Authorization Reference). Anything else must name ARNs.
 */
export const UNSCOPABLE_ACTIONS: ReadonlySet<string> = new Set([
  "ec2:DescribeNetworkInterfaces",
  "ec2:DescribeSubnets",
  "ec2:DescribeSecurityGroups",
  "ec2:DescribeVpcs",
  "ecr:GetAuthorizationToken",
  "cloudwatch:PutMetricData",
  "xray:PutTraceSegments",
  "xray:PutTelemetryRecords",
]);

/** AWS-managed policies that grant everything or most things. */
const BROAD_MANAGED_POLICIES = new Set([
  "arn:aws:iam::aws:policy/AdministratorAccess",
  "arn:aws:iam::aws:policy/PowerUserAccess",
  "arn:aws:iam::aws:policy/IAMFullAccess",
]);

function statementFindings(resource: CheckedResource, statement: PolicyStatement): string[] {
  if (statement.Effect !== "Allow") return [];
  const where = `IAM policy ${label(resource)}${statement.Sid === undefined ? "" : ` (statement ${statement.Sid})`}`;
  const findings: string[] = [];
  const actions = list(statement.Action).map(String);
  if (statement.NotAction !== undefined) {
    findings.push(`${where} must list the actions it allows, not NotAction.`);
  }
  const wildcards = actions.filter((a) => a === "*" || /^[a-z0-9-]+:\*$/i.test(a));
  if (wildcards.length > 0) {
    findings.push(`${where} must name each action it allows, not ${wildcards.join(", ")}.`);
  }
  if (statement.NotResource !== undefined) {
    findings.push(`${where} must list the resources it applies to, not NotResource.`);
  }
  const scopable = actions.filter((a) => !UNSCOPABLE_ACTIONS.has(a));
  if (list(statement.Resource).includes("*") && scopable.length > 0) {
    findings.push(
      `${where} must scope ${scopable.join(", ")} to resource ARNs, not "*" (only actions without resource-level permissions may use "*").`,
    );
  }
  return findings;
}

export const iamLeastPrivilege: TxwatchPolicy = {
  name: "iam-least-privilege",
  description:
    "Checks whether every IAM policy names its actions (no * or service:*) and scopes them to resource ARNs wherever AWS allows a scope.",
  scope: "resource",
  validate: (stack) => [
    ...eachOf(stack, [T.iamPolicy, T.iamRolePolicy, T.iamUserPolicy, T.iamGroupPolicy], (r) =>
      isKnown(r.props.policy)
        ? statementsOf(r.props.policy).flatMap((s) => statementFindings(r, s))
        : [],
    ),
    ...eachOf(stack, [T.iamPolicyAttachment], (r) => [
      BROAD_MANAGED_POLICIES.has(String(r.props.policyArn))
        ? `Role policy attachment ${label(r)} must not attach ${String(r.props.policyArn)}; grant the actions the role needs.`
        : undefined,
    ]),
  ],
};
