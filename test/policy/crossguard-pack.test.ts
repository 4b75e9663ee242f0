import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { after, before, describe, test } from "node:test";
import { checkPlan, planToStackView } from "../../infra/plan/policy-check.ts";
import { plainProps } from "../../policy/crossguard.ts";
import { UNKNOWN } from "../../policy/model.ts";
import { POLICIES } from "../../policy/policies.ts";
import { planFor } from "../infra/plan-fixture.ts";

/**
 * The pack as the Pulumi CLI runs it: `run-policy-pack` (what the CLI's policy analyzer shim
 * starts, with the same arguments) in the pack's folder, serving the analyzer gRPC protocol.
 * These tests speak that protocol with the SDK's generated client: resources one by one, as
 * before each is registered, and then the whole stack.
 */
const fromPulumi = createRequire(createRequire(import.meta.url).resolve("@pulumi/pulumi"));
// biome-ignore-start lint/suspicious/noExplicitAny: generated gRPC code without usable types
const grpc = fromPulumi("@grpc/grpc-js") as any;
const analyzer = fromPulumi("./proto/analyzer_pb.js") as any;
const services = fromPulumi("./proto/analyzer_grpc_pb.js") as any;
const { Struct } = fromPulumi("google-protobuf/google/protobuf/struct_pb.js") as any;
const { Empty } = fromPulumi("google-protobuf/google/protobuf/empty_pb.js") as any;
// biome-ignore-end lint/suspicious/noExplicitAny: generated gRPC code without usable types

let pack: ChildProcess;
// biome-ignore lint/suspicious/noExplicitAny: generated gRPC client
let client: any;

function call<T>(method: string, request: unknown): Promise<T> {
  return new Promise((resolve, reject) =>
    client[method](request, (error: Error | null, response: T) =>
      error ? reject(error) : resolve(response),
    ),
  );
}

