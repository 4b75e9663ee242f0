import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readStackConfig } from "../../infra/config.ts";
import { bucketName } from "../../infra/naming.ts";
import { type PlannedResource, planStack, type StackPlan } from "../../infra/plan/capture.ts";
import { MOCK_ACCOUNT_ID } from "../../infra/plan/mocks.ts";
import { PRESET_NAMES, type PresetName } from "../../infra/presets.ts";

export const SUFFIX = "pr42";

/** A bucket's name in the plans of these tests (the mocks' account, us-east-1). */
export function bucket(type: string): string {
  return bucketName(type, SUFFIX, MOCK_ACCOUNT_ID, "us-east-1");
}
export { PRESET_NAMES };

/**
 * A stand-in processor bundle: these tests assert what the program registers, and the bundle's
 * content is proven by its own test (bundle.test.ts), so most runs skip esbuild.
 */
function stubCode(): string {
  const dir = join(tmpdir(), "txwatch-infra-test-code");
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "index.mjs"),
    "export const handler = async () => ({ batchItemFailures: [] });\n",
  );
  return dir;
}

const cache = new Map<string, Promise<StackPlan>>();

/** The captured plan of a preset with optional config overrides (keys without `txwatch:`). */
export function planFor(
  preset: PresetName,
  overrides: Record<string, string> = {},
): Promise<StackPlan> {
  const key = JSON.stringify([preset, overrides]);
  let plan = cache.get(key);
  if (plan === undefined) {
    const values: Record<string, string> = { preset, environmentSuffix: SUFFIX, ...overrides };
    plan = planStack(
      readStackConfig((k) => values[k], Object.keys(values)),
      stubCode(),
    );
    cache.set(key, plan);
  }
  return plan;
}

export function ofType(plan: StackPlan, type: string): PlannedResource[] {
  return plan.resources.filter((r) => r.type === type);
}

export function one(plan: StackPlan, type: string, name?: string): PlannedResource {
  const found = ofType(plan, type).filter((r) => name === undefined || r.name === name);
  if (found.length !== 1) {
    throw new Error(`expected one ${type}${name ? ` named ${name}` : ""}, found ${found.length}`);
  }
  return found[0] as PlannedResource;
}

export function input<T = unknown>(resource: PlannedResource, key: string): T {
  return resource.inputs[key] as T;
}

/** A policy document input, parsed. */
export interface PolicyStatement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

export function statements(resource: PlannedResource, key = "policy"): PolicyStatement[] {
  const doc = JSON.parse(String(resource.inputs[key])) as { Statement: PolicyStatement[] };
  return doc.Statement;
}

export const list = (v: string | string[]): string[] => (Array.isArray(v) ? v : [v]);
