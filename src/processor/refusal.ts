import { HistoryUnavailableError } from "../history/unavailable.ts";
import { isPgConnectionError } from "../ledger/sql-client.ts";

/**
 * SQLSTATE classes of a statement refused for what it carries (REL-5): 22 data exception,
 * 23 integrity constraint violation, P0 raised by a trigger or function, 54 program limit
 * exceeded. The same record meets them again on every delivery. Every other class (08 connection,
 * 57 operator intervention, 53 resources, 40 serialization and deadlock, XX internal, ...) says
 * the database is unwell, which waiting gets past.
 */
const RECORD_CLASSES = new Set(["22", "23", "P0", "54"]);

/**
 * Redis replies that say the server is busy, starting, read-only, full or refusing this client,
 * whatever else they say: Redis 7 appends " script: <sha>, on @user_script:N." to them too when a
 * call inside the script met them.
 */
const TRANSIENT_REDIS =
  /^(BUSY|LOADING|READONLY|OOM|NOSCRIPT|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|MISCONF|NOREPLICAS|NOAUTH|WRONGPASS|NOPERM)\b/;

/**
 * The Redis replies that are the record's own (an allow-list; every other reply is an outage):
 * a key of the record's entities holding another type (WRONGTYPE), and an error raised while the
 * script ran on the record's keys and arguments. Redis 7 words the latter "ERR user_script:N: ..."
 * (a Lua runtime error) or appends " script: <sha>, on @user_script:N." (a call the script made
 * was refused); Redis 6 "ERR Error running script (call to f_<sha>): ...". A script that does not
 * compile ("ERR Error compiling script") fails for every record alike, so it is not on the list:
 * quarantining every record would discard the stream, while redelivery waits for the fix.
 */
const RECORD_REDIS =
  /^(WRONGTYPE\b|ERR user_script:\d|ERR Error running script\b)| script: [0-9a-f]{40}, on @user_script:\d+\.$/;

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
    // What it wraps (a SQLSTATE the ledger's scan raised during a rebuild, a Redis reply to the
    // marker) is the history's trouble, not the record's: the walk stops here.
    if (cause instanceof HistoryUnavailableError) return undefined;
    if (isPgConnectionError(cause)) return undefined;
    const code = (cause as { code?: unknown }).code;
    if (typeof code === "string" && SQLSTATE.test(code)) {
      return RECORD_CLASSES.has(code.slice(0, 2))
        ? `SQLSTATE ${code}: ${firstLine(cause.message)}`
        : undefined;
    }
    if (cause.name === "ReplyError") {
      // Read whole: a long reply's suffix lies past the reason's cut.
      const reply = cause.message.split("\n")[0] ?? "";
      if (TRANSIENT_REDIS.test(reply) || !RECORD_REDIS.test(reply)) return undefined;
      return `Redis ${firstLine(reply)}`;
    }
  }
  return undefined;
}
