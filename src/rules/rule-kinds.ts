import type { Transaction } from "../transaction/types.ts";
import {
  type AmountSpikeRule,
  amountSpikeRuleSchema,
  fireAmountSpike,
} from "./kinds/amount-spike.ts";
import {
  type CountryChangeRule,
  countryChangeRuleSchema,
  fireCountryChange,
} from "./kinds/country-change.ts";
import {
  type DistinctCardsRule,
  distinctCardsQueries,
  distinctCardsRuleSchema,
  fireDistinctCards,
} from "./kinds/distinct-cards.ts";
import { fireHighAmount, type HighAmountRule, highAmountRuleSchema } from "./kinds/high-amount.ts";
import { fireList, type ListRule, listRuleSchema } from "./kinds/list.ts";
import {
  fireNewEntityHighValue,
  type NewEntityHighValueRule,
  newEntityHighValueRuleSchema,
} from "./kinds/new-entity-high-value.ts";
import {
  fireShippingMismatch,
  type ShippingMismatchRule,
  shippingMismatchRuleSchema,
} from "./kinds/shipping-mismatch.ts";
import {
  fireStructuring,
  type StructuringRule,
  structuringQueries,
  structuringRuleSchema,
} from "./kinds/structuring.ts";
import {
  fireVelocity,
  type VelocityRule,
  velocityQueries,
  velocityRuleSchema,
} from "./kinds/velocity.ts";
import type { Firing, RuleContext } from "./rule-context.ts";
import type { WindowQuery } from "./vocabulary.ts";

/** Every built-in rule kind (PRC-3), keyed by the `kind` a document writes. */
export const RULE_SCHEMAS = {
  velocity: velocityRuleSchema,
  amount_spike: amountSpikeRuleSchema,
  country_change: countryChangeRuleSchema,
  distinct_cards: distinctCardsRuleSchema,
  structuring: structuringRuleSchema,
  list: listRuleSchema,
  new_entity_high_value: newEntityHighValueRuleSchema,
  high_amount: highAmountRuleSchema,
  shipping_mismatch: shippingMismatchRuleSchema,
} as const;

export type RuleKind = keyof typeof RULE_SCHEMAS;
export const RULE_KINDS = Object.keys(RULE_SCHEMAS) as RuleKind[];

export function isRuleKind(value: unknown): value is RuleKind {
  return typeof value === "string" && Object.hasOwn(RULE_SCHEMAS, value);
}

export type Rule =
  | VelocityRule
  | AmountSpikeRule
  | CountryChangeRule
  | DistinctCardsRule
  | StructuringRule
  | ListRule
  | NewEntityHighValueRule
  | HighAmountRule
  | ShippingMismatchRule;

/** The window aggregates a rule needs for this transaction; none for per-transaction kinds. */
export function queriesOf(rule: Rule, tx: Transaction): WindowQuery[] {
  switch (rule.kind) {
    case "velocity":
      return velocityQueries(rule, tx);
    case "distinct_cards":
      return distinctCardsQueries(rule, tx);
    case "structuring":
      return structuringQueries(rule, tx);
    default:
      // amount_spike, country_change and new_entity_high_value read PriorSummary, which the
      // history returns for every entity without being asked.
      return [];
  }
}

export function fire(rule: Rule, ctx: RuleContext): Firing {
  switch (rule.kind) {
    case "velocity":
      return fireVelocity(rule, ctx);
    case "amount_spike":
      return fireAmountSpike(rule, ctx);
    case "country_change":
      return fireCountryChange(rule, ctx);
    case "distinct_cards":
      return fireDistinctCards(rule, ctx);
    case "structuring":
      return fireStructuring(rule, ctx);
    case "list":
      return fireList(rule, ctx);
    case "new_entity_high_value":
      return fireNewEntityHighValue(rule, ctx);
    case "high_amount":
      return fireHighAmount(rule, ctx);
    case "shipping_mismatch":
      return fireShippingMismatch(rule, ctx);
  }
}
