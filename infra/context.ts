import type * as pulumi from "@pulumi/pulumi";
import type { PresetName, PresetSettings } from "./presets.ts";

/** What every component needs to know about the stack it belongs to. */
export interface StackContext {
  preset: PresetName;
  environmentSuffix: string;
  settings: Readonly<PresetSettings>;
  /** `{resource-type}-{environmentSuffix}` (GEN-1). */
  name(resourceType: string): string;
  accountId: pulumi.Input<string>;
  region: string;
}
