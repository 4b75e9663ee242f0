import { isIP } from "node:net";
import { z } from "zod";
import type { Transaction } from "../../transaction/types.ts";
import { type IpMatcher, ipMatcher, isIpOrCidr } from "../ip-match.ts";
import type { Firing, RuleContext } from "../rule-context.ts";
import { commonRuleFields, oneOf } from "../schema-parts.ts";

/** Transaction fields a list can name. There is no email: txwatch does not collect it (PRIV-1). */
export const LIST_FIELDS = [
  "customerId",
  "deviceId",
  "ipAddress",
  "cardBin",
  "cardToken",
  "country",
  "shippingCountry",
] as const;
export type ListField = (typeof LIST_FIELDS)[number];

const VALUE_CHECKS: Partial<Record<ListField, { test: (v: string) => boolean; message: string }>> =
  {
    ipAddress: {
      test: isIpOrCidr,
      message: "must be an IP address or an IPv4 CIDR like 203.0.113.0/24",
    },
    cardBin: { test: (v) => /^\d{6,8}$/.test(v), message: "must be a card BIN of 6-8 digits" },
    country: { test: (v) => /^[A-Z]{2}$/.test(v), message: "must be an ISO 3166-1 alpha-2 code" },
    shippingCountry: {
      test: (v) => /^[A-Z]{2}$/.test(v),
      message: "must be an ISO 3166-1 alpha-2 code",
    },
  };

/**
 * Allow or block list. A block-list hit forces block; an allow-list hit forces allow unless a
 * block list also hit. An allow list adds no score: it overrides, it does not weigh.
 */
export const listRuleSchema = z
  .strictObject({
    ...commonRuleFields,
    kind: z.literal("list"),
    list: oneOf(["allow", "block"]),
    field: oneOf(LIST_FIELDS),
    values: z
      .array(
        z.string({ error: "must be a non-empty string" }).min(1, { error: "must not be empty" }),
        {
          error: "must be a list of strings",
        },
      )
      .min(1, { error: "must list at least one value" })
      .max(100_000, { error: "must list at most 100000 values" }),
  })
  .superRefine((rule, ctx) => {
    if (rule.list === "allow" && rule.score !== 0) {
      ctx.addIssue({ code: "custom", path: ["score"], message: "must be 0 for an allow list" });
    }
    const check = VALUE_CHECKS[rule.field];
    if (check === undefined) return;
    rule.values.forEach((value, i) => {
      if (!check.test(value))
        ctx.addIssue({ code: "custom", path: ["values", i], message: check.message });
    });
  });

export type ListRule = z.output<typeof listRuleSchema>;

function fieldValue(tx: Transaction, field: ListField): string | undefined {
  switch (field) {
    case "cardBin":
      return tx.paymentMethod.card?.bin;
    case "cardToken":
      return tx.paymentMethod.card?.token;
    default:
      return tx[field];
  }
}

type Matcher = (value: string) => string | undefined;

// Built once per rule object (a ruleset is immutable) rather than scanning values per transaction.
const matchers = new WeakMap<ListRule, Matcher>();

function matcherOf(rule: ListRule): Matcher {
  let matcher = matchers.get(rule);
  if (matcher === undefined) {
    if (rule.field === "ipAddress") {
      const ips: IpMatcher = ipMatcher(rule.values);
      matcher = (value) => (isIP(value) === 0 ? undefined : ips.matches(value));
    } else {
      const set = new Set(rule.values);
      matcher = (value) => (set.has(value) ? value : undefined);
    }
    matchers.set(rule, matcher);
  }
  return matcher;
}

export function fireList(rule: ListRule, ctx: RuleContext): Firing {
  const value = fieldValue(ctx.tx, rule.field);
  if (value === undefined || value === "") return null;
  const entry = matcherOf(rule)(value);
  if (entry === undefined) return null;
  const via = entry === value ? "" : ` (${entry})`;
  return `${rule.field} ${value} is on the ${rule.list} list${via}`;
}
