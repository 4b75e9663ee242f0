import { z } from "zod";
import type { Transaction } from "../../transaction/types.ts";
import { amountFor } from "../amount-map.ts";
import { windowSeconds } from "../duration.ts";
import { entityIdOf, entityLabel } from "../entities.ts";
import type { Firing, RuleContext } from "../rule-context.ts";
import {
  amountMapSchema,
  boundedNumber,
  commonRuleFields,
  durationSchema,
  oneOf,
  positiveInt,
} from "../schema-parts.ts";
import { ENTITY_KINDS, type WindowQuery } from "../vocabulary.ts";

/**
 * Structuring: repeated payments just under a reporting threshold, split so that none reaches
 * it. Counts the entity's same-currency payments in [threshold - bandPercent%, threshold).
 */
export const structuringRuleSchema = z.strictObject({
  ...commonRuleFields,
  kind: z.literal("structuring"),
  entity: oneOf(ENTITY_KINDS).default("customer"),
  threshold: amountMapSchema,
  bandPercent: boundedNumber(0, 100, "greater than 0 and less than 100, e.g. 10"),
  window: durationSchema,
  /** Fires when this many in-band payments (this one included) fall in the window. */
  minCount: positiveInt(10_000),
});

export type StructuringRule = z.output<typeof structuringRuleSchema>;

/** The band [min, max) for the transaction's currency; integer arithmetic, no float drift. */
function bandOf(rule: StructuringRule, currency: string): { min: number; max: number } | undefined {
  const threshold = amountFor(rule.threshold, currency);
  if (threshold === undefined) return undefined;
  return { min: threshold - Math.floor((threshold * rule.bandPercent) / 100), max: threshold };
}

export function structuringQueries(rule: StructuringRule, tx: Transaction): WindowQuery[] {
  const band = bandOf(rule, tx.currency);
  if (entityIdOf(tx, rule.entity) === undefined || band === undefined) return [];
  // Only an in-band payment can complete a pattern; skip the query for everything else.
  if (tx.amount < band.min || tx.amount >= band.max) return [];
  return [
    {
      entity: rule.entity,
      windowSeconds: windowSeconds(rule.window),
      minAmount: band.min,
      maxAmount: band.max,
      measures: [],
    },
  ];
}

export function fireStructuring(rule: StructuringRule, ctx: RuleContext): Firing {
  const [query] = structuringQueries(rule, ctx.tx);
  if (query === undefined) return null;
  const { count } = ctx.window(query);
  if (count < rule.minCount) return null;
  const { currency } = ctx.tx;
  return `${entityLabel(rule.entity)} made ${count} payments of ${query.minAmount}-${query.maxAmount! - 1} ${currency} in ${rule.window}, just under the ${query.maxAmount} threshold (flagged from ${rule.minCount})`;
}
