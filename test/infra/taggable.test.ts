import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { tagTransformation } from "../../infra/taggable.ts";
import { TAGGABLE_TYPES } from "../../policy/taggable-types.ts";
import { PRESET_NAMES, planFor } from "./plan-fixture.ts";

/** `aws:ec2/vpcEndpoint:VpcEndpoint` -> node_modules/@pulumi/aws/ec2/vpcEndpoint.d.ts */
function argsAcceptTags(type: string): boolean {
  const [, path, name] = type.split(":");
  const file = `node_modules/@pulumi/aws/${path}.d.ts`;
  assert.ok(existsSync(file), file);
  const source = readFileSync(file, "utf8");
  const args = source.slice(source.indexOf(`export interface ${name}Args {`));
  return /\n {4}tags\?:/.test(args.slice(0, args.indexOf("\n}")));
}

test("GEN-3 the taggable list matches the provider: every resource type the program uses is tagged exactly when its arguments accept tags", async () => {
  const types = new Set<string>();
  for (const preset of PRESET_NAMES) {
    for (const r of (
      await planFor(preset, {
        natGateways: preset === "fastshop" ? "1" : String(preset === "finserv" ? 1 : 0),
        alarmEmail: "a@example.com",
      })
    ).resources) {
      if (r.type.startsWith("aws:")) types.add(r.type);
    }
  }
  assert.ok(types.size > 40);
  for (const type of types) assert.equal(TAGGABLE_TYPES.has(type), argsAcceptTags(type), type);
  for (const type of TAGGABLE_TYPES) assert.ok(types.has(type), `${type} is listed but never used`);
});

test("GEN-3 the transformation keeps a resource's own tags and leaves untaggable types alone", () => {
  const transform = tagTransformation({ Project: "txwatch" });
  const base = { name: "x-pr1", opts: {}, resource: undefined as never };
  const tagged = transform({
    ...base,
    type: "aws:sqs/queue:Queue",
    props: { tags: { Project: "mine" } },
  });
  assert.deepEqual(tagged?.props.tags, { Name: "x-pr1", Project: "mine" });
  assert.equal(transform({ ...base, type: "aws:iam/rolePolicy:RolePolicy", props: {} }), undefined);
});
