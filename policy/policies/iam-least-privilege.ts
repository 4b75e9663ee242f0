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

/**
 * AWS-managed policies that grant everything, most things, or a whole service (`*FullAccess`,
 * which is `service:*` by another name).
 */
function isBroadManagedPolicy(arn: unknown): boolean {
  return (
    typeof arn === "string" &&
    /^arn:aws[a-z-]*:iam::aws:policy\/(.*\/)?(AdministratorAccess|PowerUserAccess|[A-Za-z0-9]+FullAccess)$/.test(
      arn,
    )
  );
}

const ATTACHMENTS = [
  T.iamPolicyAttachment,
  "aws:iam/userPolicyAttachment:UserPolicyAttachment",
  "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
  "aws:iam/policyAttachment:PolicyAttachment",
];

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
    ...eachOf(stack, ATTACHMENTS, (r) => [
      isBroadManagedPolicy(r.props.policyArn)
        ? `Policy attachment ${label(r)} must not attach ${String(r.props.policyArn)}; grant the actions the role needs.`
        : undefined,
    ]),
    // A role can carry its policies itself: inline documents and managed policy ARNs.
    ...eachOf(stack, ["aws:iam/role:Role"], (r) => [
      ...list(r.props.inlinePolicies).flatMap((inline) => {
        const document = (inline as { policy?: unknown }).policy;
        return isKnown(document)
          ? statementsOf(document).flatMap((s) => statementFindings(r, s))
          : [];
      }),
      ...list(r.props.managedPolicyArns)
        .filter(isBroadManagedPolicy)
        .map(
          (arn) =>
            `Role ${label(r)} must not carry ${String(arn)} in managedPolicyArns; grant the actions it needs.`,
        ),
    ]),
  ],
};
