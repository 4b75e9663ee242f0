/**
 * Helpers shared by the schemas that turn zod issues into field-precise errors
 * (transactions, rulesets).
 */

/** The value at a zod issue path in the original input, to tell "missing" from "wrong". */
export function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}
