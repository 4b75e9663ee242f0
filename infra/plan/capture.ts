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
}

export interface StackPlan {
  config: StackConfig;
  resources: PlannedResource[];
  outputs: Record<string, unknown>;
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
  const options = new Map<string, { protect?: boolean; retainOnDelete?: boolean }>();
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
        return invokeResult(args.token, region);
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
        return undefined;
      },
    ],
  );
  const entries = Object.entries(stack.outputs);
  const values = await Promise.all(entries.map(([, output]) => promiseOf(output)));
  await pulumi.runtime.disconnect();
  return {
    config,
    resources,
    outputs: Object.fromEntries(entries.map(([key], i) => [key, values[i]])),
  };
}

/** The value of an output (undefined while unknown). */
export function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((value) => resolve(value)));
}
