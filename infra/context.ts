import type * as pulumi from "@pulumi/pulumi";
import type { ConfigVariable } from "../src/config.ts";
import type { StackConfig } from "./config.ts";
import { resourceName } from "./naming.ts";
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
  /**
   * The key for data at rest: the stack's key, or undefined when `customerManagedKey` is off and
   * each service keeps its own AWS-managed encryption. Secrets always use the stack's key.
   */
  dataKey(keyArn: pulumi.Input<string>): pulumi.Input<string> | undefined;
}

export function createContext(config: StackConfig, accountId: pulumi.Input<string>): StackContext {
  return {
    preset: config.preset,
    environmentSuffix: config.environmentSuffix,
    settings: config.settings,
    name: (type) => resourceName(type, config.environmentSuffix),
    accountId,
    region: config.settings.region,
    dataKey: (keyArn) => (config.settings.customerManagedKey ? keyArn : undefined),
  };
}

/**
 * The environment of a process of the monitor on AWS, by the names src/config.ts declares and
 * parses: a name the code does not read fails the type check here.
 */
export type RuntimeEnvironment = Partial<Record<ConfigVariable, pulumi.Input<string>>>;

/**
 * How the monitor's runtime finds its data stores on AWS: addresses and secret ARNs only.
 * Secrets themselves are fetched at run time (SEC-4). The services connect to the ledger as the
 * application role with IAM tokens; only the owner step reads the master secret (AWS-3).
 */
export interface RuntimeConnections {
  environment: RuntimeEnvironment;
  /** The RDS-managed master secret: the ledger admin function's only. */
  databaseSecretArn: pulumi.Input<string>;
  redisAuthSecretArn: pulumi.Input<string>;
  /** `rds-db:connect` for the application role (IAM database authentication). */
  databaseConnectArn: pulumi.Input<string>;
}
