import { createRequire } from "node:module";
import type {
  PolicyConfigSchema,
  PolicyResource,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { type CheckedResource, StackView, type TxwatchPolicy, UNKNOWN } from "./model.ts";

/**
 * The engine's markers. The policy SDK hands props through a proxy that throws on any value
 * unknown during a preview, which would skip a whole stack policy; unwrapped, unknown values
 * become `UNKNOWN` and only the judgements that need them are skipped.
 */
const proxy = createRequire(import.meta.url)("@pulumi/policy/proxy.js") as Record<string, string>;
const PROXY_TARGET = proxy.getSpecialProxyTarget ?? "__getSpecialProxyTarget";
const SENTINELS: ReadonlySet<unknown> = new Set(
  Object.entries(proxy)
    .filter(([key]) => /^unknown[A-Z]\w*Value$/.test(key))
    .map(([, value]) => value),
);

/** Props as plain data: the proxy unwrapped, unknown values as `UNKNOWN`. */
export function plainProps(value: unknown): unknown {
  if (SENTINELS.has(value)) return UNKNOWN;
  if (typeof value !== "object" || value === null) return value;
  const target = ((value as Record<string, unknown>)[PROXY_TARGET] ?? value) as object;
  if (Array.isArray(target)) return target.map(plainProps);
  return Object.fromEntries(Object.entries(target).map(([k, v]) => [k, plainProps(v)]));
}

/** A resource alone, as a resource policy sees it: the inputs the program gives it. */
export function fromResourceArgs(args: ResourceValidationArgs): CheckedResource {
  return {
    urn: args.urn,
    type: args.type,
    name: args.name,
    props: plainProps(args.props) as Record<string, unknown>,
    protect: args.opts.protect,
    references: {},
  };
}

export function toCheckedResource(resource: PolicyResource): CheckedResource {
  return {
    urn: resource.urn,
    type: resource.type,
    name: resource.name,
    props: plainProps(resource.props) as Record<string, unknown>,
    protect: resource.opts.protect,
    references: Object.fromEntries(
      Object.entries(resource.propertyDependencies).map(([property, sources]) => [
        property,
        sources.map((source) => source.urn),
      ]),
    ),
  };
}

/** Policies that need the suffix take it from config, else from each resource's Environment tag. */
const SUFFIX_SCHEMA: PolicyConfigSchema = {
  properties: {
    environmentSuffix: {
      type: "string",
      description:
        "The stack's txwatch:environmentSuffix (default: each resource's Environment tag).",
    },
  },
};

/**
 * A txwatch policy as a CrossGuard policy. A resource policy judges each resource's inputs
 * before the engine creates or changes it; a stack policy sees every resource with the
 * references between them (in their state: during `pulumi preview` before anything changes,
 * during `pulumi up` after).
 */
export function toCrossGuard(
  policy: TxwatchPolicy,
): ResourceValidationPolicy | StackValidationPolicy {
  const common = {
    name: policy.name,
    description: policy.description,
    enforcementLevel: "mandatory" as const,
    configSchema: SUFFIX_SCHEMA,
  };
  if (policy.scope === "resource") {
    return {
      ...common,
      validateResource: (args: ResourceValidationArgs, reportViolation) => {
        const { environmentSuffix } = args.getConfig<{ environmentSuffix?: string }>();
        const stack = new StackView([fromResourceArgs(args)], environmentSuffix);
        for (const finding of policy.validate(stack)) reportViolation(finding.message);
      },
    };
  }
  return {
    ...common,
    validateStack: (args: StackValidationArgs, reportViolation) => {
      const { environmentSuffix } = args.getConfig<{ environmentSuffix?: string }>();
      const stack = new StackView(args.resources.map(toCheckedResource), environmentSuffix);
      for (const finding of policy.validate(stack)) reportViolation(finding.message, finding.urn);
    },
  };
}
