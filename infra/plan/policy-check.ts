import type { CheckedResource } from "../../policy/model.ts";
import { StackView } from "../../policy/model.ts";
import { checkStack, type Violation } from "../../policy/policies.ts";
import type { PlannedResource, StackPlan } from "./capture.ts";

const keyOf = (r: PlannedResource) => `${r.type}::${r.name}`;

/**
 * What other resources' inputs can hold of a resource: its ID, ARN and name (and a bucket's
 * name), the values `.id`, `.arn`, `.name` and `.bucket` resolve to under the plan's mocks.
 */
function handles(resource: PlannedResource): string[] {
  // Components exist only in Pulumi: nothing in AWS refers to them.
  if (!resource.type.startsWith("aws:")) return [];
  const { state, inputs } = resource;
  // Mock state repeats the inputs: an `arn` input (a topic policy's topic) is not its own.
  const arn = inputs.arn === undefined ? state.arn : undefined;
  const bucket = resource.type === "aws:s3/bucket:Bucket" ? state.bucket : undefined;
  return [resource.id, arn, state.name, bucket].filter(
    (v): v is string => typeof v === "string" && v !== "",
  );
}

function strings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (typeof value === "object" && value !== null) return Object.values(value).flatMap(strings);
  return [];
}

/**
 * The offline plan as the policies see it. The engine tells a policy pack which resources each
 * input came from; offline, the same references are found by the values the mocks handed out.
 */
export function planToStackView(plan: StackPlan): StackView {
  // A value can be more than one resource's (an ECS service and its image repository share a
  // name): every owner is a reference, and each rule follows only the types it expects.
  const owners = new Map<string, string[]>();
  for (const resource of plan.resources) {
    for (const handle of handles(resource)) {
      owners.set(handle, [...(owners.get(handle) ?? []), keyOf(resource)]);
    }
  }
  const resources: CheckedResource[] = plan.resources.map((resource) => {
    const self = keyOf(resource);
    const references: Record<string, string[]> = {};
    for (const [property, value] of Object.entries(resource.inputs)) {
      const found = strings(value)
        .flatMap((s) => owners.get(s) ?? [])
        .filter((urn) => urn !== self);
      if (found.length > 0) references[property] = [...new Set(found)];
    }
    return {
      urn: self,
      type: resource.type,
      name: resource.name,
      props: resource.inputs,
      ...(resource.protect !== undefined && { protect: resource.protect }),
      ...(resource.retainOnDelete !== undefined && { retainOnDelete: resource.retainOnDelete }),
      references,
    };
  });
  return new StackView(resources, plan.config.environmentSuffix);
}

/** Every violation of the policy pack in an offline plan. */
export function checkPlan(plan: StackPlan): Violation[] {
  return checkStack(planToStackView(plan));
}

/** The violations as the `--check` report: one line per resource, policy and sentence. */
export function formatViolations(plan: StackPlan, violations: readonly Violation[]): string {
  const { preset, environmentSuffix } = plan.config;
  const head = `txwatch plan --check: preset ${preset}, environmentSuffix ${environmentSuffix}: ${plan.resources.length} resources`;
  if (violations.length === 0) return `${head}, 0 violations\n`;
  const lines = violations.map((v) => `  ${v.urn}\n    [${v.policy}] ${v.message}`);
  return `${head}, ${violations.length} violation${violations.length === 1 ? "" : "s"}\n${lines.join("\n")}\n`;
}
