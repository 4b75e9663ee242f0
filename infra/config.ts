import {
  DATABASE_MAJOR_VERSIONS,
  LOG_RETENTION_DAYS,
  NAT_ALLOWED,
  PRESET_NAMES,
  PRESETS,
  type PresetName,
  type PresetSettings,
} from "./presets.ts";
import { CACHE_NODE_TYPES, historyCacheShape } from "./sizing.ts";

/**
 * Stack configuration: `txwatch:preset` picks a frozen preset, `txwatch:environmentSuffix` names
 * every resource, and any preset field can be overridden under its own name (e.g.
 * `txwatch:natGateways`). Everything is validated here, before a single resource is registered,
 * with messages that name the key, what is wrong and what is allowed.
 */
export interface StackConfig {
  preset: PresetName;
  environmentSuffix: string;
  settings: Readonly<PresetSettings>;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** The longest suffix every AWS name limit still admits (ALB and target group names: 32). */
export const MAX_SUFFIX_LENGTH = 20;
const SUFFIX_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

export function validateEnvironmentSuffix(value: string | undefined): string {
  const key = "txwatch:environmentSuffix";
  if (value === undefined || value === "") {
    throw new ConfigError(
      `${key} is required: set it with \`pulumi config set environmentSuffix <suffix>\` (lowercase letters, digits and single hyphens, at most ${MAX_SUFFIX_LENGTH} characters)`,
    );
  }
  if (value.length > MAX_SUFFIX_LENGTH) {
    throw new ConfigError(
      `${key} "${value}" is ${value.length} characters; at most ${MAX_SUFFIX_LENGTH} fit every AWS name limit (an ALB name is 32 characters)`,
    );
  }
  if (!SUFFIX_PATTERN.test(value)) {
    throw new ConfigError(
      `${key} "${value}" is invalid: use lowercase letters, digits and single hyphens, starting with a letter and not ending with a hyphen (e.g. "pr123" or "staging-2")`,
    );
  }
  return value;
}

export function validatePreset(value: string | undefined): PresetName {
  const allowed = PRESET_NAMES.join(", ");
  if (value === undefined || value === "") {
    throw new ConfigError(`txwatch:preset is required: one of ${allowed}`);
  }
  if (!(PRESET_NAMES as readonly string[]).includes(value)) {
    throw new ConfigError(`txwatch:preset "${value}" is unknown: use one of ${allowed}`);
  }
  return value as PresetName;
}

/** Numeric fields that take fractions; every other numeric field is a whole number. */
const FRACTIONAL_FIELDS: ReadonlySet<keyof PresetSettings> = new Set([
  "headroom",
  "auroraMinCapacity",
  "auroraMaxCapacity",
]);

/** Parses one override; numbers arrive from Pulumi config as strings. */
function parseOverride(field: keyof PresetSettings, raw: string): string | number | boolean {
  if (typeof PRESETS.japancart[field] === "string") return raw;
  if (typeof PRESETS.japancart[field] === "boolean") {
    if (raw === "true" || raw === "false") return raw === "true";
    throw new ConfigError(`txwatch:${field} "${raw}" is not allowed: use true or false`);
  }
  const kind = FRACTIONAL_FIELDS.has(field) ? "number" : "integer";
  const value = Number(raw);
  const ok =
    raw.trim() !== "" && Number.isFinite(value) && (kind === "number" || Number.isInteger(value));
  if (!ok) {
    throw new ConfigError(
      `txwatch:${field} "${raw}" is not ${kind === "integer" ? "an integer" : "a number"}`,
    );
  }
  return value;
}

function atLeast(
  settings: PresetSettings,
  field: keyof PresetSettings,
  min: number,
  why: string,
): void {
  const value = settings[field] as number;
  if (value < min)
    throw new ConfigError(`txwatch:${field} is ${value}; it must be at least ${min} (${why})`);
}

function oneOf(
  settings: PresetSettings,
  field: keyof PresetSettings,
  allowed: readonly (string | number | boolean)[],
): void {
  const value = settings[field];
  if (!allowed.includes(value)) {
    throw new ConfigError(
      `txwatch:${field} "${value}" is not allowed: use one of ${allowed.join(", ")}`,
    );
  }
}

/** Whether the ALB faces the internet: with a certificate, or when plain HTTP is opted into. */
export function isInternetFacing(
  settings: Pick<PresetSettings, "certificateArn" | "publicHttp">,
): boolean {
  return settings.certificateArn !== "" || settings.publicHttp;
}

/** The CIDRs of a comma-separated setting, trimmed; none when it is empty. */
export function cidrList(
  settings: Pick<PresetSettings, "databaseAccessCidrs" | "albIngressCidrs">,
  field: "databaseAccessCidrs" | "albIngressCidrs",
): string[] {
  return settings[field]
    .split(",")
    .map((cidr) => cidr.trim())
    .filter((cidr) => cidr !== "");
}

/** The CIDRs of `databaseAccessCidrs`, trimmed; none when it is empty. */
export function databaseAccessCidrs(
  settings: Pick<PresetSettings, "databaseAccessCidrs">,
): string[] {
  return cidrList({ ...settings, albIngressCidrs: "" }, "databaseAccessCidrs");
}

/** The SNS protocols a subscription from config may use, and what their endpoint must be. */
const SUBSCRIPTION_ENDPOINTS: Readonly<Record<string, { pattern: RegExp; example: string }>> = {
  email: { pattern: /^[^@\s,]+@[^@\s,]+\.[^@\s,]+$/, example: "email:soc@example.com" },
  https: { pattern: /^https:\/\/[^\s,]+$/, example: "https:https://hooks.example.com/aws" },
  sqs: {
    pattern: /^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,80}(\.fifo)?$/,
    example: "sqs:arn:aws:sqs:us-east-1:123456789012:alerts",
  },
};

