import type * as pulumi from "@pulumi/pulumi";
import { TAGGABLE_TYPES } from "../policy/taggable-types.ts";

/**
 * Adds the standard tags, and a `Name` tag with the resource's name, to every taggable resource
 * under the stack; tags a resource sets itself win.
 */
export function tagTransformation(tags: Record<string, string>): pulumi.ResourceTransformation {
  return (args) => {
    if (!TAGGABLE_TYPES.has(args.type)) return undefined;
    const own = (args.props.tags ?? {}) as Record<string, string>;
    return {
      props: { ...args.props, tags: { Name: args.name, ...tags, ...own } },
      opts: args.opts,
    };
  };
}
