import { z } from "zod";
import type { Firing, RuleContext } from "../rule-context.ts";
import { commonRuleFields } from "../schema-parts.ts";

/** Goods shipped to another country than the one paying: reshipping of fraudulent orders. */
export const shippingMismatchRuleSchema = z.strictObject({
  ...commonRuleFields,
  kind: z.literal("shipping_mismatch"),
});

export type ShippingMismatchRule = z.output<typeof shippingMismatchRuleSchema>;

export function fireShippingMismatch(_rule: ShippingMismatchRule, ctx: RuleContext): Firing {
  const { country, shippingCountry } = ctx.tx;
  if (country === undefined || shippingCountry === undefined || country === shippingCountry) {
    return null;
  }
  return `paid from ${country}, shipping to ${shippingCountry}`;
}