export interface Subscription {
  protocol: "email" | "https" | "sqs";
  endpoint: string;
}

/** The subscriptions of `alarmSubscriptions` or `alertSubscriptions`. */
export function subscriptions(
  settings: Pick<PresetSettings, "alarmSubscriptions" | "alertSubscriptions">,
  field: "alarmSubscriptions" | "alertSubscriptions",
): Subscription[] {
  const entries = settings[field]
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  return entries.map((entry) => {
    const at = entry.indexOf(":");
    const protocol = entry.slice(0, at);
    const endpoint = entry.slice(at + 1);
    const rule = SUBSCRIPTION_ENDPOINTS[protocol];
    if (at <= 0 || rule === undefined) {
      throw new ConfigError(
        `txwatch:${field} entry "${entry}" must be protocol:endpoint with protocol email, https or sqs, e.g. ${SUBSCRIPTION_ENDPOINTS.email?.example}`,
      );
    }
    if (!rule.pattern.test(endpoint)) {
      throw new ConfigError(
        `txwatch:${field} entry "${entry}" has an invalid ${protocol} endpoint, e.g. ${rule.example}`,
      );
    }
    return { protocol: protocol as Subscription["protocol"], endpoint };
  });
}

function isIpv4Cidr(value: string): boolean {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value);
  if (match === null) return false;
  const [, a, b, c, d, bits] = match.map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (![a, b, c, d].every((octet) => octet <= 255) || bits > 32) return false;
  // The network address itself: AWS refuses a CIDR with host bits set (10.0.0.1/16).
  const address = ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
  const hostBits = bits === 32 ? 0 : (2 ** (32 - bits) - 1) >>> 0;
  return (address & hostBits) >>> 0 === 0;
}

