import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import type { StackContext } from "./context.ts";
import { assumeRolePolicy, policyDocument, type Statement } from "./iam.ts";

export interface ServiceRole {
  role: aws.iam.Role;
  /** What a resource using the role waits for: AWS checks the permissions at create time. */
  policy: aws.iam.RolePolicy;
}

/** `{type}-role` assumable by one AWS service of this account, with `{type}-policy` inline. */
export function serviceRole(
  context: StackContext,
  type: string,
  service: string,
  statements: Statement[],
  parent: pulumi.Resource,
): ServiceRole {
  const role = new aws.iam.Role(
    context.name(`${type}-role`),
    {
      name: context.name(`${type}-role`),
      assumeRolePolicy: assumeRolePolicy(service, context.accountId),
    },
    { parent },
  );
  const policy = new aws.iam.RolePolicy(
    context.name(`${type}-policy`),
    { name: context.name(`${type}-policy`), role: role.id, policy: policyDocument(statements) },
    { parent },
  );
  return { role, policy };
}
