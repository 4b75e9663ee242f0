/**
 * Helpers shared by the schemas that turn zod issues into field-precise errors
 * (transactions, rulesets).
 */
import { redactCardNumbers } from "./transaction/card-number.ts";

/**
 * An input that breaks a domain schema (a transaction, a ruleset), naming the field and what is
 * wrong with it. The domain modules throw it and know nothing of how it is answered: api/ maps
 * it to TXW_ERR_VALIDATION with the same field and message, the CLI to its usage-error exit
 * code.
 */
export class FieldError extends Error {
  readonly field?: string;
  constructor(field: string | undefined, message: string) {
    // PRIV-1: messages and fields may quote the caller's text (a key, a path); a card number in
    // it must not come back, wherever the error is shown or logged.
    super(redactCardNumbers(message));
    this.name = "FieldError";
    if (field !== undefined) this.field = redactCardNumbers(field);
  }
}

/** The value at a zod issue path in the original input, to tell "missing" from "wrong". */
export function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}
