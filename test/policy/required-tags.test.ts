import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { UNKNOWN } from "../../policy/model.ts";
import { requiredTags as policy } from "../../policy/policies/required-tags.ts";
import { TAGGABLE_TYPES } from "../../policy/taggable-types.ts";
import { compliantStack, tagsFor, URN, withProps, withSuffix } from "./fixtures.ts";

const streamTags = () => tagsFor("transaction-stream-pr42");
const without = (tags: Record<string, string>, ...keys: string[]) =>
  Object.fromEntries(Object.entries(tags).filter(([key]) => !keys.includes(key)));

describe("required-tags", () => {
  test("POL-1 GEN-3 required-tags: a compliant stack has no findings", () => {
    assert.deepEqual(policy.validate(compliantStack()), []);
  });

  test("POL-1 GEN-3 required-tags: a resource without the Preset tag is reported", () => {
    const stack = withProps(compliantStack(), URN.stream, {
      tags: without(streamTags(), "Preset"),
    });
    assert.deepEqual(policy.validate(stack), [
      { urn: URN.stream, message: "Resource transaction-stream-pr42 must carry the tag Preset." },
    ]);
  });

  test("POL-1 GEN-3 required-tags: several missing tags are named in one sentence, in order", () => {
    const stack = withProps(compliantStack(), URN.stream, {
      tags: without(streamTags(), "ManagedBy", "Project"),
    });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.stream,
        message: "Resource transaction-stream-pr42 must carry the tags Project, ManagedBy.",
      },
    ]);
  });

  test("POL-1 GEN-3 required-tags: a taggable resource without tags is reported", () => {
    const stack = withProps(compliantStack(), URN.db, { tags: undefined });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.db,
        message:
          "Resource ledger-db-pr42 must carry the tags Project, Environment, ManagedBy, Preset.",
      },
    ]);
  });

  test("POL-1 GEN-3 required-tags: an empty tag value counts as missing", () => {
    const stack = withProps(compliantStack(), URN.stream, {
      tags: { ...streamTags(), ManagedBy: "" },
    });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.stream,
        message: "Resource transaction-stream-pr42 must carry the tag ManagedBy.",
      },
    ]);
  });

  test("POL-1 GEN-3 required-tags: an Environment tag other than the stack's suffix is reported", () => {
    const stack = withProps(compliantStack(), URN.stream, {
      tags: { ...streamTags(), Environment: "pr43" },
    });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.stream,
        message:
          'Resource transaction-stream-pr42 must carry Environment "pr42", the stack\'s suffix (it has "pr43").',
      },
    ]);
  });

  test("POL-1 GEN-3 required-tags: without a configured suffix any Environment value passes", () => {
    const stack = withSuffix(
      withProps(compliantStack(), URN.stream, { tags: { ...streamTags(), Environment: "pr43" } }),
      undefined,
    );
    assert.deepEqual(policy.validate(stack), []);
  });

  test("POL-1 GEN-3 required-tags: tags given through tagsAll (provider default tags) count", () => {
    const stack = withProps(compliantStack(), URN.stream, {
      tags: { Name: "transaction-stream-pr42" },
      tagsAll: streamTags(),
    });
    assert.deepEqual(policy.validate(stack), []);
  });

  test("POL-1 GEN-3 required-tags: every taggable resource of the stack is checked", () => {
    const stack = compliantStack();
    const taggable = stack.resources.filter((r) => TAGGABLE_TYPES.has(r.type));
    assert.ok(taggable.length > 30, `only ${taggable.length} taggable resources`);
    for (const r of taggable) {
      const broken = withProps(stack, r.urn, { tags: without(tagsFor(r.name), "Project") });
      assert.deepEqual(
        policy.validate(broken),
        [{ urn: r.urn, message: `Resource ${r.name} must carry the tag Project.` }],
        r.urn,
      );
    }
  });

  test("POL-1 GEN-3 required-tags: resources that take no tags are not checked", () => {
    const stack = compliantStack();
    const untaggable = stack.resources.filter((r) => !TAGGABLE_TYPES.has(r.type));
    assert.ok(untaggable.length > 10);
    assert.ok(untaggable.every((r) => r.props.tags === undefined));
    assert.deepEqual(policy.validate(stack), []);
  });

  test("POL-1 GEN-3 required-tags: tags unknown during a preview are not a finding", () => {
    const stack = withProps(compliantStack(), URN.stream, { tags: UNKNOWN });
    assert.deepEqual(policy.validate(stack), []);
  });
});
