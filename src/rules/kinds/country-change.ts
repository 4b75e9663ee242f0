import { z } from "zod";
import { entityIdOf, entityLabel } from "../entities.ts";
import type { Firing, RuleContext } from "../rule-context.ts";
import { commonRuleFields, oneOf, positiveInt } from "../schema-parts.ts";
import { ENTITY_KINDS } from "../vocabulary.ts";

/**
 * Impossible travel: the entity's previous transaction came from another country too recently
 * for the trip to be real (account takeover, shared stolen credentials).
 */
export const countryChangeRuleSchema = z.strictObject({
  ...commonRuleFields,
  kind: z.literal("country_change"),
  entity: oneOf(ENTITY_KINDS).default("customer"),
  withinMinutes: positiveInt(24 * 60),
});

export type CountryChangeRule = z.output<typeof countryChangeRuleSchema>;

function elapsed(ms: number): string {
  return ms < 60_000 ? `${Math.floor(ms / 1000)}s` : `${Math.floor(ms / 60_000)} min`;
}

export function fireCountryChange(rule: CountryChangeRule, ctx: RuleContext): Firing {
  const { tx } = ctx;
  const last = ctx.history.prior[rule.entity]?.last;
  if (entityIdOf(tx, rule.entity) === undefined || tx.country === undefined) return null;
  if (last == null || last.country === undefined || last.country === tx.country) return null;
  // History returns only earlier entries; clamp anyway so a clock oddity cannot read negative.
  const gap = Math.max(0, ctx.eventTime - last.eventTime);
  if (gap >= rule.withinMinutes * 60_000) return null;
  return `${entityLabel(rule.entity)} paid from ${last.country} ${elapsed(gap)} before this payment from ${tx.country} (limit ${rule.withinMinutes} min)`;
}
