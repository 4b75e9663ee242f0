import { eachOf, isKnown, label, record, type TxwatchPolicy } from "../model.ts";
import { TAGGABLE_TYPES } from "../taggable-types.ts";

/** GEN-3: what cost reports and incident response group resources by. */
export const REQUIRED_TAGS = ["Project", "Environment", "ManagedBy", "Preset"] as const;

export const requiredTags: TxwatchPolicy = {
  name: "required-tags",
  description: `Checks whether every taggable resource carries the tags ${REQUIRED_TAGS.join(", ")}, with Environment equal to the stack's suffix.`,
  scope: "resource",
  validate: (stack) =>
    eachOf(stack, [...TAGGABLE_TYPES], (r) => {
      if (!isKnown(r.props.tags)) return [];
      const tags = { ...record(r.props.tagsAll), ...record(r.props.tags) };
      const missing = REQUIRED_TAGS.filter(
        (tag) => typeof tags[tag] !== "string" || tags[tag] === "",
      );
      const suffix = stack.environmentSuffix;
      return [
        missing.length > 0
          ? `Resource ${label(r)} must carry the tag${missing.length === 1 ? "" : "s"} ${missing.join(", ")}.`
          : undefined,
        suffix !== undefined && missing.length === 0 && tags.Environment !== suffix
          ? `Resource ${label(r)} must carry Environment "${suffix}", the stack's suffix (it has "${String(tags.Environment)}").`
          : undefined,
      ];
    }),
};
