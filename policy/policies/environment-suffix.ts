import { type CheckedResource, isKnown, label, record, type TxwatchPolicy } from "../model.ts";

/** Inputs that set a resource's name in AWS. */
export const NAME_PROPERTIES = [
  "name",
  "bucket",
  "identifier",
  "clusterIdentifier",
  "replicationGroupId",
  "functionName",
  "dashboardName",
  "alarmName",
] as const;

/** The suffix as a whole word of a name: `ledger-db-pr42`, `/aws/lambda/processor-pr42/x`. */
export function carriesSuffix(name: string, suffix: string): boolean {
  const escaped = suffix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(^|[^a-z0-9])${escaped}($|[^a-z0-9])`).test(name);
}

/**
 * Cloud resources only: components and providers have no name in AWS, and the VPC's default
 * resources (`aws:ec2/defaultSecurityGroup:DefaultSecurityGroup`, ...) are adopted, with the
 * names AWS gave them ("default").
 */
function isNamedCloudResource(resource: CheckedResource): boolean {
  return resource.type.startsWith("aws:") && !/^aws:ec2\/default[A-Z]/.test(resource.type);
}

export const environmentSuffix: TxwatchPolicy = {
  name: "environment-suffix-in-names",
  description:
    "Checks whether every AWS resource's name, and the logical name Pulumi derives names from, carries the stack's environment suffix, so stacks never collide.",
  scope: "resource",
  validate: (stack) =>
    stack.resources.filter(isNamedCloudResource).flatMap((resource) => {
      const suffix =
        stack.environmentSuffix ?? (record(resource.props.tags).Environment as string | undefined);
      if (typeof suffix !== "string" || suffix === "") return [];
      const names: [string, string][] = [["logical name", resource.name]];
      for (const property of NAME_PROPERTIES) {
        const value = resource.props[property];
        if (typeof value === "string" && isKnown(value)) names.push([property, value]);
      }
      return names
        .filter(([, name]) => !carriesSuffix(name, suffix))
        .map(([property, name]) => ({
          urn: resource.urn,
          message: `Resource ${label(resource)} must carry the environment suffix "${suffix}" in its ${property} ("${name}").`,
        }));
    }),
};
