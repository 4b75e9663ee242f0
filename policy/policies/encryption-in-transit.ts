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

/** Whether a parameter group sets `rds.force_ssl` to 1. */
function forcesTls(group: CheckedResource): boolean {
  if (!isKnown(group.props.parameters)) return true;
  return list(group.props.parameters).some((p) => {
    const { name, value } = p as { name?: unknown; value?: unknown };
    return name === "rds.force_ssl" && (value === "1" || value === 1 || !isKnown(value));
  });
}

function databaseTls(stack: StackView, database: CheckedResource, property: string): string[] {
  const groupType = database.type === T.dbCluster ? T.clusterParameterGroup : T.dbParameterGroup;
  if (!isKnown(database.props[property])) return [];
  const groups = stack.referenced(database, property, groupType);
  if (groups.length > 0 && groups.every(forcesTls)) return [];
  return [
    `Database ${label(database)} must use a parameter group (${property}) that sets rds.force_ssl to 1, so every connection is TLS.`,
  ];
}

/** A bucket policy statement that denies every S3 action without TLS. */
function deniesInsecureTransport(statement: {
  Effect?: string;
  Action?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}): boolean {
  const secure = statement.Condition?.Bool?.["aws:SecureTransport"];
  return (
    statement.Effect === "Deny" &&
    list(statement.Action).some((a) => a === "s3:*" || a === "*") &&
    (secure === false || secure === "false")
  );
}

function bucketTls(stack: StackView, bucket: CheckedResource): string[] {
  const policies = stack.referencing(bucket, T.bucketPolicy, "bucket");
  if (policies.some((p) => !isKnown(p.props.policy))) return [];
  const ok = policies.some((p) => statementsOf(p.props.policy).some(deniesInsecureTransport));
  return ok
    ? []
    : [
        `S3 bucket ${label(bucket)} must have a bucket policy that denies every request without TLS (aws:SecureTransport false).`,
      ];
}

export const encryptionInTransit: TxwatchPolicy = {
  name: "encryption-in-transit",
  description:
    "Checks whether Redis requires TLS, PostgreSQL forces TLS with rds.force_ssl, and every bucket denies requests without TLS.",
  scope: "stack",
  validate: (stack) => [
    ...eachOf(stack, [T.replicationGroup], (r) => [
      r.props.transitEncryptionEnabled === true || !isKnown(r.props.transitEncryptionEnabled)
        ? r.props.transitEncryptionMode === "preferred"
          ? `Redis replication group ${label(r)} must require TLS (transitEncryptionMode "required", not "preferred").`
          : undefined
        : `Redis replication group ${label(r)} must encrypt in transit (transitEncryptionEnabled true).`,
    ]),
    ...eachOf(stack, [T.dbInstance], (r) => databaseTls(stack, r, "parameterGroupName")),
    ...eachOf(stack, [T.dbCluster], (r) => databaseTls(stack, r, "dbClusterParameterGroupName")),
    ...eachOf(stack, [T.bucket], (r) => bucketTls(stack, r)),
  ],
};
