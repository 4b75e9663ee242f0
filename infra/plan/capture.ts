import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config.ts";
import { buildStack } from "../program.ts";
import { computedState, invokeResult } from "./mocks.ts";

export interface PlannedResource {
  type: string;
  name: string;
  /** Inputs as the program registered them, outputs of other resources resolved. */
  inputs: Record<string, unknown>;
  /** The ID and outputs the mocks gave it: what other resources' inputs refer to it by. */
  id: string;
  state: Record<string, unknown>;
  /** The resource options that decide what `pulumi destroy` leaves behind. */
  protect?: boolean;
  retainOnDelete?: boolean;
  /** The logical names of the resources it explicitly waits for (`dependsOn`). */
  dependsOn?: string[];
}

export interface StackPlan {
  config: StackConfig;
  resources: PlannedResource[];
  outputs: Record<string, unknown>;
  /** The data sources the program read (invokes), with their arguments. */
  invokes: { token: string; inputs: Record<string, unknown> }[];
}

/**
 * Runs the Pulumi program in-process under `pulumi.runtime.setMocks`: no CLI, no AWS, no
 * credentials. Every registered resource is captured with its inputs; this is what the infra
 * tests query and what `txwatch plan` prints. Runs are sequential (the runtime is global).
 */
let running: Promise<unknown> = Promise.resolve();

export function planStack(
  config: StackConfig,
  processorCodeDirectory?: string,
): Promise<StackPlan> {
  const run = running.then(() => planOnce(config, processorCodeDirectory));
  running = run.catch(() => undefined);
  return run;
}

async function planOnce(config: StackConfig, processorCodeDirectory?: string): Promise<StackPlan> {
  const resources: PlannedResource[] = [];
  const invokes: StackPlan["invokes"] = [];
  const options = new Map<string, { protect?: boolean; retainOnDelete?: boolean }>();
  const dependencies = new Map<
    string,
    pulumi.Input<pulumi.Input<pulumi.Resource>[]> | pulumi.Input<pulumi.Resource>
  >();
  const { region } = config.settings;
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const id = `${args.name}-id`;
        const state = computedState(args.type, args.name, args.inputs, region);
        resources.push({
          type: args.type,
          name: args.name,
          inputs: args.inputs as Record<string, unknown>,
          id,
          state,
          ...options.get(`${args.type}::${args.name}`),
        });
        return { id, state };
      },
      call(args) {
        invokes.push({ token: args.token, inputs: args.inputs as Record<string, unknown> });
        return invokeResult(args.token, region, args.inputs as Record<string, unknown>);
      },
    },
    "txwatch",
    config.environmentSuffix,
    false,
  );
  const stack = buildStack(
    config,
    processorCodeDirectory === undefined ? {} : { processorCodeDirectory },
    [
      ({ type, name, opts }) => {
        options.set(`${type}::${name}`, {
          ...(opts.protect !== undefined && { protect: opts.protect }),
          ...(opts.retainOnDelete !== undefined && { retainOnDelete: opts.retainOnDelete }),
        });
        if (opts.dependsOn !== undefined) dependencies.set(`${type}::${name}`, opts.dependsOn);
        return undefined;
      },
    ],
  );
  const entries = Object.entries(stack.outputs);
  const values = await Promise.all(entries.map(([, output]) => promiseOf(output)));
  for (const resource of resources) {
    const declared = dependencies.get(`${resource.type}::${resource.name}`);
    if (declared !== undefined) resource.dependsOn = await dependencyNames(declared);
  }
  await pulumi.runtime.disconnect();
  return {
    config,
    resources,
    invokes,
    outputs: Object.fromEntries(entries.map(([key], i) => [key, values[i]])),
  };
}

/** The logical names of `dependsOn` resources (the last part of each URN). */
async function dependencyNames(
  declared: pulumi.Input<pulumi.Input<pulumi.Resource>[]> | pulumi.Input<pulumi.Resource>,
): Promise<string[]> {
  const resolved = await promiseOf(pulumi.output(declared as pulumi.Input<pulumi.Resource[]>));
  const list = Array.isArray(resolved) ? resolved : [resolved];
  const urns = await Promise.all(list.map((r) => promiseOf((r as pulumi.Resource).urn)));
  return urns.map((urn) => urn.slice(urn.lastIndexOf("::") + 2));
}

/** The value of an output (undefined while unknown). */
export function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((value) => resolve(value)));
}
