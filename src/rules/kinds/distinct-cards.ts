import { z } from "zod";
import type { Transaction } from "../../transaction/types.ts";
import { windowSeconds } from "../duration.ts";
import { entityIdOf, entityLabel } from "../entities.ts";
import type { Firing, RuleContext } from "../rule-context.ts";
import { commonRuleFields, durationSchema, oneOf, positiveInt } from "../schema-parts.ts";
import type { WindowQuery } from "../vocabulary.ts";

/** One device or IP cycling through many cards: card testing or a fraud ring's workstation. */
export const distinctCardsRuleSchema = z.strictObject({
  ...commonRuleFields,
  kind: z.literal("distinct_cards"),
  // Per customer or card the count says nothing new; per device / IP it is the signal.
  entity: oneOf(["device", "ip"]),
  window: durationSchema,
  maxCards: positiveInt(10_000),
});

export type DistinctCardsRule = z.output<typeof distinctCardsRuleSchema>;

export function distinctCardsQueries(rule: DistinctCardsRule, tx: Transaction): WindowQuery[] {
  if (entityIdOf(tx, rule.entity) === undefined) return [];
  return [
    { entity: rule.entity, windowSeconds: windowSeconds(rule.window), measures: ["distinctCards"] },
  ];
}

export function fireDistinctCards(rule: DistinctCardsRule, ctx: RuleContext): Firing {
  const [query] = distinctCardsQueries(rule, ctx.tx);
  if (query === undefined) return null;
  const { distinctCards } = ctx.window(query);
  if (distinctCards <= rule.maxCards) return null;
  return `${entityLabel(rule.entity)} used ${distinctCards} distinct cards in ${rule.window} (limit ${rule.maxCards})`;
}
