import { z } from "zod";
import type { Transaction } from "../../transaction/types.ts";
import { amountFor } from "../amount-map.ts";
import { windowSeconds } from "../duration.ts";
import { entityIdOf, entityLabel } from "../entities.ts";
import type { Firing, RuleContext } from "../rule-context.ts";
import {
  amountMapSchema,
  commonRuleFields,
  durationSchema,
  oneOf,
  positiveInt,
} from "../schema-parts.ts";
import { ENTITY_KINDS, type WindowQuery } from "../vocabulary.ts";

/** Count and / or same-currency sum of an entity's transactions over a window. */
export const velocityRuleSchema = z
  .strictObject({
    ...commonRuleFields,
    kind: z.literal("velocity"),
    entity: oneOf(ENTITY_KINDS),
    window: durationSchema,
    /** Fires when the count in the window, this transaction included, exceeds it. */
    maxCount: positiveInt(1_000_000).optional(),
    /** Fires when the same-currency sum in the window exceeds it. */
    maxAmount: amountMapSchema.optional(),
  })
  .refine((r) => r.maxCount !== undefined || r.maxAmount !== undefined, {
    error: "is required unless maxAmount is set (a velocity rule needs a limit)",
    path: ["maxCount"],
  });

export type VelocityRule = z.output<typeof velocityRuleSchema>;

export function velocityQueries(rule: VelocityRule, tx: Transaction): WindowQuery[] {
  if (entityIdOf(tx, rule.entity) === undefined) return [];
  // A sum limit for another currency and no count limit: nothing this rule could fire on.
  if (rule.maxCount === undefined && amountFor(rule.maxAmount, tx.currency) === undefined)
    return [];
  const measures = amountFor(rule.maxAmount, tx.currency) === undefined ? [] : (["sum"] as const);
  return [{ entity: rule.entity, windowSeconds: windowSeconds(rule.window), measures }];
}

export function fireVelocity(rule: VelocityRule, ctx: RuleContext): Firing {
  const [query] = velocityQueries(rule, ctx.tx);
  if (query === undefined) return null;
  const { count, sum } = ctx.window(query);
  const who = entityLabel(rule.entity);
  const parts: string[] = [];
  if (rule.maxCount !== undefined && count > rule.maxCount) {
    parts.push(`${who} made ${count} transactions in ${rule.window} (limit ${rule.maxCount})`);
  }
  const maxSum = amountFor(rule.maxAmount, ctx.tx.currency);
  if (maxSum !== undefined && sum > maxSum) {
    parts.push(`${who} spent ${sum} ${ctx.tx.currency} in ${rule.window} (limit ${maxSum})`);
  }
  return parts.length === 0 ? null : parts.join("; ");
}
