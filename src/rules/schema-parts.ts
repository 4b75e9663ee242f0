import { z } from "zod";
import { ANY_CURRENCY } from "./amount-map.ts";
import { canonicalDuration, isRuleWindow } from "./duration.ts";

// Messages here are predicates ("must be ..."): the validator puts the rule and field in front,
// e.g. `rule "velocity-card-10m" (rules[2]).window must be a duration like ...`.

const CURRENCIES = new Set(Intl.supportedValuesOf("currency"));
const MAX_AMOUNT = 1e12;

export const RULE_ID_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

export const ruleIdSchema = z
  .string({ error: "must be a kebab-case string, e.g. velocity-card-10m" })
  .max(64, { error: "must be at most 64 characters" })
  .regex(RULE_ID_PATTERN, { error: "must be kebab-case, e.g. velocity-card-10m" });

export const scoreSchema = z
  .number({ error: "must be an integer from 0 to 100" })
  .int({ error: "must be an integer from 0 to 100" })
  .min(0, { error: "must be an integer from 0 to 100" })
  .max(100, { error: "must be an integer from 0 to 100" });

export const descriptionSchema = z
  .string({ error: "must be a string" })
  .max(500, { error: "must be at most 500 characters" })
  .optional();

/** Fields every rule has, whatever its kind. */
export const commonRuleFields = {
  id: ruleIdSchema,
  description: descriptionSchema,
  /** Disabled rules stay in the document (and its version) but neither plan nor fire. */
  enabled: z.boolean({ error: "must be true or false" }).default(true),
  score: scoreSchema,
};

export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: `must be one of ${values.join(", ")}` });
}

export const durationSchema = z
  .string({ error: "must be a duration like 30s, 10m, 1h (at most 24h)" })
  .refine(isRuleWindow, { error: "must be a duration like 30s, 10m, 1h (at most 24h)" })
  .transform(canonicalDuration);

export function positiveInt(max: number) {
  const message = `must be an integer from 1 to ${max}`;
  return z
    .number({ error: message })
    .int({ error: message })
    .min(1, { error: message })
    .max(max, { error: message });
}

export function boundedNumber(min: number, max: number, what: string) {
  const message = `must be a number ${what}`;
  return z.number({ error: message }).gt(min, { error: message }).lt(max, { error: message });
}

const amountSchema = positiveInt(MAX_AMOUNT);

/** { JPY: 300000, BRL: 300000, "*": 200000 }: minor units per ISO 4217 currency. */
export const amountMapSchema = z
  .record(z.string(), amountSchema, {
    error: 'must be a map of currency to amount in minor units, e.g. { JPY: 300000, "*": 200000 }',
  })
  .superRefine((map, ctx) => {
    const keys = Object.keys(map);
    if (keys.length === 0) {
      ctx.addIssue({ code: "custom", message: "must name at least one currency (or *)" });
    }
    for (const key of keys) {
      if (key !== ANY_CURRENCY && !CURRENCIES.has(key)) {
        ctx.addIssue({
          code: "custom",
          path: [key],
          message: 'must be an ISO 4217 currency code like JPY, or "*" for any other currency',
        });
      }
    }
  });
