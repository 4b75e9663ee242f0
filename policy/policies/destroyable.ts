import { type CheckedResource, eachOf, isKnown, label, T, type TxwatchPolicy } from "../model.ts";

/** True when a value is the required one, or cannot be known yet (a preview). */
const is = (value: unknown, required: unknown) => value === required || !isKnown(value);

/** GEN-2: a key scheduled for deletion is gone after the shortest window AWS allows. */
export const KMS_DELETION_WINDOW_DAYS = 7;

function options(resource: CheckedResource): string[] {
  return [
    ...(resource.protect === true
      ? [
          `Resource ${label(resource)} must not be protected (protect), so the stack can be destroyed.`,
        ]
      : []),
    ...(resource.retainOnDelete === true
      ? [
          `Resource ${label(resource)} must not be retained on delete (retainOnDelete), so destroying the stack removes it.`,
        ]
      : []),
  ];
}

export const destroyable: TxwatchPolicy = {
  name: "destroyable",
  description:
    "Checks whether `pulumi destroy` removes everything: no protect or retainOnDelete, no deletion protection, no final snapshot, buckets and repositories emptied on delete, keys on the shortest deletion window.",
  scope: "resource",
  validate: (stack) => [
    ...stack.resources.flatMap((r) => options(r).map((message) => ({ urn: r.urn, message }))),
    ...eachOf(stack, [T.dbInstance, T.dbCluster], (r) => [
      r.props.deletionProtection === true
        ? `Database ${label(r)} must not have deletion protection (deletionProtection false).`
        : undefined,
      is(r.props.skipFinalSnapshot, true)
        ? undefined
        : `Database ${label(r)} must skip the final snapshot on delete (skipFinalSnapshot true).`,
    ]),
    ...eachOf(stack, [T.loadBalancer], (r) => [
      r.props.enableDeletionProtection === true
        ? `Load balancer ${label(r)} must not have deletion protection (enableDeletionProtection false).`
        : undefined,
    ]),
    ...eachOf(stack, [T.dynamoTable], (r) => [
      r.props.deletionProtectionEnabled === true
        ? `DynamoDB table ${label(r)} must not have deletion protection (deletionProtectionEnabled false).`
        : undefined,
    ]),
    ...eachOf(stack, [T.logGroup], (r) => [
      r.props.skipDestroy === true
        ? `Log group ${label(r)} must be deleted with the stack (skipDestroy false).`
        : undefined,
    ]),
    ...eachOf(stack, [T.replicationGroup], (r) => [
      typeof r.props.finalSnapshotIdentifier === "string" && r.props.finalSnapshotIdentifier !== ""
        ? `Redis replication group ${label(r)} must not leave a final snapshot on delete (no finalSnapshotIdentifier).`
        : undefined,
    ]),
    ...eachOf(stack, [T.bucket], (r) => [
      is(r.props.forceDestroy, true)
        ? undefined
        : `S3 bucket ${label(r)} must be deletable with its objects (forceDestroy true).`,
    ]),
    ...eachOf(stack, [T.ecrRepository], (r) => [
      is(r.props.forceDelete, true)
        ? undefined
        : `ECR repository ${label(r)} must be deletable with its images (forceDelete true).`,
    ]),
    ...eachOf(stack, [T.kmsKey], (r) => [
      is(r.props.deletionWindowInDays, KMS_DELETION_WINDOW_DAYS)
        ? undefined
        : `KMS key ${label(r)} must have a deletion window of ${KMS_DELETION_WINDOW_DAYS} days (deletionWindowInDays), so a destroyed stack leaves no key behind for long.`,
    ]),
  ],
};
