import type { Finding, StackView, TxwatchPolicy } from "./model.ts";
import { backups } from "./policies/backups.ts";
import { bucketEncryption } from "./policies/bucket-encryption.ts";
import { dataTierIngress } from "./policies/data-tier-ingress.ts";
import { destroyable } from "./policies/destroyable.ts";
import { encryptionAtRest } from "./policies/encryption-at-rest.ts";
import { encryptionInTransit } from "./policies/encryption-in-transit.ts";
import { environmentSuffix } from "./policies/environment-suffix.ts";
import { highAvailability } from "./policies/high-availability.ts";
import { iamLeastPrivilege } from "./policies/iam-least-privilege.ts";
import { logRetention } from "./policies/log-retention.ts";
import { noPublicData } from "./policies/no-public-data.ts";
import { noPublicPlainHttp } from "./policies/no-public-plain-http.ts";
import { requiredTags } from "./policies/required-tags.ts";
import { s3BucketLogging } from "./policies/s3-bucket-logging.ts";
import { streamRetention } from "./policies/stream-retention.ts";

/** Every policy of the pack, one per concern. */
export const POLICIES: readonly TxwatchPolicy[] = Object.freeze([
  encryptionAtRest,
  bucketEncryption,
  encryptionInTransit,
  noPublicData,
  noPublicPlainHttp,
  dataTierIngress,
  iamLeastPrivilege,
  logRetention,
  s3BucketLogging,
  highAvailability,
  backups,
  streamRetention,
  destroyable,
  environmentSuffix,
  requiredTags,
]);

export interface Violation extends Finding {
  policy: string;
}

/** Runs every policy over a stack; violations in a stable order (policy, then resource). */
export function checkStack(
  stack: StackView,
  policies: readonly TxwatchPolicy[] = POLICIES,
): Violation[] {
  return policies.flatMap((policy) =>
    policy
      .validate(stack)
      .map((finding) => ({ policy: policy.name, ...finding }))
      .sort((a, b) => a.urn.localeCompare(b.urn) || a.message.localeCompare(b.message)),
  );
}
