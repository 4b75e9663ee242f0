import { ValidationError } from "../errors.ts";

/** Rows `txwatch quarantine` lists at most in one call. */
export const MAX_QUARANTINE_LIMIT = 1000;

/**
 * How many quarantined records to list, newest first (REL-5): a whole number from 1 to
 * MAX_QUARANTINE_LIMIT, given as a number (admin socket) or its digits (the CLI's --limit).
 */
export function validQuarantineLimit(value: unknown, field: string): number {
  const n = typeof value === "string" && /^\d{1,4}$/.test(value) ? Number(value) : value;
  if (typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= MAX_QUARANTINE_LIMIT) return n;
  if (value === undefined) throw new ValidationError(field, `${field} is required`);
  throw new ValidationError(
    field,
    `${field} must be a whole number from 1 to ${MAX_QUARANTINE_LIMIT}`,
  );
}
