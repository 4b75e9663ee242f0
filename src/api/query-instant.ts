import { z } from "zod";
import { isRfc3339WithOffset } from "../transaction/schema.ts";

const FIRST = Date.UTC(1970, 0, 1);
const LAST = Date.UTC(10000, 0, 1) - 1;

/**
 * Parses a syntactically valid RFC 3339 timestamp to a UTC ISO string, or null when it is not
 * an instant of years 1970..9999. Only the normalised form reaches SQL: PostgreSQL refuses
 * offsets beyond ±15:59 and years past 9999 as literals, and a valid offset can move an instant
 * into year 10000 or before 1970. Uppercased first so the result does not depend on how lenient
 * the syntax check is about `t` / `z`.
 */
export function toUtcInstant(value: string): string | null {
  const ms = Date.parse(value.toUpperCase());
  if (!Number.isFinite(ms) || ms < FIRST || ms > LAST) return null;
  return new Date(ms).toISOString();
}

/** A query parameter holding an instant: validated, then normalised to UTC (QRY-1). */
export function queryInstant(field: string) {
  return z
    .string({ error: `${field} must be a single RFC 3339 timestamp` })
    .refine(isRfc3339WithOffset, { error: `${field} must be an RFC 3339 timestamp with offset` })
    .transform((value, ctx) => {
      const utc = toUtcInstant(value);
      if (utc !== null) return utc;
      ctx.issues.push({
        code: "custom",
        input: value,
        message: `${field} must be an instant from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z`,
      });
      return z.NEVER;
    });
}
