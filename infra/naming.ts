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
