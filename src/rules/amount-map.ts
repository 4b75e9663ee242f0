/**
 * Amounts per ISO 4217 currency, in minor units, with an optional "*" fallback.
 * Minor units differ per currency (JPY 0 decimals, BRL 2), so a limit only means something
 * for the currency it is written for; "*" is for limits that are sensible in any of them.
 */
export type AmountMap = Record<string, number>;

export const ANY_CURRENCY = "*";

/** The limit for a currency; undefined means the rule does not apply to that currency. */
export function amountFor(map: AmountMap | undefined, currency: string): number | undefined {
  if (map === undefined) return undefined;
  return map[currency] ?? map[ANY_CURRENCY];
}