before(async () => {
  const exitOnTerm = new URL("./sigterm-exit.mjs", import.meta.url).pathname;
  const runPolicyPack = fromPulumi.resolve("./cmd/run-policy-pack");
  pack = spawn(
    process.execPath,
    [
      "--import",
      exitOnTerm,
      runPolicyPack,
      "127.0.0.1:1",
      ".",
      "-typescript=false",
      "-nodeargs=--import tsx",
    ],
    { cwd: new URL("../../policy/", import.meta.url), stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  pack.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  const port = await new Promise<string>((resolve, reject) => {
    pack.stdout?.once("data", (chunk) => resolve(String(chunk).trim()));
    pack.once("exit", (code) => reject(new Error(`policy pack exited ${code}: ${stderr}`)));
  });
  client = new services.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});

after(async () => {
  client?.close();
  const exited = new Promise((resolve) => pack.once("exit", resolve));
  pack?.kill("SIGTERM");
  await exited;
});

interface Diagnostic {
  policy: string;
  urn: string;
  message: string;
}

/** The pack's diagnostics, the sentence without the description the SDK puts before it. */
// biome-ignore lint/suspicious/noExplicitAny: generated gRPC message
function diagnostics(response: any, urn?: string): Diagnostic[] {
  // biome-ignore lint/suspicious/noExplicitAny: generated gRPC message
  return response.getDiagnosticsList().map((d: any) => {
    const description = POLICIES.find((p) => p.name === d.getPolicyname())?.description;
    const [head, sentence] = String(d.getMessage()).split("\n");
    assert.equal(head, description);
    return { policy: d.getPolicyname(), urn: d.getUrn() || urn, message: sentence };
  });
}

/**
 * The offline plan sent to the pack the way the engine sends it: each resource's inputs to the
 * resource policies (Analyze), then the whole stack to the stack policies (AnalyzeStack).
 */
async function analyze(plan: Awaited<ReturnType<typeof planFor>>): Promise<Diagnostic[]> {
  const view = planToStackView(plan);
  const found: Diagnostic[] = [];
  for (const r of view.resources) {
    const request = new analyzer.AnalyzeRequest();
    request.setType(r.type);
    request.setName(r.name);
    request.setUrn(r.urn);
    request.setProperties(Struct.fromJavaScript(JSON.parse(JSON.stringify(r.props))));
    const options = new analyzer.AnalyzerResourceOptions();
    options.setProtect(r.protect === true);
    request.setOptions(options);
    found.push(...diagnostics(await call("analyze", request), r.urn));
  }
  const request = new analyzer.AnalyzeStackRequest();
  request.setResourcesList(
    view.resources.map((r) => {
      const resource = new analyzer.AnalyzerResource();
      resource.setType(r.type);
      resource.setName(r.name);
      resource.setUrn(r.urn);
      resource.setProperties(Struct.fromJavaScript(JSON.parse(JSON.stringify(r.props))));
      const options = new analyzer.AnalyzerResourceOptions();
      options.setProtect(r.protect === true);
      resource.setOptions(options);
      for (const [property, urns] of Object.entries(r.references)) {
        const dependencies = new analyzer.AnalyzerPropertyDependencies();
        dependencies.setUrnsList([...urns]);
        resource.getPropertydependenciesMap().set(property, dependencies);
      }
      return resource;
    }),
  );
  found.push(...diagnostics(await call("analyzeStack", request)));
  return found;
}

const sorted = (list: Diagnostic[]) =>
  [...list].sort((a, b) =>
    `${a.policy}${a.urn}${a.message}`.localeCompare(`${b.policy}${b.urn}${b.message}`),
  );

describe("the CrossGuard pack, served over the analyzer protocol", () => {
  test("POL-1 the pack serves every policy, mandatory, with a kebab-case name and a 'Checks whether' description", async () => {
    // biome-ignore lint/suspicious/noExplicitAny: generated gRPC message
    const info = await call<any>("getAnalyzerInfo", new Empty());
    assert.equal(info.getName(), "txwatch-compliance");
    // biome-ignore lint/suspicious/noExplicitAny: generated gRPC message
    const policies = info.getPoliciesList().map((p: any) => ({
      name: p.getName(),
      description: p.getDescription(),
      level: p.getEnforcementlevel(),
    }));
    assert.deepEqual(
      policies.map((p: { name: string }) => p.name),
      POLICIES.map((p) => p.name),
    );
    for (const policy of policies) {
      assert.match(policy.name, /^[a-z0-9]+(-[a-z0-9]+)*$/);
      assert.match(policy.description, /^Checks whether /);
      assert.equal(policy.level, analyzer.EnforcementLevel.MANDATORY);
    }
  });

  test("POL-1 POL-2 a compliant preset gets no diagnostics from the pack", async () => {
    assert.deepEqual(await analyze(await planFor("finserv")), []);
  });

  test("POL-1 POL-2 the pack reports exactly what txwatch plan --check reports for a broken configuration", async () => {
    const plan = await planFor("fastshop", {
      customerManagedKey: "false",
      databaseAccessCidrs: "0.0.0.0/0",
      logRetentionDays: "7",
    });
    const offline = checkPlan(plan).map(({ policy, urn, message }) => ({ policy, urn, message }));
    assert.ok(offline.length > 20);
    assert.deepEqual(sorted(await analyze(plan)), sorted(offline));
  });
});

test("POL-1 values unknown during a preview become UNKNOWN and the policy proxy is unwrapped", () => {
  // The SDK's own proxy, which throws on any unknown value it is asked for.
  const proxy = fromPulumi("@pulumi/policy/proxy.js");
  const sentinel = proxy.unknownStringValue;
  const proxied = proxy.unknownCheckingProxy({
    kmsKeyId: sentinel,
    nested: [{ id: sentinel, port: 5432 }],
  });
  assert.throws(() => proxied.kmsKeyId, proxy.UnknownValueError);
  assert.deepEqual(plainProps(proxied), {
    kmsKeyId: UNKNOWN,
    nested: [{ id: UNKNOWN, port: 5432 }],
  });
});
