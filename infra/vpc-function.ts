import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { RuntimeEnvironment, StackContext } from "./context.ts";
import type { Statement } from "./iam.ts";
import { encryptedLogGroup } from "./log-group.ts";
import { type ServiceRole, serviceRole } from "./service-role.ts";

export interface VpcFunctionArgs {
  context: StackContext;
  keyArn: pulumi.Input<string>;
  /** The resource type of the function, its role and its log group (`{type}-{suffix}`). */
  type: string;
  description: string;
  /** The bundle directory (one archive for every function of the stack). */
  code: string;
  /** `<file>.<export>` inside the bundle. */
  handler: string;
  subnetIds: pulumi.Input<string>[];
  securityGroupId: pulumi.Input<string>;
  /**
   * The VPC's default security group, which the function is moved to before it is deleted: its
   * network interfaces then stop holding the function's own group, which `pulumi destroy`
   * deletes next (AWS releases Lambda's interfaces only minutes after the function is gone).
   */
  defaultSecurityGroupId: pulumi.Input<string>;
  /** What the function may do beyond writing its logs and managing its interfaces. */
  statements: Statement[];
  environment: RuntimeEnvironment;
  memorySize: number;
  /** Seconds. */
  timeout: number;
  /** What the function's code must not run before (the ledger's migration). */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

export interface VpcFunction extends ServiceRole {
  function: aws.lambda.Function;
  logGroup: aws.cloudwatch.LogGroup;
}

/**
 * A Node.js 22 arm64 Lambda function in the private subnets (CMP-1): its own 30-day encrypted
 * log group, JSON logs, environment under the stack key, and a role holding exactly its
 * statements plus what a function in a VPC needs.
 */
export function vpcFunction(args: VpcFunctionArgs, parent: pulumi.Resource): VpcFunction {
  const { context, keyArn } = args;
  const name = context.name(args.type);
  const logGroup = encryptedLogGroup(
    context,
    context.name(`${args.type}-logs`),
    `/aws/lambda/${name}`,
    keyArn,
    parent,
  );
  const ec2Arn = (type: string) =>
    pulumi.interpolate`arn:aws:ec2:${context.region}:${context.accountId}:${type}/*`;
  // Lambda checks the role when the function is created: the function waits for the policy.
  const { role, policy } = serviceRole(
    context,
    args.type,
    "lambda.amazonaws.com",
    [
      ...args.statements,
      {
        Sid: "WriteOwnLogs",
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: pulumi.interpolate`${logGroup.arn}:*`,
      },
      {
        // A function in a VPC attaches ENIs in the stack's subnets and groups.
        Sid: "ManageVpcNetworkInterfaces",
        Effect: "Allow",
        Action: [
          "ec2:CreateNetworkInterface",
          "ec2:DeleteNetworkInterface",
          "ec2:AssignPrivateIpAddresses",
          "ec2:UnassignPrivateIpAddresses",
        ],
        Resource: [ec2Arn("network-interface"), ec2Arn("subnet"), ec2Arn("security-group")],
      },
      {
        // Describe calls have no resource-level permissions in EC2: "*" is the only scope.
        Sid: "DescribeVpcNetworkInterfaces",
        Effect: "Allow",
        Action: ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
        Resource: "*",
      },
    ],
    parent,
  );
  const fn = new aws.lambda.Function(
    name,
    {
      name,
      description: args.description,
      runtime: "nodejs22.x",
      architectures: ["arm64"],
      handler: args.handler,
      code: new pulumi.asset.FileArchive(args.code),
      role: role.arn,
      memorySize: args.memorySize,
      timeout: args.timeout,
      kmsKeyArn: context.dataKey(keyArn),
      vpcConfig: { subnetIds: args.subnetIds, securityGroupIds: [args.securityGroupId] },
      replaceSecurityGroupsOnDestroy: true,
      replacementSecurityGroupIds: [args.defaultSecurityGroupId],
      loggingConfig: { logFormat: "JSON", logGroup: logGroup.name },
      environment: {
        variables: {
          ...args.environment,
          // The Lambda Node.js runtime ships the RDS certificate authorities here.
          DB_CA_BUNDLE: "/var/runtime/ca-cert.pem",
          POWERTOOLS_SERVICE_NAME: `txwatch-${args.type}`,
          LOG_LEVEL: "info",
        },
      },
    },
    { parent, dependsOn: [logGroup, policy, ...(args.dependsOn ?? [])] },
  );
  return { function: fn, role, policy, logGroup };
}
