import { z } from "zod";
import { amountFor } from "../amount-map.ts";
import { entityIdOf } from "../entities.ts";
import type { Firing, RuleContext } from "../rule-context.ts";
import { amountMapSchema, commonRuleFields, oneOf } from "../schema-parts.ts";

/**
 * A large payment by an entity with no history in the last 24 h: a fresh account or a just
 * stolen card going straight for the expensive item.
 */
export const newEntityHighValueRuleSchema = z.strictObject({
  ...commonRuleFields,
  kind: z.literal("new_entity_high_value"),
  // An IP is shared and reassigned; "new IP" says nothing about the buyer.
  entity: oneOf(["customer", "card", "device"]),
  minAmount: amountMapSchema,
});

export type NewEntityHighValueRule = z.output<typeof newEntityHighValueRuleSchema>;

export function fireNewEntityHighValue(rule: NewEntityHighValueRule, ctx: RuleContext): Firing {
  const { tx } = ctx;
  const prior = ctx.history.prior[rule.entity];
  const floor = amountFor(rule.minAmount, tx.currency);
  if (entityIdOf(tx, rule.entity) === undefined || prior === undefined || floor === undefined) {
    return null;
  }
  if (prior.count !== 0 || tx.amount < floor) return null;
  return `${rule.entity} with no transactions in the last 24h pays ${tx.amount} ${tx.currency} (limit ${floor})`;
}
