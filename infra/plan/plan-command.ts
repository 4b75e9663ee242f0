import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { readStackConfig } from "../config.ts";
import { planStack } from "./capture.ts";
import { formatPlan, planJson } from "./format.ts";
import { checkPlan, formatViolations } from "./policy-check.ts";

export interface PlanOptions {
  preset?: string;
  environmentSuffix?: string;
  /** A Pulumi stack file (Pulumi.<stack>.yaml) whose `txwatch:` keys apply. */
  stackConfig?: string;
  /** `key=value` overrides, applied last. */
  set?: string[];
  json?: boolean;
  /** Run the policy pack's rules over the plan instead of printing it. */
  check?: boolean;
}

/** The offline view used when no suffix is configured: the plan does not deploy anything. */
export const DEFAULT_PLAN_SUFFIX = "plan";

function stackFileConfig(path: string): Record<string, unknown> {
  const file = parse(readFileSync(path, "utf8")) as { config?: Record<string, unknown> } | null;
  return file?.config ?? {};
}

/**
 * Collects `txwatch:` config from a stack file, then the flags; later sources win. A stack file
 * is planned as `pulumi up` would deploy it: without `txwatch:environmentSuffix` it is refused,
 * as the program refuses it; only a plan of a bare preset gets the offline suffix.
 */
export function planConfigValues(options: PlanOptions): Record<string, string> {
  const values: Record<string, string> =
    options.stackConfig === undefined ? { environmentSuffix: DEFAULT_PLAN_SUFFIX } : {};
  if (options.stackConfig !== undefined) {
    for (const [key, value] of Object.entries(stackFileConfig(options.stackConfig))) {
      if (key.startsWith("txwatch:")) values[key.slice("txwatch:".length)] = String(value);
    }
  }
  if (options.preset !== undefined) values.preset = options.preset;
  if (options.environmentSuffix !== undefined) values.environmentSuffix = options.environmentSuffix;
  for (const pair of options.set ?? []) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new Error(`--set "${pair}" must be key=value, e.g. --set natGateways=1`);
    values[pair.slice(0, at).replace(/^txwatch:/, "")] = pair.slice(at + 1);
  }
  return values;
}

/**
 * `txwatch plan`: runs the Pulumi program in-process under mocks (no CLI, no credentials, no
 * AWS) and returns what the preset would create, as text or JSON.
 */
export async function runPlan(options: PlanOptions): Promise<string> {
  const plan = await planOf(options);
  return options.json === true ? planJson(plan) : formatPlan(plan);
}

/** The stack file's `aws:region`, which the program honours like `txwatch:region`. */
export function planAwsRegion(options: PlanOptions): string | undefined {
  if (options.stackConfig === undefined) return undefined;
  const region = stackFileConfig(options.stackConfig)["aws:region"];
  return region === undefined ? undefined : String(region);
}

/** The offline plan of the config the options select (stack file, then flags). */
function planOf(options: PlanOptions) {
  const values = planConfigValues(options);
  return planStack(readStackConfig((k) => values[k], Object.keys(values), planAwsRegion(options)));
}

/** What `txwatch plan --check` prints, and how many violations decide its exit code. */
export interface PlanCheckResult {
  report: string;
  violations: number;
}

/**
 * `txwatch plan --check`: the policy pack's rules over the offline plan, so a configuration
 * is judged before `pulumi up`. `violations` is what decides the exit code.
 */
export async function runPlanCheck(options: PlanOptions): Promise<PlanCheckResult> {
  const plan = await planOf(options);
  const { config } = plan;
  const violations = checkPlan(plan);
  const report =
    options.json === true
      ? `${JSON.stringify(
          {
            preset: config.preset,
            environmentSuffix: config.environmentSuffix,
            resources: plan.resources.length,
            violations: violations.map(({ urn, policy, message }) => ({
              resource: urn,
              policy,
              message,
            })),
          },
          null,
          2,
        )}\n`
      : formatViolations(plan, violations);
  return { report, violations: violations.length };
}
