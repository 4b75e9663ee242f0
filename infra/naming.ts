import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import type { PresetName } from "./presets.ts";

/** Every named resource is `{resource-type}-{environmentSuffix}` (GEN-1). */
export function resourceName(resourceType: string, environmentSuffix: string): string {
  return `${resourceType}-${environmentSuffix}`;
}

/** The tags every taggable resource carries (GEN-3). */
export function standardTags(
  environmentSuffix: string,
  preset: PresetName,
): Record<string, string> {
  return {
    Project: "txwatch",
    Environment: environmentSuffix,
    ManagedBy: "pulumi",
    Preset: preset,
  };
}

/**
 * An S3 bucket name, `{resource-type}-{environmentSuffix}-{hash}`: bucket names are global
 * across every account and region, so the same suffix in a second account or region (or a
 * stranger's bucket) would collide. The hash of account and region keeps it deterministic, so
 * operators can tell which stack a bucket belongs to, and at most 63 characters.
 */
export function globalBucketName(
  resourceType: string,
  stack: { environmentSuffix: string; accountId: pulumi.Input<string>; region: string },
): pulumi.Output<string> {
  return pulumi
    .output(stack.accountId)
    .apply((account) => bucketName(resourceType, stack.environmentSuffix, account, stack.region));
}

/** The name globalBucketName gives, from known values. */
export function bucketName(
  resourceType: string,
  environmentSuffix: string,
  accountId: string,
  region: string,
): string {
  const hash = createHash("sha256").update(`${accountId}:${region}`).digest("hex");
  return `${resourceName(resourceType, environmentSuffix)}-${hash.slice(0, 10)}`;
}
