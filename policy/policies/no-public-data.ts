import {
  type CheckedResource,
  eachOf,
  isKnown,
  label,
  list,
  type StackView,
  statementsOf,
  T,
  type TxwatchPolicy,
} from "../model.ts";

const INTERNET = new Set(["0.0.0.0/0", "::/0"]);

/** Whether a route sends the default route to an internet gateway. */
function toInternet(
  stack: StackView,
  owner: CheckedResource,
  destination: unknown,
  gatewayId: unknown,
  gatewayProperty: string,
): boolean {
  if (!INTERNET.has(String(destination))) return false;
  const viaGateway = stack.referenced(owner, gatewayProperty, T.internetGateway).length > 0;
  return viaGateway || String(gatewayId ?? "").startsWith("igw-");
}

/** Route tables with a default route to an internet gateway, inline or as Route resources. */
function internetRouteTables(stack: StackView): Set<string> {
  const tables = new Set<string>();
  for (const route of stack.ofType(T.route)) {
    const destination = route.props.destinationCidrBlock ?? route.props.destinationIpv6CidrBlock;
    if (toInternet(stack, route, destination, route.props.gatewayId, "gatewayId")) {
      for (const table of stack.referenced(route, "routeTableId")) tables.add(table.urn);
    }
  }
  for (const table of stack.ofType(T.routeTable)) {
    const inline = list(table.props.routes) as Record<string, unknown>[];
    if (
      inline.some((r) =>
        toInternet(stack, table, r.cidrBlock ?? r.ipv6CidrBlock, r.gatewayId, "routes"),
      )
    ) {
      tables.add(table.urn);
    }
  }
  return tables;
}

/** Subnets reachable from the internet: public IPs on launch, or routed to an internet gateway. */
function publicSubnets(stack: StackView): Set<string> {
  const tables = internetRouteTables(stack);
  const subnets = new Set(
    stack
      .ofType(T.subnet)
      .filter((s) => s.props.mapPublicIpOnLaunch === true)
      .map((s) => s.urn),
  );
  for (const association of stack.ofType(T.routeTableAssociation)) {
    if (stack.referenced(association, "routeTableId").some((t) => tables.has(t.urn))) {
      for (const subnet of stack.referenced(association, "subnetId")) subnets.add(subnet.urn);
    }
  }
  return subnets;
}

function bucketExposure(stack: StackView, bucket: CheckedResource): (string | undefined)[] {
  const blocks = stack.referencing(bucket, T.bucketPublicAccessBlock, "bucket");
  const flags = [
    "blockPublicAcls",
    "blockPublicPolicy",
    "ignorePublicAcls",
    "restrictPublicBuckets",
  ] as const;
  const blocked = blocks.some((b) =>
    flags.every((flag) => b.props[flag] === true || !isKnown(b.props[flag])),
  );
  const publicAcl = stack
    .referencing(bucket, T.bucketAcl, "bucket")
    .some((acl) => /^public-|^authenticated-read$/.test(String(acl.props.acl ?? "")));
  const publicStatement = stack
    .referencing(bucket, T.bucketPolicy, "bucket")
    .flatMap((p) => statementsOf(p.props.policy))
    .some(
      (s) =>
        s.Effect === "Allow" &&
        s.Condition === undefined &&
        (s.Principal === "*" ||
          list((s.Principal as { AWS?: unknown } | undefined)?.AWS).includes("*")),
    );
  return [
    blocked
      ? undefined
      : `S3 bucket ${label(bucket)} must block all public access (a public access block with all four settings true).`,
    publicAcl ? `S3 bucket ${label(bucket)} must not grant a public ACL.` : undefined,
    publicStatement
      ? `S3 bucket ${label(bucket)} must not allow anonymous access in its bucket policy (Principal "*" without a condition).`
      : undefined,
  ];
}

export const noPublicData: TxwatchPolicy = {
  name: "no-public-data-stores",
  description:
    "Checks whether the databases, the cache and the buckets are out of the internet's reach: not publicly accessible, only in private subnets, public access blocked.",
  scope: "stack",
  validate: (stack) => {
    const exposed = publicSubnets(stack);
    const inPublicSubnet = (group: CheckedResource) =>
      stack.referenced(group, "subnetIds").some((s) => exposed.has(s.urn));
    return [
      ...eachOf(stack, [T.dbInstance, T.clusterInstance], (r) => [
        r.props.publiclyAccessible === true
          ? `Database ${label(r)} must not be publicly accessible (publiclyAccessible false).`
          : undefined,
      ]),
      ...eachOf(stack, [T.dbSubnetGroup, T.cacheSubnetGroup], (r) => [
        inPublicSubnet(r)
          ? `Subnet group ${label(r)} must hold only private subnets (no route to an internet gateway, no public IPs).`
          : undefined,
      ]),
      ...eachOf(stack, [T.bucket], (r) => bucketExposure(stack, r)),
    ];
  },
};
