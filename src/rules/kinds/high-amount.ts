import { z } from "zod";
import { amountFor } from "../amount-map.ts";
import type { Firing, RuleContext } from "../rule-context.ts";
import { amountMapSchema, commonRuleFields } from "../schema-parts.ts";

/** A single payment at or above a currency's limit, whoever makes it. */
export const highAmountRuleSchema = z.strictObject({
  ...commonRuleFields,
  kind: z.literal("high_amount"),
  minAmount: amountMapSchema,
});

export type HighAmountRule = z.output<typeof highAmountRuleSchema>;

export function fireHighAmount(rule: HighAmountRule, ctx: RuleContext): Firing {
  const { amount, currency } = ctx.tx;
  const limit = amountFor(rule.minAmount, currency);
  if (limit === undefined || amount < limit) return null;
  return `amount ${amount} ${currency} is at or above ${limit}`;
}
