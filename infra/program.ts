import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "./config.ts";
import { standardTags } from "./naming.ts";
import { tagTransformation } from "./taggable.ts";
import { TapStack, type TapStackArgs } from "./tap-stack.ts";

/**
 * Builds the stack for a validated config: an AWS provider pinned to the preset's region, and
 * the TapStack with the standard tags applied to every taggable resource (GEN-3). `observe`
 * transformations see every resource the stack registers (the offline plan records options).
 */
export function buildStack(
  config: StackConfig,
  extra: Omit<TapStackArgs, keyof StackConfig> = {},
  observe: pulumi.ResourceTransformation[] = [],
): TapStack {
  const provider = new aws.Provider(`aws-${config.environmentSuffix}`, {
    region: config.settings.region as aws.Region,
  });
  return new TapStack(
    `txwatch-${config.environmentSuffix}`,
    { ...config, ...extra },
    {
      providers: [provider],
      transformations: [
        tagTransformation(standardTags(config.environmentSuffix, config.preset)),
        ...observe,
      ],
    },
  );
}
