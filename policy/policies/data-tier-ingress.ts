import {
  type CheckedResource,
  eachOf,
  isKnown,
  label,
  list,
  type StackView,
  T,
  type TxwatchPolicy,
} from "../model.ts";

/** The security groups attached to a database or a cache. */
function dataTierGroups(stack: StackView): Map<string, CheckedResource> {
  const groups = new Map<string, CheckedResource>();
  const attach = (types: string[], property: string) => {
    for (const store of stack.ofType(...types)) {
      for (const group of stack.referenced(store, property, T.securityGroup)) {
        groups.set(group.urn, group);
      }
    }
  };
  attach([T.dbInstance, T.dbCluster], "vpcSecurityGroupIds");
  attach([T.replicationGroup, T.cacheCluster], "securityGroupIds");
  return groups;
}

/** The address ranges a rule admits, as written (CIDRs and prefix lists). */
function ranges(values: unknown[]): string[] {
  return values
    .flatMap((v) => list(v))
    .filter((v) => typeof v === "string" && v !== "") as string[];
}

function sentence(rule: string, group: CheckedResource, sources: string[]): string {
  return `Security group rule ${rule} must admit the data tier (${label(group)}) only from a security group, not from ${sources.join(", ")}.`;
}

export const dataTierIngress: TxwatchPolicy = {
  name: "data-tier-ingress-from-security-groups",
  description:
    "Checks whether the security groups of the databases and the cache admit traffic only from other security groups, never from an address range.",
  scope: "stack",
  validate: (stack) => {
    const dataTier = dataTierGroups(stack);
    const targetOf = (rule: CheckedResource) =>
      stack.referenced(rule, "securityGroupId").find((g) => dataTier.has(g.urn));
    return [
      ...eachOf(stack, [T.vpcIngressRule], (rule) => {
        const group = targetOf(rule);
        if (group === undefined) return [];
        const sources = ranges([rule.props.cidrIpv4, rule.props.cidrIpv6, rule.props.prefixListId]);
        if (sources.length > 0) return [sentence(label(rule), group, sources)];
        const open = [rule.props.cidrIpv4, rule.props.cidrIpv6, rule.props.prefixListId];
        if (!open.every(isKnown)) return [];
        return rule.props.referencedSecurityGroupId === undefined
          ? [
              `Security group rule ${label(rule)} must name the security group it admits to the data tier (${label(group)}) in referencedSecurityGroupId.`,
            ]
          : [];
      }),
      ...eachOf(stack, [T.securityGroupRule], (rule) => {
        const group = targetOf(rule);
        if (group === undefined || rule.props.type !== "ingress") return [];
        const sources = ranges([
          rule.props.cidrBlocks,
          rule.props.ipv6CidrBlocks,
          rule.props.prefixListIds,
        ]);
        return sources.length > 0 ? [sentence(label(rule), group, sources)] : [];
      }),
      ...eachOf(stack, [T.securityGroup], (group) => {
        if (!dataTier.has(group.urn)) return [];
        return list(group.props.ingress).map((entry) => {
          const e = entry as Record<string, unknown>;
          const sources = ranges([e.cidrBlocks, e.ipv6CidrBlocks, e.prefixListIds]);
          return sources.length > 0
            ? sentence(`${label(group)} (inline ingress)`, group, sources)
            : undefined;
        });
      }),
    ];
  },
};
