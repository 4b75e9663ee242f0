import { isPgConnectionError } from "../ledger/sql-client.ts";

/**
 * SQLSTATE classes of a statement refused for what it carries (REL-5): 22 data exception,
 * 23 integrity constraint violation, P0 raised by a trigger or function, 54 program limit
 * exceeded. The same record meets them again on every delivery. Every other class (08 connection,
 * 57 operator intervention, 53 resources, 40 serialization and deadlock, XX internal, ...) says
 * the database is unwell, which waiting gets past.
 */
const RECORD_CLASSES = new Set(["22", "23", "P0", "54"]);

/** Redis replies that say the server is busy, starting, read-only or full, not the script's data. */
const TRANSIENT_REDIS =
  /^(BUSY|LOADING|READONLY|OOM|NOSCRIPT|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|MISCONF|NOREPLICAS|NOAUTH|WRONGPASS|NOPERM)\b/;

const SQLSTATE = /^[0-9A-Z]{5}$/;
const MAX_REASON = 300;

/** The error and the errors it wraps (`cause`), outermost first. */
function chain(error: unknown): Error[] {
  const out: Error[] = [];
  for (let at = error; at instanceof Error && out.length < 8; at = at.cause) out.push(at);
  return out;
}

function firstLine(text: string): string {
  return (text.split("\n")[0] ?? "").slice(0, MAX_REASON);
}

/**
 * Why a failure is the record's own, or undefined when it is a dependency's (unreachable,
 * restarting, overloaded, timed out) or unknown: those are redelivered, never quarantined, so
 * an outage can delay records but not discard them. The reason names the code and the first
 * line of the message, e.g. `SQLSTATE 22P02: invalid input syntax for type bigint`.
 */
export function refusalOf(error: unknown): string | undefined {
  for (const cause of chain(error)) {
    if (isPgConnectionError(cause)) return undefined;
    const code = (cause as { code?: unknown }).code;
    if (typeof code === "string" && SQLSTATE.test(code)) {
      return RECORD_CLASSES.has(code.slice(0, 2))
        ? `SQLSTATE ${code}: ${firstLine(cause.message)}`
        : undefined;
    }
    if (cause.name === "ReplyError") {
      return TRANSIENT_REDIS.test(cause.message) ? undefined : `Redis ${firstLine(cause.message)}`;
    }
  }
  return undefined;
}
