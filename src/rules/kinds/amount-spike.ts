import { z } from "zod";
import { amountFor } from "../amount-map.ts";
import { entityIdOf } from "../entities.ts";
import type { Firing, RuleContext } from "../rule-context.ts";
import {
  amountMapSchema,
  boundedNumber,
  commonRuleFields,
  oneOf,
  positiveInt,
} from "../schema-parts.ts";
import { ENTITY_KINDS } from "../vocabulary.ts";

/** An amount far above what this entity usually pays (its own 24 h same-currency mean). */
export const amountSpikeRuleSchema = z.strictObject({
  ...commonRuleFields,
  kind: z.literal("amount_spike"),
  entity: oneOf(ENTITY_KINDS),
  multiplier: boundedNumber(1, 1000, "greater than 1 and less than 1000, e.g. 5"),
  /** A mean of one or two entries says little; below this many the rule stays quiet. */
  minHistory: positiveInt(1000),
  /** Small amounts are not worth a review however large the ratio. */
  minAmount: amountMapSchema,
});

export type AmountSpikeRule = z.output<typeof amountSpikeRuleSchema>;

export function fireAmountSpike(rule: AmountSpikeRule, ctx: RuleContext): Firing {
  const { tx } = ctx;
  const prior = ctx.history.prior[rule.entity];
  const floor = amountFor(rule.minAmount, tx.currency);
  if (entityIdOf(tx, rule.entity) === undefined || prior === undefined || floor === undefined) {
    return null;
  }
  if (prior.sameCurrencyCount < rule.minHistory || tx.amount < floor) return null;
  const mean = prior.sameCurrencySum / prior.sameCurrencyCount;
  if (tx.amount <= rule.multiplier * mean) return null;
  const ratio = (tx.amount / mean).toFixed(1);
  return `amount ${tx.amount} ${tx.currency} is ${ratio}x the ${rule.entity}'s 24h mean ${Math.round(mean)}`;
}
