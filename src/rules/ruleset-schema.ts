import { z } from "zod";
import type { Rule } from "./rule-kinds.ts";
import { descriptionSchema } from "./schema-parts.ts";

const thresholdScore = (name: string) => {
  const message = `must be an integer from 1 to 100 (the score at which ${name} starts)`;
  return z
    .number({ error: message })
    .int({ error: message })
    .min(1, { error: message })
    .max(100, { error: message });
};

/** Score -> action: block at or above `block`, review at or above `review`, else allow. */
export const thresholdsSchema = z
  .strictObject({ review: thresholdScore("review"), block: thresholdScore("block") })
  .superRefine((t, ctx) => {
    if (t.block <= t.review) {
      ctx.addIssue({
        code: "custom",
        path: ["block"],
        message: `must be greater than thresholds.review (${t.review})`,
      });
    }
  });

/**
 * The document around the rules. Rules are validated one by one afterwards (validate-ruleset),
 * so that each error can name its rule by id and the kind's own fields.
 */
export const rulesetHeaderSchema = z.strictObject(
  {
    name: z
      .string({ error: "must be a string like default or japancart-2026" })
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, {
        error: "must be 1-64 characters of A-Z a-z 0-9 _ . - starting with a letter or digit",
      }),
    description: descriptionSchema,
    thresholds: thresholdsSchema,
    rules: z
      .array(z.unknown(), { error: "must be a list of rules" })
      .min(1, { error: "must contain at least one rule" })
      .max(1000, { error: "must contain at most 1000 rules" }),
  },
  { error: "must be an object with name, thresholds and rules" },
);

export type Thresholds = z.output<typeof thresholdsSchema>;

/** A validated ruleset with defaults filled in: what is hashed into the version. */
export interface RulesetDocument {
  name: string;
  description?: string;
  thresholds: Thresholds;
  rules: Rule[];
}
