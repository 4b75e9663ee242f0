import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { computedState, invokeResult } from "../../infra/plan/mocks.ts";

/**
 * The real program entry (infra/index.ts, Pulumi.yaml's `main`) under mocks, the way Pulumi
 * documents it: mocks first, then import. A query string gives each run a fresh module instance.
 */
let run = 0;
const types: string[] = [];
async function runProgram(config: Record<string, string>): Promise<Record<string, unknown>> {
  types.length = 0;
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        types.push(args.type);
        return {
          id: `${args.name}-id`,
          state: computedState(args.type, args.name, args.inputs, "us-east-1"),
        };
      },
      call: (args) => invokeResult(args.token, "us-east-1"),
    },
    "txwatch",
    "test",
    false,
  );
  pulumi.runtime.setAllConfig(config);
  run++;
  try {
    return (await import(`../../infra/index.ts?run=${run}`)) as Record<string, unknown>;
  } finally {
    await pulumi.runtime.disconnect();
  }
}

test("GEN-1 Pulumi.yaml declares project txwatch, a nodejs program at infra/index.ts and the two config keys; one example stack per preset", () => {
  const project = parse(readFileSync("Pulumi.yaml", "utf8")) as {
    name: string;
    main: string;
    runtime: { name: string };
    config: Record<string, unknown>;
  };
  assert.equal(project.name, "txwatch");
  assert.equal(project.main, "infra/index.ts");
  assert.equal(project.runtime.name, "nodejs");
  assert.deepEqual(Object.keys(project.config).sort(), ["environmentSuffix", "preset"]);
  for (const preset of ["japancart", "fastshop", "finserv"]) {
    const stack = parse(readFileSync(`Pulumi.${preset}.yaml`, "utf8")) as {
      config: Record<string, string>;
    };
    assert.equal(stack.config["txwatch:preset"], preset);
    assert.match(stack.config["txwatch:environmentSuffix"] ?? "", /^[a-z][a-z0-9-]*$/);
    assert.equal(stack.config["aws:region"], "us-east-1");
  }
});

test("GEN-4 the program entry exports the stack outputs under their exact names", async () => {
  const exports = await runProgram({
    "txwatch:preset": "finserv",
    "txwatch:environmentSuffix": "e2e",
  });
  assert.ok(types.length > 100);
  const names = Object.keys(exports)
    .filter((k) => k !== "default")
    .sort();
  // GEN-4's sixteen, and four for day two (AWS-6).
  assert.equal(names.length, 20);
  assert.ok(names.includes("admin_function_name") && names.includes("api_url"));
  assert.ok(
    names.includes("vpc_id") &&
      names.includes("alarm_topic_arn") &&
      names.includes("db_secret_arn"),
  );
  const streamName = await new Promise((resolve) =>
    (exports.kinesis_stream_name as pulumi.Output<string>).apply(resolve),
  );
  assert.equal(streamName, "transaction-stream-e2e");
});

for (const [label, config, message] of [
  [
    "an unknown preset",
    { "txwatch:preset": "acme", "txwatch:environmentSuffix": "pr1" },
    /txwatch:preset "acme" is unknown: use one of japancart, fastshop, finserv/,
  ],
  [
    "a missing environmentSuffix",
    { "txwatch:preset": "finserv" },
    /txwatch:environmentSuffix is required/,
  ],
  [
    "an invalid environmentSuffix",
    { "txwatch:preset": "finserv", "txwatch:environmentSuffix": "Prod_1" },
    /txwatch:environmentSuffix "Prod_1" is invalid/,
  ],
  [
    "a NAT count the preset forbids",
    {
      "txwatch:preset": "japancart",
      "txwatch:environmentSuffix": "pr1",
      "txwatch:natGateways": "1",
    },
    /txwatch:natGateways is 1, but preset "japancart" allows 0/,
  ],
  [
    "a misspelt key",
    { "txwatch:preset": "finserv", "txwatch:environmentSuffix": "pr1", "txwatch:natgateways": "1" },
    /unknown config key txwatch:natgateways/,
  ],
] as const) {
  test(`GEN-1 ${label} fails before any resource is registered, naming the key`, async () => {
    await assert.rejects(runProgram(config), message);
    assert.deepEqual(types, []);
  });
}

test("GEN-1 the offline plan answers only the invokes the program makes", async () => {
  const { invokeResult: answer } = await import("../../infra/plan/mocks.ts");
  assert.equal(
    answer("aws:index/getCallerIdentity:getCallerIdentity", "us-east-1").accountId,
    "123456789012",
  );
  assert.throws(
    () => answer("aws:ec2/getAmi:getAmi", "us-east-1"),
    /the offline plan has no answer for invoke aws:ec2\/getAmi:getAmi/,
  );
});

test("GEN-1 the program also runs under the minimal mocks Pulumi's documentation shows (state = inputs, invokes echo their inputs)", async () => {
  const { buildStack } = await import("../../infra/program.ts");
  const { readStackConfig } = await import("../../infra/config.ts");
  const seen: string[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        seen.push(args.type);
        return { id: `${args.name}_id`, state: args.inputs };
      },
      call: (args) => args.inputs,
    },
    "txwatch",
    "minimal",
    false,
  );
  for (const preset of ["japancart", "finserv"]) {
    const values: Record<string, string> = { preset, environmentSuffix: `min-${preset}` };
    const stack = buildStack(readStackConfig((k) => values[k]));
    const name = await new Promise((resolve) => stack.outputs.kinesis_stream_name.apply(resolve));
    assert.equal(name, `transaction-stream-min-${preset}`);
  }
  await pulumi.runtime.disconnect();
  assert.ok(seen.length > 200);
});