/** Checks the merged settings against each other and against the preset's specification. */
export function validateSettings(preset: PresetName, settings: PresetSettings): void {
  const nat = NAT_ALLOWED[preset];
  if (!nat.includes(settings.natGateways)) {
    throw new ConfigError(
      `txwatch:natGateways is ${settings.natGateways}, but preset "${preset}" allows ${nat.join(" or ")} (its specification fixes the egress)`,
    );
  }
  if (!/^\d{1,3}(\.\d{1,3}){3}\/16$/.test(settings.vpcCidr)) {
    throw new ConfigError(
      `txwatch:vpcCidr "${settings.vpcCidr}" must be an IPv4 /16, e.g. 10.0.0.0/16`,
    );
  }
  oneOf(settings, "streamMode", ["PROVISIONED", "ON_DEMAND"]);
  oneOf(settings, "databaseEngine", ["rds-postgres", "aurora-postgres-serverless"]);
  oneOf(settings, "monitoringIntervalSeconds", [0, 1, 5, 10, 15, 30, 60]);
  atLeast(settings, "streamRetentionHours", 24, "the 24 h history is rebuilt from the stream");
  atLeast(settings, "cacheReplicas", 1, "automatic failover needs a replica");
  if (settings.cacheReplicas > 5) {
    throw new ConfigError(
      `txwatch:cacheReplicas is ${settings.cacheReplicas}; ElastiCache allows at most 5 replicas per shard`,
    );
  }
  atLeast(settings, "backupRetentionDays", 1, "automated backups stay on");
  oneOf(settings, "logRetentionDays", LOG_RETENTION_DAYS);
  atLeast(settings, "peakTransactionsPerMinute", 1, "the stream is sized from it");
  atLeast(settings, "averageRecordBytes", 1, "the stream is sized from it");
  atLeast(settings, "headroom", 1, "sizing never goes below the peak");
  atLeast(settings, "apiDesiredCount", 1, "the API must run");
  if (settings.streamRetentionHours > 8760) {
    throw new ConfigError(
      `txwatch:streamRetentionHours is ${settings.streamRetentionHours}; Kinesis keeps at most 8760`,
    );
  }
  if (settings.processorBatchSize < 1 || settings.processorBatchSize > 10_000) {
    throw new ConfigError(
      `txwatch:processorBatchSize is ${settings.processorBatchSize}; Kinesis allows 1 to 10000`,
    );
  }
  if (settings.auroraMinCapacity < 0 || settings.auroraMaxCapacity < settings.auroraMinCapacity) {
    throw new ConfigError(
      `txwatch:auroraMaxCapacity (${settings.auroraMaxCapacity}) must be at least txwatch:auroraMinCapacity (${settings.auroraMinCapacity}), which must not be negative`,
    );
  }
  if (
    /^\d+$/.test(settings.databaseMajorVersion) &&
    !DATABASE_MAJOR_VERSIONS.includes(settings.databaseMajorVersion)
  ) {
    throw new ConfigError(
      `txwatch:databaseMajorVersion "${settings.databaseMajorVersion}" is not one the program deploys: use one of ${DATABASE_MAJOR_VERSIONS.join(", ")}`,
    );
  }
  subscriptions(settings, "alarmSubscriptions");
  subscriptions(settings, "alertSubscriptions");
  if (settings.cacheNodeType !== "" && !settings.cacheNodeType.startsWith("cache.")) {
    throw new ConfigError(
      `txwatch:cacheNodeType "${settings.cacheNodeType}" must be an ElastiCache node type, e.g. cache.r7g.large`,
    );
  }
  if (
    settings.historyClusterMode &&
    settings.cacheNodeType !== "" &&
    !CACHE_NODE_TYPES.some((n) => n.nodeType === settings.cacheNodeType)
  ) {
    throw new ConfigError(
      `txwatch:cacheNodeType "${settings.cacheNodeType}" has no memory figure in infra/sizing.ts, which txwatch:historyClusterMode sizes the shards from: use one of ${CACHE_NODE_TYPES.map((n) => n.nodeType).join(", ")}, or leave it unset`,
    );
  }
  if (settings.cacheNodeType === "" || settings.historyClusterMode) {
    try {
      historyCacheShape(settings);
    } catch (error) {
      const key = settings.historyClusterMode
        ? "historyClusterMode is on"
        : "cacheNodeType is unset";
      throw new ConfigError(`txwatch:${key} and ${(error as Error).message}`);
    }
  }
  for (const field of ["databaseAccessCidrs", "albIngressCidrs"] as const) {
    for (const cidr of cidrList(settings, field)) {
      if (!isIpv4Cidr(cidr)) {
        throw new ConfigError(
          `txwatch:${field} entry "${cidr}" must be an IPv4 CIDR, e.g. 10.20.0.0/16`,
        );
      }
    }
  }
  if (!/^\d+$/.test(settings.databaseMajorVersion)) {
    throw new ConfigError(
      `txwatch:databaseMajorVersion "${settings.databaseMajorVersion}" must be a major version only, e.g. "16" (minor versions upgrade automatically)`,
    );
  }
}

/**
 * The region: `txwatch:region` or, as a Pulumi user expects, the AWS provider's `aws:region`;
 * both set and different is refused, since the program's provider takes only one.
 */
function resolveRegion(
  settings: PresetSettings,
  txwatchRegion: string | undefined,
  awsRegion: string | undefined,
): void {
  if (awsRegion === undefined || awsRegion === "") return;
  if (txwatchRegion !== undefined && txwatchRegion !== awsRegion) {
    throw new ConfigError(
      `aws:region "${awsRegion}" and txwatch:region "${txwatchRegion}" differ: the stack deploys to one region, so set only one of them (or both to the same value)`,
    );
  }
  settings.region = awsRegion;
}

/**
 * Reads and validates the whole stack config from a key lookup (Pulumi's `Config.get`, or a
 * plain map in `txwatch plan` and tests). Keys are without the `txwatch:` namespace; the AWS
 * provider's `aws:region`, when the stack sets it, comes as `awsRegion`.
 */
export function readStackConfig(
  get: (key: string) => string | undefined,
  presentKeys: readonly string[] = [],
  awsRegion?: string,
): StackConfig {
  const known = new Set(["preset", "environmentSuffix", ...Object.keys(PRESETS.japancart)]);
  const unknown = presentKeys.filter((key) => !known.has(key));
  if (unknown.length > 0) {
    throw new ConfigError(
      `unknown config key txwatch:${unknown[0]}: use preset, environmentSuffix or one of ${Object.keys(PRESETS.japancart).join(", ")}`,
    );
  }
  const preset = validatePreset(get("preset"));
  const environmentSuffix = validateEnvironmentSuffix(get("environmentSuffix"));
  const settings: PresetSettings = { ...PRESETS[preset] };
  for (const field of Object.keys(settings) as (keyof PresetSettings)[]) {
    const raw = get(field);
    if (raw !== undefined) Object.assign(settings, { [field]: parseOverride(field, raw) });
  }
  resolveRegion(settings, get("region"), awsRegion);
  if (!/^[a-z]{2}(-gov)?-[a-z]+-\d$/.test(settings.region)) {
    throw new ConfigError(
      `txwatch:region "${settings.region}" is not an AWS region name, e.g. us-east-1`,
    );
  }
  validateSettings(preset, settings);
  return { preset, environmentSuffix, settings: Object.freeze(settings) };
}
